#!/bin/bash
# nat_test.sh [FWC_BINARY] — end-to-end test of NAT and packet marks with real traffic.
#
# Builds five network namespaces (nothing in the root namespace):
#
#   out 192.168.1.50 (+ .60 .70)                     in 10.0.100.11, VIP on lo
#   tcp 80 9000 (banner names the peer)              tcp 80 81 8080
#        eth0 ────── ext0 [fw] int0 ────── eth0
#              192.168.1.101/.102   10.0.100.1
#                         lb1 10.0.201.1 ── eth0 b1 10.0.201.2, VIP on lo, tcp 80 81
#                         lb2 10.0.202.1 ── eth0 b2 10.0.202.2, VIP on lo, tcp 80 81
#   fw: forwarding on, tcp 22 80 8080; VIP 10.0.200.10 routed via in (main table),
#       via b1 (ip rule fwmark 1 table 101) and via b2 (fwmark 2 table 102).
#
# Every listener answers a TCP connection with "fwc-e2e NODE PORT from PEER sport P",
# so a probe sees which namespace accepted it and with which source address.
#
# For each backend — nft (fwc compile, nft -f in fw), iptables (fwc compile
# --target iptables, the script run with sh in fw) and netlink (fwc apply in fw,
# then fwc verify) — it loads, after an empty ruleset:
#   1. nat/gateway.fw: masquerade / no nat / snat with a port range for the farm going
#      out, dnat of the director's port 80 to web1:8080, redirect of 8081 to the
#      director's 8080; the filter names the original destination, so web1:8080,
#      web1:80 and the director's 8080 are not reachable directly. Also checks that
#      `option forwarding yes` turns forwarding on (iptables script, fwc apply).
#   2. nat/lvs.fw (`mark web 1;`): tcp 80 to the VIP reaches b1, tcp 81 (not marked)
#      the main table's server in `in`; then the same file with the one line changed to
#      `mark web 2;`, compiled and loaded over the old rules (no flush, as a failover
#      would): tcp 80 reaches b2, tcp 81 still `in`.
#   3. nat/tproxy.fw: the farm's web traffic to other hosts is redirected to the
#      director's 8080 (a transparent proxy); it passes only to the host a rule names
#      (audit), while `accept http from farm to fw` opens the director's own port 80
#      and nothing else.
# Before any fwc rule the topology itself is checked (no NAT happens, everything is
# reachable, a hand-written mark rule steers the VIP), so each later result is fwc's.
#
# Output: one "ok - ..." / "not ok - ..." line per probe, a count per backend, and
# last "nat_test: N probes, M failures".
# Exit: 0 all passed, 1 something failed, 77 skipped (not root, no netns, a tool
# missing), 2 usage error (no fwc binary). FWC_BINARY may also be given as $FWC.
# Environment: FWC_E2E_KEEP=1 keeps the work directory (compiled rules, listings,
# probe output); it is kept anyway when something failed.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NATDIR=$HERE/nat
PY=${PYTHON:-python3}
T0=$(date +%s%N)

FWC=${1:-${FWC:-}}
if [ $# -gt 1 ] || [ -z "$FWC" ]; then
    echo "usage: $0 FWC_BINARY   (or FWC=FWC_BINARY $0)" >&2
    exit 2
fi

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "nat_test.sh needs root (network namespaces, nft, iptables)"
for tool in ip nft nmap sysctl iptables-restore ip6tables-restore iptables-save "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || skip "required tool '$tool' not found"
done
if [ ! -x "$FWC" ] || [ -d "$FWC" ]; then
    echo "error: fwc binary '$FWC' does not exist or is not executable" >&2
    exit 2
fi
FWC=$(cd "$(dirname "$FWC")" && pwd)/$(basename "$FWC")
for f in gateway.fw lvs.fw tproxy.fw; do
    [ -f "$NATDIR/$f" ] || { echo "error: policy '$NATDIR/$f' not found" >&2; exit 2; }
done

probe_ns="fwce2e-probe$$"
if ! err=$(ip netns add "$probe_ns" 2>&1); then
    skip "cannot create network namespaces (ip netns add: $err)"
fi
ip netns del "$probe_ns"

# topo_exec / topo_ns / topo_down (which kills our listeners and removes every
# namespace of the prefix); our own nodes replace the crm topology's.
# shellcheck source=topology.sh
. "$HERE/topology.sh"
TOPO_NODES="out fw in b1 b2"
TOPO_PREFIX="fwce2e-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')-"
TOPO_STATE="${TMPDIR:-/tmp}/${TOPO_PREFIX}state"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fwce2e-nat.XXXXXX")
export FWC_STATE_DIR=$WORK/state      # fwc apply's state stays in the work directory
unset SSH_CONNECTION                  # no SSH guard: the namespaces carry no SSH session

KEEP=${FWC_E2E_KEEP:-0}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    trap - EXIT INT TERM
    set +u  # topo_down reads a loop variable that stays unset when no listener ran
    topo_down
    [ "$KEEP" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

PROBES=0 FAILS=0
SECTION=topology
declare -A SEC_PROBES=() SEC_FAILS=()
SECTIONS=()
section() {
    SECTION=$1
    SECTIONS+=("$1")
    SEC_PROBES[$1]=0 SEC_FAILS[$1]=0
    echo "# --- $1"
}

# result "ok"|"not ok" DESCRIPTION
result() {
    echo "$1 - $2"
    PROBES=$((PROBES + 1))
    SEC_PROBES[$SECTION]=$((${SEC_PROBES[$SECTION]:-0} + 1))
    if [ "$1" != ok ]; then
        FAILS=$((FAILS + 1))
        SEC_FAILS[$SECTION]=$((${SEC_FAILS[$SECTION]:-0} + 1))
    fi
}
# check DESCRIPTION EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then
        result ok "$1"
    else
        result "not ok" "$1 (expected '$2', got '${3:-nothing}')"
    fi
}
# show FILE: the first lines of FILE as comments (after a failure)
show() { [ -s "$1" ] && sed 's/^/#   /' "$1" | head -"${2:-20}"; }

# field FILE ADDR: the rest of ADDR's line in a probe.py output file
field() { awk -v a="$2" '$1 == a { $1 = ""; sub(/^ /, ""); print; exit }' "$1" 2>/dev/null; }
# banner FILE ADDR: "banner fwc-e2e NODE PORT from PEER" (the peer's port cut off),
# or "fail" when the connection failed (refused, timed out, unreachable)
banner() {
    local f
    f=$(field "$1" "$2")
    case $f in
    "banner "*) echo "${f% sport *}" ;;
    "") echo "" ;;
    *) echo "${f%% *}" ;;
    esac
}
# sport FILE ADDR: the source port the listener saw
sport() { field "$1" "$2" | sed -n 's/.* sport \([0-9]*\)$/\1/p'; }

probe() { local node=$1; shift; topo_exec "$node" "$PY" "$HERE/probe.py" "$@"; }

# --- the topology ------------------------------------------------------------------

VIP=10.0.200.10

# A listener that names its node, its port and the peer it sees.
cat >"$WORK/peer_listen.py" <<'EOF'
import selectors, signal, socket, sys
name, ready, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3].split(",")]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
sel = selectors.DefaultSelector()
for p in ports:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", p))
    s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, p)
with open(ready, "w") as f:
    f.write("ready\n")
while True:
    for key, _ in sel.select():
        try:
            conn, peer = key.fileobj.accept()
            host = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
            conn.settimeout(2)
            try:
                conn.sendall(b"fwc-e2e %s %d from %s sport %d\n" % (name.encode(), key.data, host.encode(), peer[1]))
                conn.shutdown(socket.SHUT_WR)
            finally:
                conn.close()
        except OSError:
            pass
EOF

# listen NODE PORTS
listen() {
    local node=$1 ports=$2
    topo_exec "$node" "$PY" "$WORK/peer_listen.py" "$node" "$TOPO_STATE/$node.ready" "$ports" \
        >"$TOPO_STATE/$node.log" 2>&1 </dev/null &
    echo $! >>"$TOPO_STATE/pids"
}

# link NODE FW_IF FW_ADDR NODE_ADDR GW: a veth FW_IF (in fw) <-> eth0 (in NODE)
link() {
    local node=$1 fwif=$2 fwaddr=$3 addr=$4 gw=${5:-}
    ip -n "$(topo_ns fw)" link add "$fwif" type veth peer name eth0 netns "$(topo_ns "$node")" || return 1
    ip -n "$(topo_ns fw)" addr add "$fwaddr" dev "$fwif" || return 1
    ip -n "$(topo_ns fw)" link set "$fwif" up || return 1
    ip -n "$(topo_ns "$node")" addr add "$addr" dev eth0 || return 1
    ip -n "$(topo_ns "$node")" link set eth0 up || return 1
    if [ -n "$gw" ]; then ip -n "$(topo_ns "$node")" route add default via "$gw" || return 1; fi
}

build() {
    local n
    mkdir -p "$TOPO_STATE" && : >"$TOPO_STATE/pids" || return 1
    for n in $TOPO_NODES; do
        ip netns add "$(topo_ns "$n")" || return 1
        ip -n "$(topo_ns "$n")" link set lo up || return 1
        # Replies of the steered connections come back on lb1/lb2 while the main
        # table routes the VIP via int0: no reverse-path filter anywhere.
        topo_exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || return 1
    done
    topo_exec fw sysctl -qw net.ipv4.ip_forward=1 || return 1
    link out ext0 192.168.1.101/24 192.168.1.50/24 || return 1
    ip -n "$(topo_ns fw)" addr add 192.168.1.102/24 dev ext0 || return 1
    ip -n "$(topo_ns out)" addr add 192.168.1.60/24 dev eth0 || return 1
    ip -n "$(topo_ns out)" addr add 192.168.1.70/24 dev eth0 || return 1
    # The outside knows the way to the farm and to the VIP (for the direct probes).
    ip -n "$(topo_ns out)" route add 10.0.100.0/24 via 192.168.1.101 || return 1
    ip -n "$(topo_ns out)" route add "$VIP/32" via 192.168.1.101 || return 1
    link in int0 10.0.100.1/24 10.0.100.11/24 10.0.100.1 || return 1
    link b1 lb1 10.0.201.1/24 10.0.201.2/24 10.0.201.1 || return 1
    link b2 lb2 10.0.202.1/24 10.0.202.2/24 10.0.202.1 || return 1
    for n in in b1 b2; do
        ip -n "$(topo_ns "$n")" addr add "$VIP/32" dev lo || return 1
    done
    ip -n "$(topo_ns fw)" route add "$VIP/32" via 10.0.100.11 dev int0 || return 1
    ip -n "$(topo_ns fw)" route add "$VIP/32" via 10.0.201.2 dev lb1 table 101 || return 1
    ip -n "$(topo_ns fw)" route add "$VIP/32" via 10.0.202.2 dev lb2 table 102 || return 1
    ip -n "$(topo_ns fw)" rule add fwmark 1 table 101 || return 1
    ip -n "$(topo_ns fw)" rule add fwmark 2 table 102 || return 1

    listen out 80,9000
    listen fw 22,80,8080
    listen in 80,81,8080
    listen b1 80,81
    listen b2 80,81
    for n in out fw in b1 b2; do
        for _ in $(seq 100); do
            [ -s "$TOPO_STATE/$n.ready" ] && break
            sleep 0.05
        done
        if [ ! -s "$TOPO_STATE/$n.ready" ]; then
            echo "# listener in $n did not start:" >&2
            show "$TOPO_STATE/$n.log" >&2
            return 1
        fi
    done
}

# fw_reset: empty ruleset in the firewall (nft and, with legacy iptables, the xtables
# the nft flush cannot see), empty neighbour caches.
fw_reset() {
    topo_exec fw nft flush ruleset
    if iptables -V 2>/dev/null | grep -q legacy; then
        local t c tb
        for t in iptables ip6tables; do
            for tb in filter nat mangle; do
                topo_exec fw "$t" -t "$tb" -F; topo_exec fw "$t" -t "$tb" -X
            done
            for c in INPUT FORWARD OUTPUT; do topo_exec fw "$t" -P "$c" ACCEPT; done
        done
    fi
    local n
    for n in $TOPO_NODES; do ip -n "$(topo_ns "$n")" neigh flush all 2>/dev/null; done
}

# forwarding V: sets net.ipv4.ip_forward and net.ipv6.conf.all.forwarding in fw
forwarding() {
    topo_exec fw sysctl -qw net.ipv4.ip_forward="$1" net.ipv6.conf.all.forwarding="$1"
}
forwarding_state() {
    echo "$(topo_exec fw sysctl -n net.ipv4.ip_forward) $(topo_exec fw sysctl -n net.ipv6.conf.all.forwarding)"
}

# --- loading -----------------------------------------------------------------------

# load LABEL BACKEND POLICYFILE: compile (nft, iptables) or apply (netlink) and load
# into fw, over whatever is loaded (the caller resets first when it wants to).
load() {
    local label=$1 backend=$2 pol=$3 rc out
    local name=${pol##*/}
    if [ "$backend" = netlink ]; then
        topo_exec fw "$FWC" apply "$pol" >"$WORK/$label.load.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
            result "not ok" "$label: fwc apply $name in the firewall namespace (exit $rc)"
            show "$WORK/$label.load.log"
            return 1
        fi
        result ok "$label: fwc apply $name in the firewall namespace"
        topo_exec fw "$FWC" verify "$pol" >"$WORK/$label.verify.log" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then
            result ok "$label: fwc verify $name: the loaded table is exactly the policy"
        else
            result "not ok" "$label: fwc verify $name: the loaded table is exactly the policy (exit $rc)"
            show "$WORK/$label.verify.log"
        fi
    else
        out=$WORK/$label.$([ "$backend" = nft ] && echo nft || echo sh)
        "$FWC" compile "$pol" --target "$backend" -o "$out" >"$WORK/$label.compile.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ] || [ ! -s "$out" ]; then
            result "not ok" "$label: fwc compile $name --target $backend (exit $rc$([ -s "$out" ] || echo ', no output'))"
            show "$WORK/$label.compile.log"
            return 1
        fi
        result ok "$label: fwc compile $name --target $backend"
        if [ "$backend" = nft ]; then
            topo_exec fw nft -f "$out" >"$WORK/$label.load.log" 2>&1
        else
            topo_exec fw sh "$out" >"$WORK/$label.load.log" 2>&1
        fi
        rc=$?
        if [ $rc -ne 0 ]; then
            result "not ok" "$label: load ${out##*/} in the firewall namespace (exit $rc)"
            show "$WORK/$label.load.log"
            return 1
        fi
        result ok "$label: load ${out##*/} in the firewall namespace"
    fi
    topo_exec fw nft list ruleset >"$WORK/$label.ruleset" 2>&1
    [ "$backend" = iptables ] && topo_exec fw iptables-save >"$WORK/$label.iptables-save" 2>&1
    return 0
}

# hooked LABEL BACKEND WHAT...: the loaded rules contain each WHAT (nft: in the listing
# of table inet fwc; iptables: in iptables-save)
hooked() {
    local label=$1 backend=$2 w f missing=""; shift 2
    f=$WORK/$label.ruleset
    [ "$backend" = iptables ] && f=$WORK/$label.iptables-save
    for w in "$@"; do grep -qF -- "$w" "$f" || missing="$missing '$w'"; done
    if [ -z "$missing" ]; then
        result ok "$label: the loaded rules have $(printf "'%s' " "$@")"
    else
        result "not ok" "$label: the loaded rules lack$missing - see $f"
    fi
}

# --- the checks --------------------------------------------------------------------

# sanity: without any rule no address is translated, everything is reachable, the VIP
# goes to `in`, and a hand-written mark steers it to b1 or b2.
sanity() {
    local d=$WORK/sanity pids=()
    mkdir -p "$d"
    fw_reset
    probe in tcp --port 9000 192.168.1.50 192.168.1.60 192.168.1.70 >"$d/farm-out" 2>&1 & pids+=($!)
    probe in tcp --port 80 192.168.1.50 192.168.1.70 >"$d/farm-web" 2>&1 & pids+=($!)
    probe out tcp --port 80 192.168.1.101 10.0.100.11 >"$d/http" 2>&1 & pids+=($!)
    probe out tcp --port 8080 192.168.1.101 10.0.100.11 >"$d/8080" 2>&1 & pids+=($!)
    probe out tcp --port 8081 192.168.1.101 >"$d/8081" 2>&1 & pids+=($!)
    probe out tcp --port 80 "$VIP" >"$d/vip80" 2>&1 & pids+=($!)
    probe out tcp --port 81 "$VIP" >"$d/vip81" 2>&1 & pids+=($!)
    probe fw tcp --port 80 10.0.201.2 10.0.202.2 >"$d/backends" 2>&1 & pids+=($!)
    wait "${pids[@]}"
    local a
    for a in 192.168.1.50 192.168.1.60 192.168.1.70; do
        check "no rules: in -> out $a:9000 arrives from 10.0.100.11 (no NAT)" \
            "banner fwc-e2e out 9000 from 10.0.100.11" "$(banner "$d/farm-out" $a)"
    done
    for a in 192.168.1.50 192.168.1.70; do
        check "no rules: in -> out $a:80 reaches out (no redirect)" \
            "banner fwc-e2e out 80 from 10.0.100.11" "$(banner "$d/farm-web" $a)"
    done
    check "no rules: out -> fw 192.168.1.101:80 reaches the director's own listener" \
        "banner fwc-e2e fw 80 from 192.168.1.50" "$(banner "$d/http" 192.168.1.101)"
    check "no rules: out -> web1 10.0.100.11:80 directly" \
        "banner fwc-e2e in 80 from 192.168.1.50" "$(banner "$d/http" 10.0.100.11)"
    check "no rules: out -> fw 192.168.1.101:8080 directly" \
        "banner fwc-e2e fw 8080 from 192.168.1.50" "$(banner "$d/8080" 192.168.1.101)"
    check "no rules: out -> web1 10.0.100.11:8080 directly" \
        "banner fwc-e2e in 8080 from 192.168.1.50" "$(banner "$d/8080" 10.0.100.11)"
    check "no rules: out -> fw 192.168.1.101:8081 is refused (no listener there)" \
        fail "$(banner "$d/8081" 192.168.1.101)"
    check "no rules: out -> VIP $VIP:80 goes by the main table to in" \
        "banner fwc-e2e in 80 from 192.168.1.50" "$(banner "$d/vip80" $VIP)"
    check "no rules: out -> VIP $VIP:81 goes by the main table to in" \
        "banner fwc-e2e in 81 from 192.168.1.50" "$(banner "$d/vip81" $VIP)"
    check "no rules: fw -> b1 10.0.201.2:80" "banner fwc-e2e b1 80 from 10.0.201.1" \
        "$(banner "$d/backends" 10.0.201.2)"
    check "no rules: fw -> b2 10.0.202.2:80" "banner fwc-e2e b2 80 from 10.0.202.1" \
        "$(banner "$d/backends" 10.0.202.2)"
    topo_exec out nmap -n -Pn -T4 --max-retries 1 -sS -p 22,80,8080,8081 -oG "$d/scan" 192.168.1.101 \
        >"$d/scan.log" 2>&1
    "$PY" "$HERE/probe.py" nmapg "$d/scan" 22,80,8080,8081 192.168.1.101 >"$d/scan.states"
    check "no rules: nmap -sS out -> fw 192.168.1.101 sees every listener" "22/open 80/open 8080/open 8081/closed" \
        "$(field "$d/scan.states" 192.168.1.101)"
    # Policy routing by mark, set by a hand-written rule.
    local m node
    for m in 1 2; do
        node=b$m
        topo_exec fw nft -f - <<EOF
table ip fwce2e_sanity
delete table ip fwce2e_sanity
table ip fwce2e_sanity {
    chain marks {
        type filter hook prerouting priority mangle; policy accept;
        ip daddr $VIP tcp dport 80 meta mark set $m
    }
}
EOF
        probe out tcp --port 80 "$VIP" >"$d/vip80-mark$m" 2>&1 & pids=($!)
        probe out tcp --port 81 "$VIP" >"$d/vip81-mark$m" 2>&1 & pids+=($!)
        wait "${pids[@]}"
        check "hand-written mark $m: out -> VIP $VIP:80 goes to $node" \
            "banner fwc-e2e $node 80 from 192.168.1.50" "$(banner "$d/vip80-mark$m" $VIP)"
        check "hand-written mark $m: out -> VIP $VIP:81 (not marked) goes to in" \
            "banner fwc-e2e in 81 from 192.168.1.50" "$(banner "$d/vip81-mark$m" $VIP)"
    done
    fw_reset
}

# gateway LABEL BACKEND: scenario 1
gateway() {
    local label=$1-gateway backend=$1 d=$WORK/$1-gateway pids=() fwd
    mkdir -p "$d"
    fw_reset
    forwarding 0
    load "$label" "$backend" "$NATDIR/gateway.fw" || { forwarding 1; return 1; }
    fwd=$(forwarding_state)
    if [ "$backend" = nft ]; then
        # nft -f cannot set sysctls: the boot unit does that (not tested here).
        echo "# $label: forwarding after nft -f: $fwd (the nft file cannot set it)"
    else
        check "$label: option forwarding yes turned on net.ipv4.ip_forward and net.ipv6.conf.all.forwarding" \
            "1 1" "$fwd"
    fi
    forwarding 1
    if [ "$backend" = iptables ]; then
        hooked "$label" "$backend" "-j DNAT" "-j REDIRECT" "-j SNAT" "-j MASQUERADE" "--ctorigdstport 80"
    else
        hooked "$label" "$backend" "hook prerouting" "hook postrouting" "dnat" "redirect" "snat" "masquerade"
    fi

    probe in tcp --port 9000 192.168.1.50 192.168.1.60 192.168.1.70 >"$d/farm-out" 2>&1 & pids+=($!)
    probe out tcp --port 80 192.168.1.101 192.168.1.102 10.0.100.11 >"$d/http" 2>&1 & pids+=($!)
    probe out tcp --port 8080 192.168.1.101 10.0.100.11 >"$d/8080" 2>&1 & pids+=($!)
    probe out tcp --port 8081 192.168.1.101 >"$d/8081" 2>&1 & pids+=($!)
    topo_exec out nmap -n -Pn -T4 --max-retries 1 -sS -p 22,80,8080,8081 -oG "$d/scan" 192.168.1.101 \
        >"$d/scan.log" 2>&1 & pids+=($!)
    wait "${pids[@]}"
    "$PY" "$HERE/probe.py" nmapg "$d/scan" 22,80,8080,8081 192.168.1.101 >"$d/scan.states"

    check "$label: masquerade: in -> out 192.168.1.50:9000 arrives from 192.168.1.101" \
        "banner fwc-e2e out 9000 from 192.168.1.101" "$(banner "$d/farm-out" 192.168.1.50)"
    check "$label: no nat: in -> partner 192.168.1.60:9000 arrives from 10.0.100.11" \
        "banner fwc-e2e out 9000 from 10.0.100.11" "$(banner "$d/farm-out" 192.168.1.60)"
    check "$label: snat: in -> audit 192.168.1.70:9000 arrives from 192.168.1.102" \
        "banner fwc-e2e out 9000 from 192.168.1.102" "$(banner "$d/farm-out" 192.168.1.70)"
    local p
    p=$(sport "$d/farm-out" 192.168.1.70)
    if [ -n "$p" ] && [ "$p" -ge 20000 ] && [ "$p" -le 20099 ]; then
        result ok "$label: snat port 20000-20099: the audit host sees source port $p"
    else
        result "not ok" "$label: snat port 20000-20099: the audit host sees source port '${p:-nothing}'"
    fi
    check "$label: dnat: out -> fw 192.168.1.101:80 reaches web1:8080, from the client's own address" \
        "banner fwc-e2e in 8080 from 192.168.1.50" "$(banner "$d/http" 192.168.1.101)"
    check "$label: dnat: out -> fw 192.168.1.102:80 (the director's other address) reaches web1:8080" \
        "banner fwc-e2e in 8080 from 192.168.1.50" "$(banner "$d/http" 192.168.1.102)"
    check "$label: out -> web1 10.0.100.11:8080 directly is dropped (the filter names the original destination)" \
        fail "$(banner "$d/8080" 10.0.100.11)"
    check "$label: out -> web1 10.0.100.11:80 directly is dropped" \
        fail "$(banner "$d/http" 10.0.100.11)"
    check "$label: redirect: out -> fw 192.168.1.101:8081 reaches the director's 8080" \
        "banner fwc-e2e fw 8080 from 192.168.1.50" "$(banner "$d/8081" 192.168.1.101)"
    check "$label: out -> fw 192.168.1.101:8080 directly is dropped" \
        fail "$(banner "$d/8080" 192.168.1.101)"
    check "$label: nmap -sS out -> fw 192.168.1.101: only the forwarded ports answer" \
        "22/filtered 80/open 8080/filtered 8081/open" "$(field "$d/scan.states" 192.168.1.101)"
}

# lvs_traffic LABEL NODE: tcp 80 to the VIP reaches NODE, tcp 81 the main table's server
lvs_traffic() {
    local label=$1 node=$2 d=$WORK/$1 pids=()
    mkdir -p "$d"
    probe out tcp --port 80 "$VIP" >"$d/vip80" 2>&1 & pids+=($!)
    probe out tcp --port 81 "$VIP" >"$d/vip81" 2>&1 & pids+=($!)
    wait "${pids[@]}"
    check "$label: out -> VIP $VIP:80 is marked and reaches $node" \
        "banner fwc-e2e $node 80 from 192.168.1.50" "$(banner "$d/vip80" $VIP)"
    # A second, later connection goes the same way (every packet is marked).
    probe out tcp --port 80 "$VIP" >"$d/vip80-again" 2>&1
    check "$label: out -> VIP $VIP:80 again reaches $node" \
        "banner fwc-e2e $node 80 from 192.168.1.50" "$(banner "$d/vip80-again" $VIP)"
    check "$label: out -> VIP $VIP:81 is not marked: the main table's server in" \
        "banner fwc-e2e in 81 from 192.168.1.50" "$(banner "$d/vip81" $VIP)"
}

# lvs BACKEND: scenario 2, and the failover by changing one line
lvs() {
    local backend=$1 label=$1-lvs-web1 pol2=$WORK/lvs-web2.fw
    fw_reset
    forwarding 1
    load "$label" "$backend" "$NATDIR/lvs.fw" || return 1
    if [ "$backend" = iptables ]; then
        hooked "$label" "$backend" "-A PREROUTING" "-j MARK --set-xmark 0x1/0xffffffff"
    else
        hooked "$label" "$backend" "hook prerouting" "meta mark set 0x00000001"
    fi
    lvs_traffic "$label" b1

    sed 's/^mark web 1;/mark web 2;/' "$NATDIR/lvs.fw" >"$pol2"
    check "failover: lvs-web2.fw differs from lvs.fw in exactly the one mark line" \
        "< mark web 1;|> mark web 2;|" "$(diff "$NATDIR/lvs.fw" "$pol2" | grep '^[<>]' | tr '\n' '|')"
    label=$backend-lvs-web2
    # No reset: the new rules replace the old ones, as in a real failover.
    load "$label" "$backend" "$pol2" || return 1
    if [ "$backend" = iptables ]; then
        hooked "$label" "$backend" "-j MARK --set-xmark 0x2/0xffffffff"
    else
        hooked "$label" "$backend" "meta mark set 0x00000002"
    fi
    if [ "$backend" = iptables ]; then
        if grep -qF -- "--set-xmark 0x1/" "$WORK/$label.iptables-save"; then
            result "not ok" "$label: the reload left the old mark 1 rule in place"
        else
            result ok "$label: the reload replaced the old mark 1 rule"
        fi
    else
        if grep -qF "meta mark set 0x00000001" "$WORK/$label.ruleset"; then
            result "not ok" "$label: the reload left the old mark 1 rule in place"
        else
            result ok "$label: the reload replaced the old mark 1 rule"
        fi
    fi
    lvs_traffic "$label" b2
}

# tproxy BACKEND: part 3, a redirect of traffic to other hosts (the transparent proxy)
tproxy() {
    local backend=$1 label=$1-tproxy d=$WORK/$1-tproxy pids=()
    mkdir -p "$d"
    fw_reset
    forwarding 1
    load "$label" "$backend" "$NATDIR/tproxy.fw" || return 1
    probe in tcp --port 80 10.0.100.1 192.168.1.70 192.168.1.50 >"$d/web" 2>&1 & pids+=($!)
    probe in tcp --port 8080 10.0.100.1 >"$d/8080" 2>&1 & pids+=($!)
    wait "${pids[@]}"
    check "$label: in -> fw 10.0.100.1:80 (the director's own web server, not redirected)" \
        "banner fwc-e2e fw 80 from 10.0.100.11" "$(banner "$d/web" 10.0.100.1)"
    check "$label: redirect: in -> audit 192.168.1.70:80 reaches the director's 8080 (a rule names audit)" \
        "banner fwc-e2e fw 8080 from 10.0.100.11" "$(banner "$d/web" 192.168.1.70)"
    check "$label: redirect: in -> 192.168.1.50:80 is dropped (no rule names 192.168.1.50; 'to fw' must not match it)" \
        fail "$(banner "$d/web" 192.168.1.50)"
    check "$label: in -> fw 10.0.100.1:8080 directly is dropped" \
        fail "$(banner "$d/8080" 10.0.100.1)"
}

# --- main --------------------------------------------------------------------------

echo "# fwc: $FWC"
echo "# policies: $NATDIR/gateway.fw $NATDIR/lvs.fw $NATDIR/tproxy.fw"
section topology
if ! build; then
    result "not ok" "build the namespaces ${TOPO_PREFIX}{${TOPO_NODES// /,}}"
    KEEP=1
else
    result ok "build the namespaces ${TOPO_PREFIX}{${TOPO_NODES// /,}}"
    sanity
    for backend in nft iptables netlink; do
        section "$backend"
        gateway "$backend"
        lvs "$backend"
        tproxy "$backend"
    done
    fw_reset
fi

T1=$(date +%s%N)
echo "# probes per part:"
for s in "${SECTIONS[@]}"; do
    echo "#   $s: ${SEC_PROBES[$s]} probes, ${SEC_FAILS[$s]} failures"
done
[ "$FAILS" -gt 0 ] && KEEP=1
[ "$KEEP" = 1 ] && echo "# work directory kept: $WORK"
printf '# wall time: %d.%01ds\n' $(((T1 - T0) / 1000000000)) $(((T1 - T0) / 100000000 % 10))
echo "nat_test: $PROBES probes, $FAILS failures"
[ "$FAILS" -eq 0 ] || exit 1
exit 0
