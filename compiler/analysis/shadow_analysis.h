// ShadowAnalysis: which rules can never fire, which change nothing, and
// which overlap an earlier rule with another verdict — exactly, over the
// packets each rule matches after chain placement, including rules hidden
// only by the union of several earlier ones.
//
// Every question is a coverage test, "is box X covered by boxes S?",
// answered depth-first with an early exit at the first uncovered packet
// (packet_space.h), and most are settled before that by a point query: a
// sample packet and the first rule that contains it. For a rule R with the
// earlier rules E that meet it (found through a bounding-volume index, not
// a pairwise loop):
//  - R is dead when each box of R is covered by E; its cover is built by
//    taking a packet not yet covered and adding the rule that decides it;
//  - an earlier rule Ek decides part of R when some R∩Ek is not covered by
//    the rules before Ek; a dead R decided partly by another verdict is
//    shadowed, otherwise redundant; a live one is in conflict with the
//    first such Ek of another verdict (a search that only looks below the
//    lowest one found so far);
//  - a live R is redundant when no later rule of another verdict (nor the
//    default) decides any part of what R decides.
#pragma once

#include <string>
#include <vector>

#include "compiler/analysis/rule_space.h"

namespace fwc::analysis {

struct Finding {
  enum class Kind { kShadowed, kRedundant, kConflict, kEmpty };
  Kind kind = Kind::kShadowed;
  const PolicyRule* rule = nullptr;
  // Shadowed/redundant by earlier rules: a minimal set of earlier rules that
  // cover it. Redundant by later rules: later rules that would decide (some
  // of) its packets instead.
  std::vector<const PolicyRule*> covering;
  bool by_later = false;    // redundant because later rules / the default agree
  bool by_default = false;  // some of its packets would reach the default
  const PolicyRule* other = nullptr;  // conflict: the earlier rule
  std::string example;                // conflict: a packet `other` decides
};

struct AnalysisStats {
  size_t units = 0;
  size_t candidates = 0;      // rule pairs whose bounding boxes met
  size_t coverage_tests = 0;  // FindUncovered calls
  // Set when the work budget ran out: rules not (fully) analysed get no
  // finding; the findings made are exact.
  bool stopped = false;
  size_t unanalysed_rules = 0;
};

// Work a default analysis may do, in candidate pairs plus coverage tests:
// tens of seconds at most, so a compile never stalls on a huge policy.
constexpr size_t kDefaultAnalysisBudget = 20'000'000;

struct AnalysisOptions {
  size_t budget = 0;  // 0: unlimited
  // Rules are analysed independently, so a list's rules are cut into
  // chunks, each with an equal part of the budget, that this many threads
  // share out. The findings depend on neither.
  unsigned threads = 1;
  size_t chunk = 4096;
  // Pieces a dead-rule check may cut a rule into before it falls back to a
  // plain coverage test (tests set it low to take that path).
  size_t decomposition_limit = 4096;
};

// Findings ordered by rule position.
std::vector<Finding> AnalyzeShadows(const std::vector<RuleList>& lists, const InterfaceIds& ifaces,
                                    AnalysisStats* stats = nullptr, const AnalysisOptions& options = {});

}  // namespace fwc::analysis
