#!/bin/sh
# Speed of the full shadow analysis on ClassBench-like policies of 1k, 10k
# and 100k rules (tests/bench/gen_classbench.py): one line per size and
# thread count, with the whole `fwc check` (wall and CPU seconds, peak
# memory), the analysis stage alone (wall seconds, from --timing) and what
# it found. Threads: 1, and one per CPU (fwc's default) when that is more.
# Needs a built fwc (default build/fwc).
#
# usage: tests/bench/analysis.sh [FWC] [SIZES...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fwc=${1:-$here/../../build/fwc}
[ $# -gt 0 ] && shift
sizes=${*:-1000 10000 100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpus=$(nproc)
threads=1
[ "$cpus" -gt 1 ] && threads="1 $cpus"

printf '%8s %7s %8s %7s %8s %11s %9s %9s %9s\n' rules threads wall_s cpu_s peak_MB analysis_s shadowed redundant conflicts
for n in $sizes; do
  python3 "$here/gen_classbench.py" "$n" 1 >"$tmp/p.fw"
  for t in $threads; do
    # GNU time gives the peak RSS; fwc's own --timing gives the stage times.
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$fwc" check "$tmp/p.fw" --timing \
        --analysis-threads "$t" -Wno-error=shadowed-rule >/dev/null 2>"$tmp/err" || true
    read -r wall user sys kb <"$tmp/time"
    analysis=$(sed -n 's/.*analysis \([0-9.]*\) ms.*/\1/p' "$tmp/err")
    shadowed=$(grep -c '\[shadowed-rule\]' "$tmp/err" || true)
    redundant=$(grep -c '\[redundant-rule\]' "$tmp/err" || true)
    conflicts=$(grep -c '\[conflicting-rule\]' "$tmp/err" || true)
    printf '%8s %7s %8s %7s %8s %11s %9s %9s %9s\n' "$n" "$t" "$wall" \
      "$(awk "BEGIN{printf \"%.2f\", $user + $sys}")" "$((kb / 1024))" \
      "$(awk "BEGIN{printf \"%.3f\", ${analysis:-0}/1000}")" "$shadowed" "$redundant" "$conflicts"
  done
done
