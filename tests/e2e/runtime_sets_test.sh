#!/bin/bash
# runtime_sets_test.sh FWC SOURCE_DIR — sets whose elements are owned at
# runtime (set NAME runtime;), in real kernels: a client blocked by an
# address a script put in the set stays blocked across `fwc apply`, `fwc
# verify` ignores what the set holds, `fwc show` lists it; the iptables
# script's ipset keeps its elements too. Each backend in a namespace of its
# own, with a real client.
#
# Exit: 0 all passed, 1 something failed, 77 skipped (not root, no netns).
set -u
fwc=$1
src=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: needs nft"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-runtime.XXXXXX")
export FWC_STATE_DIR=$work/state
unset SSH_CONNECTION
fw=fwcrt-$$-fw
client=fwcrt-$$-c
cleanup() {
  local ns pid
  for ns in "$fw" "$client"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$fw" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip netns add "$client"

pass=0
fail=0
result() {
  if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok - $1"
  else
    fail=$((fail + 1)); echo "not ok - $1"
    [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/#   /' "$3" | head -20
  fi
}
check() { if [ "$2" = "$3" ]; then result "$1" 0; else result "$1 (expected $2, got $3)" 1 "${4:-}"; fi; }
in_fw() { ip netns exec "$fw" "$@"; }
in_client() { ip netns exec "$client" "$@"; }

in_fw ip link set lo up
in_fw ip link add eth1 type veth peer name c0
in_fw ip link set c0 netns "$client"
in_fw ip addr add 10.1.1.1/24 dev eth1
in_fw ip addr add 2001:db8:1::1/64 dev eth1 nodad
in_fw ip link set eth1 up
in_client ip link set lo up
in_client ip addr add 10.1.1.50/24 dev c0
in_client ip addr add 2001:db8:1::50/64 dev c0 nodad
in_client ip link set c0 up

cat >"$work/rt.fw" <<'EOF'
firewall fw { interface outside eth1 10.1.1.1/24, 2001:db8:1::1/64; }
set blocklist runtime;      # filled by a script (fail2ban)
policy p default drop {
    drop from blocklist to any comment "blocked at runtime";
    accept tcp 22 from any to fw in outside comment "SSH";
}
EOF
# The same policy, changed: one more rule.
sed 's/^}$/    accept tcp 80 from any to fw in outside comment "web";\n}/' "$work/rt.fw" >"$work/rt2.fw"

in_fw python3 "$src/tests/e2e/listen.py" --name fw --tcp 22 --ready "$work/ready" &
disown  # killed at cleanup, silently
for _ in $(seq 50); do [ -s "$work/ready" ] && break; sleep 0.1; done
reaches() {  # reaches ADDR: 0 when the client's SSH connection gets the banner
  in_client python3 "$src/tests/e2e/probe.py" tcp --port 22 --timeout 1 "$1" >"$work/probe" 2>&1
  grep -q "banner fwc-e2e fw 22" "$work/probe"
}

# --- fwc apply (netlink) -------------------------------------------------------
in_fw "$fwc" apply "$work/rt.fw" >"$work/out" 2>&1
check "apply a policy with a runtime set (exit 0)" 0 $? "$work/out"
reaches 10.1.1.1; result "the client reaches SSH while the set is empty" $?
in_fw nft add element inet fwc blocklist_v4 '{ 10.1.1.50 }'
in_fw nft add element inet fwc blocklist_v6 '{ 2001:db8:1::50 }'
reaches 10.1.1.1; check "a script blocks the client (IPv4)" 1 $?
reaches 2001:db8:1::1; check "a script blocks the client (IPv6)" 1 $?
in_fw "$fwc" apply "$work/rt2.fw" >"$work/out" 2>&1
check "apply a changed policy (exit 0)" 0 $? "$work/out"
grep -q "runtime set blocklist_v4: kept its" "$work/out"; result "apply says it kept the set's elements" $? "$work/out"
in_fw nft list set inet fwc blocklist_v4 >"$work/set" 2>&1
grep -q "10.1.1.50" "$work/set"; result "the element is still in the set" $? "$work/set"
reaches 10.1.1.1; check "the client is still blocked after the apply (IPv4)" 1 $?
reaches 2001:db8:1::1; check "the client is still blocked after the apply (IPv6)" 1 $?
in_fw nft add element inet fwc blocklist_v4 '{ 192.0.2.0/24 }'
in_fw "$fwc" verify "$work/rt2.fw" >"$work/out" 2>&1
check "verify ignores what the runtime set holds (exit 0)" 0 $? "$work/out"
in_fw "$fwc" verify "$work/rt.fw" >"$work/out" 2>&1
check "verify still sees a changed rule (exit 1)" 1 $? "$work/out"
in_fw "$fwc" show >"$work/out" 2>&1
check "show (exit 0)" 0 $? "$work/out"
grep -q "set blocklist_v4: ipv4_addr, intervals, .*(runtime set" "$work/out"; result "show marks the runtime set" $? "$work/out"
grep -q "10.1.1.50, 192.0.2.0/24" "$work/out"; result "show lists its elements" $? "$work/out"
in_fw "$fwc" apply --dry-run "$work/rt2.fw" >"$work/out" 2>&1
grep -q "no change" "$work/out"; result "a dry run sees no change" $? "$work/out"
in_fw "$fwc" apply --confirm 30 --no-wait "$work/rt.fw" >"$work/out" 2>&1
check "apply --confirm (exit 0)" 0 $? "$work/out"
in_fw "$fwc" rollback >"$work/out" 2>&1
check "rollback (exit 0)" 0 $? "$work/out"
in_fw "$fwc" verify "$work/rt2.fw" >"$work/out" 2>&1
check "after the rollback the previous rules are back" 0 $? "$work/out"
reaches 10.1.1.1; check "and the client is still blocked" 1 $?
# nft -f of the compiled file declares the set empty (documented).
"$fwc" compile "$work/rt2.fw" -o "$work/rt2.nft"
in_fw nft -f "$work/rt2.nft"
reaches 10.1.1.1; result "nft -f of the file starts the set empty" $?

# --- the iptables script: ipsets ---------------------------------------------------
if command -v ipset >/dev/null && command -v iptables-restore >/dev/null; then
  in_fw nft flush ruleset
  "$fwc" compile "$work/rt.fw" -t iptables -o "$work/rt.sh"
  "$fwc" compile "$work/rt2.fw" -t iptables -o "$work/rt2.sh"
  in_fw sh "$work/rt.sh" >"$work/out" 2>&1
  check "the iptables script loads (exit 0)" 0 $? "$work/out"
  in_fw ipset list blocklist_v4 >/dev/null 2>&1; result "it created the ipset blocklist_v4" $?
  reaches 10.1.1.1; result "the client reaches SSH while the ipset is empty" $?
  in_fw ipset add blocklist_v4 10.1.1.50
  reaches 10.1.1.1; check "a script blocks the client with the ipset" 1 $?
  in_fw sh "$work/rt2.sh" >"$work/out" 2>&1
  check "the changed policy's script loads (exit 0)" 0 $? "$work/out"
  in_fw ipset test blocklist_v4 10.1.1.50 >/dev/null 2>&1; result "the ipset keeps its element" $?
  reaches 10.1.1.1; check "the client is still blocked" 1 $?
else
  echo "ok - iptables and ipset # SKIP not installed"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
