#!/bin/bash
# install_test.sh FWC SOURCE_DIR — fwc install / uninstall into an image of
# the file system (--root), the unit checked by systemd-analyze verify, and
# the stored artifact loaded the way the unit loads it, in a network
# namespace (as at boot: nothing is compiled).
#
# Exit: 0 all passed, 1 something failed, 77 skipped (not root).
set -u
fwc=$1
src=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the artifact is checked against the kernel)"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: needs nft (the unit loads the artifact with it)"; exit 77; }
ns=fwcinstall-$$
ip netns add "$ns" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-install.XXXXXX")
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
unset SSH_CONNECTION
root=$work/root
lib=$root/var/lib/fwc
unit=$root/etc/systemd/system/fwc.service
crm=$src/policies/crm.fw
in_ns() { ip netns exec "$ns" "$@"; }

pass=0
fail=0
result() {  # result NAME STATUS [DETAIL-FILE]
  if [ "$2" = 0 ]; then
    pass=$((pass + 1)); echo "ok - $1"
  else
    fail=$((fail + 1)); echo "not ok - $1"
    [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/#   /' "$3" | head -20
  fi
}
check() { if [ "$2" = "$3" ]; then result "$1" 0; else result "$1 (expected $2, got $3)" 1 "${4:-}"; fi; }

# The unit's ExecStart/ExecStop command lines, with the paths of the image.
unit_cmd() { sed -n "s|^$1=-\{0,1\}||p" "$unit" | sed "s|/var/lib/fwc|$lib|g"; }

# systemd-analyze verify also checks that the documentation the unit names
# exists: point man at the source tree's page.
man=$work/man
mkdir -p "$man/man8"
cp "$src/man/fwc.8" "$man/man8/"
analyze() {  # analyze NAME
  if ! command -v systemd-analyze >/dev/null; then
    echo "ok - $1 # SKIP systemd-analyze is not installed (apt-get install systemd)"
    return
  fi
  MANPATH=$man systemd-analyze verify "$unit" >"$work/analyze" 2>&1
  result "$1" $? "$work/analyze"
}

in_ns "$fwc" install --root "$root" "$crm" >"$work/out" 2>&1
check "install crm.fw (exit 0)" 0 $? "$work/out"
"$fwc" compile "$crm" -o "$work/crm.nft" 2>/dev/null
cmp -s "$lib/ruleset.nft" "$work/crm.nft"; result "the stored artifact is fwc's nft output" $?
[ -f "$unit" ]; result "the unit is written" $?
[ "$(readlink "$root/etc/systemd/system/sysinit.target.wants/fwc.service")" = /etc/systemd/system/fwc.service ]
result "the unit is enabled (sysinit.target.wants)" $?
for line in "DefaultDependencies=no" "Before=network-pre.target shutdown.target" "Wants=network-pre.target" \
            "WantedBy=sysinit.target" "ExecStart=$(command -v nft) -f /var/lib/fwc/ruleset.nft" \
            "ExecStop=-$(command -v nft) delete table inet fwc"; do
  grep -qx "$line" "$unit"; result "the unit has: $line" $? "$unit"
done
analyze "systemd-analyze verify accepts the unit"

# "Boot": the unit's command, in a fresh network namespace, next to another table.
in_ns nft add table inet foreign
in_ns nft add chain inet foreign keep
read -r -a start <<<"$(unit_cmd ExecStart)"
in_ns "${start[@]}" >"$work/out" 2>&1
result "ExecStart loads the stored artifact" $? "$work/out"
in_ns "$fwc" verify "$crm" >"$work/out" 2>&1
check "what it loaded is exactly crm.fw (fwc verify)" 0 $? "$work/out"
read -r -a stop <<<"$(unit_cmd ExecStop)"
in_ns "${stop[@]}" >"$work/out" 2>&1
result "ExecStop runs" $? "$work/out"
in_ns nft list table inet fwc >/dev/null 2>&1
check "ExecStop removes table inet fwc" 1 $?
in_ns nft list chain inet foreign keep >/dev/null 2>&1
result "ExecStop leaves other tables alone" $?

# A bad policy never replaces a good artifact.
cp "$lib/ruleset.nft" "$work/good.nft"
printf 'firewall fw { interface outside eth1 10.1.1.1/24; }\npolicy p default drop {\n  accept tcp 22 from nowhere to fw;\n}\n' \
  >"$work/bad.fw"
in_ns "$fwc" install --root "$root" "$work/bad.fw" >"$work/out" 2>&1
check "install of a policy with errors fails (exit 1)" 1 $? "$work/out"
cmp -s "$lib/ruleset.nft" "$work/good.nft"; result "the installed artifact is unchanged" $?
[ ! -e "$lib/previous.nft" ]; result "and nothing became the previous artifact" $?
long=$(printf 'g%.0s' $(seq 300))
printf 'firewall fw { interface outside eth1 10.1.1.1/24; }\nhost a 10.0.0.1;\nhost b 10.0.0.5;\ngroup %s { a, b }\npolicy p default drop {\n  accept tcp 22 from %s to fw;\n}\n' \
  "$long" "$long" >"$work/long.fw"
if "$fwc" compile "$work/long.fw" -o /dev/null 2>/dev/null; then
  in_ns "$fwc" install --root "$root" "$work/long.fw" >"$work/out" 2>&1
  check "install of a policy the kernel refuses fails (exit 3)" 3 $? "$work/out"
  cmp -s "$lib/ruleset.nft" "$work/good.nft"; result "the installed artifact is still unchanged" $?
fi

# A new policy: the old artifact is kept as the previous one.
in_ns "$fwc" install --root "$root" "$crm" -D mgmt >"$work/out" 2>&1
check "install crm.fw -D mgmt (exit 0)" 0 $? "$work/out"
cmp -s "$lib/previous.nft" "$work/good.nft"; result "the previous artifact is kept as previous.nft" $?
grep -q "management by SSH" "$lib/ruleset.nft"; result "the new one is in force" $?

# The iptables target.
if command -v iptables-restore >/dev/null; then
  in_ns "$fwc" install --root "$root" --target iptables "$crm" >"$work/out" 2>&1
  check "install --target iptables (exit 0)" 0 $? "$work/out"
  [ -x "$lib/ruleset.sh" ]; result "the boot script is stored, executable" $?
  grep -qx "ExecStart=/bin/sh /var/lib/fwc/ruleset.sh" "$unit"; result "the unit runs the script" $? "$unit"
  analyze "systemd-analyze verify accepts the iptables unit"
  in_ns nft flush ruleset
  read -r -a start <<<"$(unit_cmd ExecStart)"
  in_ns "${start[@]}" >"$work/out" 2>&1
  result "ExecStart loads the script" $? "$work/out"
  n=$(in_ns iptables-save -t filter | grep -c '^-A')
  [ "$n" -gt 3 ]; result "the filter table holds the rules ($n)" $?
  read -r -a stop <<<"$(unit_cmd ExecStop)"
  in_ns "${stop[@]}" >"$work/out" 2>&1
  result "ExecStop runs" $? "$work/out"
  n=$(in_ns iptables-save -t filter | grep -c '^-A')
  check "ExecStop empties the filter table" 0 "$n"
fi

"$fwc" uninstall --root "$root" >"$work/out" 2>&1
check "uninstall (exit 0)" 0 $? "$work/out"
[ -z "$(find "$root" -type f -o -type l)" ]; result "nothing of the installation is left" $?
"$fwc" uninstall --root "$root" >"$work/out" 2>&1
check "uninstall again: nothing to uninstall (exit 1)" 1 $? "$work/out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
