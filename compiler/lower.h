// Lowering: Model -> IR, as a chain of small rule processors in the manner
// of Firewall Builder's compilers. Each pass does one transformation over
// a flat list of rules (WorkRules, then LoweringRules) and can be tested
// alone; Lower() runs them in order.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "compiler/ir.h"
#include "compiler/model.h"

namespace fwc {

class Diagnostics;
class SourceManager;

// What the target can express directly; the rest is lowered to plainer IR.
struct LoweringCaps {
  // nft: "ip saddr != { a, b }"; iptables can negate only one prefix/range.
  bool negated_address_sets = true;
};

// A placed rule: one family, chain and service match of a policy rule, as
// the passes up to SplitServices make it and the analysis reads it. What
// it does (verdict, log, counter, comment) is its origin's, taken only by
// the lowering (TakeActions): at 100k rules these are 130k rules, kept
// alive through the analysis, so they hold no more than they must.
struct WorkRule {
  std::string chain;  // "input", "forward" or "output"
  ir::Match rule;
  // Services still to be split (positive) or moved to a chain (negated).
  std::vector<ir::ServiceMatch> services;
  bool services_negated = false;
  // The slot names the firewall itself: in input (dst) or output (src) the
  // chain already says so, and the address match would only miss the
  // firewall's undeclared addresses (link-local, DHCP).
  bool src_is_firewall = false, dst_is_firewall = false;
  const PolicyRule* origin = nullptr;
};

// A rule in the passes after placement: an IR rule plus what is not yet
// lowered.
struct LoweringRule {
  std::string chain;  // "input", "forward", "output" or a jump target
  ir::Rule rule;
  // Negated services still to be moved to a chain.
  std::vector<ir::ServiceMatch> services;
  bool services_negated = false;
  bool reject = false;  // verdict is reject; SplitReject picks the kind
  int line = 0;         // policy line, for chain names
};

// The passes, in the order Lower() runs them.
std::vector<const PolicyRule*> SelectActiveRules(const Model& m,
                                                 const std::set<std::string>& defines);
std::vector<WorkRule> SplitByFamily(const Model& m, const std::vector<const PolicyRule*>& rules);
std::vector<WorkRule> PlaceInChains(const Model& m, std::vector<WorkRule> rules);
std::vector<WorkRule> SplitServices(std::vector<WorkRule> rules);
// Gives each placed rule its origin's verdict, log, counter and comment.
std::vector<LoweringRule> TakeActions(std::vector<WorkRule> placed, const SourceManager& sources);
std::vector<LoweringRule> LowerNegation(std::vector<LoweringRule> rules, const LoweringCaps& caps);
std::vector<LoweringRule> SplitRateLimitedLog(std::vector<LoweringRule> rules);
std::vector<LoweringRule> SplitReject(std::vector<LoweringRule> rules);
ir::Ruleset BuildRuleset(const Model& m, std::vector<LoweringRule> rules,
                         const SourceManager& sources);

// Groups a service slot's atoms of one family into as few matches as
// possible without changing what they match (tcp 80 + tcp 443 -> tcp
// {80,443}).
std::vector<ir::ServiceMatch> GroupServices(const std::vector<ServiceAtom>& atoms,
                                            std::optional<Family> family);

// The passes up to and including SplitServices: rules placed in chains,
// one per family and protocol, negations not yet lowered. What the analysis
// reasons about. Warnings (a rule that lands in no chain) go to diags.
std::vector<WorkRule> PlaceRules(const Model& m, const std::set<std::string>& defines, Diagnostics& diags);

// The remaining passes, from placed rules to the IR for a target.
ir::Ruleset Lower(const Model& m, std::vector<WorkRule> placed, const LoweringCaps& caps,
                  const SourceManager& sources);

}  // namespace fwc
