// Names of IP protocols and ICMP/ICMPv6 types, built in so that output does
// not depend on the machine's /etc/protocols. ICMP names follow nft's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/base/address.h"

namespace fwc {

constexpr int kProtoIcmp = 1;
constexpr int kProtoTcp = 6;
constexpr int kProtoUdp = 17;
constexpr int kProtoIcmpv6 = 58;

std::optional<int> ProtocolByName(const std::string& name);
// "gre" for 47; "" for a protocol without a built-in name.
std::string ProtocolName(int number);
std::vector<std::string> ProtocolNames();

// The family an ICMP flavour belongs to: kV4 for icmp, kV6 for icmpv6.
std::optional<int> IcmpTypeByName(Family f, const std::string& name);
std::string IcmpTypeName(Family f, int type);  // "" when unnamed
std::vector<std::string> IcmpTypeNames(Family f);

}  // namespace fwc
