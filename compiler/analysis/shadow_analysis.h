// ShadowAnalysis: which rules can never fire, which change nothing, and
// which overlap an earlier rule with another verdict — exactly, over the
// packets each rule matches after chain placement, including rules hidden
// only by the union of several earlier ones.
//
// Every question is a coverage test, "is box X covered by boxes S?",
// answered depth-first with an early exit at the first uncovered packet
// (packet_space.h). For a rule R with the earlier rules E that meet it
// (found through a bounding-volume index, not a pairwise loop):
//  - R is dead when each box of R is covered by E;
//  - an earlier rule Ek decides part of R when some R∩Ek is not covered by
//    the rules before Ek; a dead R decided partly by another verdict is
//    shadowed, otherwise redundant; a live one is in conflict;
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

// Findings ordered by rule position. budget 0 means unlimited.
std::vector<Finding> AnalyzeShadows(const std::vector<RuleList>& lists, const InterfaceIds& ifaces,
                                    AnalysisStats* stats = nullptr, size_t budget = 0);

// Finds the units of a list whose bounding box meets a box: a bounding
// volume hierarchy over the units' hulls, split on the field where the
// units spread most. Built once per list.
//
// One rule with a wildcard source in a subtree makes that subtree's box
// wide in the source field, and pruning on it stops working. So units are
// first split into classes by which fields are wide (source, destination,
// destination port), one hierarchy per class, each tight on the fields its
// units restrict.
class CandidateIndex {
 public:
  explicit CandidateIndex(const RuleList& list);
  // Indices in [begin, end), ascending, of units whose hull meets h.
  void Query(const Cube& h, int begin, int end, std::vector<int>& out) const;

 private:
  struct Node {
    Cube box;
    int min_index = 0, max_index = 0;  // unit indices below this node
    int left = -1, right = -1;         // children, or -1 for a leaf
    int first = 0, count = 0;          // leaf: its units in order_
  };
  int Build(int first, int count);

  const RuleList& list_;
  std::vector<int> order_;
  std::vector<Cube> hulls_;  // hulls_[k] is the hull of unit order_[k], kept together for the cache
  std::vector<Node> nodes_;
  std::vector<int> roots_;  // one per class
  mutable std::vector<int> stack_;
};

}  // namespace fwc::analysis
