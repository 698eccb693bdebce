// The analysis of the marks and nat sections: within each hook (marks,
// dstnat, srcnat) and family, first match wins, so a rule every packet of
// which an earlier rule takes never applies (shadowed-rule, an error; a
// redundant-rule warning when the earlier rules do the same); and a port
// forward that no filter rule accepts translates connections the filter
// then drops (nat-filtered).
#pragma once

#include <vector>

#include "compiler/analysis/rule_space.h"

namespace fwc {
class Diagnostics;
}

namespace fwc::analysis {

struct SectionFinding {
  enum class Kind { kShadowed, kRedundant, kFiltered };
  Kind kind = Kind::kShadowed;
  const PolicyRule* rule = nullptr;
  std::vector<const PolicyRule*> covering;  // kShadowed, kRedundant: the earlier rules
};

// sections: the placed rules of the marks and nat sections; filter: the
// filter's rule lists (BuildRuleLists), built with the same ifaces.
std::vector<SectionFinding> AnalyzeSections(const Model& m, const std::vector<PlacedRule>& sections,
                                            const std::vector<RuleList>& filter, InterfaceIds& ifaces);

// The findings as diagnostics (nowarn silences them as for filter rules).
void ReportSections(const std::vector<SectionFinding>& findings, Diagnostics& diags);

// A class of packets the marks or nat sections of two policies treat
// differently (fwc diff): per hook and family, exact as the filter's diff.
struct SectionChange {
  ir::Hook hook = ir::Hook::kNone;
  Family family = Family::kV4;
  const PolicyRule* old_rule = nullptr;  // nullptr: no rule (no mark, not translated)
  const PolicyRule* new_rule = nullptr;
  std::string before, after;  // "dnat to 10.0.0.5 port 8080", "no translation"
  std::string description;    // rule-like text of the packets
  std::string example;        // one of them
};

struct SectionDiffResult {
  std::vector<SectionChange> changes;
  bool incomplete = false;  // fragmented past the bound
  bool conditional = false;  // rules with marks, states or limits were left out
};

// ifaces must know every interface of both (call AnalyzeSections-style
// registration first: DiffSections registers them itself).
SectionDiffResult DiffSections(const std::vector<PlacedRule>& old_sections, const std::vector<PlacedRule>& new_sections,
                               InterfaceIds& ifaces);

}  // namespace fwc::analysis
