#!/bin/sh
# The kernel differential soak of fwc: random policies compiled by every
# backend, loaded into a firewall namespace, probed with real packets and
# compared with `fwc query --packets` (tests/fidelity/README.md).
#
# usage: soak.sh [--cases N] [--seed S] [--backends nft,iptables,netlink]
#                [--probes P] [--keep DIR] [--minimize TRIALS] [--mutate]
#                [--quiet] [FWC]
#   FWC  the fwc binary (default: build/fwc of this source tree)
# Case i uses seed S+i, so `--seed S+i --cases 1` repeats one case. The last
# line is "N probes, M mismatches"; the exit status is 0 when M is 0 and
# every policy loaded, 1 on any mismatch or load error, 2 on usage errors or
# a lab that does not behave, 77 when it cannot run here (not root, no
# network namespaces, a tool missing).
set -u
here=$(cd "$(dirname "$0")" && pwd)
fwc=
for a in "$@"; do
  case $a in -h|--help) sed -n '2,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
done
# The binary is the one positional argument; everything else goes to the
# driver as is.
n=$#
i=0
prev=
for a in "$@"; do
  i=$((i + 1))
  case $prev in --cases|--seed|--backends|--probes|--keep|--minimize) prev=; set -- "$@" "$a"; continue ;; esac
  case $a in
    --cases|--seed|--backends|--probes|--keep|--minimize) prev=$a; set -- "$@" "$a" ;;
    -*) set -- "$@" "$a" ;;
    *) fwc=$a ;;
  esac
done
shift "$n"
fwc=${fwc:-$here/../../build/fwc}
[ -x "$fwc" ] || { echo "soak.sh: no fwc binary at $fwc" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "soak.sh: skipped: needs root (network namespaces)"; exit 77; }
for tool in ip nft iptables-restore ip6tables-restore python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "soak.sh: skipped: $tool is missing"; exit 77; }
done
probe=fwcfid-probe-$$
ip netns add "$probe" 2>/dev/null || { echo "soak.sh: skipped: cannot create a network namespace"; exit 77; }
ip netns del "$probe"
exec python3 "$here/fidelity.py" "$@" "$fwc"
