#!/bin/bash
# nat_test.sh [FWC_BINARY] — end-to-end test of NAT and packet marks with real traffic.
#
# Builds five network namespaces for the test's own policies in tests/e2e/nat/, and
# eleven more for three of the project's policies (nothing in the root namespace):
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
# Then the scenario parts: policies/haproxy.fw, policies/lvs.fw and policies/maas-ha.fw
# as they are in the project (not copies), each in a topology of its own with the
# addresses and device names the policy declares (drawn at "the scenario parts" below),
# again with each backend and after a check of the topology without rules:
#   haproxy.fw (seed 003): the outside reaches HAProxy on 192.168.1.101:80 and nothing
#      else (not port 22, not Apache on 10.0.100.1, not the real server); a real server's
#      connection to the outside arrives from 192.168.1.101 (masquerade out enp0s3); the
#      internal zone reaches the director; the director reaches the farm and the outside.
#   lvs.fw (seed 004): tcp 80 to the VIP is marked 1 and, by policy routing on the mark
#      in place of IPVS, reaches a real server (mark 1: either, twice the same), while
#      the director's other address, the VIP's port 22 and the real servers directly are
#      dropped; administration from the intranet and monit's checks pass. The failover:
#      copies of lvs.fw differing in the one line `mark web 1;` (checked with diff), with
#      2 and then 3, loaded over the old rules: the traffic goes to s10, then to s11.
#   maas-ha.fw --firewall maas1 (seed 002): a node-network host's connection to the outside
#      arrives from the master's public 155.210.155.170 (masquerade out eno1); the outside
#      does not reach the node network, reaches SSH but not PostgreSQL on the master.
#      Then maas-ha.fw --firewall maas2 (the replica) in the master's place: no masquerade, nothing
#      forwarded.
#
# Output: one "ok - ..." / "not ok - ..." line per probe, a count per part, the wall
# time, and last "nat_test: N probes, M failures".
# Exit: 0 all passed, 1 something failed, 77 skipped (not root, no netns, a tool
# missing), 2 usage error (no fwc binary). FWC_BINARY may also be given as $FWC.
# Environment: FWC_E2E_KEEP=1 keeps the work directory (compiled rules, listings,
# probe output); it is kept anyway when something failed.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NATDIR=$HERE/nat
POLDIR=$(cd "$HERE/../.." && pwd)/policies   # the project's own policies, used as they are
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
# The interpreter itself, not a wrapper (a pyenv shim costs a third of a second a start,
# and every probe and listener is a start).
PY=$("$PY" -c 'import sys; print(sys.executable)') || skip "python3 does not run"
if [ ! -x "$FWC" ] || [ -d "$FWC" ]; then
    echo "error: fwc binary '$FWC' does not exist or is not executable" >&2
    exit 2
fi
FWC=$(cd "$(dirname "$FWC")" && pwd)/$(basename "$FWC")
for f in "$NATDIR"/{gateway,lvs,tproxy}.fw "$POLDIR"/{haproxy,lvs,maas-ha}.fw; do
    [ -f "$f" ] || { echo "error: policy '$f' not found" >&2; exit 2; }
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
# The scenario parts (policies/haproxy.fw, lvs.fw, maas-ha.fw): one firewall and
# its neighbours each, with the addresses and device names the policies declare.
declare -A FW_NODES=([fw]="$TOPO_NODES" [hfw]="hout hfw hweb" [lfw]="lcl lfw lsw s10 s11"
                     [mfw]="mpub mfw mnode")
TOPO_NODES="$TOPO_NODES ${FW_NODES[hfw]} ${FW_NODES[lfw]} ${FW_NODES[mfw]}"
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
# section NAME [DETAIL]: the probes that follow count for part NAME (a part may be
# entered more than once: the scenario parts are entered once per backend, DETAIL)
SECTION_HEADER=
section() {
    SECTION=$1
    if [ -z "${SEC_PROBES[$1]+set}" ]; then
        SECTIONS+=("$1")
        SEC_PROBES[$1]=0 SEC_FAILS[$1]=0
    fi
    if [ "$SECTION_HEADER" != "$1${2:+ ($2)}" ]; then
        SECTION_HEADER="$1${2:+ ($2)}"
        echo "# --- $SECTION_HEADER"
    fi
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

# wait_listeners NODE...: until each node's listener says it is ready (5 s).
wait_listeners() {
    local n
    for n in "$@"; do
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
    wait_listeners out fw in b1 b2
}

# fw_reset [NODE]: empty ruleset in the firewall NODE (default fw; nft and, with
# legacy iptables, the xtables the nft flush cannot see), empty neighbour caches in
# its topology.
fw_reset() {
    local f=${1:-fw}
    topo_exec "$f" nft flush ruleset
    if iptables -V 2>/dev/null | grep -q legacy; then
        local t c tb
        for t in iptables ip6tables; do
            for tb in filter nat mangle; do
                topo_exec "$f" "$t" -t "$tb" -F; topo_exec "$f" "$t" -t "$tb" -X
            done
            for c in INPUT FORWARD OUTPUT; do topo_exec "$f" "$t" -P "$c" ACCEPT; done
        done
    fi
    local n
    for n in ${FW_NODES[$f]}; do ip -n "$(topo_ns "$n")" neigh flush all 2>/dev/null; done
}

# forwarding V [NODE]: sets net.ipv4.ip_forward and net.ipv6.conf.all.forwarding in
# NODE (default fw)
forwarding() {
    topo_exec "${2:-fw}" sysctl -qw net.ipv4.ip_forward="$1" net.ipv6.conf.all.forwarding="$1"
}
forwarding_state() {
    local f=${1:-fw}
    echo "$(topo_exec "$f" sysctl -n net.ipv4.ip_forward) $(topo_exec "$f" sysctl -n net.ipv6.conf.all.forwarding)"
}

# --- loading -----------------------------------------------------------------------

# load LABEL BACKEND POLICYFILE [FWC_OPTION...]: compile (nft, iptables) or apply
# (netlink) and load into the firewall namespace $FWNODE (default fw), over whatever
# is loaded (the caller resets first when it wants to). The options (-D NAME) go to
# fwc compile, apply and verify.
FWNODE=fw
load() {
    local label=$1 backend=$2 pol=$3 rc out f=$FWNODE
    local name=${pol##*/}
    shift 3
    [ $# -gt 0 ] && name="$name $*"
    if [ "$backend" = netlink ]; then
        # fwc apply's state (a pending --confirm) stays with its namespace
        local state=$FWC_STATE_DIR
        [ "$f" = fw ] || state=$FWC_STATE_DIR-$f
        FWC_STATE_DIR=$state topo_exec "$f" "$FWC" apply "$pol" "$@" >"$WORK/$label.load.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
            result "not ok" "$label: fwc apply $name in the firewall namespace (exit $rc)"
            show "$WORK/$label.load.log"
            return 1
        fi
        result ok "$label: fwc apply $name in the firewall namespace"
        topo_exec "$f" "$FWC" verify "$pol" "$@" >"$WORK/$label.verify.log" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then
            result ok "$label: fwc verify $name: the loaded table is exactly the policy"
        else
            result "not ok" "$label: fwc verify $name: the loaded table is exactly the policy (exit $rc)"
            show "$WORK/$label.verify.log"
        fi
    else
        out=$WORK/$label.$([ "$backend" = nft ] && echo nft || echo sh)
        "$FWC" compile "$pol" "$@" --target "$backend" -o "$out" >"$WORK/$label.compile.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ] || [ ! -s "$out" ]; then
            result "not ok" "$label: fwc compile $name --target $backend (exit $rc$([ -s "$out" ] || echo ', no output'))"
            show "$WORK/$label.compile.log"
            return 1
        fi
        result ok "$label: fwc compile $name --target $backend"
        if [ "$backend" = nft ]; then
            topo_exec "$f" nft -f "$out" >"$WORK/$label.load.log" 2>&1
        else
            topo_exec "$f" sh "$out" >"$WORK/$label.load.log" 2>&1
        fi
        rc=$?
        if [ $rc -ne 0 ]; then
            result "not ok" "$label: load ${out##*/} in the firewall namespace (exit $rc)"
            show "$WORK/$label.load.log"
            return 1
        fi
        result ok "$label: load ${out##*/} in the firewall namespace"
    fi
    topo_exec "$f" nft list ruleset >"$WORK/$label.ruleset" 2>&1
    [ "$backend" = iptables ] && topo_exec "$f" iptables-save >"$WORK/$label.iptables-save" 2>&1
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

# --- the scenario parts: the project's policies in their own topologies ------------
#
# haproxy (seed 003)         the NAT network 192.168.1.0/24      the farm 10.0.100.0/24
#   hout 192.168.1.1 ── enp0s3 [hfw] enp0s8 ── hweb 10.0.100.12 (cluster2)
#   tcp 9000             .101 tcp 22 80  .1          tcp 22 80, default via .1
# lvs (seed 004)             public 203.0.113.0/24                 intranet 10.0.0.0/24
#   lcl 203.0.113.50 ── eth0 [lfw] eth1 ── lsw (bridge) ─┬─ s10 10.0.0.10 ┐ tcp 80, VIP on lo,
#              .37 + VIP .38, tcp 22 80  .1             └─ s11 10.0.0.11 ┘ default via .1
#   lfw: ip rule fwmark 1 table 101 (the VIP by a multipath route via s10 and s11: "FWM 1
#   sh"), fwmark 2 table 102 (via s10 only), fwmark 3 table 103 (via s11 only), all before
#   the local table, moved from preference 0 to 100: without IPVS in the kernel these
#   routes do what ipvsadm's three virtual services do; an unmarked packet to the VIP is
#   delivered to lfw itself. lfw accepts packets from its own VIP (the real servers'
#   answers): accept_local.
# maas-ha (seed 002)         public 155.210.155.0/24             node network 10.8.8.0/24
#   mpub 155.210.155.1 ── eno1 [mfw] eno2 ── mnode 10.8.8.50, default via .11
#   tcp 9000         .170 + VIP .172  .11    tcp 9000
#                    tcp 22 5432
# hout, lcl and mpub stand for the outside and know the way to the networks behind the
# firewall (for the probes that must be dropped).

# veth NODE_A IF_A ADDR_A NODE_B IF_B [ADDR_B [GW_B]]: a veth pair between two nodes
# (an empty ADDR_A: no address)
veth() {
    local a=$1 ia=$2 aa=$3 b=$4 ib=$5 ab=${6:-} gb=${7:-}
    ip -n "$(topo_ns "$a")" link add "$ia" type veth peer name "$ib" netns "$(topo_ns "$b")" || return 1
    if [ -n "$aa" ]; then ip -n "$(topo_ns "$a")" addr add "$aa" dev "$ia" || return 1; fi
    ip -n "$(topo_ns "$a")" link set "$ia" up || return 1
    if [ -n "$ab" ]; then ip -n "$(topo_ns "$b")" addr add "$ab" dev "$ib" || return 1; fi
    ip -n "$(topo_ns "$b")" link set "$ib" up || return 1
    if [ -n "$gb" ]; then ip -n "$(topo_ns "$b")" route add default via "$gb" || return 1; fi
}

LVS_VIP=203.0.113.38

build_scenarios() {
    local n
    for n in hfw lfw mfw; do topo_exec "$n" sysctl -qw net.ipv4.ip_forward=1 || return 1; done
    # haproxy
    veth hfw enp0s3 192.168.1.101/24 hout eth0 192.168.1.1/24 || return 1
    veth hfw enp0s8 10.0.100.1/24 hweb eth0 10.0.100.12/24 10.0.100.1 || return 1
    ip -n "$(topo_ns hout)" route add 10.0.100.0/24 via 192.168.1.101 || return 1
    # lvs
    veth lfw eth0 203.0.113.37/24 lcl eth0 203.0.113.50/24 || return 1
    ip -n "$(topo_ns lfw)" addr add "$LVS_VIP/24" dev eth0 || return 1
    ip -n "$(topo_ns lcl)" route add 10.0.0.0/24 via 203.0.113.37 || return 1
    ip -n "$(topo_ns lsw)" link add br0 type bridge || return 1
    ip -n "$(topo_ns lsw)" link set br0 up || return 1
    veth lsw p-lfw "" lfw eth1 10.0.0.1/24 || return 1
    for n in s10 s11; do
        veth lsw "p-$n" "" "$n" eth0 "10.0.0.${n#s}/24" 10.0.0.1 || return 1
        ip -n "$(topo_ns "$n")" addr add "$LVS_VIP/32" dev lo || return 1
    done
    for n in lfw s10 s11; do ip -n "$(topo_ns lsw)" link set "p-$n" master br0 || return 1; done
    topo_exec lfw sysctl -qw net.ipv4.conf.all.accept_local=1 || return 1
    ip -n "$(topo_ns lfw)" route add "$LVS_VIP/32" table 101 \
        nexthop via 10.0.0.10 dev eth1 nexthop via 10.0.0.11 dev eth1 || return 1
    ip -n "$(topo_ns lfw)" route add "$LVS_VIP/32" via 10.0.0.10 dev eth1 table 102 || return 1
    ip -n "$(topo_ns lfw)" route add "$LVS_VIP/32" via 10.0.0.11 dev eth1 table 103 || return 1
    for n in 1 2 3; do ip -n "$(topo_ns lfw)" rule add pref "1$n" fwmark "$n" table "10$n" || return 1; done
    ip -n "$(topo_ns lfw)" rule add pref 100 lookup local || return 1
    ip -n "$(topo_ns lfw)" rule del pref 0 lookup local || return 1
    # maas-ha
    veth mfw eno1 155.210.155.170/24 mpub eth0 155.210.155.1/24 || return 1
    ip -n "$(topo_ns mfw)" addr add 155.210.155.172/24 dev eno1 || return 1
    veth mfw eno2 10.8.8.11/24 mnode eth0 10.8.8.50/24 10.8.8.11 || return 1
    ip -n "$(topo_ns mpub)" route add 10.8.8.0/24 via 155.210.155.170 || return 1

    listen hout 9000
    listen hfw 22,80
    listen hweb 22,80
    listen lfw 22,80
    listen s10 80
    listen s11 80
    listen mpub 9000
    listen mfw 22,5432
    listen mnode 9000
    wait_listeners hout hfw hweb lfw s10 s11 mpub mfw mnode
}

# lvs_check DESCRIPTION "SERVER..." FILE: the VIP's banner in FILE comes from one of
# the SERVERs, which sees the client's own address; sets LVS_GOT to that server
LVS_GOT=
lvs_check() {
    local what=$1 servers=$2 f=$3 got s
    got=$(banner "$f" "$LVS_VIP")
    LVS_GOT=
    for s in $servers; do
        [ "$got" = "banner fwc-e2e $s 80 from 203.0.113.50" ] && LVS_GOT=$s
    done
    if [ -n "$LVS_GOT" ]; then
        result ok "$what reaches $LVS_GOT (of: $servers)"
    else
        result "not ok" "$what reaches one of: $servers (got '${got:-nothing}')"
    fi
}

# scen_sanity: the scenario topologies without any rule carry everything, translate
# nothing, deliver the VIP to lfw itself, and a hand-written mark takes the VIP's web
# traffic to the real server(s) of its route.
scen_sanity() {
    local d=$WORK/scen-sanity pids=() m b
    mkdir -p "$d"
    for b in hfw lfw mfw; do fw_reset "$b"; done
    probe hout tcp --port 80 192.168.1.101 10.0.100.12 >"$d/h80" 2>&1 & pids+=($!)
    probe hweb tcp --port 9000 192.168.1.1 >"$d/hout" 2>&1 & pids+=($!)
    probe lcl tcp --port 80 "$LVS_VIP" 10.0.0.10 >"$d/l80" 2>&1 & pids+=($!)
    probe mnode tcp --port 9000 155.210.155.1 >"$d/mout" 2>&1 & pids+=($!)
    probe mpub tcp --port 9000 10.8.8.50 >"$d/min" 2>&1 & pids+=($!)
    probe mpub tcp --port 5432 155.210.155.170 >"$d/m5432" 2>&1 & pids+=($!)
    wait "${pids[@]}"
    section haproxy.fw "no rules"
    check "no rules: hout -> director 192.168.1.101:80" \
        "banner fwc-e2e hfw 80 from 192.168.1.1" "$(banner "$d/h80" 192.168.1.101)"
    check "no rules: hout -> real server 10.0.100.12:80 directly" \
        "banner fwc-e2e hweb 80 from 192.168.1.1" "$(banner "$d/h80" 10.0.100.12)"
    check "no rules: real server -> hout 192.168.1.1:9000 arrives from 10.0.100.12 (no NAT)" \
        "banner fwc-e2e hout 9000 from 10.0.100.12" "$(banner "$d/hout" 192.168.1.1)"
    section lvs.fw "no rules"
    check "no rules: lcl -> VIP $LVS_VIP:80 (not marked) is the director's own" \
        "banner fwc-e2e lfw 80 from 203.0.113.50" "$(banner "$d/l80" "$LVS_VIP")"
    check "no rules: lcl -> s10 10.0.0.10:80 directly" \
        "banner fwc-e2e s10 80 from 203.0.113.50" "$(banner "$d/l80" 10.0.0.10)"
    for m in 1 2 3; do
        topo_exec lfw nft -f - <<EOF
table ip fwce2e_sanity
delete table ip fwce2e_sanity
table ip fwce2e_sanity {
    chain marks {
        type filter hook prerouting priority mangle; policy accept;
        ip daddr $LVS_VIP tcp dport 80 meta mark set $m
    }
}
EOF
        probe lcl tcp --port 80 "$LVS_VIP" >"$d/l80-mark$m" 2>&1
        case $m in
        1) lvs_check "hand-written mark 1: lcl -> VIP $LVS_VIP:80" "s10 s11" "$d/l80-mark$m" ;;
        2) lvs_check "hand-written mark 2: lcl -> VIP $LVS_VIP:80" s10 "$d/l80-mark$m" ;;
        3) lvs_check "hand-written mark 3: lcl -> VIP $LVS_VIP:80" s11 "$d/l80-mark$m" ;;
        esac
    done
    fw_reset lfw
    section maas-ha.fw "no rules"
    check "no rules: node 10.8.8.50 -> mpub 155.210.155.1:9000 arrives from 10.8.8.50 (no NAT)" \
        "banner fwc-e2e mpub 9000 from 10.8.8.50" "$(banner "$d/mout" 155.210.155.1)"
    check "no rules: mpub -> node 10.8.8.50:9000 directly" \
        "banner fwc-e2e mnode 9000 from 155.210.155.1" "$(banner "$d/min" 10.8.8.50)"
    check "no rules: mpub -> master 155.210.155.170:5432" \
        "banner fwc-e2e mfw 5432 from 155.210.155.1" "$(banner "$d/m5432" 155.210.155.170)"
}

# lvs_copies: the failover's copies of policies/lvs.fw, each different in the one
# mark line only
lvs_copies() {
    local n got
    section lvs.fw "failover copies"
    for n in 2 3; do
        sed "s/^mark web 1;/mark web $n;/" "$POLDIR/lvs.fw" >"$WORK/lvs-mark$n.fw"
        got=$(diff "$POLDIR/lvs.fw" "$WORK/lvs-mark$n.fw" | grep '^[<>]' | cut -c1-13 | tr '\n' '|')
        check "failover: lvs-mark$n.fw differs from policies/lvs.fw in exactly the one mark line" \
            "< mark web 1;|> mark web $n;|" "$got"
    done
}

# fwd_check LABEL NODE BACKEND: option forwarding yes turned forwarding on in NODE
# (not with nft -f, which cannot; the caller turns it on then)
fwd_check() {
    local label=$1 node=$2 backend=$3
    if [ "$backend" = nft ]; then
        echo "# $label: forwarding after nft -f: $(forwarding_state "$node") (the nft file cannot set it)"
    else
        check "$label: option forwarding yes turned on net.ipv4.ip_forward and net.ipv6.conf.all.forwarding" \
            "1 1" "$(forwarding_state "$node")"
    fi
}

# lvs_failover BACKEND N SERVER: the copy of policies/lvs.fw with `mark web N;`, loaded
# over the old rules as the failover script would; the VIP's web traffic takes the
# route of mark N, to SERVER
lvs_failover() {
    local backend=$1 n=$2 server=$3 label=$1-lvs-mark$2 d=$WORK/$1-lvs-mark$2
    mkdir -p "$d"
    FWNODE=lfw
    load "$label" "$backend" "$WORK/lvs-mark$n.fw" || { FWNODE=fw; return 1; }
    FWNODE=fw
    if [ "$backend" = iptables ]; then
        hooked "$label" "$backend" "-j MARK --set-xmark 0x$n/0xffffffff"
        if grep -qF -- "--set-xmark 0x1/" "$WORK/$label.iptables-save"; then
            result "not ok" "$label: the reload left the old mark 1 rule in place"
        else
            result ok "$label: the reload replaced the old mark 1 rule"
        fi
    else
        hooked "$label" "$backend" "meta mark set 0x0000000$n"
        if grep -qF "meta mark set 0x00000001" "$WORK/$label.ruleset"; then
            result "not ok" "$label: the reload left the old mark 1 rule in place"
        else
            result ok "$label: the reload replaced the old mark 1 rule"
        fi
    fi
    probe lcl tcp --port 80 "$LVS_VIP" >"$d/vip80" 2>&1
    lvs_check "$label: lcl -> VIP $LVS_VIP:80, marked $n," "$server" "$d/vip80"
}

# scenarios BACKEND: the three policies loaded into their firewalls and probed at once
# (each topology is its own); then the lvs failover, and the replica's policy in the
# master's place.
scenarios() {
    local backend=$1 d=$WORK/$1-scen pids=() b l f ok_h=0 ok_l=0 ok_m=0 first
    mkdir -p "$d"
    for b in hfw lfw mfw; do fw_reset "$b"; forwarding 0 "$b"; done

    section haproxy.fw "$backend"
    FWNODE=hfw
    load "$backend-haproxy" "$backend" "$POLDIR/haproxy.fw" && ok_h=1
    FWNODE=fw
    [ $ok_h = 1 ] && fwd_check "$backend-haproxy" hfw "$backend"
    section lvs.fw "$backend"
    FWNODE=lfw
    load "$backend-lvs" "$backend" "$POLDIR/lvs.fw" && ok_l=1
    FWNODE=fw
    [ $ok_l = 1 ] && fwd_check "$backend-lvs" lfw "$backend"
    section maas-ha.fw "$backend"
    FWNODE=mfw
    load "$backend-maas-ha-1" "$backend" "$POLDIR/maas-ha.fw" --firewall maas1 && ok_m=1
    FWNODE=fw
    [ $ok_m = 1 ] && fwd_check "$backend-maas-ha-1" mfw "$backend"
    for b in hfw lfw mfw; do forwarding 1 "$b"; done

    # All the probes of the three scenarios at once.
    if [ $ok_h = 1 ]; then
        probe hout tcp --port 80 192.168.1.101 10.0.100.1 10.0.100.12 >"$d/h80" 2>&1 & pids+=($!)
        probe hout tcp --port 22 192.168.1.101 >"$d/h22" 2>&1 & pids+=($!)
        probe hweb tcp --port 9000 192.168.1.1 >"$d/hout" 2>&1 & pids+=($!)
        probe hweb tcp --port 22 10.0.100.1 >"$d/hweb22" 2>&1 & pids+=($!)
        probe hfw tcp --port 80 10.0.100.12 >"$d/hfw80" 2>&1 & pids+=($!)
        probe hfw tcp --port 9000 192.168.1.1 >"$d/hfwout" 2>&1 & pids+=($!)
    fi
    if [ $ok_l = 1 ]; then
        probe lcl tcp --port 80 "$LVS_VIP" >"$d/l80" 2>&1 & pids+=($!)
        probe lcl tcp --port 80 "$LVS_VIP" >"$d/l80-again" 2>&1 & pids+=($!)
        probe lcl tcp --port 80 203.0.113.37 10.0.0.10 >"$d/l80-other" 2>&1 & pids+=($!)
        probe lcl tcp --port 22 "$LVS_VIP" 203.0.113.37 >"$d/l22" 2>&1 & pids+=($!)
        probe s10 tcp --port 22 10.0.0.1 >"$d/ladmin" 2>&1 & pids+=($!)
        probe lfw tcp --port 80 10.0.0.10 10.0.0.11 >"$d/lmonit" 2>&1 & pids+=($!)
    fi
    if [ $ok_m = 1 ]; then
        probe mnode tcp --port 9000 155.210.155.1 >"$d/mout" 2>&1 & pids+=($!)
        probe mpub tcp --port 9000 10.8.8.50 >"$d/min" 2>&1 & pids+=($!)
        probe mpub tcp --port 22 155.210.155.170 >"$d/m22" 2>&1 & pids+=($!)
        probe mpub tcp --port 5432 155.210.155.170 >"$d/m5432" 2>&1 & pids+=($!)
    fi
    [ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"

    if [ $ok_h = 1 ]; then
        section haproxy.fw "$backend"
        l=$backend-haproxy
        if [ "$backend" = iptables ]; then
            hooked "$l" "$backend" "-A POSTROUTING -s 10.0.100.0/24 -o enp0s3" "-j MASQUERADE"
        else
            hooked "$l" "$backend" "hook postrouting" "oifname \"enp0s3\" ip saddr 10.0.100.0/24" "masquerade"
        fi
        check "$l: hout -> director 192.168.1.101:80 reaches HAProxy's frontend" \
            "banner fwc-e2e hfw 80 from 192.168.1.1" "$(banner "$d/h80" 192.168.1.101)"
        check "$l: hout -> director 192.168.1.101:22 is dropped (only tcp 80 on the external zone)" \
            fail "$(banner "$d/h22" 192.168.1.101)"
        check "$l: hout -> Apache on 10.0.100.1:80 is dropped (the frontend rule names 192.168.1.101)" \
            fail "$(banner "$d/h80" 10.0.100.1)"
        check "$l: hout -> real server 10.0.100.12:80 directly is dropped" \
            fail "$(banner "$d/h80" 10.0.100.12)"
        check "$l: masquerade: real server -> hout 192.168.1.1:9000 arrives from 192.168.1.101" \
            "banner fwc-e2e hout 9000 from 192.168.1.101" "$(banner "$d/hout" 192.168.1.1)"
        check "$l: real server -> director 10.0.100.1:22 (the internal zone is trusted)" \
            "banner fwc-e2e hfw 22 from 10.0.100.12" "$(banner "$d/hweb22" 10.0.100.1)"
        check "$l: director -> real server 10.0.100.12:80 (proxied requests, health checks)" \
            "banner fwc-e2e hweb 80 from 10.0.100.1" "$(banner "$d/hfw80" 10.0.100.12)"
        check "$l: director -> hout 192.168.1.1:9000 (its own connections) from 192.168.1.101" \
            "banner fwc-e2e hout 9000 from 192.168.1.101" "$(banner "$d/hfwout" 192.168.1.1)"
    fi

    if [ $ok_l = 1 ]; then
        section lvs.fw "$backend"
        l=$backend-lvs
        if [ "$backend" = iptables ]; then
            hooked "$l" "$backend" "-A PREROUTING -d $LVS_VIP/32 -p tcp" "-j MARK --set-xmark 0x1/0xffffffff"
        else
            hooked "$l" "$backend" "hook prerouting" "ip daddr $LVS_VIP tcp dport 80 meta mark set 0x00000001"
        fi
        lvs_check "$l: mark 1 (both servers): lcl -> VIP $LVS_VIP:80" "s10 s11" "$d/l80"
        first=$LVS_GOT
        lvs_check "$l: mark 1: lcl -> VIP $LVS_VIP:80, a second connection (source hashing: the same server)" \
            "${first:-s10 s11}" "$d/l80-again"
        check "$l: lcl -> director 203.0.113.37:80 is dropped (not the VIP: not marked)" \
            fail "$(banner "$d/l80-other" 203.0.113.37)"
        check "$l: lcl -> s10 10.0.0.10:80 directly is dropped" \
            fail "$(banner "$d/l80-other" 10.0.0.10)"
        check "$l: lcl -> VIP $LVS_VIP:22 is dropped" fail "$(banner "$d/l22" "$LVS_VIP")"
        check "$l: lcl -> director 203.0.113.37:22 is dropped (administration is from the intranet)" \
            fail "$(banner "$d/l22" 203.0.113.37)"
        check "$l: s10 -> director 10.0.0.1:22 (administration from the intranet)" \
            "banner fwc-e2e lfw 22 from 10.0.0.10" "$(banner "$d/ladmin" 10.0.0.1)"
        check "$l: director -> s10 10.0.0.10:80 (monit's check)" \
            "banner fwc-e2e s10 80 from 10.0.0.1" "$(banner "$d/lmonit" 10.0.0.10)"
        check "$l: director -> s11 10.0.0.11:80 (monit's check)" \
            "banner fwc-e2e s11 80 from 10.0.0.1" "$(banner "$d/lmonit" 10.0.0.11)"
    fi

    if [ $ok_m = 1 ]; then
        section maas-ha.fw "$backend"
        l=$backend-maas-ha-1
        if [ "$backend" = iptables ]; then
            hooked "$l" "$backend" "-A POSTROUTING -s 10.8.8.0/24 -o eno1" "-j MASQUERADE"
        else
            hooked "$l" "$backend" "hook postrouting" "oifname \"eno1\" ip saddr 10.8.8.0/24" "masquerade"
        fi
        check "$l: masquerade: node 10.8.8.50 -> mpub 155.210.155.1:9000 arrives from the master's 155.210.155.170" \
            "banner fwc-e2e mpub 9000 from 155.210.155.170" "$(banner "$d/mout" 155.210.155.1)"
        check "$l: mpub -> node 10.8.8.50:9000 directly is dropped (the gateway forwards outwards only)" \
            fail "$(banner "$d/min" 10.8.8.50)"
        check "$l: mpub -> master 155.210.155.170:22 (remote management)" \
            "banner fwc-e2e mfw 22 from 155.210.155.1" "$(banner "$d/m22" 155.210.155.170)"
        check "$l: mpub -> master 155.210.155.170:5432 is dropped (replication is between the pair)" \
            fail "$(banner "$d/m5432" 155.210.155.170)"
    fi

    # The replica's policy in the master's place (its probe runs while the lvs failover
    # is loaded and probed), then mark 2 ("dead 2": s10 only) and mark 3 ("dead 1": s11
    # only) over the lvs rules.
    pids=()
    if [ $ok_m = 1 ]; then
        section maas-ha.fw "$backend"
        FWNODE=mfw
        if load "$backend-maas-ha-2" "$backend" "$POLDIR/maas-ha.fw" --firewall maas2; then
            probe mnode tcp --port 9000 155.210.155.1 >"$d/mout-replica" 2>&1 & pids+=($!)
        fi
        FWNODE=fw
    fi
    if [ $ok_l = 1 ]; then
        section lvs.fw "$backend"
        lvs_failover "$backend" 2 s10
        lvs_failover "$backend" 3 s11
    fi
    if [ ${#pids[@]} -gt 0 ]; then
        wait "${pids[@]}"
        section maas-ha.fw "$backend"
        l=$backend-maas-ha-2
        f=$WORK/$l.ruleset
        [ "$backend" = iptables ] && f=$WORK/$l.iptables-save
        if grep -qi masquerade "$f"; then
            result "not ok" "$l: the replica's rules masquerade - see $f"
        else
            result ok "$l: the replica's rules have no masquerade"
        fi
        check "$l: the replica forwards nothing: node -> mpub 155.210.155.1:9000 is dropped" \
            fail "$(banner "$d/mout-replica" 155.210.155.1)"
    fi
}

# --- main --------------------------------------------------------------------------

echo "# fwc: $FWC"
echo "# policies: $NATDIR/gateway.fw $NATDIR/lvs.fw $NATDIR/tproxy.fw"
echo "# scenario policies: $POLDIR/haproxy.fw lvs.fw maas-ha.fw (--firewall maas1, --firewall maas2)"
section topology
if ! build || ! build_scenarios; then
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
    scen_sanity
    lvs_copies
    for backend in nft iptables netlink; do
        scenarios "$backend"
    done
    for b in hfw lfw mfw; do fw_reset "$b"; done
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
