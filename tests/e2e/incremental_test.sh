#!/bin/bash
# incremental_test.sh FWC — fwc apply changing the loaded table in place,
# against a real kernel, with random edits interleaved with probes.
#
# A firewall namespace (fw, 10.77.0.1 on veth) and a client namespace
# (10.77.0.2). The policy accepts a list of TCP ports to the firewall itself;
# nothing listens there, so an accepted port answers with a reset ("closed"
# to nmap) and a dropped one does not answer ("filtered"). Neighbouring
# rules differ in their source as well as their port, so that each stays
# one kernel rule.
#
# Each step edits the policy at random (a port changed in place, a rule
# added or removed at the end, two rules swapped, a rule inserted in the
# middle, which renumbers the lines after it), applies it, and checks:
#   - fwc verify: the kernel's table is exactly the policy's;
#   - `apply -v` changed the table in place (every kind of edit but the
#     insertion, whose renumbered comments may exceed the delta's limit);
#   - nmap from the client: the edited ports and a sample of the others are
#     closed exactly when the policy accepts them.
# Twice someone else changes the ruleset between two applies (a rule added
# to fwc's own table, a foreign table): the next apply must replace the
# table, and the one after must be in place again.
#
# usage: incremental_test.sh FWC [STEPS]   (default 30 steps)
# Output: "ok - ..." / "not ok - ..." per assertion, then "N passed, M failed".
# Exit: 0 all passed, 1 something failed, 77 skipped (not root, no netns, no nmap).
set -u
fwc=$1
steps=${2:-30}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
for tool in nft nmap python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
fw=fwcinc-fw-$$
cl=fwcinc-cl-$$
ip netns add "$fw" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-incremental.XXXXXX")
export FWC_STATE_DIR=$work/state
unset SSH_CONNECTION
cleanup() {
  ip netns del "$fw" 2>/dev/null
  ip netns del "$cl" 2>/dev/null
  ip netns del "fwcinc-other-$$" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$cl" || exit 2
ip -n "$fw" link set lo up
ip -n "$cl" link set lo up
ip link add fwcinc-a-$$ netns "$fw" type veth peer name fwcinc-b-$$ netns "$cl" || exit 2
ip -n "$fw" link set fwcinc-a-$$ name eth1
ip -n "$cl" link set fwcinc-b-$$ name eth0
ip -n "$fw" addr add 10.77.0.1/24 dev eth1
ip -n "$cl" addr add 10.77.0.2/24 dev eth0
ip -n "$fw" link set eth1 up
ip -n "$cl" link set eth0 up

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

F() { ip netns exec "$fw" "$fwc" "$@"; }

# The policy's rules live in $work/ports, one port per line, in order.
python3 -c 'import random; random.seed(17); print("\n".join(str(p) for p in random.sample(range(2000, 3000), 200)))' \
  >"$work/ports"
# Two shapes: "rules", each port's rule followed by a GRE rule, so that no
# neighbours share a shape and every policy rule is a kernel rule; "set",
# the port rules alone, which fwc merges into one rule and a named set.
shape=rules
write_policy() {
  {
    echo "firewall fw { interface outside eth1 10.77.0.1/24; }"
    echo "network clients 10.77.0.0/24;"
    echo "policy p default drop {"
    if [ "$shape" = rules ]; then
      awk '{ printf "    accept tcp %s from %s to fw;\n    accept proto gre from 10.77.1.%d to fw;\n",
             $1, (NR % 2 ? "any" : "clients"), NR % 250 + 1 }' "$work/ports"
    else
      awk '{ printf "    accept tcp %s from %s to fw;\n", $1, (NR % 2 ? "any" : "clients") }' "$work/ports"
    fi
    echo "}"
  } >"$work/p.fw"
}

# edit KIND: changes $work/ports; sets $touched (ports whose fate changed).
edit() {
  python3 - "$1" "$work/ports" "$RANDOM" <<'EOF' >"$work/touched"
import random, sys
kind, path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(seed)
ports = [int(l) for l in open(path)]
free = [p for p in range(2000, 3000) if p not in ports]
touched = []
if kind == "change":
    i = random.randrange(len(ports)); new = random.choice(free)
    touched = [ports[i], new]; ports[i] = new
elif kind == "append":
    new = random.choice(free); ports.append(new); touched = [new]
elif kind == "remove":
    touched = [ports.pop()]
elif kind == "swap":
    i, j = random.sample(range(len(ports)), 2)
    ports[i], ports[j] = ports[j], ports[i]; touched = [ports[i], ports[j]]
elif kind == "insert":
    new = random.choice(free); ports.insert(random.randrange(len(ports)), new); touched = [new]
open(path, "w").write("".join("%d\n" % p for p in ports))
print(" ".join(str(p) for p in touched))
EOF
  touched=$(cat "$work/touched")
}

# probe: nmap from the client, the touched ports and a sample of the rest
# (some in the policy, some not); compares with the policy.
probe() {
  local sample
  sample=$( { echo "$touched" | tr ' ' '\n'; shuf -n 8 "$work/ports";
              python3 -c 'import random; print("\n".join(str(random.randrange(2000, 3000)) for _ in range(8)))'; } |
            grep . | sort -un | paste -sd, -)
  ip netns exec "$cl" nmap -n -Pn -sS -T5 --max-retries 0 --host-timeout 20s -p "$sample" -oG "$work/nmap" 10.77.0.1 \
    >/dev/null 2>&1
  python3 - "$work/nmap" "$work/ports" "$sample" <<'EOF' >"$work/probe.out"
import re, sys
grep, ports, sample = open(sys.argv[1]).read(), set(int(l) for l in open(sys.argv[2])), sys.argv[3].split(",")
seen = {}
for m in re.finditer(r"(\d+)/(open|closed|filtered|unfiltered|open\|filtered)/", grep):
    seen[int(m.group(1))] = m.group(2)
bad = 0
for p in map(int, sample):
    # nmap folds the most common state into "Ignored State": missing means that one.
    ignored = re.search(r"Ignored State: (\w+)", grep)
    state = seen.get(p, ignored.group(1) if ignored else "missing")
    want = "closed" if p in ports else "filtered"
    if state != want:
        bad += 1
        print("port %d: %s, policy %s" % (p, state, "accepts" if p in ports else "drops"))
sys.exit(1 if bad else 0)
EOF
}

write_policy
F apply -v "$work/p.fw" >"$work/out" 2>&1
result "the first apply loads the policy" $? "$work/out"
grep -q "replaced the whole table: fwc has no index" "$work/out"
result "the first apply replaces the table (no index yet)" $? "$work/out"

kinds=(change append remove swap change insert append change swap remove)
in_place=0
for step in $(seq "$steps"); do
  kind=${kinds[$(( (step * 7) % ${#kinds[@]} ))]}
  edit "$kind"
  if [ "$step" = $((steps * 2 / 3)) ]; then
    # From here on, the named set's elements change instead of rules.
    shape=set
    write_policy
    F apply -v "$work/p.fw" >"$work/out" 2>&1
    grep -q "replaced the whole table: the chains, sets or table differ" "$work/out"
    result "step $step: another shape of table replaces the table" $? "$work/out"
    continue
  fi
  write_policy
  F apply -v "$work/p.fw" >"$work/out" 2>&1
  rc=$?
  F verify "$work/p.fw" >"$work/verify" 2>&1
  vrc=$?
  if [ $rc != 0 ] || [ $vrc != 0 ]; then
    cat "$work/verify" >>"$work/out"
    result "step $step ($kind $touched): applied and verified exact" 1 "$work/out"
    continue
  fi
  if grep -q "changed the loaded table in place" "$work/out"; then
    in_place=$((in_place + 1))
  elif [ "$kind" != insert ]; then
    result "step $step ($kind $touched): changed in place" 1 "$work/out"
    continue
  fi
  probe
  result "step $step ($shape, $kind $touched): verify exact, $(grep -o 'in place: .*\|replaced the whole table' "$work/out" | head -1), probes agree" \
    $? "$work/probe.out"
done
[ "$in_place" -ge $((steps / 2)) ]
result "$in_place of $steps applies changed the table in place" $?

# Someone else's change: the index no longer describes the kernel.
ip netns exec "$fw" nft add rule inet fwc input tcp dport 2999 accept
edit change
write_policy
F apply -v "$work/p.fw" >"$work/out" 2>&1
grep -q "replaced the whole table: the ruleset changed since fwc's last commit" "$work/out"
result "a rule added by hand to fwc's table: the next apply replaces the table" $? "$work/out"
F verify "$work/p.fw" >"$work/verify" 2>&1
result "... and the table is exactly the policy's again" $? "$work/verify"
edit change
write_policy
F apply -v "$work/p.fw" >"$work/out" 2>&1
grep -q "changed the loaded table in place: " "$work/out"
result "... and the apply after it is in place again" $? "$work/out"
probe
result "... and the probes agree" $? "$work/probe.out"

ip netns exec "$fw" nft add table inet other
edit append
write_policy
F apply -v "$work/p.fw" >"$work/out" 2>&1
grep -q "replaced the whole table" "$work/out"
result "a foreign table added: the next apply replaces fwc's table" $? "$work/out"
ip netns exec "$fw" nft list table inet other >/dev/null 2>&1
result "... and leaves the foreign table alone" $?

# The same files and options again: nothing to compile or send.
F apply "$work/p.fw" >/dev/null 2>&1
F apply -v "$work/p.fw" >"$work/out" 2>&1
grep -q "nothing to compile or send" "$work/out" && ! grep -q "compile [0-9]* ms" "$work/out"
result "the same policy again: nothing compiled or sent" $? "$work/out"
F verify "$work/p.fw" >"$work/verify" 2>&1
result "... and the table is exactly the policy's" $? "$work/verify"
# A verify that found the table exact is recorded: the next one is answered
# from the record, in the same words; a change made since is still found.
F verify "$work/p.fw" >"$work/v1" 2>&1
F verify "$work/p.fw" >"$work/v2" 2>&1
[ $? = 0 ] && cmp -s "$work/v1" "$work/v2" && grep -q "is exactly what" "$work/v2" &&
  grep -q '^verified [0-9a-f][0-9a-f]*$' "$work"/state/net-*.origin
result "a verify after a verify: the same words, from the record" $? "$work/v2"
F verify --format json "$work/p.fw" >"$work/v3" 2>&1
[ $? = 0 ] && grep -q '"exact": true' "$work/v3"
result "... in JSON too" $? "$work/v3"
ip netns exec "$fw" nft add rule inet fwc input tcp dport 2997 accept
F verify "$work/p.fw" >"$work/v4" 2>&1
# (2997 = 0x0bb5, in network order in the rule's expressions)
[ $? = 1 ] && grep -q "differs from what" "$work/v4" && grep -q "rule in input (no comment): .*0x0000b50b" "$work/v4"
result "... and a rule added by hand since is found" $? "$work/v4"
F apply "$work/p.fw" >/dev/null 2>&1

# A policy with a warning (a rule the one before it makes redundant): the
# warning is said again, word for word.
sed 's/^}$/    accept tcp 2001-2999 from any to fw;\n    accept tcp 2500 from any to fw;\n}/' "$work/p.fw" >"$work/w.fw"
F apply "$work/w.fw" >"$work/first" 2>&1
F apply -v "$work/w.fw" >"$work/out" 2>&1
grep -q "nothing to compile or send" "$work/out" && grep -q "warning" "$work/first" &&
  [ "$(grep -v 'nothing to compile' "$work/out")" = "$(cat "$work/first")" ]
result "a policy with a warning again: nothing compiled, the same words said" $? "$work/out"
# Every option that can change what is loaded or said is part of the key:
# each one given compiles again (and the last, given again, does not).
last=""
for opts in "-D x" "--firewall fw" "--no-analysis" "--analysis-budget 7" "--analysis-threads 1" \
    "--max-policy-size 1M" "-Wno-redundant-rule" "-Wshadowed-rule" "--color=always apply"; do
  case $opts in *apply) cmd=$opts ;; *) cmd="apply $opts" ;; esac
  # shellcheck disable=SC2086
  F $cmd -v "$work/w.fw" >"$work/out" 2>&1
  if grep -q "nothing to compile or send" "$work/out"; then
    echo "  '$opts' did not compile again"; last=bad; break
  fi
  last=$cmd
done
[ "$last" != bad ] && F $last -v "$work/w.fw" >"$work/out" 2>&1 && grep -q "nothing to compile or send" "$work/out"
result "each option that decides the output or the words compiles again" $? "$work/out"
F apply "$work/p.fw" >/dev/null 2>&1
ip netns exec "$fw" nft add rule inet fwc input tcp dport 2998 accept
F apply -v "$work/p.fw" >"$work/out" 2>&1
grep -q "replaced the whole table: the ruleset changed since fwc's last commit" "$work/out"
result "the same policy after a rule added by hand: the table is replaced" $? "$work/out"
F verify "$work/p.fw" >"$work/verify" 2>&1
result "... and is exactly the policy's again" $? "$work/verify"

# Another namespace has a state of its own (named by its inode number), and
# the index names its namespace (the namespace's cookie): the index of this
# one must not be used there.
edit change
write_policy
other=fwcinc-other-$$
ip netns add "$other"
F apply "$work/p.fw" >/dev/null 2>&1
ip netns exec "$other" "$fwc" apply -v "$work/p.fw" >"$work/out" 2>&1
grep -q "replaced the whole table" "$work/out"
result "a fresh namespace gets the whole table" $? "$work/out"
# The namespace deleted and made again, with the same history (one commit
# of the same rules): generations and table handles start over, and the
# inode number (which names the state) is often the same.
inode=$(ip netns exec "$other" stat -L -c %i /proc/self/ns/net)
ip netns del "$other"
ip netns add "$other"
again=$(ip netns exec "$other" stat -L -c %i /proc/self/ns/net)
# What fwc recorded for the deleted one is found under the new one's name,
# as when the inode number is reused.
if [ "$inode" != "$again" ]; then
  for f in "$FWC_STATE_DIR"/net-"$inode".*; do cp "$f" "${f/net-$inode./net-$again.}"; done
fi
F compile "$work/p.fw" -o "$work/p.nft" >/dev/null 2>&1
ip netns exec "$other" nft -f "$work/p.nft"
ip netns exec "$other" "$fwc" apply -v "$work/p.fw" >"$work/out" 2>&1
grep -q "replaced the whole table" "$work/out" && ! grep -q "nothing to compile" "$work/out"
result "a namespace made anew, its inode's state that of the deleted one: the whole table, nothing recorded trusted" \
  $? "$work/out"
ip netns exec "$other" "$fwc" verify "$work/p.fw" >"$work/verify" 2>&1
result "... and it is exactly the policy's" $? "$work/verify"
ip netns del "$other"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
