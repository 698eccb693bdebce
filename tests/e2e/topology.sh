#!/bin/bash
# topology.sh — the "crm" scenario (shared/scenarios.md, scenario 1) in network namespaces.
#
#   outside net 10.1.1.0/24, 2001:db8:1::/64     dmz net 10.1.2.0/24, 2001:db8:2::/64
#
#     c1 .11 ──┐                                  ┌── lb     .2   (tcp 22 80 443 8080, udp 53 161)
#              ├─ br-out ── eth1 [fw] eth2 ── br-dmz ┼── ges    .10  (tcp 22 80)
#     c2 .12 ──┘     (.1)              (.1)        └── nagios .20
#    (c1: tcp 80)                     (fw: tcp 22 80, udp 53)
#
# Both bridges live in a dedicated "switch" namespace; nothing is created in the
# root namespace. Every namespace is named ${TOPO_PREFIX}<node> where
# TOPO_PREFIX=fwce2e-<random suffix>-, so parallel or leftover runs never clash.
#
# Use it either
#   sourced:   . tests/e2e/topology.sh; topo_up || exit; ...; topo_down
#              (topo_exec NODE CMD... runs CMD in a node's namespace; topo_ns NODE names it)
#   or as a command:
#              tests/e2e/topology.sh up [SUFFIX]     # prints the prefix, leaves everything running
#              tests/e2e/topology.sh exec PREFIX NODE CMD...
#              tests/e2e/topology.sh down PREFIX     # e.g. down fwce2e-1a2b3c-
#              tests/e2e/topology.sh down-all        # removes every fwce2e-* namespace (leftovers)
#
# Nodes: sw (switch), c1, c2, fw, lb, ges, nagios. Hosts use eth0; fw has eth1 and eth2.
# IPv6 addresses are added with nodad; neighbour discovery itself is left fully on.

TOPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOPO_NODES="sw c1 c2 fw lb ges nagios"
TOPO_PYTHON=${TOPO_PYTHON:-python3}

topo_ns() { echo "${TOPO_PREFIX}$1"; }
topo_exec() { local n=$1; shift; ip netns exec "${TOPO_PREFIX}$n" "$@"; }

_topo_log() { [ -n "${TOPO_QUIET:-}" ] || echo "# topology: $*" >&2; }

# _topo_host NODE BRIDGE IFNAME V4/LEN V6/LEN [GW4 GW6]
_topo_host() {
    local node=$1 br=$2 ifn=$3 a4=$4 a6=$5 gw4=${6:-} gw6=${7:-}
    local ns="${TOPO_PREFIX}$node" sw="${TOPO_PREFIX}sw"
    local port="$node-$ifn"
    ip -n "$sw" link add "$port" type veth peer name "$ifn" netns "$ns" || return 1
    ip -n "$sw" link set "$port" master "$br" up || return 1
    ip -n "$ns" addr add "$a4" dev "$ifn" || return 1
    ip -n "$ns" -6 addr add "$a6" dev "$ifn" nodad || return 1
    ip -n "$ns" link set "$ifn" up || return 1
    if [ -n "$gw4" ]; then
        ip -n "$ns" route add default via "$gw4" || return 1
        ip -n "$ns" -6 route add default via "$gw6" || return 1
    fi
}

# _topo_listen NODE ARGS... : starts listen.py in NODE, remembers its pid.
_topo_listen() {
    local node=$1; shift
    ip netns exec "${TOPO_PREFIX}$node" "$TOPO_PYTHON" "$TOPO_DIR/listen.py" --name "$node" \
        --ready "$TOPO_STATE/$node.ready" "$@" >"$TOPO_STATE/$node.log" 2>&1 </dev/null &
    echo $! >>"$TOPO_STATE/pids"
    TOPO_WAIT="$TOPO_WAIT $node"
}

_topo_build() {
    local n ns
    for n in $TOPO_NODES; do
        ns="${TOPO_PREFIX}$n"
        ip netns add "$ns" || return 1
        ip -n "$ns" link set lo up || return 1
        # New interfaces skip DAD (as if every address had nodad); ND stays on.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0 || return 1
    done
    local sw="${TOPO_PREFIX}sw"
    for br in br-out br-dmz; do
        # No multicast snooping: ND's solicited-node multicast is simply flooded.
        ip -n "$sw" link add "$br" type bridge mcast_snooping 0 || return 1
        ip -n "$sw" link set "$br" up || return 1
    done
    ip netns exec "${TOPO_PREFIX}fw" sysctl -qw net.ipv4.ip_forward=1 \
        net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1 || return 1

    _topo_host fw     br-out eth1 10.1.1.1/24  2001:db8:1::1/64 || return 1
    _topo_host fw     br-dmz eth2 10.1.2.1/24  2001:db8:2::1/64 || return 1
    _topo_host c1     br-out eth0 10.1.1.11/24 2001:db8:1::11/64 10.1.1.1 2001:db8:1::1 || return 1
    _topo_host c2     br-out eth0 10.1.1.12/24 2001:db8:1::12/64 10.1.1.1 2001:db8:1::1 || return 1
    _topo_host lb     br-dmz eth0 10.1.2.2/24  2001:db8:2::2/64  10.1.2.1 2001:db8:2::1 || return 1
    _topo_host ges    br-dmz eth0 10.1.2.10/24 2001:db8:2::10/64 10.1.2.1 2001:db8:2::1 || return 1
    _topo_host nagios br-dmz eth0 10.1.2.20/24 2001:db8:2::20/64 10.1.2.1 2001:db8:2::1 || return 1

    TOPO_WAIT=
    _topo_listen lb  --tcp 22,80,443,8080 --udp 53,161
    _topo_listen ges --tcp 22,80
    _topo_listen fw  --tcp 22,80 --udp 53
    _topo_listen c1  --tcp 80
    for n in $TOPO_WAIT; do
        for _ in $(seq 100); do
            [ -s "$TOPO_STATE/$n.ready" ] && break
            sleep 0.05
        done
        if [ ! -s "$TOPO_STATE/$n.ready" ]; then
            echo "# topology: listener in $n did not start:" >&2
            sed 's/^/#   /' "$TOPO_STATE/$n.log" >&2
            return 1
        fi
    done
}

# topo_up [SUFFIX]: builds everything; on any failure tears down what it built and returns 1.
topo_up() {
    local suffix=${1:-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}
    TOPO_PREFIX="fwce2e-$suffix-"
    TOPO_STATE="${TMPDIR:-/tmp}/${TOPO_PREFIX}state"
    if ip netns list | grep -q "^${TOPO_PREFIX}"; then
        echo "# topology: namespaces ${TOPO_PREFIX}* already exist" >&2
        return 1
    fi
    rm -rf "$TOPO_STATE" && mkdir -p "$TOPO_STATE" || return 1
    _topo_log "building ${TOPO_PREFIX}{${TOPO_NODES// /,}}"
    if ! _topo_build; then
        echo "# topology: build failed, tearing down" >&2
        topo_down
        return 1
    fi
    return 0
}

# topo_down [PREFIX]: kills the listeners and removes every namespace of PREFIX
# (default: the current TOPO_PREFIX). Safe to call repeatedly and after partial builds.
topo_down() {
    local prefix=${1:-${TOPO_PREFIX:-}} ns pid
    [ -n "$prefix" ] || return 0
    case $prefix in fwce2e-*) ;; *) echo "# topology: refusing prefix '$prefix'" >&2; return 1 ;; esac
    local state="${TMPDIR:-/tmp}/${prefix}state" pids=""
    [ -f "$state/pids" ] && pids=$(cat "$state/pids")
    for pid in $pids; do kill "$pid" 2>/dev/null; done
    for _ in $(seq 40); do  # give the listeners up to 2 s to exit on SIGTERM
        for pid in $pids; do kill -0 "$pid" 2>/dev/null && break; pid=; done
        [ -z "$pid" ] && break
        sleep 0.05
    done
    for ns in $(ip netns list | awk '{print $1}' | grep "^${prefix}"); do
        # Whatever still runs inside our own namespaces was started by us.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null || echo "# topology: could not delete $ns" >&2
    done
    for pid in $pids; do wait "$pid" 2>/dev/null; done  # reaps them if they are our children
    rm -rf "$state"
    [ "$prefix" = "${TOPO_PREFIX:-}" ] && TOPO_PREFIX=
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    cmd=${1:-}; shift || true
    case $cmd in
    up)
        topo_up "$@" || exit 1
        echo "$TOPO_PREFIX" ;;
    down)
        [ -n "${1:-}" ] || { echo "usage: $0 down PREFIX" >&2; exit 2; }
        topo_down "$1" ;;
    down-all)
        for p in $(ip netns list | awk '{print $1}' | sed -n 's/^\(fwce2e-[^-]*-\).*/\1/p' | sort -u); do
            topo_down "$p"
        done ;;
    exec)
        TOPO_PREFIX=$1; node=$2; shift 2
        topo_exec "$node" "$@" ;;
    *)
        sed -n '2,25p' "$0" >&2; exit 2 ;;
    esac
fi
