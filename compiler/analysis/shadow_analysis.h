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
//    shadowed, otherwise redundant; a live one is in conflict (only rules
//    of another verdict are searched, and the search stops at the first);
//  - a live R is redundant when no later rule of another verdict (nor the
//    default) decides any part of what R decides.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
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

// Which verdicts an index query looks at: one bit per ast::Action.
using ActionMask = unsigned;
constexpr ActionMask kAnyAction = 7;
constexpr ActionMask OnlyAction(ast::Action a) { return 1u << static_cast<int>(a); }
constexpr ActionMask OtherActions(ast::Action a) { return kAnyAction & ~OnlyAction(a); }

// Finds the units of a list whose bounding box meets a box: a bounding
// volume hierarchy over the units' hulls, each node split at the median of
// the field whose halves have the smallest boxes. Built once per list.
//
// One rule with a wildcard source in a subtree makes that subtree's box
// wide in the source field, and pruning on it stops working. So units are
// first split into classes by protocol and by which fields are wide
// (source, destination, destination port), and optionally by verdict, one
// hierarchy per class, each tight on the fields its units restrict. The
// verdict split lets the conflict and later-redundancy searches skip the
// rules that agree with the one analysed without looking at them; point
// queries are cheaper without it (fewer trees to descend), so the analysis
// keeps one index of each kind.
class CandidateIndex {
 public:
  // A box as the index sees it: each field mapped to 32 bits by a
  // monotone map (exact for IPv4, ports and protocols; IPv6 keeps the 32
  // bits where the policy's addresses differ), so a node fits one cache
  // line. A monotone map only ever makes the index look at a few more
  // boxes; the units themselves are checked exactly.
  struct KeyBox {
    // Stored biased (the 32-bit key minus 2^31) so that signed compares,
    // which SSE2 has, order them: the tests below vectorise.
    std::array<int32_t, kFieldCount> lo, hi;
    bool Intersects(const KeyBox& o) const {
      bool ok = true;
      for (int f = 0; f < kFieldCount; ++f) ok &= hi[f] >= o.lo[f] && o.hi[f] >= lo[f];
      return ok;
    }
    bool Contains(const KeyBox& p) const {  // p: a point (lo == hi)
      bool ok = true;
      for (int f = 0; f < kFieldCount; ++f) ok &= lo[f] <= p.lo[f] && p.lo[f] <= hi[f];
      return ok;
    }
  };
  // by_verdict: separate trees per verdict, for queries that name verdicts.
  CandidateIndex(const RuleList& list, bool by_verdict);
  // Every indexed unit, in the order of the tree's leaves: units close in
  // this order are close in space.
  const std::vector<int>& LeafOrder() const { return order_; }

  // Indices in [begin, end), ascending, of units whose hull meets h.
  void Query(const Cube& h, int begin, int end, std::vector<int>& out, ActionMask actions = kAnyAction) const;

  // Calls found(u) for units in [begin, end) whose hull meets h, in no
  // particular order, until it returns true; returns whether one did. For
  // searches whose answer does not depend on order: cheaper than a Walk.
  bool Any(const Cube& h, int begin, int end, ActionMask actions, const std::function<bool(int)>& found) const;

  // The first unit in [begin, end), other than skip, one of whose cubes
  // contains p; -1 if none.
  int FirstContaining(const Point& p, int begin, int end, int skip = -1) const;

  // The same units one at a time in ascending order, found lazily (best
  // first on the lowest unit index below each node), so a search for the
  // first unit with some property costs what it visits before stopping,
  // not what the whole box overlaps.
  class Walk {
   public:
    Walk(const CandidateIndex& index, const Cube& h, int begin, int end, ActionMask actions);
    int Next();  // -1 when there are no more

   private:
    struct Entry {
      int key;   // lowest unit index it can yield
      int item;  // >= 0: a node; < 0: ~position in order_ of one unit
      bool operator>(const Entry& o) const { return key > o.key; }
    };
    const CandidateIndex& index_;
    KeyBox h_;
    int begin_, end_;
    ActionMask actions_;
    std::vector<Entry> heap_;
  };

 private:
  struct Node {
    KeyBox box;
    int min_index = 0, max_index = 0;  // unit indices below this node
    int left = -1, right = -1;         // children, or -1 for a leaf
    int first = 0, count = 0;          // leaf: its units in order_
    ActionMask actions = 0;            // verdicts of the units below
  };
  int Build(int first, int count);
  int Join(const std::vector<int>& trees, size_t first, size_t count);
  int BestSplit(int first, int count) const;
  void ChooseKeys();
  const KeyBox& SetBoxes(int id);
  static int64_t KeyCenter(const KeyBox& b, int f) { return int64_t{b.lo[f]} + b.hi[f]; }
  int32_t Key(Field f, U128 v) const {
    uint32_t k = 0xffffffffu;
    if (v <= base_[f]) {
      k = 0;
    } else if (U128 shifted = (v - base_[f]) >> shift_[f]; shifted <= 0xffffffffu) {
      k = static_cast<uint32_t>(shifted);
    }
    return static_cast<int32_t>(k ^ 0x80000000u);
  }
  KeyBox Key(const Cube& c) const {
    KeyBox k;
    for (int f = 0; f < kFieldCount; ++f) k.lo[f] = Key(Field(f), c.f[f].lo), k.hi[f] = Key(Field(f), c.f[f].hi);
    return k;
  }
  KeyBox Key(const Point& p) const {
    KeyBox k;
    for (int f = 0; f < kFieldCount; ++f) k.lo[f] = k.hi[f] = Key(Field(f), p[f]);
    return k;
  }
  bool Prune(const Node& n, const KeyBox& h, int begin, int end, ActionMask actions) const {
    return n.max_index < begin || n.min_index >= end || !(n.actions & actions) || !n.box.Intersects(h);
  }

  const RuleList& list_;
  std::vector<int> order_;
  std::array<U128, kFieldCount> base_{};
  std::array<int, kFieldCount> shift_{};
  std::vector<KeyBox> hulls_;  // hulls_[k] is the hull of unit order_[k], kept together for the cache
  std::vector<KeyBox> unit_keys_;  // while building: the key box of each unit, by unit index
  std::vector<Node> nodes_;
  int root_ = -1;
  mutable std::vector<int> stack_;
};

}  // namespace fwc::analysis
