#include "compiler/analysis/shadow_analysis.h"

#include <algorithm>
#include <map>
#include <set>

namespace fwc::analysis {

// --- CandidateIndex --------------------------------------------------------
//
// Units are bucketed by the block of destination addresses their hull fits
// in (a /16 of IPv4, a /48 of IPv6); units spanning several blocks are
// "wide" and checked by every query. Firewall rules mostly name specific
// destinations, so a query touches its own bucket and the few wide rules.

CandidateIndex::CandidateIndex(const RuleList& list)
    : list_(list), shift_(list.family == Family::kV4 ? 16 : 80) {
  std::map<uint64_t, std::vector<int>> buckets;
  for (int i = 0; i < static_cast<int>(list.units.size()); ++i) {
    uint64_t key;
    if (Bucket(list.units[i].hull.f[kDst], &key)) buckets[key].push_back(i);
    else wide_.push_back(i);
  }
  buckets_.assign(buckets.begin(), buckets.end());
}

bool CandidateIndex::Bucket(const Interval& dst, uint64_t* key) const {
  if (dst.lo > dst.hi) return false;
  U128 a = dst.lo >> shift_, b = dst.hi >> shift_;
  if (a != b) return false;
  *key = static_cast<uint64_t>(a);
  return true;
}

void CandidateIndex::Query(const Hull& h, int begin, int end, std::vector<int>& out) const {
  out.clear();
  auto take = [&](const std::vector<int>& ids) {
    auto from = std::lower_bound(ids.begin(), ids.end(), begin);
    for (auto it = from; it != ids.end() && *it < end; ++it)
      if (list_.units[*it].hull.Intersects(h)) out.push_back(*it);
  };
  uint64_t key;
  if (Bucket(h.f[kDst], &key)) {
    auto it = std::lower_bound(buckets_.begin(), buckets_.end(), key,
                               [](const auto& b, uint64_t k) { return b.first < k; });
    if (it != buckets_.end() && it->first == key) take(it->second);
    size_t mid = out.size();
    take(wide_);
    std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(mid), out.end());
    return;
  }
  // A wide query: every unit is a candidate by destination; the hull test
  // on the other fields does the filtering.
  for (int i = begin; i < end; ++i)
    if (list_.units[i].hull.Intersects(h)) out.push_back(i);
}

// --- the passes ----------------------------------------------------------

namespace {

// Fragmentation bound: past it a piece's analysis is abandoned (reported in
// the stats) instead of risking time or memory.
constexpr size_t kMaxPieces = 4096;

struct UnitResult {
  bool empty = false;
  bool incomplete = false;
  bool dead = false;
  bool any_different = false;
  std::vector<int> covering;  // minimal, for dead units
  int conflict_with = -1;
  Point conflict_point{};
  bool later_redundant = false;
  bool to_default = false;
  std::vector<int> later;
};

bool Covered(const std::vector<Cube>& cubes, const std::vector<int>& by, const RuleList& l) {
  std::vector<Cube> pieces = cubes;
  for (int j : by) {
    for (const auto& c : l.units[j].cubes) {
      SubtractAll(pieces, c);
      if (pieces.empty()) return true;
      if (pieces.size() > kMaxPieces) return false;
    }
  }
  return pieces.empty();
}

// Subtracts unit j from pieces. Returns whether j decided any of them, and
// if so one packet it decided.
bool Apply(const Unit& j, std::vector<Cube>& pieces, const SampleHints& hints, Point* decided) {
  bool touched = false;
  for (const auto& c : j.cubes) {
    bool meets = false;
    for (const auto& p : pieces)
      if (p.Intersects(c)) {
        if (!touched) *decided = Sample(p.Intersect(c), hints);
        meets = touched = true;
        break;
      }
    if (meets) SubtractAll(pieces, c);
  }
  return touched;
}

UnitResult AnalyzeUnit(const RuleList& l, const CandidateIndex& index, int i, std::vector<int>& cands,
                       AnalysisStats& stats) {
  UnitResult r;
  const Unit& u = l.units[i];
  if (u.cubes.empty()) {
    r.empty = true;
    return r;
  }
  std::vector<Cube> pieces = u.cubes;
  std::vector<int> deciders;
  index.Query(u.hull, 0, i, cands);
  stats.candidates += cands.size();
  for (int j : cands) {
    if (pieces.empty()) break;
    Point p;
    if (!Apply(l.units[j], pieces, l.hints, &p)) continue;
    deciders.push_back(j);
    if (l.units[j].action != u.action) {
      r.any_different = true;
      if (r.conflict_with < 0) {
        r.conflict_with = j;
        r.conflict_point = p;
      }
    }
    if (pieces.size() > kMaxPieces) {
      r.incomplete = true;
      return r;
    }
  }
  if (pieces.empty()) {
    r.dead = true;
    // Drop deciders not needed for the cover, latest first.
    std::vector<int> cover = deciders;
    for (size_t k = cover.size(); k-- > 0;) {
      std::vector<int> without = cover;
      without.erase(without.begin() + static_cast<std::ptrdiff_t>(k));
      if (Covered(u.cubes, without, l)) cover = std::move(without);
    }
    r.covering = std::move(cover);
    // A cover of same-verdict rules only means the rule is merely redundant.
    r.any_different = std::any_of(deciders.begin(), deciders.end(),
                                  [&](int j) { return l.units[j].action != u.action; });
    return r;
  }
  // What the rule really decides: would the later rules or the default
  // decide it the same way?
  Hull h = HullOf(pieces);
  index.Query(h, i + 1, static_cast<int>(l.units.size()), cands);
  stats.candidates += cands.size();
  for (int j : cands) {
    if (pieces.empty()) break;
    Point p;
    if (!Apply(l.units[j], pieces, l.hints, &p)) continue;
    if (l.units[j].action != u.action) return r;  // removing it would change p's verdict
    r.later.push_back(j);
    if (pieces.size() > kMaxPieces) {
      r.incomplete = true;
      return r;
    }
  }
  r.to_default = !pieces.empty();
  r.later_redundant = !r.to_default || l.default_action == u.action;
  return r;
}

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
                                    AnalysisStats* stats_out) {
  AnalysisStats stats;
  // Per policy rule, the results of all its pieces.
  struct Piece {
    const RuleList* list;
    UnitResult result;
  };
  std::map<const PolicyRule*, std::vector<Piece>> by_rule;
  std::vector<int> cands;
  for (const auto& l : lists) {
    CandidateIndex index(l);
    for (int i = 0; i < static_cast<int>(l.units.size()); ++i) {
      ++stats.units;
      UnitResult r = AnalyzeUnit(l, index, i, cands, stats);
      if (r.incomplete) ++stats.incomplete;
      // Indices are only meaningful within their list: keep the list too.
      by_rule[l.units[i].origin].push_back({&l, std::move(r)});
    }
  }

  std::vector<Finding> findings;
  for (auto& [rule, pieces] : by_rule) {
    if (std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.result.incomplete; })) continue;
    bool all_empty = std::all_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.result.empty; });
    Finding f;
    f.rule = rule;
    if (all_empty) {
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
      // A logging rule changes what is logged even when the verdict agrees.
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
