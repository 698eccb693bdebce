// Semantic diff of two policies: every class of packets whose verdict
// changed, per chain and family, found with the same exact set algebra as
// the shadow analysis. Reordering rules without changing behaviour yields
// no difference.
#pragma once

#include <string>
#include <vector>

#include "compiler/analysis/rule_space.h"

namespace fwc::analysis {

struct Difference {
  ir::Hook hook = ir::Hook::kNone;
  Family family = Family::kV4;
  ast::Action before = ast::Action::kDrop, after = ast::Action::kDrop;
  const PolicyRule* old_rule = nullptr;  // nullptr: the old default
  const PolicyRule* new_rule = nullptr;  // nullptr: the new default
  std::vector<Cube> region;              // the packets concerned (disjoint)
  std::string description;               // rule-like text of the first cube
  std::string example;                   // one packet of the region
};

struct DiffResult {
  std::vector<Difference> differences;
  bool incomplete = false;  // a region fragmented past the bound
};

// old_lists and new_lists come from BuildRuleLists with one shared ifaces.
DiffResult SemanticDiff(const std::vector<RuleList>& old_lists, const std::vector<RuleList>& new_lists,
                        const InterfaceIds& ifaces);

}  // namespace fwc::analysis
