#!/bin/sh
# Runs the README's two commands (./scripts/setup.sh, then ./scripts/test.sh)
# from a fresh clone of the committed tree, as root, inside a minimal Debian 12
# root file system (debootstrap --variant=minbase): the machine a new user
# or CI starts from has none of the packages a developer's machine has.
#
#   usage: scripts/fresh-machine-check.sh [ROOTFS_TEMPLATE]
#
# ROOTFS_TEMPLATE is an existing minbase rootfs to copy (debootstrap takes a
# few minutes); without it one is made in a temporary directory. The check
# runs in a mount namespace of its own (unshare), so its mounts go away
# with it. Then the .deb it built is installed on a copy of the template
# (tests/package/deb_install_test.sh). Exit status: that of the commands.
set -eu
[ "$(id -u)" = 0 ] || { echo "needs root (debootstrap, chroot, network namespaces)" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-fresh.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
if [ $# -ge 1 ]; then
  cp -a "$1" "$root"
else
  command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
[ -d /etc/apt/sources.list.d ] && cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
git clone -q "$top" "$root/src"
echo "fresh-machine-check: $(git -C "$root/src" log --oneline -1) in a minbase rootfs"
unshare --mount --propagation private sh -eu -c '
  root=$1
  # ip netns exec remounts / as a slave: / must be a mount point in the chroot.
  mount --bind "$root" "$root"
  mount --bind /proc "$root/proc"
  mount --bind /sys "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  mount -t tmpfs tmpfs "$root/run"
  mount -t tmpfs tmpfs "$root/tmp"
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
    /bin/sh -c "cd /src && ./scripts/setup.sh && ./scripts/test.sh && ./scripts/package-deb.sh"
' sh "$root"
# The package, installed by apt on a pristine copy of the same rootfs.
if [ $# -ge 1 ]; then
  "$top/tests/package/deb_install_test.sh" "$(ls "$root"/src/build/fwc_*.deb)" "$1"
else
  echo "fresh-machine-check: the .deb install test needs ROOTFS_TEMPLATE; skipped"
fi
