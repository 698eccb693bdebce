#!/bin/sh
# One command from a fresh Debian 12 machine to a compiled firewall:
# installs what is missing, builds fwc, and compiles the reference policy
# (policies/crm.fw) for both backends into build/.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/fwc compile policies/crm.fw -o build/crm.nft
./build/fwc compile policies/crm.fw --target iptables -o build/crm.iptables.sh
./build/fwc compile policies/crm.fw -D mgmt -o build/crm-mgmt.nft
echo
echo "fwc built: build/fwc"
echo "policies/crm.fw compiled to:"
echo "  build/crm.nft            load with:  nft -f build/crm.nft"
echo "  build/crm.iptables.sh    load with:  sh build/crm.iptables.sh"
echo "  build/crm-mgmt.nft       the same with SSH to the management host (-D mgmt)"
echo
cat build/crm.nft
