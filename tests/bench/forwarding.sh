#!/bin/sh
# Forwarding benchmark: what a firewall ruleset costs every packet.
#
# Three network namespaces, src -- fw -- sink, joined by veth pairs; fw
# routes. iperf3 sends small UDP datagrams as fast as it can from src to sink
# through fw, and the packets per second that arrive are measured:
#   - with no ruleset at all in fw (the "empty" reference),
#   - with fwc's nftables output (sets and verdict maps),
#   - with a plain one-rule-per-object ruleset: fwc's iptables output,
# for policies of 0, 1k, 10k and 100k objects. Each object is a host with
# its own service (tests/bench/gen_fwc.py forward N); the policy is stateless
# (option stateful no), so every packet, not just a connection's first,
# walks the chain, and the measured flow is allowed by the last rule.
#
# With -c, also a ClassBench-shaped policy of each given size
# (tests/bench/gen_classbench.py, made stateless, with a last rule that
# accepts the measured flow): mixed prefixes, ports and verdicts, so runs of
# mergeable rules are short and the nft output mixes rules and sets.
#
# usage: forwarding.sh [-t SECONDS] [-r REPS] [-s "SIZES"] [-c "SIZES"] [FWC]
#   FWC      the fwc binary (default: build/fwc of this source tree)
#   -t       seconds per measurement (default 5)
#   -r       measurements per case, the median is printed (default 3)
#   -s       object counts (default "0 1000 10000 100000")
#   -c       ClassBench policy sizes (default none)
# Needs root (network namespaces) and iperf3 (apt-get install -y iperf3).
# Only the namespaces it creates are touched; they are deleted on exit.
# Prints one line per case: objects, ruleset, kernel rules an IPv4 packet
# may walk in the forward hook, packets/s forwarded, packets/s of the empty
# firewall measured just before, and the ratio of the two. The machine's
# speed drifts (other load); compare ratios, not absolute rates.
set -u
secs=5
reps=3
sizes="0 1000 10000 100000"
classbench=""
while getopts t:r:s:c:h opt; do
  case $opt in
    t) secs=$OPTARG ;;
    r) reps=$OPTARG ;;
    s) sizes=$OPTARG ;;
    c) classbench=$OPTARG ;;
    *) sed -n '2,/^set -u/{/^#/p}' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
here=$(cd "$(dirname "$0")" && pwd)
src_dir=$(cd "$here/../.." && pwd)
fwc=${1:-$src_dir/build/fwc}

[ "$(id -u)" = 0 ] || { echo "forwarding.sh: needs root for network namespaces" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "forwarding.sh: needs iperf3: apt-get install -y iperf3" >&2; exit 2; }
[ -x "$fwc" ] || { echo "forwarding.sh: no fwc binary at $fwc" >&2; exit 2; }

ns=fwcfwd$$
src=$ns-src
fw=$ns-fw
sink=$ns-sink
tmp=$(mktemp -d)
cleanup() {
  for n in "$src" "$fw" "$sink"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del "$n" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { ip netns exec "$@"; }

# --- topology --------------------------------------------------------------
for n in "$src" "$fw" "$sink"; do ip netns add "$n" || exit 1; done
ip link add veth0 netns "$src" type veth peer name veth-src netns "$fw"
ip link add veth0 netns "$sink" type veth peer name veth-sink netns "$fw"
in_ns "$src" ip addr add 10.0.1.2/24 dev veth0
in_ns "$fw" ip addr add 10.0.1.1/24 dev veth-src
in_ns "$fw" ip addr add 10.0.2.1/24 dev veth-sink
in_ns "$sink" ip addr add 10.0.2.2/24 dev veth0
for n in "$src" "$fw" "$sink"; do
  in_ns "$n" ip link set lo up
  for d in veth0 veth-src veth-sink; do in_ns "$n" ip link set "$d" up 2>/dev/null; done
done
in_ns "$src" ip route add default via 10.0.1.1
in_ns "$sink" ip route add default via 10.0.2.1
in_ns "$fw" sysctl -qw net.ipv4.ip_forward=1
in_ns "$sink" iperf3 -s >/dev/null 2>&1 &
sleep 1

# Packets per second forwarded to the sink during one run: the sink's
# interface counter, so that the iperf3 server's own speed does not count.
rx() { in_ns "$sink" cat /sys/class/net/veth0/statistics/rx_packets; }
measure_once() {
  before=$(rx)
  in_ns "$src" iperf3 -c 10.0.2.2 -u -b 0 -l 64 -t "$secs" >/dev/null 2>&1 || { echo 0; return; }
  after=$(rx)
  echo $(((after - before) / secs))
}

measure() {
  i=0
  : >"$tmp/runs"
  while [ $i -lt "$reps" ]; do
    measure_once >>"$tmp/runs"
    i=$((i + 1))
  done
  sort -n "$tmp/runs" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

flush() { in_ns "$fw" nft flush ruleset; }

forward_rules() {  # kernel rules an IPv4 packet may walk in the forward hook
  in_ns "$fw" nft list ruleset | awk '/^table / {fam=$2} /hook forward/ && fam != "ip6" {on=1}
    on && /^\t\t[a-z]/ && !/type filter/ {n++} /^\t}/ {on=0} END {print n+0}'
}

printf '%-8s %-32s %10s %12s %12s %8s\n' objects ruleset "fwd rules" "packets/s" "empty pkt/s" ratio

# Each case is measured right after the empty firewall, and compared with
# that: the machine's speed drifts more than the cheap rulesets cost.
row() {  # row OBJECTS LABEL RULESET-LOADER...
  objects=$1
  label=$2
  shift 2
  flush
  base=$(measure)
  "$@" || exit 1
  rules=$(forward_rules)
  pps=$(measure)
  flush
  ratio=$(awk -v a="$pps" -v b="$base" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')
  printf '%-8s %-32s %10s %12s %12s %8s\n' "$objects" "$label" "$rules" "$pps" "$base" "$ratio"
}

load_nft() { in_ns "$fw" nft -f "$tmp/fwd.nft"; }
load_ipt() { in_ns "$fw" sh "$tmp/fwd.sh" >/dev/null 2>&1; }

for n in $sizes; do
  python3 "$here/gen_fwc.py" forward "$n" -o "$tmp/fwd.fw" || exit 1
  "$fwc" compile "$tmp/fwd.fw" -t nft -o "$tmp/fwd.nft" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  "$fwc" compile "$tmp/fwd.fw" -t iptables -o "$tmp/fwd.sh" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  row "$n" "fwc nft (sets, maps)" load_nft
  row "$n" "fwc iptables (rule per object)" load_ipt
done
for n in $classbench; do
  # The generator's firewall and its interfaces become this topology's;
  # every packet walks the chain until the last rule, which takes the flow
  # (unless an earlier rule happens to cover 10.0.1.2 -> 10.0.2.2).
  python3 "$here/gen_classbench.py" "$n" |
    sed -e 's/interface outside eth0 198.18.0.1\/24;/interface src veth-src 10.0.1.1\/24;/' \
        -e 's/interface inside eth1 198.19.0.1\/24;/interface sink veth-sink 10.0.2.1\/24;/' \
        -e 's/^policy bench default drop {$/&\n    option stateful no;/' \
        -e '$ s/^}$//' >"$tmp/cb.fw"
  printf '%s\n' '    accept udp 5201 from 10.0.1.2 to 10.0.2.2 comment "the measured flow";' \
    '    accept tcp 5201 from 10.0.1.2 to 10.0.2.2 comment "iperf3 control";' \
    '    accept from 10.0.2.2 to 10.0.1.2 comment "iperf3 control, replies";' '}' >>"$tmp/cb.fw"
  "$fwc" compile --no-analysis "$tmp/cb.fw" -t nft -o "$tmp/fwd.nft" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  row "cb$n" "fwc nft, ClassBench" load_nft
done
