#include "compiler/analysis/semantic_diff.h"

#include <map>

#include "compiler/analysis/candidate_index.h"

namespace fwc::analysis {
namespace {

constexpr size_t kMaxPieces = 1 << 16;

// A region of packets with the rule that decides it.
struct Region {
  std::vector<Cube> cubes;
  const Unit* by = nullptr;  // nullptr: the default
};

// First-match decision of `pieces` by `list`: calls decide(region, unit)
// for each unit that decides part of it, then for the rest (unit nullptr).
template <typename F>
bool Decide(const RuleList& list, const CandidateIndex& index, std::vector<Cube> pieces, F decide) {
  std::vector<int> cands;
  index.Query(HullOf(pieces), 0, static_cast<int>(list.units.size()), cands);
  for (int j : cands) {
    if (pieces.empty()) return true;
    const Unit& u = list.units[j];
    std::vector<Cube> taken;
    for (const auto& c : u.cubes())
      for (const auto& p : pieces)
        if (p.Intersects(c)) taken.push_back(p.Intersect(c));
    if (taken.empty()) continue;
    // Pieces are disjoint, but one unit's cubes may overlap each other;
    // make the taken region disjoint before reporting it.
    std::vector<Cube> disjoint;
    for (auto& t : taken) {
      std::vector<Cube> add{t};
      for (const auto& d : disjoint) SubtractAll(add, d);
      disjoint.insert(disjoint.end(), add.begin(), add.end());
    }
    decide(disjoint, &u);
    for (const auto& c : u.cubes()) SubtractAll(pieces, c);
    if (pieces.size() > kMaxPieces) return false;
  }
  if (!pieces.empty()) decide(pieces, nullptr);
  return true;
}

}  // namespace

DiffResult SemanticDiff(const std::vector<RuleList>& old_lists, const std::vector<RuleList>& new_lists,
                        const InterfaceIds& ifaces) {
  DiffResult result;
  for (size_t li = 0; li < old_lists.size() && li < new_lists.size(); ++li) {
    const RuleList& ol = old_lists[li];
    const RuleList& nl = new_lists[li];
    CandidateIndex oindex(ol), nindex(nl);
    // Differences keyed by (old decider, new decider), in discovery order.
    std::map<std::pair<const Unit*, const Unit*>, size_t> seen;
    std::vector<Difference> found;
    auto record = [&](const std::vector<Cube>& region, const Unit* o, const Unit* n) {
      ast::Action before = o ? o->action : ol.default_action;
      ast::Action after = n ? n->action : nl.default_action;
      if (before == after || region.empty()) return;
      auto key = std::make_pair(o, n);
      auto it = seen.find(key);
      if (it == seen.end()) {
        Difference d;
        d.hook = ol.hook;
        d.family = ol.family;
        d.before = before;
        d.after = after;
        d.old_rule = o ? o->origin : nullptr;
        d.new_rule = n ? n->origin : nullptr;
        d.description = DescribeCube(region.front(), ol.family, ol.limits, ifaces);
        d.example = FormatPoint(Sample(region.front(), ol.hints), ol.family, ifaces);
        seen.emplace(key, found.size());
        found.push_back(std::move(d));
        it = seen.find(key);
      }
      auto& r = found[it->second].region;
      r.insert(r.end(), region.begin(), region.end());
    };
    // Everything the old policy decides, decided again by the new one.
    bool inner_ok = true;
    bool outer_ok = Decide(ol, oindex, {Cube::Full(ol.limits)}, [&](const std::vector<Cube>& region, const Unit* o) {
      inner_ok &= Decide(nl, nindex, region, [&](const std::vector<Cube>& sub, const Unit* n) { record(sub, o, n); });
    });
    result.incomplete |= !(outer_ok && inner_ok);
    for (auto& d : found) result.differences.push_back(std::move(d));
  }
  return result;
}

}  // namespace fwc::analysis
