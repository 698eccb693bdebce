#!/bin/sh
# The kernel side-by-side test of `fwc import` on Firewall Builder's
# regression corpus: every iptables firewall of these files that fwc imports
# fully and fwb_ipt compiles, moved into the lab (tests/fidelity/fwblab.py),
# loaded as fwb_ipt's script builds it and as fwc's nft and iptables output
# of its import, and probed with the same packets (import_sidebyside.py
# --fwb). About 40 s.
# usage: sidebyside.sh FWC        (FWC_FWB_KEEP: where failing cases are kept)
# Exit: 0 no differences, 1 differences or a firewall that fails, 77 skipped
# (not root, no namespaces, fwb_ipt or a tool missing).
set -u
fwc=${1:?usage: sidebyside.sh FWC}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$fwc" ] || { echo "sidebyside.sh: no fwc binary at $fwc" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "sidebyside.sh: skipped: needs root (network namespaces)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "sidebyside.sh: skipped: python3 is missing"; exit 77; }
command -v fwb_ipt >/dev/null 2>&1 || { echo "sidebyside.sh: skipped: fwb_ipt is missing (apt-get install fwbuilder)"; exit 77; }
exec python3 "$here/../../fidelity/import_sidebyside.py" --quiet --fwc "$fwc" --cases 0 --corpus '' \
  --fwb "$here/cluster-tests.fwb" --fwb "$here/large_policy_test.fwb" \
  --fwb "$here/objects-for-regression-tests.fwb.gz" --fwb "$here/optimizer_test.fwb" \
  --keep "${FWC_FWB_KEEP:-$PWD/fwb-sidebyside-failures}"
