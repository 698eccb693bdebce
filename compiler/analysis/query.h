// Packet queries: which rule decides one concrete packet, in which chain.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/analysis/rule_space.h"

namespace fwc::analysis {

// A packet as written on the command line:
//   PROTO SRC[:SPORT] -> DST[:DPORT] [type T [code C]] [in IFACE] [out IFACE] [chain C] [established]
// with IPv6 addresses in brackets when a port follows ("[2001:db8::1]:80").
struct PacketSpec {
  Family family = Family::kV4;
  int proto = 0;
  U128 src = 0, dst = 0;
  unsigned sport = 40000, dport = 0;
  int icmp_type = -1, icmp_code = 0;
  std::string iif, oif;  // as written: logical or device names
  // kNone: the chain follows from the addresses. Set for a packet whose
  // addresses do not say where the kernel sees it, e.g. the TCP reset a
  // reject rule sends from the firewall with the rejected packet's
  // destination as its source, which passes the output chain.
  ir::Hook chain = ir::Hook::kNone;
  // Part of a connection conntrack already knows (a reply, or a later
  // packet of an accepted connection) rather than its first packet.
  bool established = false;
  // iif and oif are the kernel's device names (as a route lookup gives
  // them), not necessarily interfaces the policy declares.
  bool kernel_devices = false;
};

// Parses a packet; on failure returns nullopt with *error saying why.
std::optional<PacketSpec> ParsePacket(const std::string& text, std::string* error);

struct QueryResult {
  ir::Hook chain = ir::Hook::kNone;
  Family family = Family::kV4;
  std::string iif, oif;  // devices used, after guessing
  bool guessed_iif = false, guessed_oif = false;
  ast::Action verdict = ast::Action::kDrop;
  const PolicyRule* rule = nullptr;  // nullptr: the default, or a built-in rule
  std::string builtin;               // "loopback", "replies and related traffic", ...
  std::string packet;                // normalised text of the packet
  // The answer assumes that the runtime sets hold none of the packet's
  // addresses; these rules over runtime sets, up to the one that decides,
  // would match it otherwise (or, negated, would not).
  std::vector<const PolicyRule*> runtime_rules;
  // The way through the marks and nat sections, in order: "marks", "dstnat",
  // "srcnat" steps, each with the rule that matched (null: none did).
  struct Step {
    ir::Hook hook = ir::Hook::kNone;
    const PolicyRule* rule = nullptr;
    std::string packet;  // the packet after the step (translated), as fwc query reads it
  };
  std::vector<Step> steps;
  uint32_t mark = 0, ctmark = 0;  // as the marks section left them
  // Conditional rules (limit) decided assuming the packet is within the limit.
  std::vector<const PolicyRule*> assumed_rules;
};

// Decides packets as the compiled rules would: the first packet of a
// connection unless the spec says it is established. Interfaces not given
// are guessed from the firewall's attached networks. This is the one packet
// evaluator: fwc query and the SSH guard of fwc apply both decide with it. The rule lists are built once, so that many packets (fwc query
// --packets) cost one evaluation each.
class QueryEngine {
 public:
  // m, placed and sections (the marks and nat sections' placed rules) must
  // outlive the engine.
  QueryEngine(const Model& m, const std::vector<PlacedRule>& placed, const std::vector<PlacedRule>& sections = {});
  // Returns nullopt with *error for an unknown interface name.
  std::optional<QueryResult> Query(const PacketSpec& p, std::string* error) const;

 private:
  struct SectionRule {
    const PlacedRule* placed;
    std::vector<Cube> cubes;
  };
  struct SectionList {
    ir::Hook hook;
    Family family;
    std::vector<SectionRule> rules;
  };
  // The first rule of a section that matches the point (and the marks).
  const PlacedRule* FirstMatch(ir::Hook hook, Family f, const Point& pt, uint32_t mark, uint32_t ctmark,
                               bool established) const;

  const Model& m_;
  InterfaceIds ifaces_;
  std::vector<RuleList> lists_;
  std::vector<SectionList> sections_;
};

// Whether a rule's extras (mark, connmark, state) hold for a packet with
// these marks; a rate limit is assumed to hold.
bool ExtrasMatch(const MatchExtras& x, uint32_t mark, uint32_t ctmark, bool established);

// One packet: QueryEngine(m, placed).Query(p, error).
std::optional<QueryResult> Query(const Model& m, const std::vector<PlacedRule>& placed, const PacketSpec& p,
                                 std::string* error, const std::vector<PlacedRule>& sections = {});

}  // namespace fwc::analysis
