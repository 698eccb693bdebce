#include "compiler/analysis/rule_space.h"

#include "compiler/protocols.h"

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

IntervalSet Addresses(const ir::AddrMatch& a, U128 max) {
  if (!a.present) return IntervalSet::Range(0, max);
  return a.negated ? a.set.Complement(max) : a.set;
}

IntervalSet PortsOrAll(const IntervalSet& s) { return s.empty() ? IntervalSet::Range(0, 65535) : s; }

// The service fields of one match, with every other field full.
Cube ServiceCube(const ir::ServiceMatch& s, const FieldLimits& lim) {
  Cube c = Cube::Full(lim);
  c.f[kProto] = IntervalSet::Range(s.proto, s.proto);
  if (s.proto == kProtoTcp || s.proto == kProtoUdp) {
    c.f[kSport] = PortsOrAll(s.sports);
    c.f[kDport] = PortsOrAll(s.dports);
  } else if ((s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) && !s.icmp_types.empty()) {
    IntervalSet icmp;
    for (int t : s.icmp_types) {
      U128 base = static_cast<U128>(t) << 8;
      if (s.icmp_code >= 0) icmp.Add(base | static_cast<U128>(s.icmp_code), base | static_cast<U128>(s.icmp_code));
      else icmp.Add(base, base | 0xff);
    }
    c.f[kIcmp] = icmp;
  }
  return c;
}

}  // namespace

std::vector<Cube> RuleCubes(const WorkRule& w, const FieldLimits& lim, InterfaceIds& ifaces) {
  Cube base = Cube::Full(lim);
  if (!w.rule.iif.empty()) base.f[kIif] = IntervalSet::Range(ifaces.Id(w.rule.iif), ifaces.Id(w.rule.iif));
  if (!w.rule.oif.empty()) base.f[kOif] = IntervalSet::Range(ifaces.Id(w.rule.oif), ifaces.Id(w.rule.oif));
  base.f[kSrc] = Addresses(w.rule.src, lim.max[kSrc]);
  base.f[kDst] = Addresses(w.rule.dst, lim.max[kDst]);
  std::vector<Cube> out;
  if (w.services_negated && !w.services.empty()) {
    // Everything but the listed services.
    std::vector<Cube> rest{base};
    for (const auto& s : w.services) SubtractAll(rest, ServiceCube(s, lim));
    for (auto& c : rest)
      if (!c.Empty()) out.push_back(std::move(c));
    return out;
  }
  if (w.rule.has_service) base = base.Intersect(ServiceCube(w.rule.service, lim));
  if (!base.Empty()) out.push_back(std::move(base));
  return out;
}

std::vector<RuleList> BuildRuleLists(const Model& m, const std::vector<WorkRule>& placed, InterfaceIds& ifaces) {
  // Ids first, so every list's limits know the final count.
  for (const auto& i : m.interfaces) ifaces.Id(i.device);
  for (const auto& w : placed) {
    if (!w.rule.iif.empty()) ifaces.Id(w.rule.iif);
    if (!w.rule.oif.empty()) ifaces.Id(w.rule.oif);
  }
  std::vector<RuleList> lists;
  for (const char* chain : {"input", "forward", "output"})
    for (Family f : {Family::kV4, Family::kV6}) {
      RuleList l;
      l.chain = chain;
      l.family = f;
      l.limits = FieldLimits::For(f, ifaces.count());
      l.default_action = m.default_action;
      std::vector<U128> own;
      for (const auto& iv : m.firewall_addresses.of(f).intervals()) own.push_back(iv.lo);
      if (l.chain == "input") l.hints.dst = own;
      if (l.chain == "output") l.hints.src = own;
      for (const auto& w : placed) {
        if (w.chain != chain || !w.origin) continue;
        if (w.rule.family == ir::RuleFamily::kV4 && f != Family::kV4) continue;
        if (w.rule.family == ir::RuleFamily::kV6 && f != Family::kV6) continue;
        Unit u;
        u.origin = w.origin;
        u.action = w.origin->action;
        u.cubes = RuleCubes(w, l.limits, ifaces);
        u.hull = HullOf(u.cubes);
        l.units.push_back(std::move(u));
      }
      lists.push_back(std::move(l));
    }
  return lists;
}

namespace {

std::string ProtoText(U128 proto) {
  std::string n = ProtocolName(static_cast<int>(proto));
  return n.empty() ? "proto " + std::to_string(static_cast<unsigned>(proto)) : n;
}

std::string Ports(const IntervalSet& s) {
  std::string out;
  for (const auto& iv : s.intervals()) {
    if (!out.empty()) out += ",";
    out += std::to_string(static_cast<unsigned>(iv.lo));
    if (iv.hi != iv.lo) out += "-" + std::to_string(static_cast<unsigned>(iv.hi));
  }
  return s.intervals().size() > 1 ? "{" + out + "}" : out;
}

std::string Addresses(const IntervalSet& s, Family f) {
  std::string out;
  for (const auto& iv : s.intervals()) out += (out.empty() ? "" : ", ") + FormatInterval(f, iv);
  return s.intervals().size() > 1 ? "{ " + out + " }" : out;
}

std::string Ifaces(const IntervalSet& s, const InterfaceIds& ifaces) {
  std::string out;
  for (const auto& iv : s.intervals())
    for (U128 v = iv.lo; v <= iv.hi; ++v)
      out += (out.empty() ? "" : ",") + (v == 0 ? std::string("<other>") : ifaces.Name(static_cast<int>(v)));
  return out;
}

bool Full(const IntervalSet& s, U128 max) { return s.IsFull(max); }

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
  const IntervalSet& proto = c.f[kProto];
  if (Full(proto, 255)) {
    out = f == Family::kV4 ? "ipv4" : "ipv6";
  } else {
    std::string list;
    for (const auto& iv : proto.intervals())
      for (U128 v = iv.lo; v <= iv.hi && list.size() < 80; ++v) list += (list.empty() ? "" : ",") + ProtoText(v);
    out = proto.intervals().size() == 1 && proto.intervals()[0].lo == proto.intervals()[0].hi ? list : "{" + list + "}";
  }
  out += " from " + (Full(c.f[kSrc], lim.max[kSrc]) ? std::string("any") : Addresses(c.f[kSrc], f));
  out += " to " + (Full(c.f[kDst], lim.max[kDst]) ? std::string("any") : Addresses(c.f[kDst], f));
  if (!Full(c.f[kSport], 65535)) out += " sport " + Ports(c.f[kSport]);
  if (!Full(c.f[kDport], 65535)) out += " dport " + Ports(c.f[kDport]);
  if (!Full(c.f[kIcmp], 65535)) {
    std::string types;
    for (const auto& iv : c.f[kIcmp].intervals()) {
      int t = static_cast<int>(iv.lo >> 8);
      std::string name = IcmpTypeName(f, t);
      types += (types.empty() ? "" : ",") + (name.empty() ? std::to_string(t) : name);
      if ((iv.lo & 0xff) != 0 || (iv.hi & 0xff) != 0xff) types += "/code " + std::to_string(static_cast<unsigned>(iv.lo & 0xff));
    }
    out += " type " + types;
  }
  if (!Full(c.f[kIif], lim.max[kIif])) out += " in " + Ifaces(c.f[kIif], ifaces);
  if (!Full(c.f[kOif], lim.max[kOif])) out += " out " + Ifaces(c.f[kOif], ifaces);
  return out;
}

}  // namespace fwc::analysis
