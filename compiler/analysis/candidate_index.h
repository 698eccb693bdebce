// CandidateIndex: which units of a rule list meet a box, or contain a
// packet — the search structure under ShadowAnalysis and SemanticDiff.
//
// A bounding volume hierarchy over the units' hulls. Units are first split
// into classes by protocol and by which fields are wide (source,
// destination, destination port), one hierarchy per class: one rule with
// a wildcard source in a subtree makes that subtree's box wide in the
// source field and pruning on it stops working, so each class's tree
// stays tight on the fields its units restrict. Each child also records
// the verdicts below it, so a search for rules of other verdicts skips
// the subtrees that have none.
//
// Each node holds the boxes of its (up to four) children, subtrees or
// single units, one row of four per field in which the units differ, so a
// query tests all four with a few vector compares and only fetches the
// children it enters: at 100k rules a query is bound by the cache lines it
// reads, not by arithmetic.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "compiler/analysis/rule_space.h"

namespace fwc::analysis {

// Which verdicts an index query looks at: one bit per ast::Action.
using ActionMask = unsigned;
constexpr ActionMask kAnyAction = 7;
constexpr ActionMask OnlyAction(ast::Action a) { return 1u << static_cast<int>(a); }
constexpr ActionMask OtherActions(ast::Action a) { return kAnyAction & ~OnlyAction(a); }

class CandidateIndex {
 private:
  // A box as the index sees it: each field mapped to 32 bits by a
  // monotone map (exact for IPv4, ports and protocols; IPv6 keeps the 32
  // bits where the policy's addresses differ). A monotone map only ever
  // makes the index look at a few more boxes; the units themselves are
  // checked exactly. Stored biased (the key minus 2^31) so that signed
  // compares, which every vector unit has, order them.
  struct KeyBox {
    std::array<int32_t, kFieldCount> lo, hi;
  };
  using Row = int32_t __attribute__((vector_size(16)));  // one field of four children
  // A query box, each row's bound repeated for the four children.
  struct Probe {
    Row lo[kFieldCount], hi[kFieldCount];
  };

 public:
  explicit CandidateIndex(const RuleList& list);

  // Every indexed unit, in the order of the tree's leaves: units close in
  // this order are close in space.
  const std::vector<int>& LeafOrder() const { return order_; }

  // Indices in [begin, end), ascending, of units whose hull meets h.
  void Query(const Cube& h, int begin, int end, std::vector<int>& out, ActionMask actions = kAnyAction) const;

  // Calls found(u) for units in [begin, end) whose hull meets h, in no
  // particular order, until it returns true; returns whether one did.
  // found may query this index again.
  template <typename Found>
  bool Any(const Cube& h, int begin, int end, ActionMask actions, Found&& found) const;

  // The lowest unit in [begin, end) whose hull meets h and for which
  // pred(u) holds; -1 if none. pred is asked in no particular order, but
  // only about units below the lowest found so far.
  template <typename Pred>
  int First(const Cube& h, int begin, int end, ActionMask actions, Pred&& pred) const;

  // The first unit in [begin, end), other than skip, one of whose cubes
  // contains p; -1 if none.
  int FirstContaining(const Point& p, int begin, int end, int skip = -1) const;

 private:
  // A query reads the first line, then the rows of the fields in which
  // units differ, all contiguous: at 100k rules most of its time is
  // waiting for these lines.
  struct alignas(64) Node {
    Row min_index, max_index;  // of the units below each child
    Row child;                 // >= 0: a node; < 0: ~ a unit's position in order_
    Row tag;                   // 1 for a unit (0: a node), | the verdicts below << 16 (0: no child)
    Row box[2 * kFieldCount];  // per row (in the order of fields_): the low bounds, then the high ones
    bool unit(int c) const { return tag[c] & 1; }
  };
  // While building: a binary hierarchy split at medians.
  struct BuildNode {
    KeyBox box;
    int min_index = 0, max_index = 0;
    int left = -1, right = -1;  // children, or -1 for a leaf
    int first = 0, count = 0;   // units below; a leaf's are order_[first, first + count)
    ActionMask actions = 0;
  };

  int Build(int first, int count);
  int Join(const std::vector<int>& trees, size_t first, size_t count);
  int BestSplit(int first, int count) const;
  void ChooseKeys();
  void SetBoxes(int id);
  void ChooseRows();
  // Median splits keep the tree far shallower; a depth-first search
  // holds at most three nodes per level on its stack.
  static constexpr int kMaxDepth = 80;
  static constexpr int kStack = 3 * kMaxDepth + 1;
  // A four-way node's children: build nodes or units.
  struct Slot {
    int build = -1;  // a build node, or
    int unit = -1;   // a unit's position in order_
  };
  std::vector<Slot> Slots(int id) const;
  size_t CountNodes(int id) const;
  int Collapse(int id, int depth);
  static int64_t KeyCenter(const KeyBox& b, int f) { return int64_t{b.lo[f]} + b.hi[f]; }
  int32_t Key(Field f, U128 v) const;
  KeyBox Key(const Cube& c) const;
  KeyBox Key(const Point& p) const;
  // False when the box misses what every unit shares in the fields no
  // unit varies in (then nothing meets it); otherwise fills the probe.
  bool MakeProbe(const KeyBox& h, Probe* probe) const;
  // First for a key box: the same search serves boxes and points.
  template <typename Pred>
  int FirstMeeting(const KeyBox& h, int begin, int end, ActionMask actions, Pred&& pred) const;
  // Bit c set when child c of n may hold a unit in [begin, end) with one
  // of `actions` whose box meets the probe.
  unsigned Meeting(const Node& n, const Probe& q, int begin, int end, ActionMask actions) const {
    Row ok = (n.max_index >= begin) & (n.min_index < end) & ((n.tag & static_cast<int32_t>(actions << 16)) != 0);
    for (int r = 0; r < rows_; ++r) ok &= (n.box[2 * r] <= q.hi[r]) & (q.lo[r] <= n.box[2 * r + 1]);
    return (ok[0] & 1u) | (ok[1] & 2u) | (ok[2] & 4u) | (ok[3] & 8u);
  }
  // Child slots in ascending order of their lowest unit.
  static void SortByMinIndex(const Node& n, int* order, int count) {
    for (int s = 1; s < count; ++s)  // insertion sort of at most four
      for (int t = s; t > 0 && n.min_index[order[t]] < n.min_index[order[t - 1]]; --t) std::swap(order[t], order[t - 1]);
  }

  const RuleList& list_;
  std::vector<int> order_;          // units, leaf by leaf
  std::array<U128, kFieldCount> base_{};
  std::array<int, kFieldCount> shift_{};
  std::array<int, kFieldCount> fields_{};  // row r of a node is field fields_[r]
  int rows_ = 0;                           // rows of fields in which units differ
  KeyBox shared_{};                        // the others: the interval every unit has
  std::vector<Node> nodes_;
  int root_ = -1;
  std::vector<BuildNode> build_;  // while building
  std::vector<KeyBox> unit_keys_;  // while building: the key box of each unit, by unit index
};

template <typename Found>
bool CandidateIndex::Any(const Cube& cube, int begin, int end, ActionMask actions, Found&& found) const {
  if (root_ < 0 || cube.Empty()) return false;
  const KeyBox h = Key(cube);
  Probe q;
  if (!MakeProbe(h, &q)) return false;
  int stack[kStack];
  int top = 0;
  stack[top++] = root_;
  while (top > 0) {
    const Node& n = nodes_[stack[--top]];
    for (unsigned m = Meeting(n, q, begin, end, actions); m; m &= m - 1) {
      int c = __builtin_ctz(m);
      if (!n.unit(c)) stack[top++] = n.child[c];
      else if (found(order_[~n.child[c]])) return true;
    }
  }
  return false;
}

template <typename Pred>
int CandidateIndex::First(const Cube& cube, int begin, int end, ActionMask actions, Pred&& pred) const {
  return cube.Empty() ? -1 : FirstMeeting(Key(cube), begin, end, actions, pred);
}

template <typename Pred>
int CandidateIndex::FirstMeeting(const KeyBox& h, int begin, int end, ActionMask actions, Pred&& pred) const {
  if (root_ < 0) return -1;
  Probe q;
  if (!MakeProbe(h, &q)) return -1;
  int best = end;  // units from best on need not be looked at
  int stack[kStack];
  int top = 0;
  stack[top++] = root_;
  while (top > 0) {
    const Node& n = nodes_[stack[--top]];
    // Units first, and the nodes pushed so that the one with the lowest
    // first unit is seen first: what it finds bounds the others.
    int order[4], count = 0;
    for (unsigned m = Meeting(n, q, begin, best, actions); m; m &= m - 1) order[count++] = __builtin_ctz(m);
    SortByMinIndex(n, order, count);
    for (int s = count; s-- > 0;)
      if (!n.unit(order[s])) stack[top++] = n.child[order[s]];
    for (int s = 0; s < count; ++s) {
      int c = order[s];  // a unit slot's lowest unit is the unit
      if (n.unit(c) && n.min_index[c] < best && pred(n.min_index[c])) best = n.min_index[c];
    }
  }
  return best < end ? best : -1;
}

}  // namespace fwc::analysis
