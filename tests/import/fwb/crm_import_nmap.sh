#!/bin/sh
# The crm firewall drawn in Firewall Builder (crm.fwb: firewalls crm and
# crm-mgmt, the latter with SSH to the management host; written by Debian's
# fwbuilder, `fwbedit checktree`) imported with `fwc import`, then the crm
# nmap suite (tests/e2e/crm_nmap.sh) run on the imported policies: crm.fw,
# and crm-mgmt.fw for the suite's mgmt variant. Where fwb_ipt is installed,
# each import must first prove itself equivalent to fwb_ipt's own script
# (--check --against).
# usage: crm_import_nmap.sh FWC
# Exit: crm_nmap.sh's (0 passed, 1 failed, 77 skipped), 1 if an import fails.
set -u
fwc=${1:?usage: crm_import_nmap.sh FWC}
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: crm_import_nmap.sh needs root (the nmap suite runs in network namespaces)"; exit 77; }
dir=$(mktemp -d /tmp/fwc-crm-import.XXXXXX)
trap 'rm -rf "$dir"' EXIT
for fw in crm crm-mgmt; do
    check=
    if command -v fwb_ipt >/dev/null 2>&1; then
        (cd "$dir" && fwb_ipt -q -f "$here/crm.fwb" -o "$dir/$fw.sh" "$fw" >/dev/null 2>&1)
        [ -s "$dir/$fw.sh" ] || { echo "not ok - fwb_ipt compiles $fw of crm.fwb"; exit 1; }
        check="--check --against $dir/$fw.sh"
    fi
    # shellcheck disable=SC2086
    if ! "$fwc" import "$here/crm.fwb" --firewall "$fw" $check -o "$dir/$fw.fw" >"$dir/$fw.log" 2>&1; then
        echo "not ok - fwc import crm.fwb --firewall $fw ${check:+--check}"
        sed 's/^/#   /' "$dir/$fw.log" | tail -20
        exit 1
    fi
    echo "ok - fwc import crm.fwb --firewall $fw ${check:+--check, equivalent to the fwb_ipt script}"
done
echo "# the imported policy:"
sed 's/^/#   /' "$dir/crm.fw"
bash "$here/../../e2e/crm_nmap.sh" "$fwc" "$dir"
