#!/bin/sh
# The ctest entry of the fidelity suite: a bounded soak of every backend,
# then the suite's own self-test, a deliberately broken nft ruleset that must
# be caught and minimised. About two and a half minutes on two cores.
# usage: ci.sh FWC    (FWC_FIDELITY_CASES, FWC_FIDELITY_SEED override the run)
set -u
fwc=$1
here=$(cd "$(dirname "$0")" && pwd)
keep=${FWC_FIDELITY_KEEP:-$PWD/fidelity-failures}
"$here/soak.sh" --quiet --cases "${FWC_FIDELITY_CASES:-150}" --seed "${FWC_FIDELITY_SEED:-1}" --keep "$keep" "$fwc"
rc=$?
[ "$rc" = 77 ] && exit 77

selftest=$(mktemp -d)
trap 'rm -rf "$selftest"' EXIT
"$here/soak.sh" --quiet --cases 2 --seed 7 --backends nft --mutate --minimize 80 --keep "$selftest" "$fwc" \
  >"$selftest/out" 2>&1
mrc=$?
last=$(tail -n 1 "$selftest/out")
case $last in
  *" probes, 0 mismatches") ok=no ;;
  *" probes, "*" mismatches") ok=yes ;;
  *) ok=no ;;
esac
if [ "$mrc" = 1 ] && [ "$ok" = yes ] && grep -q "^minimised in" "$selftest/out" && ls "$selftest"/*.fw >/dev/null 2>&1; then
  echo "self-test: a broken nft ruleset is caught and minimised ($last)"
else
  echo "self-test FAILED: a deliberately broken nft ruleset was not caught (exit $mrc):"
  sed 's/^/  | /' "$selftest/out"
  [ "$rc" = 0 ] && rc=1
fi
exit "$rc"
