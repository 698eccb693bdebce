#include "compiler/base/protocols.h"

namespace fwc {
namespace {

struct Named {
  const char* name;
  int number;
};

constexpr Named kProtocols[] = {
    {"icmp", 1},  {"igmp", 2},  {"ipip", 4},   {"tcp", 6},    {"udp", 17},
    {"ipv6", 41}, {"gre", 47},  {"esp", 50},   {"ah", 51},    {"icmpv6", 58},
    {"ospf", 89}, {"pim", 103}, {"vrrp", 112}, {"l2tp", 115}, {"sctp", 132},
};

constexpr Named kIcmp[] = {
    {"echo-reply", 0},
    {"destination-unreachable", 3},
    {"source-quench", 4},
    {"redirect", 5},
    {"echo-request", 8},
    {"router-advertisement", 9},
    {"router-solicitation", 10},
    {"time-exceeded", 11},
    {"parameter-problem", 12},
    {"timestamp-request", 13},
    {"timestamp-reply", 14},
    {"info-request", 15},
    {"info-reply", 16},
    {"address-mask-request", 17},
    {"address-mask-reply", 18},
};

constexpr Named kIcmpv6[] = {
    {"destination-unreachable", 1},
    {"packet-too-big", 2},
    {"time-exceeded", 3},
    {"parameter-problem", 4},
    {"echo-request", 128},
    {"echo-reply", 129},
    {"mld-listener-query", 130},
    {"mld-listener-report", 131},
    {"mld-listener-done", 132},
    {"nd-router-solicit", 133},
    {"nd-router-advert", 134},
    {"nd-neighbor-solicit", 135},
    {"nd-neighbor-advert", 136},
    {"nd-redirect", 137},
    {"router-renumbering", 138},
    {"ind-neighbor-solicit", 141},
    {"ind-neighbor-advert", 142},
    {"mld2-listener-report", 143},
};

template <size_t N>
std::optional<int> Find(const Named (&table)[N], const std::string& name) {
  for (const auto& e : table)
    if (name == e.name) return e.number;
  return std::nullopt;
}

template <size_t N>
std::string NameOf(const Named (&table)[N], int number) {
  for (const auto& e : table)
    if (number == e.number) return e.name;
  return "";
}

template <size_t N>
std::vector<std::string> Names(const Named (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& e : table) out.push_back(e.name);
  return out;
}

}  // namespace

std::optional<int> ProtocolByName(const std::string& name) {
  return Find(kProtocols, name);
}
std::string ProtocolName(int number) { return NameOf(kProtocols, number); }
std::vector<std::string> ProtocolNames() { return Names(kProtocols); }

std::optional<int> IcmpTypeByName(Family f, const std::string& name) {
  return f == Family::kV4 ? Find(kIcmp, name) : Find(kIcmpv6, name);
}
std::string IcmpTypeName(Family f, int type) {
  return f == Family::kV4 ? NameOf(kIcmp, type) : NameOf(kIcmpv6, type);
}
std::vector<std::string> IcmpTypeNames(Family f) {
  return f == Family::kV4 ? Names(kIcmp) : Names(kIcmpv6);
}

}  // namespace fwc
