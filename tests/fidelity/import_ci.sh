#!/bin/sh
# The ctest entry of the side-by-side test of `fwc import`
# (import_sidebyside.py): a bounded number of random iptables-save /
# ip6tables-save rulesets plus the bundled corpus tests/import/iptables/*.rules,
# each loaded as it is and as fwc's nft and iptables output of its import,
# probed with the same packets. About a minute on two cores.
# usage: import_ci.sh FWC    (FWC_IMPORT_CASES, FWC_IMPORT_SEED, FWC_IMPORT_KEEP
#                             override the run)
# Exit: 0 no differences, 1 differences or a case that does not import,
# compile or load, 77 skipped (not root, no namespaces, a tool missing).
set -u
fwc=${1:?usage: import_ci.sh FWC}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$fwc" ] || { echo "import_ci.sh: no fwc binary at $fwc" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "import_ci.sh: skipped: needs root (network namespaces)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "import_ci.sh: skipped: python3 is missing"; exit 77; }
exec python3 "$here/import_sidebyside.py" --quiet --fwc "$fwc" \
  --cases "${FWC_IMPORT_CASES:-60}" --seed "${FWC_IMPORT_SEED:-1}" \
  --keep "${FWC_IMPORT_KEEP:-$PWD/import-sidebyside-failures}"
