#!/bin/sh
# F10: the resolver recurses once per level of group or service nesting;
# a chain of 10,000 services (service s0 s1; service s1 s2; ...), a 200 KB
# file, or of 20,000 groups overflows the 8 MiB stack: SIGSEGV.
#   usage: sh F10-deep-nesting.sh path/to/fwc
fwc=${1:?usage: $0 FWC}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
awk 'BEGIN {
  print "firewall fw { interface outside eth1 10.1.1.1/24; }"
  for (i = 0; i < 10000; i++) printf "service s%d s%d;\n", i, i + 1
  print "service s10000 tcp 80;"
  print "policy p default drop { accept s0 from any to any; }"
}' >"$d/services.fw"
awk 'BEGIN {
  print "firewall fw { interface outside eth1 10.1.1.1/24; }"
  for (i = 0; i < 20000; i++) printf "group g%d { g%d }\n", i, i + 1
  print "host g20000 10.1.2.10;"
  print "policy p default drop { accept from g0 to any; }"
}' >"$d/groups.fw"
for f in services groups; do
  "$fwc" check "$d/$f.fw" >/dev/null 2>&1
  echo "$f: exit status $? (139: SIGSEGV)"
done
