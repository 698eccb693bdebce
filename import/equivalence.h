// fwc import --check: the packets a ruleset and the policy imported from it
// decide differently, per base chain and family, with the exact packet
// algebra of fwc diff. The ruleset side is built from the ruleset itself
// (ruleset_semantics.h), the policy side from the compiled policy, so a
// mistake of the importer, of the writer or of fwc's placement shows.
#pragma once

#include <memory>
#include <vector>

#include "compiler/analysis/semantic_diff.h"
#include "compiler/compilation.h"
#include "import/ruleset.h"

namespace fwc::import {

struct Equivalence {
  // Packets decided differently: old = the ruleset, new = the policy.
  std::vector<analysis::Difference> differences;
  // Differences only fwc's built-in rules make (loopback, neighbour
  // discovery): reported, not failures.
  std::vector<analysis::Difference> builtin;
  std::vector<Loc> unmodelled;  // ruleset rules the comparison leaves out
  int translated = 0;           // DNAT/REDIRECT rules whose connections are left out
  bool family_given[2] = {false, false};
  bool incomplete = false;      // too fragmented to compare
  bool equivalent() const { return differences.empty() && unmodelled.empty() && !incomplete; }

  // What the differences point at.
  std::vector<std::unique_ptr<PolicyRule>> origins;
};

// declared_interfaces_only: compare only packets on interfaces the policy or
// the ruleset names (and loopback), as for a Firewall Builder firewall.
Equivalence CompareWithRuleset(const SourceRuleset& rs, const Compilation& policy, bool declared_interfaces_only);

}  // namespace fwc::import
