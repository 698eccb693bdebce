#include "compiler/analysis/nat_analysis.h"

#include <algorithm>
#include <map>

#include "compiler/base/diagnostics.h"

namespace fwc::analysis {
namespace {

bool SameTranslation(const Translation& a, const Translation& b) {
  return a.kind == b.kind && a.to_v4 == b.to_v4 && a.to_v6 == b.to_v6 && a.port_lo == b.port_lo &&
         a.port_hi == b.port_hi && a.mark == b.mark;
}

struct Entry {
  const PlacedRule* placed;
  std::vector<Cube> cubes;
};

}  // namespace

std::vector<SectionFinding> AnalyzeSections(const Model& m, const std::vector<PlacedRule>& sections,
                                            const std::vector<RuleList>& filter, InterfaceIds& ifaces) {
  AddInterfaces(sections, ifaces);
  // A policy rule is placed as several rules (families, services): it is
  // shadowed only if each of them is.
  std::map<const PolicyRule*, SectionFinding> covered;  // every placed rule so far covered
  std::map<const PolicyRule*, bool> uncovered;
  std::map<const PolicyRule*, bool> accepted;  // dnat/redirect: some filter rule may accept it
  std::vector<const PolicyRule*> order;
  for (ir::Hook hook : {ir::Hook::kMarks, ir::Hook::kDnat, ir::Hook::kSnat})
    for (Family f : {Family::kV4, Family::kV6}) {
      FieldLimits lim = FieldLimits::For(f, ifaces.count());
      std::vector<Entry> earlier;
      for (const auto& w : sections) {
        if (w.hook != hook || !InFamily(w.rule.family, f)) continue;
        const PolicyRule* r = w.origin;
        if (std::find(order.begin(), order.end(), r) == order.end()) order.push_back(r);
        Entry e{&w, RuleCubes(w, lim, ifaces)};
        // Conditional rules (mark, state, limit) match an unknown part of
        // their cubes: they neither cover nor are judged.
        bool conditional = w.rule.extras.any();
        if (!conditional && !e.cubes.empty()) {
          std::vector<const Cube*> by;
          for (const Entry& x : earlier)
            for (const Cube& c : x.cubes) by.push_back(&c);
          Point witness;
          bool all = !by.empty() && std::none_of(e.cubes.begin(), e.cubes.end(),
                                                  [&](const Cube& c) { return FindUncovered(c, by, &witness); });
          if (all) {
            // Only the earlier rules that meet it are named.
            std::vector<const PolicyRule*> meeting;
            bool same = true;
            for (const Entry& x : earlier) {
              bool meets = false;
              for (const Cube& c : x.cubes)
                for (const Cube& d : e.cubes) meets |= c.Intersects(d);
              if (!meets) continue;
              if (std::find(meeting.begin(), meeting.end(), x.placed->origin) == meeting.end())
                meeting.push_back(x.placed->origin);
              same &= SameTranslation(*x.placed->origin->translation, *r->translation);
            }
            SectionFinding& sf = covered[r];
            sf.rule = r;
            if (sf.covering.empty()) sf.kind = same ? SectionFinding::Kind::kRedundant : SectionFinding::Kind::kShadowed;
            else if (!same) sf.kind = SectionFinding::Kind::kShadowed;
            for (const PolicyRule* p : meeting)
              if (std::find(sf.covering.begin(), sf.covering.end(), p) == sf.covering.end()) sf.covering.push_back(p);
          } else {
            uncovered[r] = true;
          }
        } else {
          uncovered[r] = true;
        }
        // A translated destination: does any filter rule of the chain it is
        // routed to accept part of it? (The filter matches the original
        // destination, so the cubes compare as they are.)
        const Translation& t = *r->translation;
        if (hook == ir::Hook::kDnat && t.destination()) {
          ir::Hook chain = t.kind == Translation::Kind::kRedirect ? ir::Hook::kInput : ir::Hook::kForward;
          bool any = m.default_action == ast::Action::kAccept;
          for (const auto& l : filter) {
            if (l.hook != chain || l.family != f) continue;
            auto meets = [&](const Unit& u) {
              for (const Cube& c : u.cubes())
                for (const Cube& d : e.cubes)
                  if (c.Intersects(d)) return true;
              return false;
            };
            for (const auto& u : l.units) any |= u.action == ast::Action::kAccept && meets(u);
            for (const auto& u : l.runtime) any |= u.unit.action == ast::Action::kAccept && meets(u.unit);
          }
          accepted[r] |= any;
        }
        if (!conditional) earlier.push_back(std::move(e));
      }
    }
  std::vector<SectionFinding> out;
  for (const PolicyRule* r : order) {
    auto c = covered.find(r);
    if (c != covered.end() && !uncovered[r]) out.push_back(c->second);
    auto a = accepted.find(r);
    if (a != accepted.end() && !a->second) out.push_back({SectionFinding::Kind::kFiltered, r, {}});
  }
  return out;
}

namespace {

std::string What(const PolicyRule* r, Family f, ir::Hook hook) {
  if (!r) return hook == ir::Hook::kMarks ? "no mark" : "no translation";
  std::string t = ir::DumpTranslation(*r->translation, f == Family::kV4 ? ir::RuleFamily::kV4 : ir::RuleFamily::kV6);
  return t.empty() ? t : t.substr(1);
}

// The packets each rule of one hook and family decides (first match wins),
// and last (rule nullptr) those no rule matches.
struct Region {
  const PolicyRule* rule;
  std::vector<Cube> cubes;
};

bool FirstMatchRegions(const std::vector<PlacedRule>& sections, ir::Hook hook, Family f, const FieldLimits& lim,
                       InterfaceIds& ifaces, std::vector<Region>& out, bool* conditional) {
  constexpr size_t kMaxPieces = 20000;
  std::vector<Cube> taken;
  for (const auto& w : sections) {
    if (w.hook != hook || !InFamily(w.rule.family, f)) continue;
    if (w.rule.extras.any()) {
      *conditional = true;
      continue;
    }
    std::vector<Cube> cubes = RuleCubes(w, lim, ifaces);
    std::vector<Cube> mine;
    for (const Cube& c : cubes) {
      std::vector<Cube> pieces = {c};
      for (const Cube& t : taken) {
        SubtractAll(pieces, t);
        if (pieces.size() > kMaxPieces) return false;
      }
      mine.insert(mine.end(), pieces.begin(), pieces.end());
    }
    taken.insert(taken.end(), cubes.begin(), cubes.end());
    if (!mine.empty()) out.push_back({w.origin, std::move(mine)});
  }
  std::vector<Cube> rest = {Cube::Full(lim)};
  for (const Cube& t : taken) {
    SubtractAll(rest, t);
    if (rest.size() > kMaxPieces) return false;
  }
  out.push_back({nullptr, std::move(rest)});
  return true;
}

}  // namespace

SectionDiffResult DiffSections(const std::vector<PlacedRule>& old_sections, const std::vector<PlacedRule>& new_sections,
                               InterfaceIds& ifaces) {
  SectionDiffResult result;
  AddInterfaces(old_sections, ifaces);
  AddInterfaces(new_sections, ifaces);
  for (ir::Hook hook : {ir::Hook::kMarks, ir::Hook::kDnat, ir::Hook::kSnat})
    for (Family f : {Family::kV4, Family::kV6}) {
      FieldLimits lim = FieldLimits::For(f, ifaces.count());
      std::vector<Region> before, after;
      if (!FirstMatchRegions(old_sections, hook, f, lim, ifaces, before, &result.conditional) ||
          !FirstMatchRegions(new_sections, hook, f, lim, ifaces, after, &result.conditional)) {
        result.incomplete = true;
        return result;
      }
      for (const Region& a : before)
        for (const Region& b : after) {
          std::string wa = What(a.rule, f, hook), wb = What(b.rule, f, hook);
          if (wa == wb) continue;
          for (const Cube& x : a.cubes) {
            bool found = false;
            for (const Cube& y : b.cubes) {
              if (!x.Intersects(y)) continue;
              Cube both = x.Intersect(y);
              result.changes.push_back({hook, f, a.rule, b.rule, wa, wb, DescribeCube(both, f, lim, ifaces),
                                        FormatPoint(Sample(both), f, ifaces)});
              found = true;
              break;
            }
            if (found) break;
          }
        }
    }
  return result;
}

void ReportSections(const std::vector<SectionFinding>& findings, Diagnostics& diags) {
  auto silenced = [](const PolicyRule& r, const char* code) {
    return std::find(r.nowarn.begin(), r.nowarn.end(), code) != r.nowarn.end();
  };
  for (const auto& f : findings) {
    const PolicyRule& r = *f.rule;
    Loc at = r.span.valid() ? r.span : r.loc;
    Diagnostic* d = nullptr;
    switch (f.kind) {
      case SectionFinding::Kind::kShadowed:
        if (silenced(r, "shadowed-rule")) break;
        d = diags.Report("shadowed-rule", Severity::kError, at,
                         "this rule can never apply: earlier rules of its section take every packet it matches",
                         "first match wins in a section: move it above them, or remove it");
        break;
      case SectionFinding::Kind::kRedundant:
        if (silenced(r, "redundant-rule")) break;
        d = diags.Report("redundant-rule", Severity::kWarning, at,
                         "this rule is redundant: earlier rules of its section already do the same to every packet "
                         "it matches",
                         "remove it; 'nowarn redundant-rule' keeps it as is");
        break;
      case SectionFinding::Kind::kFiltered:
        if (silenced(r, "nat-filtered")) break;
        diags.Report("nat-filtered", Severity::kWarning, at,
                     "no filter rule accepts what this rule translates: the filter drops every connection it forwards",
                     "filter rules name the original destination: add e.g. 'accept SERVICE from any to ADDRESS in IFACE'");
        break;
    }
    if (d)
      for (const PolicyRule* c : f.covering)
        d->notes.push_back({c->span.valid() ? c->span : c->loc, "covered by this rule"});
  }
}

}  // namespace fwc::analysis
