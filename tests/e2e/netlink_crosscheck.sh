#!/bin/bash
# netlink_crosscheck.sh FWC SOURCE_DIR — the netlink backend against the text
# backend: for every bundled policy (policies/*.fw with a firewall line,
# tests/golden/features.fw, tests/golden/nat.fw, tests/e2e/netlink-coverage.fw), with and without
# the -D conditions it tests, `nft -f` of `fwc compile` in one network
# namespace and `fwc apply` in another must give the same
# `nft list table inet fwc`, byte for byte. On top of that, `fwc verify`
# must find each table exactly what the policy compiles to: that compares
# every expression, set element and userdata byte, not only what nft prints.
#
# Exit: 0 all identical, 1 a difference (shown), 77 skipped (not root).
set -u
fwc=$1
src=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: needs nft"; exit 77; }
a=fwccross-$$-nft
b=fwccross-$$-netlink
ip netns add "$a" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
ip netns add "$b"
tmp=$(mktemp -d)
trap 'ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
unset SSH_CONNECTION
export FWC_STATE_DIR=$tmp/state

pass=0
fail=0
result() {  # result NAME STATUS [DETAIL-FILE]
  if [ "$2" = 0 ]; then
    pass=$((pass + 1)); echo "ok - $1"
  else
    fail=$((fail + 1)); echo "not ok - $1"
    [ -n "${3:-}" ] && sed 's/^/#   /' "$3" | head -40
  fi
}

for policy in "$src"/policies/*.fw "$src"/tests/golden/features.fw "$src"/tests/golden/nat.fw "$src"/tests/e2e/netlink-coverage.fw; do
  grep -q '^firewall ' "$policy" || continue   # include-only files
  name=$(basename "$policy" .fw)
  for define in "" mgmt debug; do
    defs=()
    if [ -n "$define" ]; then
      grep -q "if $define" "$policy" || continue
      defs=(-D "$define")
    fi
    label="$name${define:+ -D $define}"
    if ! "$fwc" compile "$policy" "${defs[@]}" -o "$tmp/out.nft" 2>"$tmp/err"; then
      result "$label: fwc compile" 1 "$tmp/err"
      continue
    fi
    ip netns exec "$a" nft flush ruleset
    ip netns exec "$b" nft flush ruleset
    ip netns exec "$a" nft -f "$tmp/out.nft" 2>"$tmp/err"
    result "$label: nft -f loads fwc's nft output" $? "$tmp/err"
    ip netns exec "$b" "$fwc" apply "$policy" "${defs[@]}" >"$tmp/err" 2>&1
    result "$label: fwc apply loads it over netlink" $? "$tmp/err"
    ip netns exec "$a" nft list table inet fwc >"$tmp/a.list" 2>&1
    ip netns exec "$b" nft list table inet fwc >"$tmp/b.list" 2>&1
    diff -u "$tmp/a.list" "$tmp/b.list" >"$tmp/diff"
    result "$label: nft list table inet fwc is identical ($(grep -c 'comment "' "$tmp/a.list") rules)" $? "$tmp/diff"
    ip netns exec "$a" "$fwc" verify "$policy" "${defs[@]}" >"$tmp/err" 2>&1
    result "$label: fwc verify finds what nft -f loaded exactly what fwc builds" $? "$tmp/err"
    ip netns exec "$b" "$fwc" verify "$policy" "${defs[@]}" >"$tmp/err" 2>&1
    result "$label: fwc verify finds what fwc apply loaded exactly what it built" $? "$tmp/err"
  done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
