#!/bin/sh
# Installs the .deb on a minimal Debian 12 (a copy of a debootstrap
# --variant=minbase rootfs) with apt, which brings its dependencies, and
# runs what a new user would: fwc --version, fwc check of the bundled
# policy with its expectations, the shell completion, and the systemd unit.
#   usage: tests/package/deb_install_test.sh DEB ROOTFS_TEMPLATE
# Needs root; exit 77 without it.
set -eu
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (chroot)"; exit 77; }
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
template=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
cp -a "$template" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
[ -d /etc/apt/sources.list.d ] && cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
cp "$deb" "$root/tmp/"
unshare --mount --propagation private sh -eu -c '
  root=$1 deb=$2
  mount --bind /proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    /bin/sh -eu -c "
      set -x
      command -v fwc && exit 1 || true
      apt-get update -q >/dev/null
      apt-get install -y -q --no-install-recommends /tmp/$deb
      fwc --version
      fwc check /usr/share/doc/fwc/examples/crm.fw --expect /usr/share/doc/fwc/examples/crm.expect
      fwc compile /usr/share/doc/fwc/examples/crm.fw | head -3
      ls /usr/share/man/man8/fwc.8* /usr/share/man/man5/fwc.policy.5*
      ls /usr/share/vim/vimfiles/syntax/fwc.vim /usr/share/fwc/editors/textmate/fwc.tmLanguage.json
      bash -c \". /usr/share/bash-completion/completions/fwc; complete -p fwc\"
      grep -x \"ExecStart=/usr/sbin/nft -f /var/lib/fwc/ruleset.nft\" /usr/lib/systemd/system/fwc.service
      grep -x \"ConditionPathExists=/var/lib/fwc/ruleset.nft\" /usr/lib/systemd/system/fwc.service
      ls /usr/share/fwc/ansible/rollout.yml /usr/share/fwc/ansible/drift.yml /usr/share/fwc/ansible/roles/fwc/tasks/main.yml
      apt-get install -y -q --no-install-recommends ansible-core >/dev/null
      cd /usr/share/fwc/ansible && ansible-playbook -i localhost, --syntax-check rollout.yml drift.yml
      dpkg -s fwc | grep -E \"^(Status|Version):\"
    "
' sh "$root" "$(basename "$deb")"
# The packaged unit, as systemd reads it (the host's systemd: a minbase
# rootfs has none), with the man page the package installed.
if command -v systemd-analyze >/dev/null; then
  MANPATH=$root/usr/share/man systemd-analyze verify "$root/usr/lib/systemd/system/fwc.service"
  echo "deb_install_test: systemd-analyze verify accepts the packaged fwc.service"
fi
echo "deb_install_test: $(basename "$deb") installs and runs on a minbase rootfs"
