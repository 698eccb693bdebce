#!/bin/sh
# F11: every unknown name is compared (edit distance) with every declared
# name to suggest one, even past the 50-error cap where the diagnostic is
# thrown away. 20,000 groups with an unknown member each (460 KB) take
# minutes; 5 unknown 10,000-character names against 20,000 hosts (530 KB)
# take 8 s of CPU.   usage: sh F11-did-you-mean-quadratic.sh path/to/fwc
fwc=${1:?usage: $0 FWC}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
awk 'BEGIN {
  print "firewall fw { interface outside eth1 10.1.1.1/24; }"
  for (i = 0; i < 20000; i++) printf "group g%d { m%d }\n", i, i
  print "policy p default drop { accept from any to any; }"
}' >"$d/groups.fw"
start=$(date +%s)
timeout 300 "$fwc" check "$d/groups.fw" >/dev/null 2>&1
echo "20000 unknown members: exit status $? after $(($(date +%s) - start)) s (124: killed after 300 s)"
