#!/bin/bash
# ansible_test.sh FWC_BINARY SRC_DIR — the maas-ha pair (policies/maas-ha.fw, one
# policy for both controllers) and one more firewall, deployed by Ansible with the
# role fwc ships (ansible/), over SSH, to network namespaces that run sshd:
#
#   ctl 155.210.155.10 (Ansible, the outside client)
#        │ bridge in fwca-lan
#        ├── maas1 eno1 155.210.155.170 (+ the VIP .172 at first)   sshd
#        ├── maas2 eno1 155.210.155.171                              sshd
#        └── edge  eno1 155.210.155.180 (its own policy)             sshd
#   maas1 and maas2 also have eno2-eno4 (veths, unattached) with their addresses.
#
#  1. rollout.yml: each host compiled on the controller, applied with --confirm,
#     confirmed from a new SSH connection after the checks (ping from the
#     controller), verified exact: all three changed.
#  2. rollout.yml again: nothing changed (fwc verify finds each host exact).
#  3. Failover: probes from the outside and from the peer to the VIP, then the VIP
#     moves from maas1 to maas2 and the same probes get the same verdicts
#     (and the VIP's SSH now lands on maas2).
#  4. A new policy version (-D maas-api) with a broken policy for maas2 (it stops
#     answering ping): maas1 takes the new version, maas2's check fails and it is
#     rolled back to the old one, the rollout stops before edge.
#  5. drift.yml: per host, exact or how it differs; rollout.yml --check alike,
#     applying nothing.
# Hosts share the file system: each has its own policy directory and fwc state
# directory (FWC_STATE_DIR), set per host in the inventory.
set -u
FWC=${1:-}
SRC=${2:-}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "ansible_test.sh needs root (network namespaces, nft)"
for tool in ip nft ansible-playbook ssh ssh-keygen python3 ping; do
    command -v "$tool" >/dev/null 2>&1 || skip "required tool '$tool' not found"
done
[ -x /usr/sbin/sshd ] || skip "sshd (openssh-server) is not installed"
if [ ! -x "$FWC" ] || [ ! -d "$SRC/ansible" ]; then
    echo "usage: $0 FWC_BINARY SRC_DIR" >&2
    exit 2
fi
FWC=$(cd "$(dirname "$FWC")" && pwd)/$(basename "$FWC")
SRC=$(cd "$SRC" && pwd)

P=fwca$$
T=$(mktemp -d /tmp/fwc-ansible.XXXXXX)
chmod 755 "$T"
PROBES=0
FAILS=0
result() {
    echo "$1 - $2"
    PROBES=$((PROBES + 1))
    [ "$1" = ok ] || FAILS=$((FAILS + 1))
}
check() {
    if [ "$2" = "$3" ]; then result ok "$1"; else result "not ok" "$1 (expected '$2', got '${3:-nothing}')"; fi
}
show() { sed 's/^/    | /' "$1" | tail -n "${2:-40}"; }

cleanup() {
    for n in ctl maas1 maas2 edge; do
        [ -f "$T/$n.sshd.pid" ] && kill "$(cat "$T/$n.sshd.pid")" 2>/dev/null
    done
    # A watchdog still waiting (a failed run) must not outlive the test.
    pkill -f "$T/state" 2>/dev/null
    for n in ctl maas1 maas2 edge lan; do ip netns del "$P-$n" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$P-probe" 2>/dev/null || skip "cannot create network namespaces"
ip netns del "$P-probe"

# --- topology -------------------------------------------------------------
ns() { ip netns exec "$P-$1" "${@:2}"; }
ip netns add "$P-lan"
ns lan ip link add br0 type bridge
ns lan ip link set br0 up
attach() {  # NAME DEVICE ADDRESS
    ip netns add "$P-$1"
    ns "$1" ip link set lo up
    ip link add "$P-$1" netns "$P-lan" type veth peer name "$2" netns "$P-$1"
    ns lan ip link set "$P-$1" master br0 up
    ns "$1" ip addr add "$3" dev "$2"
    ns "$1" ip link set "$2" up
}
attach ctl eth0 155.210.155.10/24
attach maas1 eno1 155.210.155.170/24
attach maas2 eno1 155.210.155.171/24
attach edge eno1 155.210.155.180/24
ns maas1 ip addr add 155.210.155.172/24 dev eno1
for m in 1 2; do
    n=$((10 + m))
    for d in "eno2 10.8.8.$n/24" "eno3 10.9.9.$n/24" "eno4 192.168.0.$n/24"; do
        set -- $d
        ns maas$m ip link add "$1" type veth peer name "$1-peer"
        ns maas$m ip addr add "$2" dev "$1"
        ns maas$m ip link set "$1" up
    done
done

# --- sshd in each host, root by key ----------------------------------------
mkdir -p /run/sshd "$T/home" "$T/cp" "$T/state" "$T/remote"
ssh-keygen -q -t ed25519 -N '' -f "$T/id" </dev/null
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" </dev/null
cp "$T/id.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
for n in maas1 maas2 edge; do
    cat >"$T/$n.sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $T/hostkey
PidFile $T/$n.sshd.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
    ns $n /usr/sbin/sshd -f "$T/$n.sshd_config" -E "$T/$n.sshd.log" || { echo "error: sshd did not start in $n" >&2; exit 1; }
done
for n in maas1 maas2 edge; do
    for _ in $(seq 50); do [ -s "$T/$n.sshd.pid" ] && break; sleep 0.1; done
done

# --- the controller's side ---------------------------------------------------
cp "$SRC/policies/maas-ha.fw" "$T/maas-ha.fw"
# The broken version: the replica forgets ping (the rollout's check).
grep -v 'accept ping' "$SRC/policies/maas-ha.fw" >"$T/maas-ha-broken.fw"
cat >"$T/edge.fw" <<'EOF'
# A firewall of the fleet outside the pair: SSH, ping, its own connections.
firewall edge { interface public eno1 155.210.155.180/24; }
policy edge default drop {
    accept tcp 22 from any to edge;
    accept icmp echo-request from any to edge;
    accept from edge to any;
}
EOF
inventory() {  # FILE MAAS2_POLICY DEFINES
    local defines="[]"
    [ -n "$3" ] && defines="[$3]"
    cat >"$1" <<EOF
all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: $T/id
    ansible_python_interpreter: /usr/bin/python3
    fwc_policy: $T/maas-ha.fw
    fwc_defines: $defines
    fwc_local_command: $FWC
    fwc_remote_command: $FWC
    fwc_confirm_seconds: 30
    fwc_checks: ["ping -c 1 -W 2 {{ ansible_host }}"]
    fwc_remote_dir: $T/remote/{{ inventory_hostname }}
    fwc_artifact_dir: $T/artifacts
    fwc_environment: {FWC_STATE_DIR: "$T/state/{{ inventory_hostname }}"}
  hosts:
    maas1: {ansible_host: 155.210.155.170}
    maas2: {ansible_host: 155.210.155.171, fwc_policy: $2}
    edge: {ansible_host: 155.210.155.180, fwc_policy: $T/edge.fw, fwc_firewall: ""}
EOF
}
playbook() {  # LOG INVENTORY PLAYBOOK [OPTION...]
    ns ctl env HOME="$T/home" ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1 \
        ANSIBLE_LOCAL_TEMP="$T/home/tmp" ANSIBLE_SSH_CONTROL_PATH_DIR="$T/cp" \
        ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5" \
        ANSIBLE_RETRY_FILES_ENABLED=False ANSIBLE_FORCE_COLOR=0 \
        ansible-playbook -i "$2" "$SRC/ansible/$3" "${@:4}" >"$1" 2>&1
}
recap() {  # LOG HOST -> "ok=N changed=N ... failed=N"
    sed -n "s/^$2 *: \(.*\)/\1/p" "$1" | tr -s ' ' | sed 's/ *$//'
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# verify HOST POLICY [OPTIONS]: fwc verify in the host's namespace, its state dir.
verify() {
    local h=$1 pol=$2
    shift 2
    ns "$h" env FWC_STATE_DIR="$T/state/$h" "$FWC" verify "$pol" "$@" >"$T/verify.log" 2>&1
    echo $?
}

inventory "$T/good.yml" "$T/maas-ha.fw" ""
inventory "$T/broken.yml" "$T/maas-ha-broken.fw" "maas-api"
inventory "$T/next.yml" "$T/maas-ha.fw" "maas-api"

# --- 1. the first rollout ------------------------------------------------------
start=$(date +%s%N)
playbook "$T/run1.log" "$T/good.yml" rollout.yml
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "run 1: rollout.yml exits 0" 0 $rc
[ $rc = 0 ] || show "$T/run1.log" 60
for h in maas1 maas2 edge; do
    r=$(recap "$T/run1.log" $h)
    check "run 1: $h changed, nothing failed ($r)" "1 0 0" "$([ "$(field "$r" changed)" -ge 1 ] 2>/dev/null && echo 1 || echo 0) $(field "$r" failed) $(field "$r" unreachable)"
done
check "run 1: maas1 verify --firewall maas1: exact" 0 "$(verify maas1 "$SRC/policies/maas-ha.fw" --firewall maas1)"
check "run 1: maas2 verify --firewall maas2: exact" 0 "$(verify maas2 "$SRC/policies/maas-ha.fw" --firewall maas2)"
check "run 1: edge verify edge.fw: exact" 0 "$(verify edge "$T/edge.fw")"
check "run 1: maas1 is not the replica (verify --firewall maas2 differs)" 1 "$(verify maas1 "$SRC/policies/maas-ha.fw" --firewall maas2)"
check "run 1: the confirmation came from a new connection: every host confirmed" 3 \
    "$(grep -c '^TASK \[fwc : fwc | confirm, from the new connection\]' "$T/run1.log")"
# The confirmation's connection is a new one: sshd accepted at least two per host.
for h in maas1 maas2 edge; do
    n=$(grep -c 'Accepted publickey for root' "$T/$h.sshd.log" 2>/dev/null)
    check "run 1: $h's sshd accepted a new connection for the confirmation ($n in all)" 1 "$([ "${n:-0}" -ge 2 ] && echo 1 || echo 0)"
done
check "run 1: the compiled rules are kept on the controller" "3" "$(ls "$T/artifacts" 2>/dev/null | grep -c '\.nft$')"
echo "# run 1 (three hosts, one at a time) took $ms ms"

# --- 2. again: nothing to do -----------------------------------------------------
playbook "$T/run2.log" "$T/good.yml" rollout.yml
check "run 2: rollout.yml exits 0" 0 $?
for h in maas1 maas2 edge; do
    r=$(recap "$T/run2.log" $h)
    check "run 2: $h unchanged ($r)" "0 0" "$(field "$r" changed) $(field "$r" failed)"
done
check "run 2: no host was applied" 0 "$(grep -c '^changed: \[.*\]$' "$T/run2.log")"

# --- 3. failover -----------------------------------------------------------------
# tcp PORT from NS to ADDRESS: open, closed (RST: accepted, nothing listens) or
# filtered (dropped: no answer within the timeout).
probe() {
    ns "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("open")
except ConnectionRefusedError: print("closed")
except OSError: print("filtered")
PY
}
holder() {  # which namespace answers SSH on the VIP: its eno1 addresses
    ns ctl ssh -q -i "$T/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 \
        root@155.210.155.172 "ip -o -4 addr show eno1" 2>/dev/null | grep -o '155\.210\.155\.17[01]' | head -n 1
}
probes() {  # LABEL PEER(the member that does not hold the VIP)
    check "$1: outside -> VIP tcp 22 (remote management)" open "$(probe ctl 155.210.155.172 22)"
    check "$1: outside -> VIP tcp 5432 is dropped" filtered "$(probe ctl 155.210.155.172 5432)"
    check "$1: outside -> VIP tcp 2224 (pcsd) is dropped" filtered "$(probe ctl 155.210.155.172 2224)"
    check "$1: outside -> VIP ping" 0 "$(ns ctl ping -c 1 -W 2 155.210.155.172 >/dev/null 2>&1; echo $?)"
    check "$1: $2 (the peer) -> VIP tcp 5432 (replication) is accepted" closed "$(probe "$2" 155.210.155.172 5432)"
    check "$1: $2 (the peer) -> VIP tcp 2224 (pcsd, protocols pacemaker) is accepted" closed "$(probe "$2" 155.210.155.172 2224)"
    check "$1: outside -> maas1 tcp 5432 is dropped" filtered "$(probe ctl 155.210.155.170 5432)"
    check "$1: outside -> maas2 tcp 5432 is dropped" filtered "$(probe ctl 155.210.155.171 5432)"
}
check "before failover: the VIP's SSH lands on maas1" 155.210.155.170 "$(holder)"
probes "before failover" maas2
ns maas1 ip addr del 155.210.155.172/24 dev eno1
ns maas2 ip addr add 155.210.155.172/24 dev eno1
ns ctl ip neigh flush dev eth0
ns maas1 ip neigh flush dev eno1
check "after failover: the VIP's SSH lands on maas2" 155.210.155.171 "$(holder)"
probes "after failover" maas1
check "after failover: maas2 verify: still exact (no new rules for the move)" 0 "$(verify maas2 "$SRC/policies/maas-ha.fw" --firewall maas2)"

# --- 4. a broken policy on the second host stops the rollout ----------------------
playbook "$T/run3.log" "$T/broken.yml" rollout.yml
rc=$?
check "run 3: rollout.yml fails" 1 "$([ $rc -ne 0 ] && echo 1 || echo 0)"
r=$(recap "$T/run3.log" maas1)
check "run 3: maas1 took the new version ($r)" "1 0" "$([ "$(field "$r" changed)" -ge 1 ] 2>/dev/null && echo 1 || echo 0) $(field "$r" failed)"
r=$(recap "$T/run3.log" maas2)
check "run 3: maas2 failed ($r)" 1 "$(field "$r" failed)"
check "run 3: at its check (ping from the controller)" 1 "$(grep -c "the rollout stops at maas2: 'fwc | checks from the controller' failed; its previous rules are back" "$T/run3.log" | sed 's/^[1-9][0-9]*$/1/')"
check "run 3: edge was not reached" "" "$(recap "$T/run3.log" edge)"
check "run 3: maas1 verify -D maas-api: exact (the new version)" 0 "$(verify maas1 "$SRC/policies/maas-ha.fw" --firewall maas1 -D maas-api)"
check "run 3: maas2 verify: exact, the previous version (rolled back)" 0 "$(verify maas2 "$SRC/policies/maas-ha.fw" --firewall maas2)"
check "run 3: maas2 answers ping again" 0 "$(ns ctl ping -c 1 -W 2 155.210.155.171 >/dev/null 2>&1; echo $?)"
check "run 3: maas2's fwc confirm: nothing to confirm, it was rolled back (exit 4)" 4 "$(ns maas2 env FWC_STATE_DIR="$T/state/maas2" "$FWC" confirm >/dev/null 2>&1; echo $?)"
check "run 3: edge verify: exact, untouched" 0 "$(verify edge "$T/edge.fw")"
probes "after the stopped rollout" maas1

# --- 5. drift ------------------------------------------------------------------
playbook "$T/drift.log" "$T/next.yml" drift.yml
check "drift.yml exits 0" 0 $?
check "drift: maas1 exact" 1 "$(grep -c 'fwc-drift maas1: exact' "$T/drift.log")"
check "drift: maas2 differs (it is on the previous version)" 1 "$(grep -c 'fwc-drift maas2: differs, [0-9]* differences: ' "$T/drift.log")"
check "drift: edge exact" 1 "$(grep -c 'fwc-drift edge: exact' "$T/drift.log")"
r=$(recap "$T/drift.log" maas2)
check "drift: maas2 is changed in the recap, maas1 not" "1 0" "$(field "$r" changed) $(field "$(recap "$T/drift.log" maas1)" changed)"

# rollout.yml --check: the same answer, and nothing applied.
playbook "$T/check.log" "$T/next.yml" rollout.yml --check
check "rollout.yml --check exits 0" 0 $?
check "--check: maas2 changed (it would be applied), maas1 and edge not" "1 0 0" \
    "$(field "$(recap "$T/check.log" maas2)" changed) $(field "$(recap "$T/check.log" maas1)" changed) $(field "$(recap "$T/check.log" edge)" changed)"
check "--check: maas2 still has the previous version" 0 "$(verify maas2 "$SRC/policies/maas-ha.fw" --firewall maas2)"

echo "# transcript of run 3 (the stopped rollout):"
grep -E '^(TASK|PLAY|ok:|changed:|fatal:|failed:|skipping:|maas|edge)' "$T/run3.log" | sed 's/^/#   /' | cut -c1-200
echo "ansible_test: $PROBES probes, $FAILS failures"
if [ $FAILS -ne 0 ]; then
    for l in run1 run2 run3 drift check; do echo "# $l.log:"; show "$T/$l.log" 30; done
    exit 1
fi
exit 0
