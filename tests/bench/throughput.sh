#!/bin/sh
# Compiler throughput per stage, for profiling: parse, resolve+place, the
# shadow analysis, lowering, set merging and emitting, in CPU milliseconds and in
# policy rules per second, on generated policies of growing size.
#
# usage: throughput.sh [-r REPS] [-s "SIZES"] [-a] [BUILD_DIR]
#   BUILD_DIR  a build tree with tests/bench/fwc_bench_stages (default: build)
#   -r         runs per stage, the fastest is printed (default 3; 1 past 20k rules)
#   -s         rule counts (default "1000 10000 100000")
#   -a         skip the shadow analysis (to profile the rest alone)
# Both peer shapes are measured (tests/bench/gen_fwc.py fwb|capirca N; the
# Capirca shape only up to its generator's 64511 rules). A stage that grows
# faster than the rule count (rules/s falling as N grows) has a quadratic
# step worth a look with
#   perf record -g build/tests/bench/fwc_bench_stages -r 1 POLICY
set -u
reps=3
sizes="1000 10000 100000"
noanalysis=""
while getopts r:s:ah opt; do
  case $opt in
    r) reps=$OPTARG ;;
    s) sizes=$OPTARG ;;
    a) noanalysis=--no-analysis ;;
    *) sed -n '2,/^set -u/{/^#/p}' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
stages=$build/tests/bench/fwc_bench_stages
[ -x "$stages" ] || { echo "throughput.sh: build fwc_bench_stages first (cmake --build $build --target fwc_bench_stages)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for n in $sizes; do
  for shape in fwb capirca; do
    [ "$shape" = capirca ] && [ "$n" -gt 64511 ] && continue
    python3 "$here/gen_fwc.py" "$shape" "$n" -o "$tmp/$shape-$n.fw" || exit 1
    r=$reps
    [ "$n" -gt 20000 ] && r=1
    echo "== $shape shape, $n rules"
    # shellcheck disable=SC2086
    "$stages" -r "$r" $noanalysis "$tmp/$shape-$n.fw" || exit 1
    echo
  done
done
