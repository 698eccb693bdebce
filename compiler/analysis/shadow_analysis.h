// ShadowAnalysis: which rules can never fire, which change nothing, and
// which overlap an earlier rule with another verdict — exactly, over the
// packets each rule matches after chain placement, including rules hidden
// only by the union of several earlier ones.
//
// For each rule piece, a forward pass subtracts the earlier rules that
// intersect it (found through an index, not a pairwise loop); what remains
// is what the rule really decides. Nothing remains: it is shadowed (some
// packet was decided differently) or redundant (all the same way). Something
// remains: a second pass asks whether the rules after it, or the policy
// default, would decide those packets the same way anyway.
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
  // cover it. Redundant by later rules: the later rules that would decide
  // its packets instead.
  std::vector<const PolicyRule*> covering;
  bool by_later = false;    // redundant because later rules / the default agree
  bool by_default = false;  // some of its packets would reach the default
  const PolicyRule* other = nullptr;  // conflict: the earlier rule
  std::string example;                // conflict: a packet `other` decides
};

struct AnalysisStats {
  size_t units = 0;
  size_t candidates = 0;   // rule pairs whose bounding boxes met
  size_t incomplete = 0;   // pieces given up on (too fragmented)
};

// Findings ordered by rule position. Rules whose analysis was given up on
// (see AnalysisStats::incomplete) get no finding rather than a wrong one.
std::vector<Finding> AnalyzeShadows(const std::vector<RuleList>& lists, const InterfaceIds& ifaces,
                                    AnalysisStats* stats = nullptr);

// Finds, for a unit list, the units whose bounding box meets a hull; built
// once per list. Exposed for queries and diff.
class CandidateIndex {
 public:
  explicit CandidateIndex(const RuleList& list);
  // Indices in [begin, end), ascending, of units whose hull intersects h.
  void Query(const Hull& h, int begin, int end, std::vector<int>& out) const;

 private:
  bool Bucket(const Interval& dst, uint64_t* key) const;

  const RuleList& list_;
  int shift_;
  std::vector<std::pair<uint64_t, std::vector<int>>> buckets_;  // sorted by key
  std::vector<int> wide_;
};

}  // namespace fwc::analysis
