#!/bin/sh
# Loads every bundled policy (and the all-features test policy) with both
# backends into a scratch network namespace: proves the kernel accepts
# everything fwc emits, that loading twice works, and that the nft output
# leaves other tables alone.
# usage: load_all.sh FWC SOURCE_DIR       (root; exits 77 to skip otherwise)
set -u
fwc=$1
src=$2
[ "$(id -u)" = 0 ] || { echo "skip: needs root for network namespaces"; exit 77; }
ns=fwcload-$$
ip netns add "$ns" 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
tmp=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
in_ns() { ip netns exec "$ns" "$@"; }
pass=0
fail=0
result() {  # result NAME STATUS
  if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok - $1"
  else fail=$((fail + 1)); echo "not ok - $1"; fi
}

for policy in "$src"/policies/*.fw "$src"/tests/golden/features.fw "$src"/tests/golden/nat.fw; do
  grep -qE '^(firewall|cluster) ' "$policy" || continue   # include-only files
  # A policy of several firewalls (a cluster) loads once per member.
  members=$(sed -n 's/^[[:space:]]*firewall \([A-Za-z_][A-Za-z0-9_-]*\) {.*/\1/p' "$policy")
  [ "$(printf '%s\n' "$members" | grep -c .)" -gt 1 ] || members=-
  for member in $members; do
  fwopt=""
  [ "$member" = - ] || fwopt="--firewall $member"
  name=$(basename "$policy" .fw)${fwopt:+ $fwopt}
  # Without conditions, then with each condition the policy (or a file it
  # includes) tests.
  conds=$(cat "$policy" $(sed -n 's/^include "\(.*\)";.*/\1/p' "$policy" | sed "s|^|$(dirname "$policy")/|") 2>/dev/null |
          sed 's/#.*//' | sed -n 's/.*[[:space:]]if \(not \)\{0,1\}\([A-Za-z_][A-Za-z0-9_-]*\).*/\2/p' | sort -u)
  for defines in "" $(for c in $conds; do printf '%s ' "-D:$c"; done); do
    defines=$(printf '%s' "$defines" | tr ':' ' ')
    label="$name${defines:+ $defines}"
    # shellcheck disable=SC2086
    "$fwc" compile "$policy" $fwopt $defines -t nft -o "$tmp/out.nft" 2>"$tmp/err" &&
      "$fwc" compile "$policy" $fwopt $defines -t iptables -o "$tmp/out.sh" 2>>"$tmp/err"
    result "$label compiles" $?

    in_ns nft flush ruleset
    in_ns nft add table inet foreign
    in_ns nft add chain inet foreign keep
    in_ns nft -f "$tmp/out.nft" 2>"$tmp/err"; st=$?
    [ $st = 0 ] || cat "$tmp/err"
    result "$label: nft -f loads" $st
    in_ns nft -f "$tmp/out.nft" 2>"$tmp/err"; st=$?
    [ $st = 0 ] || cat "$tmp/err"
    result "$label: nft -f loads again (replaces its table)" $st
    in_ns nft list chain inet foreign keep >/dev/null 2>&1
    result "$label: another tool's table survives" $?
    rules=$(in_ns nft -a list table inet fwc | grep -c 'comment "')
    [ "$rules" -gt 5 ]
    result "$label: fwc's table holds its rules ($rules)" $?

    in_ns nft flush ruleset
    in_ns sh "$tmp/out.sh" 2>"$tmp/err"; st=$?
    [ $st = 0 ] || cat "$tmp/err"
    result "$label: iptables script loads" $st
    n4=$(in_ns iptables-save -t filter | grep -c '^-A')
    n6=$(in_ns ip6tables-save -t filter | grep -c '^-A')
    [ "$n4" -gt 3 ] && [ "$n6" -gt 3 ]
    result "$label: IPv4 and IPv6 filter tables filled ($n4, $n6 rules)" $?
  done
  done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
