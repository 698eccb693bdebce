#!/bin/sh
# How fwc compile grows with the policy: the forwarding benchmark's shape
# (tests/bench/gen_fwc.py forward N: N hosts, each with a rule of its own)
# at 10k, 100k and 1M rules, with the full analysis, to an nft script.
# One line per size: wall and CPU seconds, peak memory, the stages'
# times (from --timing), and the growth against the previous size next to
# what n log n would give. 1M rules are 69 MB of policy, more than the old
# 16 MiB cap; the default --max-policy-size (256 MiB) admits them.
#
# usage: tests/bench/scale.sh [FWC] [SIZES...]       (default build/fwc)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fwc=${1:-$here/../../build/fwc}
[ $# -gt 0 ] && shift
sizes=${*:-10000 100000 1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%8s %8s %8s %8s %8s %8s %8s %8s %9s %9s %10s\n' \
  rules policy_MB wall_s cpu_s peak_MB parse_s resolve_s place_s analysis_s growth nlogn_growth
prev_n="" prev_wall=""
for n in $sizes; do
  python3 "$here/gen_fwc.py" forward "$n" -o "$tmp/p.fw"
  mb=$(awk -v b="$(wc -c <"$tmp/p.fw")" 'BEGIN { printf "%.1f", b / 1e6 }')
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$fwc" compile "$tmp/p.fw" --timing -o "$tmp/out.nft" \
      >/dev/null 2>"$tmp/err" || { echo "fwc compile failed at $n rules:"; head -5 "$tmp/err"; exit 1; }
  read -r wall user sys kb <"$tmp/time"
  stage() { sed -n "s/.*$1 \([0-9.]*\) ms.*/\1/p" "$tmp/err" | awk '{ printf "%.2f", $1 / 1000 }'; }
  growth="-" nlogn="-"
  if [ -n "$prev_n" ]; then
    growth=$(awk "BEGIN { printf \"%.1fx\", $wall / $prev_wall }")
    nlogn=$(awk "BEGIN { printf \"%.1fx\", ($n * log($n)) / ($prev_n * log($prev_n)) }")
  fi
  printf '%8s %8s %8s %8s %8s %8s %8s %8s %9s %9s %10s\n' "$n" "$mb" "$wall" \
    "$(awk "BEGIN { printf \"%.2f\", $user + $sys }")" "$((kb / 1024))" \
    "$(stage parse)" "$(stage resolve)" "$(stage place)" "$(stage analysis)" "$growth" "$nlogn"
  prev_n=$n prev_wall=$wall
  rm -f "$tmp/p.fw" "$tmp/out.nft"
done
