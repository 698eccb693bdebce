#include "compiler/analysis/rule_space.h"

#include <algorithm>

#include "compiler/base/protocols.h"

namespace fwc::analysis {

int InterfaceIds::Id(const std::string& name) {
  auto [it, fresh] = ids_.emplace(name, static_cast<int>(names_.size()) + 1);
  if (fresh) names_.push_back(name);
  return it->second;
}

int InterfaceIds::Find(const std::string& name) const {
  auto it = ids_.find(name);
  return it == ids_.end() ? 0 : it->second;
}

namespace {

IntervalSet PortsOrAll(const IntervalSet& s) { return s.empty() ? IntervalSet::Range(0, 65535) : s; }

using Fields = std::array<IntervalSet, kFieldCount>;

Fields FullFields(const FieldLimits& lim) {
  Fields f;
  for (int i = 0; i < kFieldCount; ++i) f[i] = IntervalSet::Range(0, lim.max[i]);
  return f;
}

// The service fields of one match, every other field full.
Fields ServiceFields(const ir::ServiceMatch& s, const FieldLimits& lim) {
  Fields f = FullFields(lim);
  f[kProto] = IntervalSet::Range(s.proto, s.proto);
  if (s.proto == kProtoTcp || s.proto == kProtoUdp) {
    f[kSport] = PortsOrAll(s.sports);
    f[kDport] = PortsOrAll(s.dports);
  } else if ((s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) && !s.icmp_types.empty()) {
    IntervalSet icmp;
    for (int t : s.icmp_types) {
      U128 base = static_cast<U128>(t) << 8;
      if (s.icmp_code >= 0) icmp.Add(base | static_cast<U128>(s.icmp_code), base | static_cast<U128>(s.icmp_code));
      else icmp.Add(base, base | 0xff);
    }
    f[kIcmp] = icmp;
  }
  return f;
}

}  // namespace

namespace {

// The cubes of w's interfaces and addresses times `service` (every
// protocol and port when null). The address fields and the service fields
// are disjoint, so this is the product of one interval list per field.
// Most fields are one interval, taken as is: at 100k rules, building an
// interval set per field was most of the time spent here.
std::vector<Cube> MatchCubes(const PlacedRule& w, const ir::ServiceMatch* service, const FieldLimits& lim,
                             InterfaceIds& ifaces) {
  std::vector<Cube> out;
  Cube one = Cube::Full(lim);
  std::array<const std::vector<Interval>*, kFieldCount> many{};  // fields of several intervals
  IntervalSet complement[2], icmp;                                 // sets built here, when needed
  if (!w.rule.iif.empty()) one.set_single(kIif, ifaces.Id(w.rule.iif));
  if (!w.rule.oif.empty()) one.set_single(kOif, ifaces.Id(w.rule.oif));
  auto take = [&](Field f, const IntervalSet& set) { many[f] = &set.intervals(); };
  for (auto [f, a] : {std::pair{kSrc, &w.rule.src}, std::pair{kDst, &w.rule.dst}}) {
    if (!a->present || a->runtime) continue;  // a runtime set may hold any address
    if (!a->negated) {
      take(f, a->set);
    } else {
      complement[f == kDst] = a->set.Complement(lim.max[f]);
      take(f, complement[f == kDst]);
    }
  }
  if (service) {
    one.set_single(kProto, service->proto);
    if (service->proto == kProtoTcp || service->proto == kProtoUdp) {
      if (!service->sports.empty()) take(kSport, service->sports);
      if (!service->dports.empty()) take(kDport, service->dports);
    } else if ((service->proto == kProtoIcmp || service->proto == kProtoIcmpv6) && !service->icmp_types.empty()) {
      icmp = ServiceFields(*service, lim)[kIcmp];
      take(kIcmp, icmp);
    }
  }
  std::array<size_t, kFieldCount> idx{};
  for (int f = 0; f < kFieldCount; ++f)
    if (many[f] && many[f]->empty()) return out;
  while (true) {
    Cube c = one;
    for (int f = 0; f < kFieldCount; ++f)
      if (many[f]) c.set(f, (*many[f])[idx[f]]);
    out.push_back(c);
    int f = kFieldCount - 1;
    while (f >= 0 && (!many[f] || ++idx[f] == many[f]->size())) idx[f--] = 0;
    if (f < 0) return out;
  }
}

}  // namespace

std::vector<Cube> RuleCubes(const PlacedRule& w, const FieldLimits& lim, InterfaceIds& ifaces) {
  if (w.services_negated && !w.services.empty()) {
    // Everything but the listed services.
    std::vector<Cube> out = MatchCubes(w, nullptr, lim, ifaces);
    for (const auto& s : w.services) {
      std::vector<Cube> svc;
      AddProduct(ServiceFields(s, lim), svc);
      for (const auto& c : svc) SubtractAll(out, c);
    }
    return out;
  }
  return MatchCubes(w, w.rule.has_service ? &w.rule.service : nullptr, lim, ifaces);
}

std::vector<RuleList> BuildRuleLists(const Model& m, const std::vector<PlacedRule>& placed, InterfaceIds& ifaces) {
  // Ids first, so every list's limits know the final count.
  for (const auto& i : m.interfaces) ifaces.Id(i.device);
  for (const auto& w : placed) {
    if (!w.rule.iif.empty()) ifaces.Id(w.rule.iif);
    if (!w.rule.oif.empty()) ifaces.Id(w.rule.oif);
  }
  std::vector<RuleList> lists;
  for (ir::Hook hook : {ir::Hook::kInput, ir::Hook::kForward, ir::Hook::kOutput})
    for (Family f : {Family::kV4, Family::kV6}) {
      RuleList l;
      l.hook = hook;
      l.family = f;
      l.limits = FieldLimits::For(f, ifaces.count());
      l.default_action = m.default_action;
      std::vector<U128> own;
      for (const auto& iv : m.firewall_addresses.of(f).intervals()) own.push_back(iv.lo);
      if (hook == ir::Hook::kInput) l.hints.dst = own;
      if (hook == ir::Hook::kOutput) l.hints.src = own;
      auto belongs = [&](const PlacedRule& w) {
        return w.hook == hook && w.origin && InFamily(w.rule.family, f);
      };
      // Counted first: growing the list by doubling would, at 100k rules,
      // hold a 50 MB buffer and half of one more at once.
      l.units.reserve(static_cast<size_t>(std::count_if(placed.begin(), placed.end(), belongs)));
      for (const auto& w : placed) {
        if (!belongs(w)) continue;
        Unit u;
        u.origin = w.origin;
        u.action = w.origin->action;
        u.set_cubes(RuleCubes(w, l.limits, ifaces));
        if (w.rule.src.runtime || w.rule.dst.runtime) {
          bool when_empty = (!w.rule.src.runtime || w.rule.src.negated) && (!w.rule.dst.runtime || w.rule.dst.negated);
          l.runtime.push_back({l.units.size(), std::move(u), when_empty, false});
        } else if (w.rule.extras.any()) {
          l.runtime.push_back({l.units.size(), std::move(u), false, true});
        } else {
          l.units.push_back(std::move(u));
        }
      }
      lists.push_back(std::move(l));
    }
  return lists;
}

void AddInterfaces(const std::vector<PlacedRule>& rules, InterfaceIds& ifaces) {
  for (const auto& w : rules) {
    if (!w.rule.iif.empty()) ifaces.Id(w.rule.iif);
    if (!w.rule.oif.empty()) ifaces.Id(w.rule.oif);
  }
}

bool RuntimeCanOverturn(const std::vector<RuleList>& lists, const PolicyRule* rule) {
  for (const auto& l : lists) {
    if (l.runtime.empty()) continue;
    for (size_t i = 0; i < l.units.size(); ++i) {
      if (l.units[i].origin != rule) continue;
      for (const auto& r : l.runtime)
        if (r.before > i && r.unit.action != rule->action && r.unit.hull().Intersects(l.units[i].hull())) return true;
    }
  }
  return false;
}

namespace {

std::string ProtoText(U128 proto) {
  std::string n = ProtocolName(static_cast<int>(proto));
  return n.empty() ? "proto " + std::to_string(static_cast<unsigned>(proto)) : n;
}

std::string Ports(const Interval& iv) {
  std::string out = std::to_string(static_cast<unsigned>(iv.lo));
  if (iv.hi != iv.lo) out += "-" + std::to_string(static_cast<unsigned>(iv.hi));
  return out;
}

std::string Ifaces(const Interval& iv, const InterfaceIds& ifaces) {
  std::string out;
  for (U128 v = iv.lo; v <= iv.hi; ++v)
    out += (out.empty() ? "" : ",") + (v == 0 ? std::string("<other>") : ifaces.Name(static_cast<int>(v)));
  return out;
}

bool Full(const Interval& i, U128 max) { return i.lo == 0 && i.hi == max; }

}  // namespace

std::string FormatPoint(const Point& p, Family f, const InterfaceIds& ifaces) {
  std::string out = ProtoText(p[kProto]) + " ";
  bool ports = p[kProto] == kProtoTcp || p[kProto] == kProtoUdp;
  auto addr = [&](U128 a, U128 port) {
    std::string s = FormatAddress(f, a);
    if (!ports) return s;
    if (f == Family::kV6) s = "[" + s + "]";
    return s + ":" + std::to_string(static_cast<unsigned>(port));
  };
  out += addr(p[kSrc], p[kSport]) + " -> " + addr(p[kDst], p[kDport]);
  if (p[kProto] == kProtoIcmp || p[kProto] == kProtoIcmpv6) {
    int type = static_cast<int>(p[kIcmp] >> 8), code = static_cast<int>(p[kIcmp] & 0xff);
    std::string name = IcmpTypeName(f, type);
    out += " type " + (name.empty() ? std::to_string(type) : name);
    if (code) out += " code " + std::to_string(code);
  }
  if (p[kIif]) out += " in " + ifaces.Name(static_cast<int>(p[kIif]));
  if (p[kOif]) out += " out " + ifaces.Name(static_cast<int>(p[kOif]));
  return out;
}

std::string DescribeCube(const Cube& c, Family f, const FieldLimits& lim, const InterfaceIds& ifaces) {
  std::string out;
  const Interval& proto = c.field(kProto);
  if (Full(proto, 255)) {
    out = f == Family::kV4 ? "ipv4" : "ipv6";
  } else if (proto.lo == proto.hi) {
    out = ProtoText(proto.lo);
  } else {
    out = "proto " + std::to_string(static_cast<unsigned>(proto.lo)) + "-" + std::to_string(static_cast<unsigned>(proto.hi));
  }
  out += " from " + (Full(c.field(kSrc), lim.max[kSrc]) ? std::string("any") : FormatInterval(f, c.field(kSrc)));
  out += " to " + (Full(c.field(kDst), lim.max[kDst]) ? std::string("any") : FormatInterval(f, c.field(kDst)));
  if (!Full(c.field(kSport), 65535)) out += " sport " + Ports(c.field(kSport));
  if (!Full(c.field(kDport), 65535)) out += " dport " + Ports(c.field(kDport));
  if (!Full(c.field(kIcmp), 65535)) {
    const Interval& iv = c.field(kIcmp);
    int t = static_cast<int>(iv.lo >> 8), t2 = static_cast<int>(iv.hi >> 8);
    std::string name = IcmpTypeName(f, t);
    out += " type " + (name.empty() ? std::to_string(t) : name);
    if (t2 != t) out += "-" + std::to_string(t2);
    else if ((iv.lo & 0xff) != 0 || (iv.hi & 0xff) != 0xff) out += " code " + std::to_string(static_cast<unsigned>(iv.lo & 0xff));
  }
  if (!Full(c.field(kIif), lim.max[kIif])) out += " in " + Ifaces(c.field(kIif), ifaces);
  if (!Full(c.field(kOif), lim.max[kOif])) out += " out " + Ifaces(c.field(kOif), ifaces);
  return out;
}

}  // namespace fwc::analysis
