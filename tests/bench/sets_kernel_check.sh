#!/bin/sh
# A differential check of the nft backend's sets and verdict maps in a real
# kernel: random policies (sets_probe.py policy SEED), each compiled by fwc
# to nftables (merged into sets and maps) and to iptables (one rule per IR
# rule, an independent backend), loaded in turn into a forwarding namespace;
# the same ~1000 crafted IPv4 and IPv6 packets are sent through each, and the
# packets that come out the other side must be the same.
#
# usage: sets_kernel_check.sh [-n POLICIES] [-s FIRST_SEED] [FWC]
#   FWC  the fwc binary (default: build/fwc of this source tree)
# Needs root (network namespaces), nft and iptables-restore. Not a ctest
# test (it takes minutes); it prints one line per policy and a summary, and
# exits 1 if any policy's packets differ.
set -u
n=20
seed=1
while getopts n:s:h opt; do
  case $opt in
    n) n=$OPTARG ;;
    s) seed=$OPTARG ;;
    *) sed -n '2,/^set -u/{/^#/p}' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
here=$(cd "$(dirname "$0")" && pwd)
fwc=${1:-$here/../../build/fwc}
[ "$(id -u)" = 0 ] || { echo "sets_kernel_check.sh: needs root" >&2; exit 2; }
[ -x "$fwc" ] || { echo "sets_kernel_check.sh: no fwc binary at $fwc" >&2; exit 2; }

ns=fwcsets$$
cli=$ns-cli
fw=$ns-fw
srv=$ns-srv
tmp=$(mktemp -d)
cleanup() {
  for x in "$cli" "$fw" "$srv"; do
    ip netns pids "$x" 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del "$x" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
in_ns() { ip netns exec "$@"; }

for x in "$cli" "$fw" "$srv"; do ip netns add "$x" || exit 1; done
ip link add veth0 netns "$cli" type veth peer name eth1 netns "$fw"
ip link add veth0 netns "$srv" type veth peer name eth2 netns "$fw"
in_ns "$fw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
  net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
for x in "$cli" "$fw" "$srv"; do
  in_ns "$x" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  in_ns "$x" ip link set lo up
done
in_ns "$fw" sysctl -qw net.ipv4.conf.eth1.rp_filter=0
in_ns "$cli" ip addr add 10.0.1.2/24 dev veth0
in_ns "$cli" ip addr add fd00:1::2/64 dev veth0 nodad
in_ns "$fw" ip addr add 10.0.1.1/24 dev eth1
in_ns "$fw" ip addr add fd00:1::1/64 dev eth1 nodad
in_ns "$fw" ip addr add 10.0.2.1/24 dev eth2
in_ns "$fw" ip addr add fd00:2::1/64 dev eth2 nodad
in_ns "$srv" ip addr add 10.0.2.2/24 dev veth0
in_ns "$srv" ip addr add fd00:2::2/64 dev veth0 nodad
in_ns "$cli" ip link set veth0 up
in_ns "$srv" ip link set veth0 up
in_ns "$fw" ip link set eth1 up
in_ns "$fw" ip link set eth2 up
in_ns "$fw" ip route add 10.2.0.0/16 via 10.0.2.2
in_ns "$fw" ip -6 route add 2001:db8:2::/64 via fd00:2::2
sleep 1
in_ns "$fw" ping -c1 -W1 10.0.2.2 >/dev/null 2>&1 || true  # resolve the next hops
in_ns "$fw" ping -6 -c1 -W1 fd00:2::2 >/dev/null 2>&1 || true
fw_mac=$(in_ns "$fw" cat /sys/class/net/eth1/address)

# The ids of the probes that reach the server side through the loaded rules.
run=0
probe() {  # probe OUTFILE
  run=$((run + 1))
  : >"$tmp/got"
  in_ns "$srv" python3 "$here/sets_probe.py" listen veth0 "$tmp/got" "$run" &
  listener=$!
  sleep 0.5
  in_ns "$cli" python3 "$here/sets_probe.py" send veth0 "$fw_mac" "$run"
  sleep 1
  kill "$listener" 2>/dev/null
  wait "$listener" 2>/dev/null
  sort -n -u "$tmp/got" >"$1"
}

# Sanity: with no rules every probe goes through.
in_ns "$fw" nft flush ruleset
probe "$tmp/open"
total=$(wc -l <"$tmp/open")
[ "$total" -gt 500 ] || { echo "sets_kernel_check.sh: only $total probes pass an open firewall" >&2; exit 1; }
echo "open firewall: $total probes pass"

pass=0
fail=0
i=0
while [ $i -lt "$n" ]; do
  s=$((seed + i))
  i=$((i + 1))
  python3 "$here/sets_probe.py" policy "$s" >"$tmp/p.fw"
  if ! "$fwc" compile -Wno-shadowed-rule "$tmp/p.fw" -o "$tmp/p.nft" 2>"$tmp/err" ||
     ! "$fwc" compile -Wno-shadowed-rule "$tmp/p.fw" -t iptables -o "$tmp/p.sh" 2>>"$tmp/err"; then
    echo "seed $s: does not compile"; sed -n '1,3p' "$tmp/err"; fail=$((fail + 1)); continue
  fi
  in_ns "$fw" nft flush ruleset
  in_ns "$fw" nft -f "$tmp/p.nft" || { echo "seed $s: nft -f fails"; fail=$((fail + 1)); continue; }
  probe "$tmp/a"
  in_ns "$fw" nft flush ruleset
  in_ns "$fw" sh "$tmp/p.sh" >/dev/null 2>&1 || { echo "seed $s: iptables script fails"; fail=$((fail + 1)); continue; }
  probe "$tmp/b"
  in_ns "$fw" nft flush ruleset
  sets=$(grep -c -e ' vmap ' -e ' @[a-z]' -e ' { .* \. ' "$tmp/p.nft")
  if cmp -s "$tmp/a" "$tmp/b"; then
    pass=$((pass + 1))
    echo "seed $s: same $(wc -l <"$tmp/a") of $total probes pass ($sets lookups in the nft output)"
  else
    fail=$((fail + 1))
    echo "seed $s: DIFFERENT: nft passes $(wc -l <"$tmp/a"), iptables $(wc -l <"$tmp/b"); only through nft:"
    python3 "$here/sets_probe.py" describe $(sort "$tmp/a" "$tmp/b" "$tmp/b" | uniq -u | head -5)
    echo "  only through iptables:"
    python3 "$here/sets_probe.py" describe $(sort "$tmp/b" "$tmp/a" "$tmp/a" | uniq -u | head -5)
    cp "$tmp/p.fw" "/tmp/sets_kernel_check-$s.fw"
    echo "  policy kept in /tmp/sets_kernel_check-$s.fw"
  fi
done
echo "$pass policies agree, $fail differ or fail"
[ "$fail" = 0 ]
