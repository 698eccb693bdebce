#!/bin/sh
# F4: a policy just under the 16 MiB size limit (620,000 host declarations)
# needs about 1.3 GB of memory; under `ulimit -v 1048576` fwc dies with
# std::bad_alloc (SIGABRT) instead of an error.
#   usage: sh F4-16mib-policy.sh path/to/fwc
fwc=${1:?usage: $0 FWC}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
awk 'BEGIN {
  print "firewall fw { interface outside eth1 10.1.1.1/24; }"
  for (i = 0; i < 620000; i++) printf "host h%d 10.%d.%d.%d;\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
  print "policy p default drop { accept from any to nowhere; }"
}' >"$d/big.fw"
ls -l "$d/big.fw"
(ulimit -v 1048576; timeout 60 "$fwc" check "$d/big.fw" 2>&1 | head -n 3)
(ulimit -v 1048576; timeout 60 "$fwc" check "$d/big.fw" >/dev/null 2>&1; echo "exit status $? (134: SIGABRT)")
