#!/bin/bash
# Apply cost of a one-rule edit: fwc apply changing the loaded table in
# place (the index in the state directory) against replacing it whole.
#
# For policies of N rules (load.sh's two shapes: "plain", one kernel rule
# per policy rule; "sets", one rule and a named set of N elements), loaded
# into a fresh network namespace, then edited R times in place (one rule's
# port changed; the line count stays, so no other rule's comment moves):
#   full      the first apply (no index yet: the whole table)
#   edit      each edit's apply, end to end (wall), and its parts as
#             `fwc apply -v` reports them: compile, index (digests of the
#             new table, the diff), kernel (the batch's sendmsg)
#   replace   the same edit with the index removed first (what every apply
#             cost before)
#   same      the same policy applied again (nothing to compile or send:
#             apply/origin.h), end to end
#   verify    fwc verify after the last edit (compiles, reads the whole
#             table back: the kernel's rule dump walks the chain from its
#             start for every 32 KiB it returns), in seconds
#   again     fwc verify once more: answered from what the first recorded
#             (the ruleset is still at the generation it read)
# with and without the shadow analysis (--no-analysis).
#
# usage: incremental.sh [-s "SIZES"] [-r EDITS] [FWC]
#   default sizes "10000 100000", 3 edits (the median is printed).
# Needs root (network namespaces) and python3.
set -u
sizes="10000 100000"
reps=3
while getopts s:r:h opt; do
  case $opt in
    s) sizes=$OPTARG ;;
    r) reps=$OPTARG ;;
    *) sed -n '2,26p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
here=$(cd "$(dirname "$0")" && pwd)
fwc=${1:-$here/../../build/fwc}
[ -x "$fwc" ] || { echo "incremental.sh: no fwc binary at $fwc" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "incremental.sh: needs root (network namespaces)" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-incr.XXXXXX")
ns=fwcincr-bench-$$
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
unset SSH_CONNECTION
export FWC_STATE_DIR=$work/state

# gen N plain|sets FILE SEED: as load.sh, with rule SEED's port changed.
gen() {
  python3 - "$@" <<'EOF'
import sys
n, kind, path, seed = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
out = ["# incremental.sh: %d hosts, %d rules (%s)" % (n, n, kind),
       "firewall fw { interface outside eth1 10.0.0.1/24; interface inside eth2 10.0.1.1/24; }"]
for i in range(n):
    a = 0x0a400000 + i
    out.append("host h%d %d.%d.%d.%d;" % (i, a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
out.append("policy bench default drop {")
out.append("    option any-includes-firewall no;")
# Edit k (1..SEED) gives one tcp rule port 61000 + k: SEED and SEED - 1
# differ in one rule.
edited = {}
for k in range(1, seed + 1):
    i = (k * 7919) % n
    edited[i - (i % 2 if kind == "plain" else 0)] = 61000 + k % 4000
for i in range(n):
    port = edited.get(i, 1024 + i % 60000)
    if kind == "plain" and i % 2:
        out.append("    accept proto gre from any to h%d;" % i)
    else:
        out.append("    accept tcp %d from any to h%d;" % (port, i))
out.append("}")
open(path, "w").write("\n".join(out) + "\n")
EOF
}

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
field() { sed -n "s/.*$1 \([0-9]*\) ms.*/\1/p" "$work/log" | head -1; }

echo "# fwc incremental apply benchmark: $(nproc) cores, kernel $(uname -r)"
echo "# one-rule edits in place, median of $reps; milliseconds unless said"
printf '%-13s %-9s | %9s | %9s = %8s + %6s + %6s | %9s | %6s | %10s | %6s | %s\n' policy analysis "full (s)" "edit wall" \
  compile index kernel "replace" same "verify (s)" again "edit batch"
for n in $sizes; do
  for kind in plain sets; do
    for analysis in yes no; do
      flag=""
      [ "$analysis" = no ] && flag=--no-analysis
      ip netns del "$ns" 2>/dev/null
      ip netns add "$ns"
      rm -rf "$FWC_STATE_DIR"
      gen "$n" "$kind" "$work/p.fw" 0
      s=$(now)
      ip netns exec "$ns" "$fwc" apply -v $flag "$work/p.fw" >/dev/null 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
      full=$(( ($(now) - s) / 1000000 ))
      : >"$work/t.wall"; : >"$work/t.compile"; : >"$work/t.index"; : >"$work/t.kernel"; : >"$work/t.replace"; : >"$work/t.same"
      batch=""
      for r in $(seq "$reps"); do
        gen "$n" "$kind" "$work/p.fw" "$r"
        s=$(now)
        ip netns exec "$ns" "$fwc" apply -v $flag "$work/p.fw" >/dev/null 2>"$work/log" || { cat "$work/log" >&2; exit 1; }
        echo $(( ($(now) - s) / 1000000 )) >>"$work/t.wall"
        grep -q "changed the loaded table in place" "$work/log" || { echo "not in place:" >&2; cat "$work/log" >&2; exit 1; }
        field compile >>"$work/t.compile"; field index >>"$work/t.index"; field kernel >>"$work/t.kernel"
        batch=$(sed -n 's/.*batch [0-9]* ms (\([0-9]* messages, [0-9]* bytes\)).*/\1/p' "$work/log")
        # The same edit as a replacement: undone, then made again without
        # the index (which the replacement writes anew for the next edit).
        gen "$n" "$kind" "$work/p.fw" "$((r - 1))"
        ip netns exec "$ns" "$fwc" apply $flag "$work/p.fw" >/dev/null 2>&1
        rm -f "$FWC_STATE_DIR"/*.index
        gen "$n" "$kind" "$work/p.fw" "$r"
        s=$(now)
        ip netns exec "$ns" "$fwc" apply $flag "$work/p.fw" >/dev/null 2>&1 || exit 1
        echo $(( ($(now) - s) / 1000000 )) >>"$work/t.replace"
        # Once more, unchanged (the apply above recorded its origin).
        s=$(now)
        ip netns exec "$ns" "$fwc" apply -v $flag "$work/p.fw" >/dev/null 2>"$work/log" || exit 1
        echo $(( ($(now) - s) / 1000000 )) >>"$work/t.same"
        grep -q "nothing to compile or send" "$work/log" || { echo "compiled again:" >&2; cat "$work/log" >&2; exit 1; }
      done
      s=$(now)
      ip netns exec "$ns" "$fwc" verify $flag "$work/p.fw" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
      verify=$(( ($(now) - s) / 1000000 ))
      s=$(now)
      ip netns exec "$ns" "$fwc" verify $flag "$work/p.fw" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
      again=$(( ($(now) - s) / 1000000 ))
      printf '%-13s %-9s | %9s | %9s = %8s + %6s + %6s | %9s | %6s | %10s | %6s | %s\n' "$kind $n" "$analysis" \
        "$(awk -v ms="$full" 'BEGIN { printf "%.2f", ms / 1000 }')" "$(median <"$work/t.wall")" \
        "$(median <"$work/t.compile")" "$(median <"$work/t.index")" "$(median <"$work/t.kernel")" \
        "$(median <"$work/t.replace")" "$(median <"$work/t.same")" \
        "$(awk -v ms="$verify" 'BEGIN { printf "%.2f", ms / 1000 }')" "$again" "$batch"
    done
  done
done
