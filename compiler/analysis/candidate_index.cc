#include "compiler/analysis/candidate_index.h"

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "compiler/base/protocols.h"

namespace fwc::analysis {

namespace {

constexpr int kLeafSize = 4;  // one node of unit slots

}  // namespace

CandidateIndex::CandidateIndex(const RuleList& list) : list_(list) {
  // A field is wide when its hull spans more than 1/256 of the field.
  auto wide = [&](const Cube& h, Field f) { return (h.hi(f) - h.lo(f)) > (list.limits.max[f] >> 8); };
  // Protocols never meet unless equal, but their small numbers would make
  // the hierarchy split on them last.
  auto proto_class = [](const Interval& p) {
    if (p.lo != p.hi) return 3;
    return p.lo == kProtoTcp ? 0 : p.lo == kProtoUdp ? 1 : 2;
  };
  // Classes ordered protocol first, so the tree joining them keeps each
  // protocol's classes under one node.
  constexpr int kShapes = 8;
  std::vector<std::vector<int>> classes(4 * kShapes);
  for (int i = 0; i < static_cast<int>(list.units.size()); ++i) {
    const Unit& u = list.units[i];
    if (u.cubes().empty()) continue;
    int shape = (wide(u.hull(), kSrc) ? 1 : 0) | (wide(u.hull(), kDst) ? 2 : 0) | (wide(u.hull(), kDport) ? 4 : 0);
    classes[proto_class(u.hull().field(kProto)) * kShapes + shape].push_back(i);
  }
  // The build works on the units' key boxes: a quarter of the memory of
  // their hulls, and plain integers to compare.
  ChooseKeys();
  unit_keys_.resize(list.units.size());
  for (int i = 0; i < static_cast<int>(list.units.size()); ++i)
    if (!list.units[i].cubes().empty()) unit_keys_[i] = Key(list.units[i].hull());
  std::vector<int> trees;
  for (const auto& c : classes) {
    if (c.empty()) continue;
    int first = static_cast<int>(order_.size());
    order_.insert(order_.end(), c.begin(), c.end());
    trees.push_back(Build(first, static_cast<int>(c.size())));
  }
  if (!trees.empty()) {
    int top = Join(trees, 0, trees.size());
    SetBoxes(top);
    ChooseRows();
    nodes_.reserve(CountNodes(top));  // at 100k rules, growing it by doubling was the analysis's peak memory
    root_ = Collapse(top, 0);
  }
  std::vector<KeyBox>().swap(unit_keys_);
  std::vector<BuildNode>().swap(build_);
}

// A balanced tree over the classes' trees.
int CandidateIndex::Join(const std::vector<int>& trees, size_t first, size_t count) {
  if (count == 1) return trees[first];
  int left = Join(trees, first, count / 2);
  int right = Join(trees, first + count / 2, count - count / 2);
  BuildNode n;
  n.left = left;
  n.right = right;
  build_.push_back(n);
  return static_cast<int>(build_.size()) - 1;
}

// Each field's key window: from the lowest to the highest bound of the
// units' intervals that do not span the whole field, shifted to 32 bits.
void CandidateIndex::ChooseKeys() {
  for (int f = 0; f < kFieldCount; ++f) {
    U128 lo = ~U128{0}, hi = 0;
    for (const Unit& u : list_.units) {
      if (u.cubes().empty()) continue;
      const Interval& i = u.hull().field(f);
      if (i.lo == 0 && i.hi == list_.limits.max[f]) continue;
      lo = std::min(lo, i.lo);
      hi = std::max(hi, i.hi);
    }
    if (lo > hi) continue;
    base_[f] = lo;
    int bits = 0;
    for (U128 span = hi - lo; span; span >>= 1) ++bits;
    shift_[f] = std::max(0, bits - 32);
  }
}

int32_t CandidateIndex::Key(Field f, U128 v) const {
  uint32_t k = 0xffffffffu;
  if (v <= base_[f]) {
    k = 0;
  } else if (U128 shifted = (v - base_[f]) >> shift_[f]; shifted <= 0xffffffffu) {
    k = static_cast<uint32_t>(shifted);
  }
  return static_cast<int32_t>(k ^ 0x80000000u);
}

CandidateIndex::KeyBox CandidateIndex::Key(const Cube& c) const {
  KeyBox k;
  for (int f = 0; f < kFieldCount; ++f) k.lo[f] = Key(Field(f), c.lo(f)), k.hi[f] = Key(Field(f), c.hi(f));
  return k;
}

CandidateIndex::KeyBox CandidateIndex::Key(const Point& p) const {
  KeyBox k;
  for (int f = 0; f < kFieldCount; ++f) k.lo[f] = k.hi[f] = Key(Field(f), p[f]);
  return k;
}

// Fills in the build nodes' boxes, index ranges and verdicts bottom-up.
void CandidateIndex::SetBoxes(int id) {
  BuildNode& n = build_[id];
  n.box.lo.fill(INT32_MAX);
  n.box.hi.fill(INT32_MIN);
  n.min_index = INT_MAX;
  n.max_index = INT_MIN;
  auto widen = [](BuildNode& into, const KeyBox& b) {
    for (int f = 0; f < kFieldCount; ++f) {
      into.box.lo[f] = std::min(into.box.lo[f], b.lo[f]);
      into.box.hi[f] = std::max(into.box.hi[f], b.hi[f]);
    }
  };
  if (n.left < 0) {
    for (int k = n.first; k < n.first + n.count; ++k) {
      widen(n, unit_keys_[order_[k]]);
      n.actions |= OnlyAction(list_.units[order_[k]].action);
      n.min_index = std::min(n.min_index, order_[k]);
      n.max_index = std::max(n.max_index, order_[k]);
    }
    return;
  }
  int left = n.left, right = n.right;
  SetBoxes(left);
  SetBoxes(right);
  BuildNode& m = build_[id];  // SetBoxes does not grow build_, but keep it plain
  for (int child : {left, right}) {
    const BuildNode& c = build_[child];
    widen(m, c.box);
    m.actions |= c.actions;
    m.min_index = std::min(m.min_index, c.min_index);
    m.max_index = std::max(m.max_index, c.max_index);
  }
}

// Rows for the fields in which the units differ, first; the others hold
// one interval shared by every unit, checked once per query.
void CandidateIndex::ChooseRows() {
  rows_ = 0;
  std::array<bool, kFieldCount> varies{};
  for (int f = 0; f < kFieldCount; ++f) {
    shared_.lo[f] = unit_keys_[order_.front()].lo[f];
    shared_.hi[f] = unit_keys_[order_.front()].hi[f];
    for (int u : order_)
      if (const KeyBox& b = unit_keys_[u]; b.lo[f] != shared_.lo[f] || b.hi[f] != shared_.hi[f]) {
        varies[f] = true;
        break;
      }
  }
  for (int f = 0; f < kFieldCount; ++f)
    if (varies[f]) fields_[rows_++] = f;
  int r = rows_;
  for (int f = 0; f < kFieldCount; ++f)
    if (!varies[f]) fields_[r++] = f;
}

// The four-way node for build node id: its children, or its
// grandchildren where that makes four, the larger ones opened first; a
// leaf's units go into slots of their own, in this node if they fit,
// otherwise in a node below.
std::vector<CandidateIndex::Slot> CandidateIndex::Slots(int id) const {
  std::vector<Slot> slots;
  const BuildNode& node = build_[id];
  if (node.left < 0) {
    for (int k = node.first; k < node.first + node.count; ++k) slots.push_back({-1, k});
  } else {
    slots = {{node.left, -1}, {node.right, -1}};
  }
  while (slots.size() < 4) {
    // Open the largest inner node, or else a leaf whose units fit.
    int open = -1;
    for (size_t s = 0; s < slots.size(); ++s) {
      if (slots[s].build < 0) continue;
      const BuildNode& b = build_[slots[s].build];
      bool fits = b.left >= 0 || slots.size() - 1 + static_cast<size_t>(b.count) <= 4;
      if (fits && (open < 0 || (b.left >= 0) > (build_[slots[open].build].left >= 0) ||
                   ((b.left >= 0) == (build_[slots[open].build].left >= 0) && b.count > build_[slots[open].build].count)))
        open = static_cast<int>(s);
    }
    if (open < 0) break;
    const BuildNode& b = build_[slots[open].build];
    std::vector<Slot> into;
    if (b.left >= 0) {
      into = {{b.left, -1}, {b.right, -1}};
    } else {
      for (int k = b.first; k < b.first + b.count; ++k) into.push_back({-1, k});
    }
    slots.erase(slots.begin() + open);
    slots.insert(slots.begin() + open, into.begin(), into.end());
  }
  return slots;
}

size_t CandidateIndex::CountNodes(int id) const {
  size_t n = 1;
  for (const Slot& s : Slots(id))
    if (s.build >= 0) n += CountNodes(s.build);
  return n;
}

int CandidateIndex::Collapse(int id, int depth) {
  if (depth >= kMaxDepth) throw std::logic_error("CandidateIndex: tree too deep");
  const std::vector<Slot> slots = Slots(id);
  int me = static_cast<int>(nodes_.size());
  nodes_.emplace_back();
  Node n;
  for (int c = 0; c < 4; ++c) {
    for (int r = 0; r < kFieldCount; ++r) n.box[2 * r][c] = INT32_MAX, n.box[2 * r + 1][c] = INT32_MIN;
    n.min_index[c] = INT_MAX;
    n.max_index[c] = INT_MIN;
    n.child[c] = n.tag[c] = 0;
  }
  for (size_t s = 0; s < slots.size(); ++s) {
    int c = static_cast<int>(s);
    if (slots[s].unit >= 0) {
      int k = slots[s].unit;
      const KeyBox& b = unit_keys_[order_[k]];
      for (int r = 0; r < rows_; ++r) n.box[2 * r][c] = b.lo[fields_[r]], n.box[2 * r + 1][c] = b.hi[fields_[r]];
      n.min_index[c] = n.max_index[c] = order_[k];
      n.tag[c] = static_cast<int32_t>(OnlyAction(list_.units[order_[k]].action) << 16) | 1;
      n.child[c] = ~k;
      continue;
    }
    const BuildNode& b = build_[slots[s].build];
    for (int r = 0; r < rows_; ++r) n.box[2 * r][c] = b.box.lo[fields_[r]], n.box[2 * r + 1][c] = b.box.hi[fields_[r]];
    n.min_index[c] = b.min_index;
    n.max_index[c] = b.max_index;
    n.tag[c] = static_cast<int32_t>(b.actions << 16);
    n.child[c] = Collapse(slots[s].build, depth + 1);
  }
  nodes_[me] = n;
  return me;
}

// The field to split a node's units on at their median: the one whose two
// halves have the smallest bounding boxes (sum of their volumes, each field
// measured as a fraction of its size), so that a query box meets as few
// nodes as possible. Judged on a sample of at most 64 units.
int CandidateIndex::BestSplit(int first, int count) const {
  std::vector<const KeyBox*> sample;
  int stride = (count + 63) / 64;
  for (int k = first; k < first + count; k += stride) sample.push_back(&unit_keys_[order_[k]]);
  // A field where every sampled unit has the same interval is no use to
  // split on, and weighs the same in both halves whatever the split: only
  // the others are looked at.
  std::vector<int> varying;
  for (int f = 0; f < kFieldCount; ++f)
    for (const KeyBox* b : sample)
      if (b->lo[f] != sample.front()->lo[f] || b->hi[f] != sample.front()->hi[f]) {
        varying.push_back(f);
        break;
      }
  if (varying.empty()) return 0;
  std::array<double, kFieldCount> size{};
  auto extent = [](int32_t a, int32_t b) { return static_cast<double>(int64_t{b} - a) + 1; };
  for (int f : varying) size[f] = extent(INT32_MIN, Key(Field(f), list_.limits.max[f]));
  auto volume = [&](auto from, auto to) {
    double v = 1;
    for (int f : varying) {
      int32_t lo = (*from)->lo[f], hi = (*from)->hi[f];
      for (auto it = from; it != to; ++it) {
        lo = std::min(lo, (*it)->lo[f]);
        hi = std::max(hi, (*it)->hi[f]);
      }
      // The small floor stands for the extent of a typical query box.
      v *= extent(lo, hi) / size[f] + 1e-10;
    }
    return v;
  };
  int best = varying.front();
  double best_cost = 1e300;
  const auto half = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
  for (int f : varying) {
    std::nth_element(sample.begin(), half, sample.end(),
                     [f](const KeyBox* a, const KeyBox* b) { return KeyCenter(*a, f) < KeyCenter(*b, f); });
    double cost = volume(sample.begin(), half) + volume(half, sample.end());
    if (cost < best_cost) best_cost = cost, best = f;
  }
  return best;
}

int CandidateIndex::Build(int first, int count) {
  int id = static_cast<int>(build_.size());
  build_.emplace_back();
  build_[id].first = first;
  build_[id].count = count;
  if (count <= kLeafSize) return id;
  int best = BestSplit(first, count);
  int half = count / 2;
  std::nth_element(order_.begin() + first, order_.begin() + first + half, order_.begin() + first + count,
                   [&](int a, int b) { return KeyCenter(unit_keys_[a], best) < KeyCenter(unit_keys_[b], best); });
  int left = Build(first, half);
  int right = Build(first + half, count - half);
  build_[id].left = left;
  build_[id].right = right;
  return id;
}

bool CandidateIndex::MakeProbe(const KeyBox& h, Probe* q) const {
  for (int r = rows_; r < kFieldCount; ++r) {
    int f = fields_[r];
    if (h.hi[f] < shared_.lo[f] || shared_.hi[f] < h.lo[f]) return false;
  }
  for (int r = 0; r < rows_; ++r) {
    int f = fields_[r];
    q->lo[r] = Row{} + h.lo[f];
    q->hi[r] = Row{} + h.hi[f];
  }
  return true;
}

void CandidateIndex::Query(const Cube& cube, int begin, int end, std::vector<int>& out, ActionMask actions) const {
  out.clear();
  Any(cube, begin, end, actions, [&](int u) {
    out.push_back(u);
    return false;
  });
  std::sort(out.begin(), out.end());
}

int CandidateIndex::FirstContaining(const Point& point, int begin, int end, int skip) const {
  return FirstMeeting(Key(point), begin, end, kAnyAction, [&](int u) {
    if (u == skip) return false;
    for (const auto& cube : list_.units[u].cubes())
      if (CubeContains(cube, point)) return true;
    return false;
  });
}

}  // namespace fwc::analysis
