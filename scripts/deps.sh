#!/bin/sh
# Installs the Debian packages fwc needs to build and test, if any are
# missing. Safe to run again: it does nothing when everything is there.
set -eu

BUILD="g++ cmake make pkg-config antlr4 libantlr4-runtime-dev libcli11-dev catch2 libnftnl-dev libmnl-dev libexpat1-dev"
# man-db: `systemd-analyze verify` (the boot unit's test) resolves the unit's
# Documentation=man:fwc(8) with man(1); ipset: the iptables target's
# runtime sets; strace: the untrusted-bytes property test.
# fwbuilder: fwb_ipt and fwbedit, the peer fwc import is checked against;
# kmod: the modprobe its scripts insist on. zsh, fish: the completion
# tests drive each shell; vim: the syntax file is tested in a real Vim.
# ansible-core, openssh-server/-client, iputils-ping: the Ansible rollout
# test (hosts are namespaces running sshd; the role's check pings them).
TEST="ansible-core openssh-server openssh-client iputils-ping nftables zsh fish vim iptables ipset iproute2 kmod nmap python3 fwbuilder groff-base man-db strace clang libclang-rt-dev systemd time"

missing=""
for p in $BUILD $TEST; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "fwc: installing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "fwc: run as root, or install these packages first:$missing" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $missing ||
  { $sudo apt-get update -q && $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends $missing; }
