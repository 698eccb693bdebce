#!/bin/bash
# apply_test.sh FWC SOURCE_DIR — fwc apply / verify / show / confirm / rollback
# against real kernels, each case in a network namespace of its own.
#
# Checks: apply loads and verify agrees; applying again changes nothing; a
# foreign table survives every operation; a ruleset the kernel refuses
# changes nothing and is traced to its policy line; --dry-run changes
# nothing; --confirm rolls back on timeout, when the applying shell's session
# hangs up (SIGHUP) and when fwc is SIGKILLed, restores an absent table as
# absent, and keeps the rules when `fwc confirm` runs; the SSH guard refuses
# a policy that drops the SSH connection and names the rule.
#
# Output: "ok - ..." / "not ok - ..." per assertion, then "N passed, M failed".
# Exit: 0 all passed, 1 something failed, 77 skipped (not root, no netns).
set -u
fwc=$1
src=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: needs nft (to look at the kernel's tables)"; exit 77; }
probe=fwcapply-probe-$$
ip netns add "$probe" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip netns del "$probe"

work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-apply.XXXXXX")
export FWC_STATE_DIR=$work/state
export FWC_ROLLBACK_VIA=process   # systemd timers run in PID 1's namespace, not ours
unset SSH_CONNECTION
namespaces=""
cleanup() {
  local ns pid
  for ns in $namespaces; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0
fail=0
result() {  # result NAME OK(0|1) [DETAIL-FILE]
  if [ "$2" = 0 ]; then
    pass=$((pass + 1)); echo "ok - $1"
  else
    fail=$((fail + 1)); echo "not ok - $1"
    [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/#   /' "$3" | head -20
  fi
}
check() {  # check NAME EXPECTED ACTUAL [DETAIL-FILE]
  if [ "$2" = "$3" ]; then result "$1" 0; else result "$1 (expected $2, got $3)" 1 "${4:-}"; fi
}

n=0
new_ns() {  # new_ns: creates a namespace, sets $ns
  n=$((n + 1))
  ns=fwcapply-$$-$n
  ip netns add "$ns" || exit 2
  namespaces="$namespaces $ns"
  ip netns exec "$ns" ip link set lo up
}
in_ns() { ip netns exec "$ns" "$@"; }
listing() { in_ns nft list table inet fwc 2>&1; }

crm=$src/policies/crm.fw
old() { in_ns "$fwc" verify "$crm" >/dev/null 2>&1; }              # 0 when crm.fw is loaded
new() { in_ns "$fwc" verify "$crm" -D mgmt >/dev/null 2>&1; }      # 0 when crm.fw -D mgmt is
state_of() { sed -n 's/^status=//p' "$FWC_STATE_DIR"/net-"$(in_ns stat -Lc %i /proc/self/ns/net)".state 2>/dev/null; }

echo "# fwc: $fwc"

# --- apply, verify, show, apply again, foreign tables -------------------------
new_ns
in_ns nft add table inet foreign
in_ns nft add chain inet foreign keep '{ type filter hook input priority 10; }'
in_ns nft add rule inet foreign keep tcp dport 4242 accept
in_ns nft list table inet foreign >"$work/foreign"
foreign_ok() { in_ns nft list table inet foreign 2>&1 | cmp -s - "$work/foreign"; }

in_ns "$fwc" show >"$work/out" 2>&1
check "show says so when table inet fwc is not loaded (exit 1)" 1 $? "$work/out"
in_ns "$fwc" apply "$crm" >"$work/out" 2>&1
check "apply crm.fw (exit 0)" 0 $? "$work/out"
in_ns "$fwc" verify "$crm" >"$work/out" 2>&1
check "verify: the table is exactly what crm.fw compiles to (exit 0)" 0 $? "$work/out"
grep -q "exactly what" "$work/out"; result "verify says it is identical" $?
listing >"$work/first"
grep -q 'comment "crm.fw:23 the CRM web service"' "$work/first"
result "the rules carry their policy line as nft comments" $? "$work/first"
foreign_ok; result "a foreign table survives apply" $?
in_ns "$fwc" show >"$work/out" 2>&1
check "show lists the loaded table (exit 0)" 0 $? "$work/out"
grep -q "crm.fw:22 VIP answers ping" "$work/out"; result "show lists the rules by comment" $? "$work/out"
grep -A1 "crm.fw:22 VIP answers ping" "$work/out" | grep -qx "        ip daddr 10.1.2.2 icmp type echo-request accept"
result "show prints each rule's text (nft's listing) under its comment" $? "$work/out"
in_ns "$fwc" show --format json >"$work/show.json" 2>&1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["loaded"] and any(r["comment"].startswith("crm.fw:22 ") and r["text"] == "ip daddr 10.1.2.2 icmp type echo-request accept" for c in d["chains"] for r in c["rules"]) else 1)' "$work/show.json"
result "show --format json: the loaded table's chains and rules" $? "$work/show.json"
in_ns "$fwc" show --canonical >"$work/canon" 2>&1
grep -q '^rule forward: .*comment "crm.fw:22 VIP answers ping"' "$work/canon"
result "show --canonical prints the exact form verify compares" $? "$work/canon"

in_ns "$fwc" apply "$crm" >"$work/out" 2>&1
check "apply again (exit 0)" 0 $? "$work/out"
listing | cmp -s - "$work/first"; result "applying again leaves the same table (idempotent)" $?
foreign_ok; result "a foreign table survives applying again" $?

in_ns "$fwc" verify "$crm" -D mgmt >"$work/out" 2>&1
check "verify against another policy finds the difference (exit 1)" 1 $? "$work/out"
grep -q "+ rule in forward: crm.fw:24 management by SSH" "$work/out"
result "verify names the missing rule by its policy line" $? "$work/out"
in_ns "$fwc" verify "$crm" -D mgmt --format json >"$work/verify.json" 2>&1
check "verify --format json: a difference is exit 1 too" 1 $? "$work/verify.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["loaded"] and not d["exact"] and any("crm.fw:24 management by SSH" in l for l in d["differences"]) else 1)' "$work/verify.json"
result "verify --format json: not exact, with the missing rule among the differences" $? "$work/verify.json"
in_ns nft add rule inet fwc input tcp dport 9999 accept
in_ns "$fwc" verify "$crm" >"$work/out" 2>&1
check "verify notices a rule added behind fwc's back (exit 1)" 1 $? "$work/out"
in_ns "$fwc" apply "$crm" >/dev/null 2>&1
in_ns "$fwc" verify "$crm" >/dev/null 2>&1
check "apply repairs the drift" 0 $?

# A batch far larger than a netlink socket's default buffer: 20000 rules.
python3 - "$work/big.fw" <<'EOF'
import sys
out = ["firewall fw { interface outside eth1 10.0.0.1/24; }"]
out += ["host h%d 10.64.%d.%d;" % (i, i // 256, i % 256) for i in range(20000)]
out.append("policy big default drop {")
out += ["    accept %s from any to h%d;" % ("tcp %d" % (1024 + i) if i % 2 == 0 else "proto gre", i) for i in range(20000)]
out.append("}")
open(sys.argv[1], "w").write("\n".join(out) + "\n")
EOF
in_ns "$fwc" apply -v "$work/big.fw" >"$work/out" 2>&1
check "a batch of 20000 rules loads in one go (exit 0)" 0 $? "$work/out"
grep -q "1 attempt" "$work/out"; result "  ... as one batch, one attempt" $? "$work/out"
in_ns "$fwc" verify "$work/big.fw" >"$work/out" 2>&1
check "  ... and verify finds all of it" 0 $? "$work/out"
foreign_ok; result "a foreign table survives the large batch" $?
in_ns "$fwc" apply "$crm" >/dev/null 2>&1

# --- dry run -----------------------------------------------------------------
listing >"$work/before"
in_ns "$fwc" apply --dry-run "$crm" -D mgmt >"$work/out" 2>&1
check "apply --dry-run (exit 0)" 0 $? "$work/out"
grep -q "the kernel accepts it" "$work/out"; result "dry run: the kernel checked the batch" $? "$work/out"
grep -q "+ rule in forward: crm.fw:24 management by SSH" "$work/out"
result "dry run: shows what would change" $? "$work/out"
listing | cmp -s - "$work/before"; result "dry run: nothing changed" $?
in_ns "$fwc" apply --dry-run "$crm" >"$work/out" 2>&1
grep -q "no change" "$work/out"; result "dry run: says when nothing would change" $? "$work/out"
foreign_ok; result "a foreign table survives a dry run" $?

# --- a ruleset the kernel refuses ---------------------------------------------
# A group whose name is too long for the kernel (sets have at most 255 bytes).
long=$(printf 'g%.0s' $(seq 300))
cat >"$work/long.fw" <<EOF
firewall fw { interface outside eth1 10.1.1.1/24; }
host a 10.0.0.1;
host b 10.0.0.5;
group $long { a, b }
policy p default drop {
    accept tcp 22 from $long to fw comment "too long";
}
EOF
if "$fwc" compile "$work/long.fw" -o /dev/null 2>/dev/null; then
  listing >"$work/before"
  in_ns "$fwc" apply "$work/long.fw" >"$work/out" 2>&1
  check "a ruleset the kernel refuses: not applied (exit 3)" 3 $? "$work/out"
  grep -q "long.fw:6 (rule in chain input): the kernel refused it" "$work/out"
  result "the refusal is traced to the policy rule (file:line)" $? "$work/out"
  listing | cmp -s - "$work/before"; result "the old rules stay fully in place" $?
  foreign_ok; result "a foreign table survives a refused apply" $?
else
  echo "# (fwc compile now refuses over-long names itself; the owner case below still tests a refusal)"
fi
# A table owned by another program (flags owner): the kernel refuses to let
# anyone else delete it.
new_ns
fifo=$work/owner.fifo
mkfifo "$fifo"
in_ns nft -i <"$fifo" >/dev/null 2>&1 &
owner=$!
exec 9>"$fifo"
printf 'add table inet fwc { flags owner; }\nadd chain inet fwc keep\n' >&9
for _ in $(seq 50); do in_ns nft list table inet fwc >/dev/null 2>&1 && break; sleep 0.1; done
listing >"$work/before"
in_ns "$fwc" apply "$crm" >"$work/out" 2>&1
check "the kernel refuses to replace another program's table (exit 3)" 3 $? "$work/out"
grep -q "another program owns table inet fwc" "$work/out"; result "and fwc says why" $? "$work/out"
listing | cmp -s - "$work/before"; result "that table is left exactly as it was" $?
exec 9>&-
wait "$owner" 2>/dev/null

# --- apply --confirm -----------------------------------------------------------
new_ns
in_ns nft add table inet foreign
in_ns nft add chain inet foreign keep '{ type filter hook input priority 10; }'
in_ns nft add rule inet foreign keep tcp dport 4242 accept
in_ns "$fwc" apply "$crm" >/dev/null 2>&1
# Timeout.
in_ns "$fwc" apply --confirm 2 "$crm" -D mgmt >"$work/out" 2>&1
check "--confirm without confirm: rolled back (exit 4)" 4 $? "$work/out"
grep -q "rolled back: not confirmed in time" "$work/out"; result "the timeout is reported" $? "$work/out"
old; result "after the timeout the previous rules are back, exactly" $?
foreign_ok; result "a foreign table survives a rollback" $?

# Confirmed in time.
in_ns "$fwc" apply --confirm 30 "$crm" -D mgmt >"$work/out" 2>&1 &
applier=$!
for _ in $(seq 100); do grep -q "run .fwc confirm." "$work/out" 2>/dev/null && break; sleep 0.1; done
new; result "--confirm: the new rules are in force while waiting" $?
in_ns "$fwc" apply "$crm" >"$work/out2" 2>&1
check "another apply is refused while a confirmation is pending (exit 3)" 3 $? "$work/out2"
in_ns "$fwc" show >"$work/out2" 2>&1
grep -q "waiting for .fwc confirm." "$work/out2"; result "show reports the pending confirmation" $? "$work/out2"
in_ns "$fwc" confirm >"$work/out2" 2>&1
check "confirm (exit 0)" 0 $? "$work/out2"
wait "$applier"
check "the waiting apply ends with exit 0 once confirmed" 0 $? "$work/out"
new; result "confirmed: the new rules stay" $?
in_ns "$fwc" confirm >"$work/out2" 2>&1
check "confirm again: already confirmed (exit 0)" 0 $? "$work/out2"

# SIGHUP of the applying shell's session (what an SSH disconnect does).
in_ns "$fwc" apply "$crm" >/dev/null 2>&1
rm -f "$work/hup.out"
ip netns exec "$ns" setsid bash -c "exec 0</dev/null; $fwc apply --confirm 3 $crm -D mgmt >$work/hup.out 2>&1; echo exited \$? >>$work/hup.out" &
session=$!
for _ in $(seq 100); do grep -q "run .fwc confirm." "$work/hup.out" 2>/dev/null && break; sleep 0.1; done
new; result "SIGHUP case: the new rules are in force" $?
kill -HUP -- -"$session"
wait "$session" 2>/dev/null
sleep 0.5
new; result "SIGHUP case: the new rules are still in force right after the hangup" $?
for _ in $(seq 60); do old && break; sleep 0.1; done
old; result "SIGHUP case: the previous rules are back at the deadline (fwc and its shell gone)" $?
check "SIGHUP case: the state says rolled back" rolled-back "$(state_of)"
in_ns "$fwc" confirm >"$work/out" 2>&1
check "confirm after the rollback: too late (exit 4)" 4 $? "$work/out"

# SIGKILL of fwc.
rm -f "$work/kill.out"
ip netns exec "$ns" "$fwc" apply --confirm 3 "$crm" -D mgmt >"$work/kill.out" 2>&1 &
applier=$!  # fwc itself: ip netns exec execs it in place
for _ in $(seq 100); do grep -q "run .fwc confirm." "$work/kill.out" 2>/dev/null && break; sleep 0.1; done
new; result "SIGKILL case: the new rules are in force" $?
kill -KILL "$applier"
wait "$applier" 2>/dev/null
kill -0 "$applier" 2>/dev/null
check "SIGKILL case: fwc is gone" 1 $?
new; result "SIGKILL case: the new rules are still in force right after the kill" $?
for _ in $(seq 60); do old && break; sleep 0.1; done
old; result "SIGKILL case: the previous rules are back at the deadline" $?
foreign_ok; result "a foreign table survives both" $?

# Everything the nft backend emits (maps, counters, anonymous sets, action
# chains) comes back exactly.
cov=$src/tests/e2e/netlink-coverage.fw
in_ns "$fwc" apply "$cov" >/dev/null 2>&1
listing >"$work/cov.before"
in_ns "$fwc" apply --confirm 1 "$crm" >"$work/out" 2>&1
check "rollback of a table with maps, sets, counters and action chains (exit 4)" 4 $? "$work/out"
in_ns "$fwc" verify "$cov" >"$work/out" 2>&1
check "  ... restores it exactly (fwc verify)" 0 $? "$work/out"
listing | cmp -s - "$work/cov.before"; result "  ... nft lists the same table again" $?

# fwc rollback at once; and a table that did not exist comes back absent.
in_ns nft delete table inet fwc
in_ns "$fwc" apply --confirm 60 --no-wait "$crm" >"$work/out" 2>&1
check "apply --confirm --no-wait returns at once (exit 0)" 0 $? "$work/out"
in_ns nft list table inet fwc >/dev/null 2>&1; result "the table exists while pending" $?
in_ns "$fwc" rollback >"$work/out" 2>&1
check "fwc rollback (exit 0)" 0 $? "$work/out"
in_ns nft list table inet fwc >/dev/null 2>&1
check "a table that did not exist before is absent again" 1 $?
in_ns "$fwc" rollback >"$work/out" 2>&1
check "rollback with nothing pending (exit 1)" 1 $? "$work/out"
foreign_ok; result "a foreign table survives rollback" $?
# SIGTERM (like Ctrl-C in the foreground) while waiting rolls back at once.
in_ns "$fwc" apply "$crm" >/dev/null 2>&1
ip netns exec "$ns" "$fwc" apply --confirm 60 "$crm" -D mgmt >"$work/int.out" 2>&1 &
applier=$!
for _ in $(seq 100); do grep -q "run .fwc confirm." "$work/int.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$applier"
wait "$applier"
check "SIGTERM while waiting: rolled back at once (exit 4)" 4 $? "$work/int.out"
old; result "SIGTERM: the previous rules are back" $?

# --- the SSH lockout guard -------------------------------------------------------
new_ns
in_ns ip link add eth1 type veth peer name peer1
in_ns ip addr add 10.1.1.1/24 dev eth1
in_ns ip link set eth1 up
cat >"$work/ssh-ok.fw" <<'EOF'
firewall fw { interface outside eth1 10.1.1.1/24; }
network admins 10.1.1.0/24;
policy p default drop {
    accept tcp 22 from admins to fw in outside comment "admin SSH";
}
EOF
cat >"$work/ssh-drop.fw" <<'EOF'
firewall fw { interface outside eth1 10.1.1.1/24; }
network admins 10.1.1.0/24;
policy p default accept {
    drop tcp 22 from any to fw comment "no SSH at all";
}
EOF
export SSH_CONNECTION="10.1.1.50 50123 10.1.1.1 22"
in_ns "$fwc" apply "$crm" >"$work/out" 2>&1
check "SSH guard: refuses a policy whose default drops the SSH connection (exit 3)" 3 $? "$work/out"
grep -q "the policy default (drop) of chain input" "$work/out"; result "SSH guard: says the default policy drops it" $? "$work/out"
in_ns nft list table inet fwc >/dev/null 2>&1
check "SSH guard: nothing was applied" 1 $?
in_ns "$fwc" apply "$work/ssh-drop.fw" >"$work/out" 2>&1
check "SSH guard: refuses a policy with a rule that drops SSH (exit 3)" 3 $? "$work/out"
grep -q 'rule ssh-drop.fw:4 "no SSH at all"' "$work/out"; result "SSH guard: names the rule" $? "$work/out"
in_ns "$fwc" apply "$work/ssh-ok.fw" >"$work/out" 2>&1
check "SSH guard: lets a policy that allows the session through (exit 0)" 0 $? "$work/out"
in_ns "$fwc" apply --force "$crm" >"$work/out" 2>&1
check "SSH guard: --force applies anyway (exit 0)" 0 $? "$work/out"
SSH_CONNECTION="192.0.2.7 50123 192.0.2.1 22" in_ns "$fwc" apply "$crm" >"$work/out" 2>&1
check "SSH guard: a connection that does not end here is not checked (exit 0)" 0 $? "$work/out"
SSH_CONNECTION="10.1.1.50 50123" in_ns "$fwc" apply "$work/ssh-ok.fw" >"$work/out" 2>&1
check "SSH guard: a malformed SSH_CONNECTION refuses (exit 3)" 3 $? "$work/out"
grep -q "apply with --force" "$work/out"; result "SSH guard: and says how to override it" $? "$work/out"
SSH_CONNECTION="10.1.1.50 50123" in_ns "$fwc" apply --force "$work/ssh-ok.fw" >"$work/out" 2>&1
check "SSH guard: --force overrides a malformed SSH_CONNECTION (exit 0)" 0 $? "$work/out"
unset SSH_CONNECTION

# The connection arrives where the route to the client leaves (eth1), not on
# the interface that holds the server address (eth2): issue 12's reproducer.
# A real client in a namespace of its own shows what the kernel does.
new_ns
client=fwcapply-$$-client
ip netns add "$client" && namespaces="$namespaces $client"
in_ns ip link add eth1 type veth peer name c0
in_ns ip link add eth2 type veth peer name d0
in_ns ip link set c0 netns "$client"
in_ns ip addr add 10.1.1.1/24 dev eth1
in_ns ip addr add 10.1.2.1/24 dev eth2
in_ns ip link set eth1 up
in_ns ip link set eth2 up
in_ns ip link set d0 up
ip netns exec "$client" ip link set lo up
ip netns exec "$client" ip link set c0 up
ip netns exec "$client" ip addr add 10.1.1.50/24 dev c0
ip netns exec "$client" ip route add default via 10.1.1.1
cat >"$work/ssh-dmz.fw" <<'EOF'
firewall fw {
    interface outside eth1 10.1.1.1/24;
    interface dmz eth2 10.1.2.1/24;
}
network clients 10.1.1.0/24;
policy p default drop {
    accept tcp 22 from clients to fw in dmz comment "SSH from the dmz only";
}
EOF
sed 's/in dmz comment "SSH from the dmz only"/in outside comment "SSH from the outside"/' "$work/ssh-dmz.fw" >"$work/ssh-out.fw"
in_ns python3 "$src/tests/e2e/listen.py" --name fw --tcp 22 --ready "$work/ready" &
listener=$!
for _ in $(seq 50); do [ -s "$work/ready" ] && break; sleep 0.1; done
export SSH_CONNECTION="10.1.1.50 40000 10.1.2.1 22"
in_ns "$fwc" query "$work/ssh-dmz.fw" 'tcp 10.1.1.50:40000 -> 10.1.2.1:22' >"$work/q" 2>&1
grep -q "^verdict: drop" "$work/q"; result "SSH guard reproducer: fwc query says the packet is dropped" $? "$work/q"
in_ns "$fwc" apply "$work/ssh-dmz.fw" >"$work/out" 2>&1
check "SSH guard: refuses a rule for the wrong interface (exit 3)" 3 $? "$work/out"
grep -q "via eth1" "$work/out"; result "SSH guard: names the interface the packets arrive on" $? "$work/out"
in_ns nft list table inet fwc >/dev/null 2>&1
check "SSH guard: nothing was applied" 1 $?
in_ns "$fwc" apply --force "$work/ssh-dmz.fw" >"$work/out" 2>&1
check "SSH guard: --force applies it anyway (exit 0)" 0 $? "$work/out"
ip netns exec "$client" python3 "$src/tests/e2e/probe.py" tcp --port 22 --timeout 1 10.1.2.1 >"$work/probe" 2>&1
grep -q "^10.1.2.1 fail" "$work/probe"; result "SSH guard: the kernel does drop that connection, as the guard said" $? "$work/probe"
in_ns "$fwc" apply "$work/ssh-out.fw" >"$work/out" 2>&1
check "SSH guard: lets the rule for the right interface through (exit 0)" 0 $? "$work/out"
ip netns exec "$client" python3 "$src/tests/e2e/probe.py" tcp --port 22 --timeout 2 10.1.2.1 >"$work/probe" 2>&1
grep -q "^10.1.2.1 banner fwc-e2e fw 22" "$work/probe"; result "SSH guard: and the kernel lets it in" $? "$work/probe"
unset SSH_CONNECTION
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
