#include "compiler/analysis/shadow_analysis.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <memory>
#include <set>
#include <system_error>
#include <thread>

#include "compiler/analysis/candidate_index.h"

namespace fwc::analysis {

// --- the analysis of one unit ----------------------------------------------

namespace {

struct UnitResult {
  bool incomplete = false;  // the budget ran out before it was settled
  bool empty = false;
  bool dead = false;
  bool any_different = false;  // dead: some packet goes another way
  std::vector<int> covering;   // dead: a minimal cover
  int conflict_with = -1;      // first earlier unit of another verdict that decides part of it
  std::unique_ptr<Point> conflict_point;  // only for conflicts: a Point is 128 bytes
  bool later_redundant = false;
  bool to_default = false;
  std::vector<int> later;  // live, redundant: later units that decide part of it
};

// Every test asks the index for just the boxes that meet its region, so a
// test costs what that region overlaps, not what the whole rule overlaps.
class UnitAnalysis {
 public:
  UnitAnalysis(const RuleList& l, const CandidateIndex& index, AnalysisStats& stats, size_t budget,
               size_t decomposition_limit)
      : l_(l), index_(index), stats_(stats), budget_(budget), decomposition_limit_(decomposition_limit) {}

  bool Exhausted() const { return budget_ && stats_.candidates + stats_.coverage_tests > budget_; }

  // Unit i, which has cubes (AnalyzeShadows marks the empty ones).
  UnitResult Run(int i) {
    UnitResult r;
    const Unit& u = l_.units[i];
    self_ = i;
    const int n = static_cast<int>(l_.units.size());
    Point w;

    int next_unit = kUnknown;  // the unit after u that decides live_witness_
    std::vector<int> deciders;
    r.dead = !AnyUncovered(u, i, &live_witness_, &next_unit, &deciders);

    // Conflict (for a dead unit: whether it is shadowed rather than
    // redundant): the first earlier unit of another verdict that decides
    // part of u.
    {
      Point at;
      int j = index_.First(u.hull(), 0, i, OtherActions(u.action),
                           [&](int j) { return Candidate(u, j, &at, &r.incomplete); });
      if (r.incomplete) return r;
      if (j >= 0) r.conflict_with = j, r.conflict_point = std::make_unique<Point>(at);
    }
    if (r.dead) {
      r.any_different = r.conflict_with >= 0;
      // A decomposition that grew too large was abandoned for a plain
      // coverage test; the cover still has to be found.
      if (deciders.empty() && Decompose(u, i, &w, &deciders, SIZE_MAX) != Decomposition::kCovered) {
        r.incomplete = true;
        return r;
      }
      std::sort(deciders.begin(), deciders.end());
      r.covering = Minimal(u, std::move(deciders));
      return r;
    }

    if (u.origin->log.enabled) return r;  // removing it would change the log
    // Would later rules (or the default) decide its packets the same way?
    // Usually not, and the packet the dead check found (in u, in no earlier
    // unit) shows it at once: see who decides it without u.
    {
      int first_later = next_unit != kUnknown ? next_unit : index_.FirstContaining(live_witness_, i + 1, n, self_);
      ast::Action without = first_later < 0 ? l_.default_action : l_.units[first_later].action;
      if (without != u.action) return r;
    }
    // A later unit x decides part of what u decides when some u∩x is
    // covered neither by u's earlier rules nor by the later ones before x.
    // Only later units of another verdict can make u matter.
    bool matters = index_.Any(u.hull(), i + 1, n, OtherActions(u.action),
                              [&](int x) { return Candidate(u, x, &w, &r.incomplete) || r.incomplete; });
    if (matters) return r;
    r.to_default = AnyUncovered(u, n, &w);
    r.later_redundant = !r.to_default || l_.default_action == u.action;
    if (!r.later_redundant) return r;
    // Redundant: name a few of the later rules that take its packets.
    for (int from = i + 1; r.later.size() < 4;) {
      int x = index_.First(u.hull(), from, n, OnlyAction(u.action),
                           [&](int x) { return Candidate(u, x, &w, &r.incomplete); });
      if (r.incomplete) return r;
      if (x < 0) break;
      r.later.push_back(x);
      from = x + 1;
    }
    return r;
  }

 private:
  // Boxes of the units before end, other than the one analysed, that meet
  // x.
  void BoxesMeeting(const Cube& x, int end, std::vector<const Cube*>& out) {
    out.clear();
    index_.Query(x, 0, end, units_);
    for (int k : units_) {
      if (k == self_) continue;
      for (const auto& c : l_.units[k].cubes())
        if (c.Intersects(x)) out.push_back(&c);
    }
  }

  // Whether some packet of x lies in no unit before end.
  bool Uncovered(const Cube& x, int end, Point* w) {
    ++stats_.coverage_tests;
    BoxesMeeting(x, end, boxes_);
    return FindUncovered(x, boxes_, w);
  }

  // Whether some packet of u lies in no unit before end. A few sample
  // packets, each one stabbing query, answer most rules; the exact test
  // is for the rest.
  //
  // A sample's stab runs past end, to the first unit containing it: that
  // costs little more, and when the sample is the witness, *next_unit is
  // the unit that would decide it next (-1: none); kUnknown when the exact
  // test found the witness. With deciders, the exact test is a
  // first-match decomposition, and when u is covered *deciders are
  // the units that decide its packets (empty if that grew too large and a
  // plain coverage test answered instead).
  static constexpr int kUnknown = -2;
  bool AnyUncovered(const Unit& u, int end, Point* w, int* next_unit = nullptr, std::vector<int>* deciders = nullptr) {
    const int n = static_cast<int>(l_.units.size());
    for (const auto& c : u.cubes()) {
      Point lo, mid;
      for (int f = 0; f < kFieldCount; ++f) {
        lo[f] = c.lo(f);
        mid[f] = c.lo(f) + (c.hi(f) - c.lo(f)) / 2;
      }
      for (const Point& p : {Sample(c, l_.hints), lo, mid}) {
        int first = FirstContaining(p, n);
        if (first < 0 || first >= end) {
          *w = p;
          if (next_unit) *next_unit = first;
          return true;
        }
      }
    }
    if (next_unit) *next_unit = kUnknown;
    if (deciders) {
      switch (Decompose(u, end, w, deciders)) {
        case Decomposition::kCovered: return false;
        case Decomposition::kUncovered: return true;
        case Decomposition::kTooLarge: deciders->clear(); break;
      }
    }
    for (const auto& c : u.cubes())
      if (Uncovered(c, end, w)) return true;
    return false;
  }

  // Splits u by first match over the units before end: takes a packet of u
  // that no unit found so far contains and adds the unit that decides it
  // (each unit is added once: none of the packets left is in it). Stops at
  // a packet no unit before end contains. Usually cheaper than a coverage
  // test over every box meeting u, and when u is covered it names the
  // units that cover it. kTooLarge: the packets left took more than
  // max_pieces boxes (default: the decomposition limit), or the budget ran
  // out.
  enum class Decomposition { kCovered, kUncovered, kTooLarge };
  Decomposition Decompose(const Unit& u, int end, Point* w, std::vector<int>* deciders, size_t max_pieces = 0) {
    if (!max_pieces) max_pieces = decomposition_limit_;
    std::vector<Cube> rest = u.cubes();
    while (!rest.empty()) {
      if (Exhausted()) return Decomposition::kTooLarge;
      ++stats_.coverage_tests;
      Point p = Sample(rest.front(), l_.hints);
      int j = FirstContaining(p, end);
      if (j < 0) {
        *w = p;
        return Decomposition::kUncovered;
      }
      deciders->push_back(j);
      for (const auto& c : l_.units[j].cubes()) SubtractAll(rest, c);
      if (rest.size() > max_pieces) return Decomposition::kTooLarge;
    }
    return Decomposition::kCovered;
  }

  // The first unit before end, other than the one analysed, containing p;
  // -1 if none.
  int FirstContaining(const Point& p, int end) { return index_.FirstContaining(p, 0, end, self_); }

  // A candidate pair (u, e) of a search: whether e decides part of u,
  // counted against the budget; false, with *incomplete set, once that has
  // run out.
  bool Candidate(const Unit& u, int e, Point* w, bool* incomplete) {
    ++stats_.candidates;
    if (Exhausted()) *incomplete = true;
    return !*incomplete && Decides(u, e, w);
  }

  // Whether unit e decides part of u: some u∩e covered by no unit before
  // e. A natural sample of u∩e that no unit before e contains proves it at
  // once (and reads well as an example); the exact test settles the rest.
  bool Decides(const Unit& u, int e, Point* w) {
    for (const auto& a : u.cubes())
      for (const auto& b : l_.units[e].cubes()) {
        Cube x = a.Intersect(b);
        if (x.Empty()) continue;
        Point nice = Sample(x, l_.hints);
        if (FirstContaining(nice, e) < 0) {
          *w = nice;
          return true;
        }
      }
    for (const auto& a : u.cubes())
      for (const auto& b : l_.units[e].cubes()) {
        Cube x = a.Intersect(b);
        if (!x.Empty() && Uncovered(x, e, w)) return true;
      }
    return false;
  }

  // Drops deciders not needed to cover u, latest first.
  std::vector<int> Minimal(const Unit& u, std::vector<int> cover) {
    for (size_t k = cover.size(); k-- > 0;) {
      std::vector<const Cube*> boxes;
      for (size_t m = 0; m < cover.size(); ++m)
        if (m != k)
          for (const auto& c : l_.units[cover[m]].cubes()) boxes.push_back(&c);
      bool covered = true;
      Point w;
      for (const auto& c : u.cubes()) {
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
  const CandidateIndex& index_;       // for the rest: fewer, larger trees
  AnalysisStats& stats_;
  size_t budget_;
  size_t decomposition_limit_;
  int self_ = -1;
  Point live_witness_{};  // a packet of the unit that no earlier unit takes
  std::vector<int> units_;
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

// Runs work() on `threads` threads (this one among them); rethrows the
// first exception once every one is done.
template <typename Work>
void RunParallel(unsigned threads, const Work& work) {
  threads = std::max(threads, 1u);
  std::vector<std::exception_ptr> errors(threads);
  auto guarded = [&](unsigned t) {
    try {
      work(t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> started;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      started.emplace_back(guarded, t);
    } catch (const std::system_error&) {  // no thread to be had: do it here
      guarded(t);
    }
  }
  guarded(0);
  for (auto& t : started) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

std::vector<Finding> AnalyzeShadows(const std::vector<RuleList>& lists, const InterfaceIds& ifaces,
                                    AnalysisStats* stats_out, const AnalysisOptions& options) {
  AnalysisStats stats;
  const unsigned threads = std::max(options.threads, 1u);
  std::vector<std::vector<UnitResult>> results(lists.size());
  for (size_t k = 0; k < lists.size(); ++k) {
    const auto& units = lists[k].units;
    stats.units += units.size();
    results[k].resize(units.size());
    for (size_t i = 0; i < units.size(); ++i) (units[i].cubes().empty() ? results[k][i].empty : results[k][i].incomplete) = true;
  }
  // One index per list serves every search: each node knows the verdicts
  // below it, which prunes a search by verdict about as well as separate
  // trees per verdict did, at half the memory and building time.
  std::vector<std::unique_ptr<CandidateIndex>> indexes(lists.size());
  std::atomic<size_t> next{0};
  RunParallel(static_cast<unsigned>(std::min<size_t>(threads, lists.size())), [&](unsigned) {
    for (size_t k; (k = next++) < lists.size();) indexes[k] = std::make_unique<CandidateIndex>(lists[k]);
  });

  // Units are analysed in the order of the index's leaves, not in rule
  // order: consecutive units then ask about the same region, and the
  // index nodes they visit are still in the cache (1.5x at 100k rules).
  // The threads take chunks of that order. Each chunk has a fixed share
  // of the budget, so what a budget leaves unanalysed does not depend on
  // the number of threads.
  struct Chunk {
    size_t list, from, to;  // positions in the list's leaf order
  };
  std::vector<Chunk> chunks;
  const size_t chunk = std::max<size_t>(options.chunk, 1);
  for (size_t k = 0; k < lists.size(); ++k)
    for (size_t from = 0, n = indexes[k]->LeafOrder().size(); from < n; from += chunk)
      chunks.push_back({k, from, std::min(n, from + chunk)});
  const size_t share = options.budget ? std::max<size_t>(1, options.budget / std::max<size_t>(chunks.size(), 1)) : 0;
  std::vector<AnalysisStats> chunk_stats(chunks.size());
  next = 0;
  RunParallel(static_cast<unsigned>(std::min<size_t>(threads, chunks.size())), [&](unsigned) {
    for (size_t c; (c = next++) < chunks.size();) {
      const Chunk& ch = chunks[c];
      const std::vector<int>& order = indexes[ch.list]->LeafOrder();
      UnitAnalysis analysis(lists[ch.list], *indexes[ch.list], chunk_stats[c], share, options.decomposition_limit);
      for (size_t k = ch.from; k < ch.to && !analysis.Exhausted(); ++k)
        results[ch.list][order[k]] = analysis.Run(order[k]);
    }
  });
  indexes.clear();
  for (const AnalysisStats& s : chunk_stats) {
    stats.candidates += s.candidates;
    stats.coverage_tests += s.coverage_tests;
  }

  // A policy rule's pieces (families, chains, protocols) next to each
  // other, in list and rule order.
  struct Piece {
    const PolicyRule* rule;
    const RuleList* list;
    const UnitResult* result;
  };
  std::vector<Piece> all;
  for (size_t k = 0; k < lists.size(); ++k)
    for (size_t i = 0; i < lists[k].units.size(); ++i) all.push_back({lists[k].units[i].origin, &lists[k], &results[k][i]});
  std::stable_sort(all.begin(), all.end(), [](const Piece& a, const Piece& b) { return a.rule < b.rule; });

  std::vector<Finding> findings;
  for (size_t first = 0, next; first < all.size(); first = next) {
    const PolicyRule* rule = all[first].rule;
    for (next = first + 1; next < all.size() && all[next].rule == rule;) ++next;
    const auto begin = all.begin() + static_cast<std::ptrdiff_t>(first), end = all.begin() + static_cast<std::ptrdiff_t>(next);
    if (std::any_of(begin, end, [](const Piece& p) { return p.result->incomplete; })) {
      stats.stopped = true;
      ++stats.unanalysed_rules;
      continue;
    }
    Finding f;
    f.rule = rule;
    if (std::all_of(begin, end, [](const Piece& p) { return p.result->empty; })) {
      f.kind = Finding::Kind::kEmpty;
      findings.push_back(f);
      continue;
    }
    bool all_dead = true, any_different = false, all_later = true, to_default = false;
    std::set<const PolicyRule*> covering, later;
    const Piece* conflict = nullptr;
    for (auto p = begin; p != end; ++p) {
      const UnitResult& r = *p->result;
      if (r.empty) continue;
      if (r.dead) {
        any_different |= r.any_different;
        for (int j : r.covering) covering.insert(p->list->units[j].origin);
      } else {
        all_dead = false;
        all_later &= r.later_redundant;
        to_default |= r.to_default;
        for (int j : r.later) later.insert(p->list->units[j].origin);
      }
      if (r.conflict_with >= 0 && !conflict) conflict = &*p;
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
      f.other = conflict->list->units[conflict->result->conflict_with].origin;
      f.example = FormatPoint(*conflict->result->conflict_point, conflict->list->family, ifaces) + " (" +
                  ir::HookName(conflict->list->hook) + ")";
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
