// Packet queries: which rule decides one concrete packet, in which chain.
#pragma once

#include <optional>
#include <string>

#include "compiler/analysis/rule_space.h"

namespace fwc::analysis {

// A packet as written on the command line:
//   PROTO SRC[:SPORT] -> DST[:DPORT] [type T [code C]] [in IFACE] [out IFACE] [chain C]
// with IPv6 addresses in brackets when a port follows ("[2001:db8::1]:80").
struct PacketSpec {
  Family family = Family::kV4;
  int proto = 0;
  U128 src = 0, dst = 0;
  unsigned sport = 40000, dport = 0;
  int icmp_type = -1, icmp_code = 0;
  std::string iif, oif;  // as written: logical or device names
  // Empty: the chain follows from the addresses. Set for a packet whose
  // addresses do not say where the kernel sees it, e.g. the TCP reset a
  // reject rule sends from the firewall with the rejected packet's
  // destination as its source, which passes the output chain.
  std::string chain;
};

// Parses a packet; on failure returns nullopt with *error saying why.
std::optional<PacketSpec> ParsePacket(const std::string& text, std::string* error);

struct QueryResult {
  std::string chain;
  Family family = Family::kV4;
  std::string iif, oif;  // devices used, after guessing
  bool guessed_iif = false, guessed_oif = false;
  ast::Action verdict = ast::Action::kDrop;
  const PolicyRule* rule = nullptr;  // nullptr: the default, or a built-in rule
  std::string builtin;               // "loopback", "neighbour discovery"
  std::string packet;                // normalised text of the packet
};

// Decides packets as the compiled rules would for the first packet of a
// connection. Interfaces not given are guessed from the firewall's attached
// networks. The rule lists are built once, so that many packets (fwc query
// --packets) cost one evaluation each.
class QueryEngine {
 public:
  // m and placed must outlive the engine.
  QueryEngine(const Model& m, const std::vector<WorkRule>& placed);
  // Returns nullopt with *error for an unknown interface name.
  std::optional<QueryResult> Query(const PacketSpec& p, std::string* error) const;

 private:
  const Model& m_;
  InterfaceIds ifaces_;
  std::vector<RuleList> lists_;
};

// One packet: QueryEngine(m, placed).Query(p, error).
std::optional<QueryResult> Query(const Model& m, const std::vector<WorkRule>& placed, const PacketSpec& p,
                                 std::string* error);

}  // namespace fwc::analysis
