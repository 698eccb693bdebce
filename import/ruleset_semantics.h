// The packets a SourceRuleset's base chains accept, drop or reject, as the
// analysis' rule lists: the other side of `fwc import --check`. Built from
// the ruleset itself (chains walked with exact packet sets, jumps, RETURN
// and goto followed), not from the imported policy, so the check compares
// two independent readings of what the kernel would do.
//
// Like the analysis it decides the first packet of a connection: rules
// that only match established, related, invalid or untracked packets
// cannot meet one, and rules with a rate limit are left out (fwc query and
// the analysis treat them as conditional too).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/analysis/rule_space.h"
#include "import/ruleset.h"

namespace fwc::import {

struct RulesetLists {
  // One PolicyRule per source rule that decides packets, for the diff to
  // point at (only its loc is set).
  std::vector<std::unique_ptr<PolicyRule>> origins;
  // In BuildRuleLists' order: input, forward, output, each IPv4 then IPv6.
  std::vector<analysis::RuleList> lists;
  bool family_given[2] = {false, false};
  // Source rules with a match the semantics cannot model (left out: the
  // comparison is then not a proof for the packets they match).
  std::vector<Loc> unmodelled;
};

// Gives every interface the ruleset names an id, before any list's limits
// are taken from ifaces.count().
void AddRulesetInterfaces(const SourceRuleset& rs, analysis::InterfaceIds& ifaces);

// The filter chains as rule lists for the first packet of each connection.
// policy_stateful: the policy compared with them has fwc's stateful
// built-ins, so a rule matching new connections decides first packets even
// when the ruleset itself does not drop invalid ones.
RulesetLists BuildRulesetLists(const SourceRuleset& rs, analysis::InterfaceIds& ifaces, bool policy_stateful);

// The rules fwc puts before a policy's own in every base chain (loopback,
// neighbour discovery), added to the front of a compiled policy's lists so
// that they compare with a ruleset that has them as rules.
void AddBuiltinUnits(std::vector<analysis::RuleList>& lists, analysis::InterfaceIds& ifaces,
                     std::vector<std::unique_ptr<PolicyRule>>& origins);

}  // namespace fwc::import

namespace fwc::import {

// Packets a base chain never sees (input: to an address that is not the
// firewall's; output: from one that is not; forward: to or from one of the
// firewall's own addresses) are put first in both sides' lists with one
// verdict, so the comparison is over what the kernel can tell apart.
// The connections a DNAT rule of rs translates are left out of input and
// forward the same way: the filter sees them translated, which the packet
// sets do not model (the kernel side-by-side test covers them); the count
// of such rules goes to *translated. declared_interfaces_only leaves out
// the packets on an interface neither side names (a Firewall Builder
// firewall lists its interfaces: the others are not its business).
// Loopback is never left out: every ruleset is about it.
void RestrictToObservable(std::vector<analysis::RuleList>& a, std::vector<analysis::RuleList>& b,
                          const AddressSet& own, const SourceRuleset& rs, analysis::InterfaceIds& ifaces,
                          std::vector<std::unique_ptr<PolicyRule>>& origins, int* translated,
                          bool declared_interfaces_only);

// Whether a diff's rule is one of fwc's built-in rules (AddBuiltinUnits).
inline bool IsBuiltinOrigin(const PolicyRule* r) { return r && !r->loc.valid() && r->comment.rfind("fwc:", 0) == 0; }

}  // namespace fwc::import

namespace fwc::import {

// The one verdict `chain` of `table` gives every packet that `region` (a
// rule's matches) describes, or nullopt when different packets of it get
// different verdicts or a rule on the way cannot be modelled.
std::optional<ast::Action> UniformVerdict(const SourceTable& table, const std::string& chain, const SourceRule& region);

}  // namespace fwc::import
