#include "compiler/placement/place.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "compiler/base/diagnostics.h"
#include "compiler/base/protocols.h"

namespace fwc {
namespace {

ir::RuleFamily ToRuleFamily(Family f) {
  return f == Family::kV4 ? ir::RuleFamily::kV4 : ir::RuleFamily::kV6;
}

ir::AddrMatch ToAddrMatch(const AddressSlot& slot, Family f) {
  ir::AddrMatch m;
  if (slot.any) return m;
  if (slot.runtime()) {
    m.present = true;
    m.negated = slot.negated;
    m.runtime = true;
    m.set_name = KernelSetName(slot.runtime_set, f);
    return m;
  }
  const IntervalSet& set = slot.set.of(f);
  if (slot.negated && set.empty()) return m;  // excludes nothing of f
  m.present = true;
  m.negated = slot.negated;
  m.set = set;
  if (!slot.group.empty())
    m.set_name = KernelSetName(slot.group, f);
  return m;
}

// snat and dnat translate to an address of the packet's family.
bool TranslatesIn(const PolicyRule& r, Family f) {
  return !r.translation || !r.translation->has_address() || r.translation->to(f).has_value();
}

bool HasFamilySpecificAtom(const ServiceSlot& s) {
  for (const auto& a : s.atoms)
    if (a.family()) return true;
  return false;
}

// Nothing family-specific: one rule serves both families.
bool ForBothFamilies(const PolicyRule& r) {
  return r.src.any && r.dst.any && !HasFamilySpecificAtom(r.services) &&
         !(r.translation && r.translation->has_address());
}

bool InFamily(const PolicyRule& r, Family f) {
  return r.src.Allows(f) && r.dst.Allows(f) && r.services.Allows(f) && TranslatesIn(r, f);
}

}  // namespace

std::string KernelSetName(const std::string& object, Family f) { return object + (f == Family::kV4 ? "_v4" : "_v6"); }

std::vector<const PolicyRule*> SelectActiveRules(const Model& m, const std::set<std::string>& defines) {
  return SelectActive(m.rules, defines);
}

std::vector<const PolicyRule*> SelectActive(const std::vector<PolicyRule>& rules,
                                            const std::set<std::string>& defines) {
  std::vector<const PolicyRule*> out;
  out.reserve(rules.size());
  for (const auto& r : rules) {
    if (r.disabled) continue;
    if (!r.condition.empty() && (defines.count(r.condition) > 0) == r.condition_negated) continue;
    out.push_back(&r);
  }
  return out;
}

std::vector<ir::ServiceMatch> GroupServices(const std::vector<ServiceAtom>& atoms, std::optional<Family> family) {
  std::vector<ir::ServiceMatch> out;
  // Index of the match an atom merges into, by (proto, sports) for ports
  // and by proto for ICMP types.
  std::map<std::pair<int, std::vector<Interval>>, size_t> port_groups;
  std::map<int, size_t> icmp_groups;
  std::vector<bool> any_ports;  // parallel to out: dports are "any"
  for (const auto& a : atoms) {
    if (family && a.family() && *a.family() != *family) continue;
    if (a.proto == kProtoTcp || a.proto == kProtoUdp) {
      auto key = std::make_pair(a.proto, a.sports.intervals());
      auto it = port_groups.find(key);
      if (it == port_groups.end()) {
        port_groups.emplace(key, out.size());
        ir::ServiceMatch m;
        m.proto = a.proto;
        m.sports = a.sports;
        m.dports = a.dports;
        out.push_back(m);
        any_ports.push_back(a.dports.empty());
      } else if (!any_ports[it->second]) {
        if (a.dports.empty()) {
          out[it->second].dports = {};
          any_ports[it->second] = true;
        } else {
          out[it->second].dports.AddAll(a.dports);
        }
      }
    } else if (a.proto == kProtoIcmp || a.proto == kProtoIcmpv6) {
      if (a.icmp_code >= 0) {  // a type with a code stands alone
        ir::ServiceMatch m;
        m.proto = a.proto;
        m.icmp_types = {a.icmp_type};
        m.icmp_code = a.icmp_code;
        if (std::none_of(out.begin(), out.end(), [&](const ir::ServiceMatch& o) {
              return o.proto == m.proto && o.icmp_types == m.icmp_types && o.icmp_code == m.icmp_code;
            })) {
          out.push_back(m);
          any_ports.push_back(false);
        }
        continue;
      }
      auto it = icmp_groups.find(a.proto);
      if (it == icmp_groups.end()) {
        icmp_groups.emplace(a.proto, out.size());
        ir::ServiceMatch m;
        m.proto = a.proto;
        if (a.icmp_type >= 0) m.icmp_types = {a.icmp_type};
        out.push_back(m);
        any_ports.push_back(a.icmp_type < 0);
      } else if (!any_ports[it->second]) {
        auto& types = out[it->second].icmp_types;
        if (a.icmp_type < 0) {
          types.clear();
          any_ports[it->second] = true;
        } else if (std::find(types.begin(), types.end(), a.icmp_type) == types.end()) {
          types.push_back(a.icmp_type);
          std::sort(types.begin(), types.end());
        }
      }
    } else if (std::none_of(out.begin(), out.end(),
                            [&](const ir::ServiceMatch& o) { return o.proto == a.proto; })) {
      ir::ServiceMatch m;
      m.proto = a.proto;
      out.push_back(m);
      any_ports.push_back(true);
    }
  }
  return out;
}

void SplitByFamily(const PolicyRule& r, std::vector<PlacedRule>& out) {
  PlacedRule base;
  base.rule.iif = r.iif;
  base.rule.oif = r.oif;
  base.services_negated = r.services.negated;
  base.origin = &r;
  base.src_is_firewall = r.src.firewall;
  base.dst_is_firewall = r.dst.firewall;
  base.rule.extras = r.extras;

  if (ForBothFamilies(r)) {
    PlacedRule w = std::move(base);
    w.rule.family = ir::RuleFamily::kAny;
    if (!r.services.any) w.services = GroupServices(r.services.atoms, std::nullopt);
    out.push_back(std::move(w));
    return;
  }
  for (Family f : {Family::kV4, Family::kV6}) {
    if (!InFamily(r, f)) continue;
    PlacedRule w = base;
    w.rule.family = ToRuleFamily(f);
    w.rule.src = ToAddrMatch(r.src, f);
    w.rule.dst = ToAddrMatch(r.dst, f);
    if (!r.services.any) w.services = GroupServices(r.services.atoms, f);
    // A negated list with nothing of this family excludes nothing.
    if (w.services_negated && w.services.empty()) w.services_negated = false;
    out.push_back(std::move(w));
  }
}


namespace {

// Where a rule's traffic can be, as Firewall Builder decides it: to the
// firewall (input), from it (output), through it (forward).
struct Placement {
  bool input = false, forward = false, output = false;
};

IntervalSet SlotSet(const ir::AddrMatch& a, Family f) {
  // A runtime set may hold any address, the firewall's included.
  if (!a.present || a.runtime) return IntervalSet::Range(0, FamilyMax(f));
  return a.negated ? a.set.Complement(FamilyMax(f)) : a.set;
}

Placement Place(const Model& m, const ir::Match& r, Family f, const NatView& nat) {
  IntervalSet src = SlotSet(r.src, f), dst = SlotSet(r.dst, f);
  const IntervalSet& own = m.firewall_addresses.of(f);
  const IntervalSet& local = m.local_destinations.of(f);
  // With "any includes firewall" off, an open slot (any or a negation)
  // means "anything but the firewall".
  bool src_open = !r.src.present || r.src.negated;
  bool dst_open = !r.dst.present || r.dst.negated;
  // A firewall with no address of this family declared (none, or only
  // dynamic ones) may send from any: an open source includes it.
  bool from_fw = (src_open && !m.any_includes_firewall) ? false : src.Intersects(own) || (src_open && own.empty());
  bool to_fw = (dst_open && !m.any_includes_firewall) ? false : dst.Intersects(local);
  bool src_only_fw = !src_open && own.Contains(src);
  bool dst_only_fw = !dst_open && own.Contains(dst);
  bool dst_only_local = !dst_open && local.Contains(dst);
  // Destination NAT sends what the client addressed to the firewall on
  // (forward), or what it addressed elsewhere to the firewall (input).
  bool dnat = nat.active && dst.Intersects(nat.dnat.of(f));
  bool redirect = nat.active && dst.Intersects(nat.redirect.of(f));
  Placement p;
  p.input = (to_fw || redirect) && !src_only_fw && r.oif.empty();
  p.output = from_fw && !dst_only_fw && r.iif.empty();
  p.forward = !src_only_fw && (!dst_only_local || dnat);
  return p;
}

// The chains a rule's traffic can reach, over the families it has.
Placement PlaceRule(const Model& m, const ir::Match& r, const NatView& nat = {}) {
  Placement p;
  for (Family f : {Family::kV4, Family::kV6}) {
    if (r.family == ir::RuleFamily::kV4 && f != Family::kV4) continue;
    if (r.family == ir::RuleFamily::kV6 && f != Family::kV6) continue;
    Placement q = Place(m, r, f, nat);
    p.input |= q.input;
    p.forward |= q.forward;
    p.output |= q.output;
  }
  return p;
}

size_t ChainCount(const Placement& p) { return size_t{p.input} + size_t{p.forward} + size_t{p.output}; }

}  // namespace

NatView BuildNatView(const Model& m, const std::set<std::string>& defines) {
  NatView v;
  for (const PolicyRule* r : SelectActive(m.nat_rules, defines)) {
    if (!r->translation->destination()) continue;
    v.active = true;
    const Translation& t = *r->translation;
    AddressSet& to = t.kind == Translation::Kind::kDnat ? v.dnat : v.redirect;
    for (Family f : {Family::kV4, Family::kV6}) {
      if (!r->dst.Allows(f) || !TranslatesIn(*r, f)) continue;
      ir::AddrMatch a = ToAddrMatch(r->dst, f);
      IntervalSet original = SlotSet(a, f);
      to.of(f).AddAll(original);
      v.touched.of(f).AddAll(original);
      if (t.kind == Translation::Kind::kDnat) v.touched.of(f).Add(t.to(f)->lo, t.to(f)->hi);
      else v.touched.of(f).AddAll(m.local_destinations.of(f));  // redirected to the firewall
    }
    bool ports = !r->services.any && !r->services.negated;
    for (const auto& atom : r->services.atoms) ports &= atom.proto == kProtoTcp || atom.proto == kProtoUdp;
    v.ports_only &= ports;
  }
  return v;
}

namespace {

// Whether a filter rule must match conntrack's original destination: it
// may meet a translated connection (see NatView::touched).
bool NeedsOriginal(const PlacedRule& w, const NatView& nat) {
  if (!nat.active) return false;
  if (nat.ports_only) {
    bool port_services = w.rule.has_service ? (w.rule.service.proto == kProtoTcp || w.rule.service.proto == kProtoUdp)
                                            : w.services.empty() || w.services_negated;
    for (const auto& s : w.services) port_services |= s.proto == kProtoTcp || s.proto == kProtoUdp;
    if (!port_services) return false;  // ICMP and the like are never translated
  }
  for (Family f : {Family::kV4, Family::kV6}) {
    if (w.rule.family == ir::RuleFamily::kV4 && f != Family::kV4) continue;
    if (w.rule.family == ir::RuleFamily::kV6 && f != Family::kV6) continue;
    if (SlotSet(w.rule.dst, f).Intersects(nat.touched.of(f))) return true;
  }
  return false;
}

}  // namespace

// The last copy is the rule itself.
void PlaceInChains(const Model& m, PlacedRule w, std::vector<PlacedRule>& out, const NatView& nat) {
  Placement p = PlaceRule(m, w.rule, nat);
  size_t left = ChainCount(p);
  for (auto [on, hook] : {std::pair{p.input, ir::Hook::kInput}, {p.forward, ir::Hook::kForward},
                          {p.output, ir::Hook::kOutput}}) {
    if (!on) continue;
    PlacedRule c = --left == 0 ? std::move(w) : w;
    c.hook = hook;
    // Translated traffic arrives in input or forward with its new
    // destination: the rules there match the one the client addressed.
    if (hook != ir::Hook::kOutput && NeedsOriginal(c, nat)) {
      c.rule.original_dst = true;
      // When only TCP and UDP are translated, a rule of every protocol
      // matches the others by their own destination: conntrack does not
      // track some of them (MLD, ICMPv6 redirects), and such a packet has
      // no original destination to match.
      if (nat.ports_only && !c.rule.has_service && c.services.empty() && !c.services_negated) {
        ir::ServiceMatch tcp, udp;
        tcp.proto = kProtoTcp;
        udp.proto = kProtoUdp;
        PlacedRule others = c;
        others.rule.original_dst = false;
        others.services = {tcp, udp};
        others.services_negated = true;
        if (hook == ir::Hook::kInput && others.dst_is_firewall) others.rule.dst = {};
        c.services = {tcp, udp};
        out.push_back(std::move(others));
      }
    }
    // (Not when it matches the original destination: a redirect brings
    // traffic for other hosts to input, which "to fw" must not accept.)
    if (hook == ir::Hook::kInput && c.dst_is_firewall && !c.rule.original_dst) c.rule.dst = {};
    // Matching the original destination, "to fw" in input is still every
    // destination the kernel delivers locally (its broadcasts and
    // multicast too), as it is without NAT, where input implies it.
    if (hook == ir::Hook::kInput && c.dst_is_firewall && c.rule.original_dst && c.rule.dst.present &&
        !c.rule.dst.negated && c.rule.family != ir::RuleFamily::kAny) {
      c.rule.dst.set = m.local_destinations.of(c.rule.family == ir::RuleFamily::kV4 ? Family::kV4 : Family::kV6);
      c.rule.dst.set_name.clear();
    }
    if (hook == ir::Hook::kOutput && c.src_is_firewall) c.rule.src = {};
    out.push_back(std::move(c));
  }
}

void PlaceSectionRule(PlacedRule w, std::vector<PlacedRule>& out) {
  using K = Translation::Kind;
  const Translation& t = *w.origin->translation;
  bool dnat = false, snat = false;
  switch (t.kind) {
    case K::kMark:
    case K::kConnmark: w.hook = ir::Hook::kMarks; out.push_back(std::move(w)); return;
    case K::kDnat:
    case K::kRedirect: dnat = true; break;
    case K::kSnat:
    case K::kMasquerade: snat = true; break;
    case K::kNoNat:
      dnat = w.rule.oif.empty();
      snat = w.rule.iif.empty();
      break;
  }
  if (dnat && snat) {
    PlacedRule c = w;
    c.hook = ir::Hook::kDnat;
    out.push_back(std::move(c));
  } else if (dnat) {
    w.hook = ir::Hook::kDnat;
  }
  if (snat) w.hook = ir::Hook::kSnat;
  out.push_back(std::move(w));
}

void SplitServices(PlacedRule w, std::vector<PlacedRule>& out) {
  if (w.services_negated || w.services.empty()) {
    out.push_back(std::move(w));
    return;
  }
  std::vector<ir::ServiceMatch> services = std::move(w.services);
  w.services.clear();
  for (size_t i = 0; i < services.size(); ++i) {
    PlacedRule c = i + 1 == services.size() ? std::move(w) : w;
    c.rule.has_service = true;
    c.rule.service = std::move(services[i]);
    out.push_back(std::move(c));
  }
}


namespace {

// How many rules SplitServices makes of a rule of r in family f (nullopt:
// both): one per service match, or one when no positive services are left
// to split.
size_t ServiceRules(const PolicyRule& r, std::optional<Family> f) {
  // One atom makes at most one match: no grouping needed to count.
  if (r.services.any || r.services.negated || r.services.atoms.size() == 1) return 1;
  return std::max<size_t>(1, GroupServices(r.services.atoms, f).size());
}

// How many rules PlaceRules makes of r, counted without making them: the
// chains of each of its family rules times their service matches.
size_t PlacedRules(const Model& m, const PolicyRule& r, const NatView& nat) {
  ir::Match probe;  // what placement looks at
  probe.iif = r.iif;
  probe.oif = r.oif;
  if (ForBothFamilies(r)) return ChainCount(PlaceRule(m, probe, nat)) * ServiceRules(r, std::nullopt);
  size_t n = 0;
  for (Family f : {Family::kV4, Family::kV6}) {
    if (!InFamily(r, f)) continue;
    probe.family = ToRuleFamily(f);
    probe.src = ToAddrMatch(r.src, f);
    probe.dst = ToAddrMatch(r.dst, f);
    n += ChainCount(PlaceRule(m, probe, nat)) * ServiceRules(r, f);
  }
  return n;
}

}  // namespace

std::vector<PlacedRule> PlaceRules(const Model& m, const std::set<std::string>& defines, Diagnostics& diags) {
  // The passes run one policy rule at a time, straight into a vector counted
  // beforehand: at 100,000 rules the placed rules take 70 MB, and whole
  // vectors handed from pass to pass held two such at once.
  auto active = SelectActiveRules(m, defines);
  NatView nat = BuildNatView(m, defines);
  size_t size = 0;
  for (const PolicyRule* r : active) size += PlacedRules(m, *r, nat);
  std::vector<PlacedRule> placed;
  placed.reserve(size);
  std::vector<PlacedRule> family, chained;  // one rule's, reused
  for (const PolicyRule* r : active) {
    family.clear();
    SplitByFamily(*r, family);
    chained.clear();
    for (auto& w : family) PlaceInChains(m, std::move(w), chained, nat);
    // A rule that lands in no chain can never match; say so.
    if (chained.empty())
      diags.Warning("never-matches", r->loc,
                    "this rule matches no traffic to, from or through the firewall",
                    "check its interfaces and addresses: e.g. 'out' cannot match traffic to the firewall itself");
    for (auto& w : chained) SplitServices(std::move(w), placed);
  }
  return placed;
}

std::vector<PlacedRule> PlaceSectionRules(const Model& m, const std::set<std::string>& defines) {
  std::vector<PlacedRule> placed, family, hooked;
  for (const auto* section : {&m.mark_rules, &m.nat_rules})
    for (const PolicyRule* r : SelectActive(*section, defines)) {
      family.clear();
      SplitByFamily(*r, family);
      hooked.clear();
      for (auto& w : family) PlaceSectionRule(std::move(w), hooked);
      for (auto& w : hooked) SplitServices(std::move(w), placed);
    }
  return placed;
}

std::string DumpPlaced(const std::vector<PlacedRule>& placed, const SourceManager& sources) {
  std::ostringstream o;
  for (const auto& w : placed) {
    o << ir::HookName(w.hook) << " " << ir::DumpMatch(w.rule);
    if (!w.services.empty()) {
      o << (w.services_negated ? " not {" : " {");
      for (size_t i = 0; i < w.services.size(); ++i) o << (i ? "; " : "") << ir::DumpService(w.services[i]);
      o << "}";
    }
    if (w.origin)
      o << "   # " << sources.display_name(w.origin->loc.file) << ":" << w.origin->loc.line << " "
        << (w.origin->translation ? TranslationName(w.origin->translation->kind) : ast::ActionName(w.origin->action));
    o << "\n";
  }
  return o.str();
}

}  // namespace fwc
