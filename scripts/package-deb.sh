#!/bin/sh
# Builds the Debian package of fwc from a release build in build/:
# build/fwc_VERSION_ARCH.deb (the binary stripped; man pages, shell
# completions, editor files and the example policy with it).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
command -v dpkg-deb >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
(cd build && cpack -G DEB >/dev/null)
ls build/fwc_*.deb
