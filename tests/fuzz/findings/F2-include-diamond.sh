#!/bin/sh
# F2: a file included several times is read and parsed every time. 17 small
# files, each including the next one 4 times, make `fwc check` parse 4^16
# files: it runs until killed (and its memory grows, one SourceManager entry
# per parse).   usage: sh F2-include-diamond.sh path/to/fwc
fwc=${1:?usage: $0 FWC}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
printf 'firewall fw { interface outside eth1 10.1.1.1/24; }\ninclude "f0.fw";\npolicy p default drop { accept from any to any; }\n' >"$d/main.fw"
i=0
while [ $i -lt 16 ]; do
  n=$((i + 1))
  printf 'include "f%d.fw";\ninclude "f%d.fw";\ninclude "f%d.fw";\ninclude "f%d.fw";\n' $n $n $n $n >"$d/f$i.fw"
  i=$n
done
: >"$d/f16.fw"
timeout 20 "$fwc" check "$d/main.fw"
echo "exit status $? (124: killed after 20 s)"
