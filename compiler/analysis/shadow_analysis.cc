#include "compiler/analysis/shadow_analysis.h"

#include <algorithm>
#include <map>
#include <set>

namespace fwc::analysis {

// --- CandidateIndex --------------------------------------------------------

namespace {

constexpr int kLeafSize = 4;

double ToDouble(U128 v) {
  return static_cast<double>(static_cast<uint64_t>(v >> 64)) * 18446744073709551616.0 +
         static_cast<double>(static_cast<uint64_t>(v));
}

double Center(const Interval& i) { return ToDouble(i.lo) / 2 + ToDouble(i.hi) / 2; }

}  // namespace

CandidateIndex::CandidateIndex(const RuleList& list) : list_(list) {
  // A field is wide when its hull spans more than 1/256 of the field.
  auto wide = [&](const Cube& h, Field f) { return (h.f[f].hi - h.f[f].lo) > (list.limits.max[f] >> 8); };
  std::vector<std::vector<int>> classes(8);
  for (int i = 0; i < static_cast<int>(list.units.size()); ++i) {
    const Unit& u = list.units[i];
    if (u.cubes.empty()) continue;
    int cls = (wide(u.hull, kSrc) ? 1 : 0) | (wide(u.hull, kDst) ? 2 : 0) | (wide(u.hull, kDport) ? 4 : 0);
    classes[cls].push_back(i);
  }
  for (const auto& c : classes) {
    if (c.empty()) continue;
    int first = static_cast<int>(order_.size());
    order_.insert(order_.end(), c.begin(), c.end());
    roots_.push_back(Build(first, static_cast<int>(c.size())));
  }
  for (int u : order_) hulls_.push_back(list.units[u].hull);
}

int CandidateIndex::Build(int first, int count) {
  Node n;
  n.box = list_.units[order_[first]].hull;
  n.min_index = n.max_index = order_[first];
  for (int k = first; k < first + count; ++k) {
    const Cube& h = list_.units[order_[k]].hull;
    for (int f = 0; f < kFieldCount; ++f) {
      n.box.f[f].lo = std::min(n.box.f[f].lo, h.f[f].lo);
      n.box.f[f].hi = std::max(n.box.f[f].hi, h.f[f].hi);
    }
    n.min_index = std::min(n.min_index, order_[k]);
    n.max_index = std::max(n.max_index, order_[k]);
  }
  int id = static_cast<int>(nodes_.size());
  nodes_.push_back(n);
  if (count <= kLeafSize) {
    nodes_[id].first = first;
    nodes_[id].count = count;
    return id;
  }
  // Split at the median center of the field whose centers spread most,
  // relative to the field's size.
  int best = 0;
  double best_spread = -1;
  for (int f = 0; f < kFieldCount; ++f) {
    double lo = 1e300, hi = -1e300;
    for (int k = first; k < first + count; ++k) {
      double c = Center(list_.units[order_[k]].hull.f[f]);
      lo = std::min(lo, c);
      hi = std::max(hi, c);
    }
    double spread = (hi - lo) / (ToDouble(list_.limits.max[f]) + 1);
    if (spread > best_spread) best_spread = spread, best = f;
  }
  int half = count / 2;
  std::nth_element(order_.begin() + first, order_.begin() + first + half, order_.begin() + first + count,
                   [&](int a, int b) {
                     return Center(list_.units[a].hull.f[best]) < Center(list_.units[b].hull.f[best]);
                   });
  int left = Build(first, half);
  int right = Build(first + half, count - half);
  nodes_[id].left = left;
  nodes_[id].right = right;
  return id;
}

void CandidateIndex::Query(const Cube& h, int begin, int end, std::vector<int>& out) const {
  out.clear();
  if (nodes_.empty() || h.Empty()) return;
  std::vector<int>& stack = stack_;
  stack.assign(roots_.begin(), roots_.end());
  while (!stack.empty()) {
    const Node& n = nodes_[stack.back()];
    stack.pop_back();
    if (n.max_index < begin || n.min_index >= end || !n.box.Intersects(h)) continue;
    if (n.left < 0) {
      for (int k = n.first; k < n.first + n.count; ++k) {
        int u = order_[k];
        if (u >= begin && u < end && hulls_[k].Intersects(h)) out.push_back(u);
      }
      continue;
    }
    stack.push_back(n.left);
    stack.push_back(n.right);
  }
  std::sort(out.begin(), out.end());
}

// --- the analysis of one unit ----------------------------------------------

namespace {

struct UnitResult {
  bool incomplete = false;  // the budget ran out before it was settled
  bool empty = false;
  bool dead = false;
  bool any_different = false;  // dead: some packet goes another way
  std::vector<int> covering;   // dead: a minimal cover
  int conflict_with = -1;      // first earlier unit of another verdict that decides part of it
  Point conflict_point{};
  bool later_redundant = false;
  bool to_default = false;
  std::vector<int> later;  // live, redundant: later units that decide part of it
};

// Every test asks the index for just the boxes that meet its region, so a
// test costs what that region overlaps, not what the whole rule overlaps.
class UnitAnalysis {
 public:
  UnitAnalysis(const RuleList& l, const CandidateIndex& index, AnalysisStats& stats, size_t budget)
      : l_(l), index_(index), stats_(stats), budget_(budget) {}

  bool Exhausted() const { return budget_ && stats_.candidates + stats_.coverage_tests > budget_; }

  UnitResult Run(int i) {
    UnitResult r;
    const Unit& u = l_.units[i];
    if (u.cubes.empty()) {
      r.empty = true;
      return r;
    }
    self_ = i;
    const int n = static_cast<int>(l_.units.size());
    Point w;

    r.dead = !AnyUncovered(u, 0, i, &live_witness_);
    if (r.dead) {
      index_.Query(u.hull, 0, i, earlier_);
      stats_.candidates += earlier_.size();
      std::vector<int> deciders;
      for (int j : earlier_) {
        if (Exhausted()) {
          r.incomplete = true;
          return r;
        }
        if (Decides(u, j, 0, j, &w)) {
          deciders.push_back(j);
          if (l_.units[j].action != u.action && !r.any_different) {
            r.any_different = true;
            r.conflict_with = j;
            r.conflict_point = w;
          }
        }
      }
      r.covering = Minimal(u, deciders);
      return r;
    }

    // Conflict: the first earlier unit of another verdict that decides part
    // of u. A sample of u∩e whose first match is of another verdict proves
    // one at once; the exact test settles the rest.
    index_.Query(u.hull, 0, i, earlier_);
    stats_.candidates += earlier_.size();
    for (int j : earlier_) {
      if (Exhausted()) {
        r.incomplete = true;
        return r;
      }
      if (l_.units[j].action == u.action) continue;
      if (SampleDecidedOtherwise(u, j, i, &r.conflict_point) || Decides(u, j, 0, j, &r.conflict_point)) {
        r.conflict_with = j;
        break;
      }
    }

    if (u.origin->log.enabled) return r;  // removing it would change the log
    // Would later rules (or the default) decide its packets the same way?
    // Usually not, and the packet the dead check found (in u, in no earlier
    // unit) shows it at once: see who decides it without u.
    {
      int first_later = FirstContaining(live_witness_, n, i + 1);
      ast::Action without = first_later < 0 ? l_.default_action : l_.units[first_later].action;
      if (without != u.action) return r;
    }
    // A later unit x decides part of what u decides when some u∩x is
    // covered neither by u's earlier rules nor by the later ones before x.
    index_.Query(u.hull, i + 1, n, later_);
    stats_.candidates += later_.size();
    for (int x : later_) {
      if (Exhausted()) {
        r.incomplete = true;
        return r;
      }
      if (!Decides(u, x, 0, x, &w)) continue;
      if (l_.units[x].action != u.action) return r;
      if (r.later.size() < 4) r.later.push_back(x);
    }
    r.to_default = AnyUncovered(u, 0, n, &w);
    r.later_redundant = !r.to_default || l_.default_action == u.action;
    return r;
  }

 private:
  // Boxes of the units in [begin, end), other than the one analysed, that
  // meet x.
  void BoxesMeeting(const Cube& x, int begin, int end, std::vector<const Cube*>& out) {
    out.clear();
    index_.Query(x, begin, end, units_);
    for (int k : units_) {
      if (k == self_) continue;
      for (const auto& c : l_.units[k].cubes)
        if (c.Intersects(x)) out.push_back(&c);
    }
  }

  bool Uncovered(const Cube& x, int begin, int end, Point* w) {
    ++stats_.coverage_tests;
    BoxesMeeting(x, begin, end, boxes_);
    return FindUncovered(x, boxes_, w);
  }

  // Whether some packet of u lies in no unit of [begin, end). A few sample
  // packets, each one stabbing query, answer most rules; the exact test
  // (which gathers every box meeting the rule) is for the rest.
  bool AnyUncovered(const Unit& u, int begin, int end, Point* w) {
    for (const auto& c : u.cubes) {
      Point lo, mid;
      for (int f = 0; f < kFieldCount; ++f) {
        lo[f] = c.f[f].lo;
        mid[f] = c.f[f].lo + (c.f[f].hi - c.f[f].lo) / 2;
      }
      for (const Point& p : {Sample(c, l_.hints), lo, mid})
        if (FirstContaining(p, end, begin) < 0) {
          *w = p;
          return true;
        }
    }
    for (const auto& c : u.cubes)
      if (Uncovered(c, begin, end, w)) return true;
    return false;
  }

  // The first unit in [begin, end), other than the one analysed,
  // containing p; -1 if none.
  int FirstContaining(const Point& p, int end, int begin = 0) {
    Cube at;
    for (int f = 0; f < kFieldCount; ++f) at.f[f] = {p[f], p[f]};
    index_.Query(at, begin, end, units_);
    for (int k : units_) {
      if (k == self_) continue;
      for (const auto& c : l_.units[k].cubes)
        if (CubeContains(c, p)) return k;
    }
    return -1;
  }

  // A quick proof that e (of another verdict than u) decides part of u: a
  // natural sample of u∩e whose first match before u has another verdict.
  bool SampleDecidedOtherwise(const Unit& u, int e, int i, Point* w) {
    for (const auto& a : u.cubes)
      for (const auto& b : l_.units[e].cubes) {
        Cube x = a.Intersect(b);
        if (x.Empty()) continue;
        Point p = Sample(x, l_.hints);
        int first = FirstContaining(p, i);
        if (first == e) {
          *w = p;
          return true;
        }
      }
    return false;
  }

  // Whether unit e decides part of u: some u∩e covered by no unit in
  // [begin, end) (the units before e). The witness is made to read
  // naturally when possible.
  bool Decides(const Unit& u, int e, int begin, int end, Point* w) {
    for (const auto& a : u.cubes)
      for (const auto& b : l_.units[e].cubes) {
        Cube x = a.Intersect(b);
        if (x.Empty() || !Uncovered(x, begin, end, w)) continue;
        Point nice = Sample(x, l_.hints);
        bool free = true;
        for (const Cube* c : boxes_) free = free && !CubeContains(*c, nice);
        if (free) *w = nice;
        return true;
      }
    return false;
  }

  // Drops deciders not needed to cover u, latest first.
  std::vector<int> Minimal(const Unit& u, std::vector<int> cover) {
    for (size_t k = cover.size(); k-- > 0;) {
      std::vector<const Cube*> boxes;
      for (size_t m = 0; m < cover.size(); ++m)
        if (m != k)
          for (const auto& c : l_.units[cover[m]].cubes) boxes.push_back(&c);
      bool covered = true;
      Point w;
      for (const auto& c : u.cubes) {
        ++stats_.coverage_tests;
        if (FindUncovered(c, boxes, &w)) {
          covered = false;
          break;
        }
      }
      if (covered) cover.erase(cover.begin() + static_cast<std::ptrdiff_t>(k));
    }
    return cover;
  }

  const RuleList& l_;
  const CandidateIndex& index_;
  AnalysisStats& stats_;
  size_t budget_;
  int self_ = -1;
  Point live_witness_{};  // a packet of the unit that no earlier unit takes
  std::vector<int> earlier_, later_, units_;
  std::vector<const Cube*> boxes_;
};

struct Located {
  const PolicyRule* rule;
  bool operator<(const Located& o) const {
    if (rule->loc.file != o.rule->loc.file) return rule->loc.file < o.rule->loc.file;
    return rule->loc.line != o.rule->loc.line ? rule->loc.line < o.rule->loc.line : rule->loc.col < o.rule->loc.col;
  }
};

std::vector<const PolicyRule*> Sorted(const std::set<const PolicyRule*>& s) {
  std::vector<Located> v;
  for (auto* r : s) v.push_back({r});
  std::sort(v.begin(), v.end());
  std::vector<const PolicyRule*> out;
  for (auto& x : v) out.push_back(x.rule);
  return out;
}

}  // namespace

std::vector<Finding> AnalyzeShadows(const std::vector<RuleList>& lists, const InterfaceIds& ifaces,
                                    AnalysisStats* stats_out, size_t budget) {
  AnalysisStats stats;
  struct Piece {
    const RuleList* list;
    UnitResult result;
  };
  // Per policy rule, the results of all its pieces (families, chains,
  // protocols), in rule order.
  std::map<const PolicyRule*, std::vector<Piece>> by_rule;
  for (const auto& l : lists) {
    CandidateIndex index(l);
    UnitAnalysis analysis(l, index, stats, budget);
    for (int i = 0; i < static_cast<int>(l.units.size()); ++i) {
      ++stats.units;
      UnitResult r;
      r.incomplete = true;
      if (!analysis.Exhausted()) r = analysis.Run(i);
      by_rule[l.units[i].origin].push_back({&l, std::move(r)});
    }
  }

  std::vector<Finding> findings;
  for (auto& [rule, pieces] : by_rule) {
    if (std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.result.incomplete; })) {
      stats.stopped = true;
      ++stats.unanalysed_rules;
      continue;
    }
    Finding f;
    f.rule = rule;
    if (std::all_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.result.empty; })) {
      f.kind = Finding::Kind::kEmpty;
      findings.push_back(f);
      continue;
    }
    bool all_dead = true, any_different = false, all_later = true, to_default = false;
    std::set<const PolicyRule*> covering, later;
    const Piece* conflict = nullptr;
    for (const auto& p : pieces) {
      const UnitResult& r = p.result;
      if (r.empty) continue;
      if (r.dead) {
        any_different |= r.any_different;
        for (int j : r.covering) covering.insert(p.list->units[j].origin);
      } else {
        all_dead = false;
        all_later &= r.later_redundant;
        to_default |= r.to_default;
        for (int j : r.later) later.insert(p.list->units[j].origin);
      }
      if (r.conflict_with >= 0 && !conflict) conflict = &p;
    }
    if (all_dead) {
      f.kind = any_different ? Finding::Kind::kShadowed : Finding::Kind::kRedundant;
      f.covering = Sorted(covering);
    } else if (all_later && !rule->log.enabled) {
      f.kind = Finding::Kind::kRedundant;
      f.by_later = true;
      f.by_default = to_default;
      f.covering = Sorted(later);
    } else if (conflict) {
      f.kind = Finding::Kind::kConflict;
      f.other = conflict->list->units[conflict->result.conflict_with].origin;
      f.example = FormatPoint(conflict->result.conflict_point, conflict->list->family, ifaces) + " (" +
                  conflict->list->chain + ")";
    } else {
      continue;
    }
    findings.push_back(std::move(f));
  }
  std::sort(findings.begin(), findings.end(),
            [](const Finding& a, const Finding& b) { return Located{a.rule} < Located{b.rule}; });
  if (stats_out) *stats_out = stats;
  return findings;
}

}  // namespace fwc::analysis
