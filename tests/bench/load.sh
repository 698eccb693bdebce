#!/bin/bash
# Load-time benchmark: how long it takes to get a policy into the kernel.
#
# For policies of 1k, 10k and 100k rules, each loaded into a fresh network
# namespace:
#   fwc apply POLICY                 compile + one netlink batch (wall time,
#                                    and its parts as `fwc apply -v` reports)
#   nft -f OUT.nft                   fwc's nft output (compiled beforehand)
#   iptables-restore + ip6tables-restore of fwc's iptables output (compiled
#                                    beforehand)
# Two shapes of policy, both N hosts and N rules "accept ... from any to
# HOST_i" (tests' own generator below):
#   plain  every other rule "accept proto gre" instead of "accept tcp PORT",
#          so that no two neighbouring rules share a shape: fwc's nft output
#          keeps one kernel rule per policy rule;
#   sets   all "accept tcp PORT_i from any to HOST_i": the nft backend turns
#          them into one lookup in a named set (iptables still needs N rules).
# "batch" is the kernel's own time for fwc's batch (the sendmsg() of the
# whole transaction): the floor for anything that sends these rules.
#
# usage: load.sh [-s "SIZES"] [-r REPS] [FWC]
#   FWC  the fwc binary (default build/fwc of this tree); -s sizes (default
#   "1000 10000 100000"); -r measurements per case, the median is printed
#   (default 3). Needs root (network namespaces), nft and iptables-restore.
# Prints one line per policy with the timings side by side.
set -u
sizes="1000 10000 100000"
reps=3
while getopts s:r:h opt; do
  case $opt in
    s) sizes=$OPTARG ;;
    r) reps=$OPTARG ;;
    *) sed -n '2,30p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
here=$(cd "$(dirname "$0")" && pwd)
fwc=${1:-$here/../../build/fwc}
[ -x "$fwc" ] || { echo "load.sh: no fwc binary at $fwc" >&2; exit 2; }
fwc=$(cd "$(dirname "$fwc")" && pwd)/$(basename "$fwc")
[ "$(id -u)" = 0 ] || { echo "load.sh: needs root (network namespaces)" >&2; exit 77; }
for tool in nft iptables-restore ip6tables-restore python3; do
  command -v "$tool" >/dev/null || { echo "load.sh: needs $tool" >&2; exit 77; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-load.XXXXXX")
ns=fwcload-bench-$$
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
unset SSH_CONNECTION

# gen N plain|sets FILE
gen() {
  python3 - "$1" "$2" "$3" <<'EOF'
import sys
n, kind, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = ["# load.sh: %d hosts, %d rules (%s)" % (n, n, kind),
       "firewall fw { interface outside eth1 10.0.0.1/24; interface inside eth2 10.0.1.1/24; }"]
for i in range(n):
    a = 0x0a400000 + i  # 10.64.0.0/10
    out.append("host h%d %d.%d.%d.%d;" % (i, a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255))
out.append("policy bench default drop {")
out.append("    option any-includes-firewall no;")
for i in range(n):
    if kind == "plain" and i % 2:
        out.append("    accept proto gre from any to h%d;" % i)
    else:
        out.append("    accept tcp %d from any to h%d;" % (1024 + i % 60000, i))
out.append("}")
open(path, "w").write("\n".join(out) + "\n")
EOF
}

now() { date +%s%N; }
fresh() { ip netns del "$ns" 2>/dev/null; ip netns add "$ns"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }'; }

echo "# fwc load benchmark: $(nproc) cores, kernel $(uname -r), $(nft -v), $(iptables -V)"
echo "# median of $reps runs, seconds; each run loads into a fresh network namespace"
printf '%-13s %8s %8s | %-34s | %8s | %10s | %s\n' policy nft-rules ipt-rules \
  "fwc apply = compile + load (batch)" "nft -f" "iptables" "load/batch, load vs nft -f"
for n in $sizes; do
  for kind in plain sets; do
    pol=$work/$kind$n.fw
    gen "$n" "$kind" "$pol"
    "$fwc" compile "$pol" -o "$work/out.nft" 2>/dev/null || { echo "compile failed: $pol" >&2; exit 1; }
    "$fwc" compile "$pol" -t iptables -o "$work/out.sh" 2>/dev/null || { echo "compile failed: $pol" >&2; exit 1; }
    awk '/^fwc_ipv4\(\) \{/{f=1; next} f && /^FWC_EOF/{exit} f && !/cat <</' "$work/out.sh" >"$work/v4"
    awk '/^fwc_ipv6\(\) \{/{f=1; next} f && /^FWC_EOF/{exit} f && !/cat <</' "$work/out.sh" >"$work/v6"
    nft_rules=$(grep -c 'comment "' "$work/out.nft")
    ipt_rules=$(cat "$work/v4" "$work/v6" | grep -c '^-A')
    : >"$work/t.apply"; : >"$work/t.compile"; : >"$work/t.load"; : >"$work/t.kernel"
    : >"$work/t.nft"; : >"$work/t.ipt"
    for _ in $(seq "$reps"); do
      fresh
      s=$(now)
      ip netns exec "$ns" "$fwc" apply -v "$pol" >/dev/null 2>"$work/apply.log" || {
        echo "fwc apply failed:" >&2; cat "$work/apply.log" >&2; exit 1; }
      e=$(now)
      echo $(((e - s) / 1000000)) >>"$work/t.apply"
      sed -n 's/^fwc: compile \([0-9]*\) ms.*; load \([0-9]*\) ms: .* kernel \([0-9]*\) ms.*/\1 \2 \3/p' "$work/apply.log" |
        while read -r c l k; do
          echo "$c" >>"$work/t.compile"; echo "$l" >>"$work/t.load"; echo "$k" >>"$work/t.kernel"
        done
      fresh
      s=$(now)
      ip netns exec "$ns" nft -f "$work/out.nft" || exit 1
      e=$(now)
      echo $(((e - s) / 1000000)) >>"$work/t.nft"
      fresh
      s=$(now)
      ip netns exec "$ns" iptables-restore <"$work/v4" && ip netns exec "$ns" ip6tables-restore <"$work/v6" || exit 1
      e=$(now)
      echo $(((e - s) / 1000000)) >>"$work/t.ipt"
    done
    apply=$(median <"$work/t.apply"); compile=$(median <"$work/t.compile"); load=$(median <"$work/t.load")
    kernel=$(median <"$work/t.kernel"); nftf=$(median <"$work/t.nft"); ipt=$(median <"$work/t.ipt")
    ratio=$(awk -v l="$load" -v k="$kernel" -v f="$nftf" 'BEGIN { printf "%.2fx batch, %.2fx nft -f", l / (k ? k : 1), l / (f ? f : 1) }')
    printf '%-13s %8s %8s | %6s = %6s + %6s (%6s) | %8s | %10s | %s\n' "$kind $n" "$nft_rules" "$ipt_rules" \
      "$(secs "$apply")" "$(secs "$compile")" "$(secs "$load")" "$(secs "$kernel")" "$(secs "$nftf")" "$(secs "$ipt")" "$ratio"
  done
done
