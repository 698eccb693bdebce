#include "import/equivalence.h"

#include "import/ruleset_semantics.h"

namespace fwc::import {

Equivalence CompareWithRuleset(const SourceRuleset& rs, const Compilation& c, bool declared_interfaces_only) {
  Equivalence e;
  analysis::InterfaceIds ifaces;
  AddRulesetInterfaces(rs, ifaces);
  auto mine = analysis::BuildRuleLists(c.model(), c.placed(), ifaces);
  RulesetLists theirs = BuildRulesetLists(rs, ifaces, c.model().stateful);
  mine = analysis::BuildRuleLists(c.model(), c.placed(), ifaces);  // limits with every id
  for (auto& o : theirs.origins) e.origins.push_back(std::move(o));
  AddBuiltinUnits(mine, ifaces, e.origins);
  e.family_given[0] = theirs.family_given[0];
  e.family_given[1] = theirs.family_given[1];
  e.unmodelled = theirs.unmodelled;
  // A family the source has no ruleset for is not compared.
  std::vector<analysis::RuleList> a, b;
  for (size_t i = 0; i < theirs.lists.size() && i < mine.size(); ++i)
    if (theirs.family_given[theirs.lists[i].family == Family::kV6]) {
      a.push_back(theirs.lists[i]);
      b.push_back(mine[i]);
    }
  RestrictToObservable(a, b, c.model().firewall_addresses, rs, ifaces, e.origins, &e.translated,
                       declared_interfaces_only);
  auto all = analysis::SemanticDiff(a, b, ifaces);
  e.incomplete = all.incomplete;
  for (auto& d : all.differences) (IsBuiltinOrigin(d.new_rule) ? e.builtin : e.differences).push_back(std::move(d));
  return e;
}

}  // namespace fwc::import
