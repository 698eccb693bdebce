#!/bin/bash
# Compile speed side by side: fwc, Firewall Builder's fwb_ipt and Capirca's
# aclgen on the same synthetic policies, in one run.
#
# The policies come from the peers' own generators (PEERS, default
# /work/shared/peers; see its README): gen_fwb.py writes Firewall Builder's
# bench shape ("any -> host_i tcp/port_i accept" x N, then "deny any log"),
# gen_policy.py Capirca's ("H_i -> LB_VIP port 1024+i", every 5th udp, every
# 10th logged, every 7th counted). tests/bench/gen_fwc.py imports the same
# generators and writes each shape as an fwc policy, so every tool compiles
# the same objects and rules in the same order.
#
# usage: compile_vs_peers.sh [-r REPS] [-l LIMIT] [-p "PEER SIZES"] [-f "FWC SIZES"] [FWC]
#   FWC  the fwc binary (default: build/fwc of this source tree)
#   -r   runs per case, the median is printed (default 3; a case whose first
#        run takes over 30 s runs once)
#   -l   seconds a peer may take on one case (default 180): a case predicted
#        to take longer (from the smaller size, assuming the growth measured
#        there continues) or that runs past it is "skipped (too slow)"
#   -p   rule counts for the peers (default "1000 5000 10000")
#   -f   rule counts for fwc (default "1000 5000 10000 100000")
# Needs: apt-get install -y fwbuilder python3-capirca time
#
# What is measured, as the peers' bench.sh do it: wall seconds from a ns
# clock around `/usr/bin/time -v sh -c CMD` (input generation not included),
# CPU seconds (user + system, children included) and peak RSS, GNU time's
# "Maximum resident set size" (for aclgen the largest process of its tree).
# On a machine busy with other work, wall times inflate; CPU times much less.
# fwc runs `fwc compile` with its full shadow analysis, which is on by
# default.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-/work/shared/peers}
REPS=3
LIMIT=180
PEER_SIZES="1000 5000 10000"
FWC_SIZES="1000 5000 10000 100000"
while getopts r:l:p:f:h opt; do
  case $opt in
    r) REPS=$OPTARG ;;
    l) LIMIT=$OPTARG ;;
    p) PEER_SIZES=$OPTARG ;;
    f) FWC_SIZES=$OPTARG ;;
    *) sed -n '2,/^set -u/{/^#/p}' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
FWC=${1:-$SRC/build/fwc}
export FWC_PEERS=$PEERS

[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
[ -x "$FWC" ] || { echo "no fwc binary at $FWC" >&2; exit 2; }
command -v fwb_ipt >/dev/null || echo "note: fwb_ipt not found (apt-get install -y fwbuilder); its rows are skipped" >&2
command -v aclgen >/dev/null || echo "note: aclgen not found (apt-get install -y python3-capirca); its rows are skipped" >&2

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results  # label|n|wall_s|rss_mb|status|cpu_s

median() { sort -g | awk '{a[NR]=$1} END { if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# run LABEL N CMD: times CMD (a shell command) REPS times; records the
# median wall time and peak RSS, or why it did not run.
run() {
  local label=$1 n=$2 cmd=$3
  local prev_n="" prev_w="" prev2_n="" prev2_w=""
  # The two largest finished sizes of this label predict the next one.
  while IFS='|' read -r l pn pw _ st _; do
    [ "$l" = "$label" ] && [ "$st" = ok ] || continue
    prev2_n=$prev_n; prev2_w=$prev_w; prev_n=$pn; prev_w=$pw
  done < <(cat "$RESULTS" 2>/dev/null)
  if [ -n "$prev_n" ] && [[ $label != fwc* ]]; then
    local predicted
    predicted=$(awk -v n="$n" -v a="$prev_n" -v wa="$prev_w" -v b="$prev2_n" -v wb="$prev2_w" 'BEGIN {
      e = 2  # quadratic unless two sizes tell otherwise
      if (b != "" && wb > 0.5 && wa > wb) e = log(wa / wb) / log(a / b)
      if (e < 1) e = 1
      printf "%.0f", wa * (n / a) ^ e }')
    if [ "$predicted" -gt "$LIMIT" ]; then
      echo "$label|$n|-|-|skipped" >>"$RESULTS"
      printf '  %-34s %7s  skipped (too slow: about %s s predicted)\n' "$label" "$n" "$predicted" >&2
      return
    fi
  fi
  local walls="" rsss="" cpus="" r=0 rc=0
  while [ $r -lt "$REPS" ]; do
    r=$((r + 1))
    local t0 t1 w m c
    t0=$(date +%s%N)
    timeout "$LIMIT" /usr/bin/time -v -o "$WORK/time" sh -c "$cmd" >"$WORK/log" 2>&1
    rc=$?
    t1=$(date +%s%N)
    w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    if [ $rc = 124 ]; then
      echo "$label|$n|-|-|skipped" >>"$RESULTS"
      printf '  %-34s %7s  skipped (too slow: over %s s)\n' "$label" "$n" "$LIMIT" >&2
      return
    fi
    if [ $rc != 0 ]; then
      echo "$label|$n|-|-|failed" >>"$RESULTS"
      printf '  %-34s %7s  failed (exit %s): %s\n' "$label" "$n" "$rc" "$(tail -1 "$WORK/log")" >&2
      return
    fi
    m=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time")
    c=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ {s+=$2} END {printf "%.2f", s}' "$WORK/time")
    walls="$walls $w"
    rsss="$rsss $m"
    cpus="$cpus $c"
    printf '  %-34s %7s  run %s: %s s wall, %s s cpu, %s MB\n' "$label" "$n" "$r" "$w" "$c" "$((m / 1024))" >&2
    awk -v w="$w" 'BEGIN { exit !(w > 30) }' && break
  done
  local mw mr mc
  mw=$(printf '%s\n' $walls | median)
  mr=$(printf '%s\n' $rsss | median | awk '{ printf "%.0f", $1 / 1024 }')
  mc=$(printf '%s\n' $cpus | median)
  echo "$label|$n|$mw|$mr|ok|$mc" >>"$RESULTS"
}

gen() {  # gen SHAPE N: writes the inputs of every tool for one size
  local n=$1
  local d=$WORK/n$n
  mkdir -p "$d"
  python3 "$PEERS/fwbuilder/gen_fwb.py" bench "$n" -o "$d/shadow.fwb" || exit 1
  python3 "$PEERS/fwbuilder/gen_fwb.py" bench "$n" --no-shading -o "$d/noshade.fwb" || exit 1
  python3 "$HERE/gen_fwc.py" fwb "$n" -o "$d/fwb.fw" || exit 1
  if [ "$n" -le 64511 ]; then  # Capirca's generator needs a distinct port per rule
    python3 "$PEERS/capirca/gen_policy.py" "$n" "$d/capirca" --format capirca >/dev/null || exit 1
    python3 "$HERE/gen_fwc.py" capirca "$n" -o "$d/capirca.fw" || exit 1
  fi
}

ACLGEN_ARGS="--base_directory=./policies --definitions_directory=./def --policy_file=./policies/pol/bench_nftables.pol"

is_in() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

echo "compile_vs_peers: fwc $FWC; peers at $PEER_SIZES; fwc at $FWC_SIZES; $REPS runs, limit ${LIMIT}s" >&2
for n in $(printf '%s\n' $PEER_SIZES $FWC_SIZES | sort -n -u); do
  gen "$n"
  d=$WORK/n$n
  if is_in "$n" "$FWC_SIZES"; then
    run "fwc nft, fwb shape" "$n" "'$FWC' compile '$d/fwb.fw' -o '$d/fwb.nft'"
    run "fwc iptables, fwb shape" "$n" "'$FWC' compile '$d/fwb.fw' -t iptables -o '$d/fwb.sh'"
    [ -f "$d/capirca.fw" ] && run "fwc nft, capirca shape" "$n" "'$FWC' compile '$d/capirca.fw' -o '$d/capirca.nft'"
  fi
  if is_in "$n" "$PEER_SIZES"; then
    if command -v fwb_ipt >/dev/null; then
      run "fwb_ipt, shadow check" "$n" "fwb_ipt -f '$d/shadow.fwb' -o '$d/shadow.out' fw"
      run "fwb_ipt, no shadow check" "$n" "fwb_ipt -f '$d/noshade.fwb' -o '$d/noshade.out' fw"
    fi
    if command -v aclgen >/dev/null && [ -d "$d/capirca" ]; then
      run "aclgen nft" "$n" "cd '$d/capirca' && rm -rf out && mkdir out && aclgen $ACLGEN_ARGS --output_directory=./out"
      run "aclgen nft --shade_check" "$n" \
        "cd '$d/capirca' && rm -rf out && mkdir out && aclgen $ACLGEN_ARGS --output_directory=./out --shade_check"
    fi
  fi
done

# --- the tables -----------------------------------------------------------
cell() {  # cell LABEL N: "wall/cpu s, MB", "skipped (too slow)", "failed" or "-"
  local line
  line=$(grep -F "$1|$2|" "$RESULTS" | tail -1)
  [ -n "$line" ] || { echo "-"; return; }
  IFS='|' read -r _ _ w m st c <<<"$line"
  case $st in
    ok) printf '%.2f/%.2f s, %s MB' "$w" "$c" "$m" ;;
    skipped) echo "skipped (too slow)" ;;
    *) echo "$st" ;;
  esac
}
field() {  # field LABEL N INDEX(3 wall, 4 MB, 5 status, 6 cpu)
  grep -F "$1|$2|" "$RESULTS" | tail -1 | cut -d'|' -f"$3"
}

ALL_SIZES=$(printf '%s\n' $PEER_SIZES $FWC_SIZES | sort -n -u)
echo
printf '%-26s' "wall/cpu seconds, peak RSS"
for n in $ALL_SIZES; do printf ' | %-22s' "$n rules"; done
echo
for label in "fwb_ipt, shadow check" "fwb_ipt, no shadow check" "aclgen nft" "aclgen nft --shade_check" \
             "fwc nft, fwb shape" "fwc iptables, fwb shape" "fwc nft, capirca shape"; do
  grep -qF "$label|" "$RESULTS" || continue
  printf '%-26s' "$label"
  for n in $ALL_SIZES; do printf ' | %-22s' "$(cell "$label" "$n")"; done
  echo
done

echo
echo "fwc is faster by (peer time / fwc time, wall and cpu, same policy shape and size):"
for n in $PEER_SIZES; do
  for pair in "fwb_ipt, shadow check|fwc nft, fwb shape" "fwb_ipt, no shadow check|fwc nft, fwb shape" \
              "fwb_ipt, shadow check|fwc iptables, fwb shape" "fwb_ipt, no shadow check|fwc iptables, fwb shape" \
              "aclgen nft|fwc nft, capirca shape" "aclgen nft --shade_check|fwc nft, capirca shape"; do
    peer=${pair%%|*}
    mine=${pair#*|}
    [ "$(field "$mine" "$n" 5)" = ok ] || continue
    case $(field "$peer" "$n" 5) in
      ok) printf '  %6s rules: %-26s vs %-24s %7s wall, %7s cpu; peak RSS %s MB vs %s MB\n' "$n" "$peer" "$mine" \
            "$(awk -v a="$(field "$peer" "$n" 3)" -v b="$(field "$mine" "$n" 3)" 'BEGIN { printf "%.0fx", a / b }')" \
            "$(awk -v a="$(field "$peer" "$n" 6)" -v b="$(field "$mine" "$n" 6)" \
               'BEGIN { if (b >= 0.01) printf "%.0fx", a / b; else print "n/a" }')" \
            "$(field "$peer" "$n" 4)" "$(field "$mine" "$n" 4)" ;;
      skipped) printf '  %6s rules: %-26s vs %-24s  peer skipped (too slow)\n' "$n" "$peer" "$mine" ;;
    esac
  done
done
