#include "backends/nft/nft_backend.h"

#include <sstream>

#include "backends/nft/set_merge.h"

#include "compiler/base/protocols.h"

namespace fwc {
namespace {

// "x" or "{ x, y }": nft wants braces only around several elements.
std::string Braced(const std::vector<std::string>& items) {
  if (items.size() == 1) return items[0];
  std::string out = "{ ";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + " }";
}

std::vector<std::string> Elements(const IntervalSet& s, Family f) {
  std::vector<std::string> out;
  for (const auto& iv : s.intervals()) out.push_back(FormatInterval(f, iv));
  return out;
}

std::vector<std::string> PortElements(const IntervalSet& s) {
  std::vector<std::string> out;
  for (const auto& iv : s.intervals()) {
    std::string p = std::to_string(static_cast<unsigned>(iv.lo));
    if (iv.hi != iv.lo) p += "-" + std::to_string(static_cast<unsigned>(iv.hi));
    out.push_back(p);
  }
  return out;
}

std::string Quote(const std::string& s, size_t max_bytes = SIZE_MAX) {
  return "\"" + NftBackend::Text(s, max_bytes) + "\"";
}

void Address(std::string& out, const char* dir, const ir::AddrMatch& a, Family f) {
  if (!a.present) return;
  out += f == Family::kV4 ? "ip " : "ip6 ";
  out += dir;
  out += a.negated ? " != " : " ";
  out += a.set_name.empty() ? Braced(Elements(a.set, f)) : "@" + a.set_name;
  out += " ";
}

using nft::Dim;

bool Keyed(unsigned keyed, Dim d) { return (keyed >> static_cast<int>(d)) & 1; }

Family FamilyOf(const ir::Rule& r) { return r.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4; }

// Whether the service match already confines the rule to one family.
bool ServiceImpliesFamily(const ir::Rule& r, unsigned keyed) {
  return r.has_service && !Keyed(keyed, Dim::kProto) &&
         (r.service.proto == kProtoIcmp || r.service.proto == kProtoIcmpv6);
}

const char* PortProto(const ir::ServiceMatch& s, unsigned keyed) {
  if (Keyed(keyed, Dim::kProto)) return "th";
  return s.proto == kProtoTcp ? "tcp" : "udp";
}

std::string ProtoValue(int proto) {
  switch (proto) {
    case kProtoTcp: return "tcp";
    case kProtoUdp: return "udp";
    case kProtoIcmp: return "icmp";
    case kProtoIcmpv6: return "ipv6-icmp";
  }
  return std::to_string(proto);
}

std::string IcmpType(Family f, int t) {
  std::string name = IcmpTypeName(f, t);
  return name.empty() ? std::to_string(t) : name;
}

// The protocol match, without the dimensions a merged rule keys on.
void Service(std::string& out, const ir::ServiceMatch& s, unsigned keyed) {
  if ((s.proto == kProtoTcp || s.proto == kProtoUdp) && (!s.sports.empty() || !s.dports.empty())) {
    std::string p = PortProto(s, keyed);
    bool any = Keyed(keyed, Dim::kProto) || Keyed(keyed, Dim::kSport) || Keyed(keyed, Dim::kDport);
    if (!s.sports.empty() && !Keyed(keyed, Dim::kSport)) {
      out += p + " sport " + Braced(PortElements(s.sports)) + " ";
      any = true;
    }
    if (!s.dports.empty() && !Keyed(keyed, Dim::kDport)) {
      out += p + " dport " + Braced(PortElements(s.dports)) + " ";
      any = true;
    }
    if (!any) out += "meta l4proto " + p + " ";
    return;
  }
  if ((s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) && !s.icmp_types.empty()) {
    Family f = s.proto == kProtoIcmp ? Family::kV4 : Family::kV6;
    const char* kw = f == Family::kV4 ? "icmp" : "icmpv6";
    if (!Keyed(keyed, Dim::kIcmpType)) {
      std::vector<std::string> types;
      for (int t : s.icmp_types) types.push_back(IcmpType(f, t));
      out += std::string(kw) + " type " + Braced(types) + " ";
    }
    if (s.icmp_code >= 0 && !Keyed(keyed, Dim::kIcmpCode))
      out += std::string(kw) + " code " + std::to_string(s.icmp_code) + " ";
    return;
  }
  if (!Keyed(keyed, Dim::kProto)) out += "meta l4proto " + ProtoValue(s.proto) + " ";
}

std::string Verdict(const ir::Rule& r) {
  switch (r.verdict) {
    case ir::Verdict::kContinue: return "";
    case ir::Verdict::kAccept: return "accept";
    case ir::Verdict::kDrop: return "drop";
    case ir::Verdict::kRejectTcpReset: return "reject with tcp reset";
    case ir::Verdict::kRejectIcmp:
      return r.family == ir::RuleFamily::kV4   ? "reject with icmp type port-unreachable"
             : r.family == ir::RuleFamily::kV6 ? "reject with icmpv6 type port-unreachable"
                                               : "reject with icmpx type port-unreachable";
    case ir::Verdict::kJump: return "jump " + r.target;
    case ir::Verdict::kReturn: return "return";
  }
  return "";
}

// Everything a rule matches, except the dimensions a merged rule keys on;
// the lookup of those goes where its first dimension would be.
std::string Matches(const ir::Rule& r, unsigned keyed = 0, const std::string& lookup = "",
                    Dim lookup_at = Dim::kIif) {
  std::string out;
  Family f = FamilyOf(r);
  bool addresses = r.src.present || r.dst.present || Keyed(keyed, Dim::kSrc) || Keyed(keyed, Dim::kDst);
  if (r.family != ir::RuleFamily::kAny && !addresses && !ServiceImpliesFamily(r, keyed))
    out += f == Family::kV4 ? "meta nfproto ipv4 " : "meta nfproto ipv6 ";
  auto at = [&](Dim d) {
    if (!lookup.empty() && d == lookup_at) out += lookup + " ";
  };
  at(Dim::kIif);
  if (!r.iif.empty() && !Keyed(keyed, Dim::kIif)) out += "iifname " + Quote(r.iif) + " ";
  at(Dim::kOif);
  if (!r.oif.empty() && !Keyed(keyed, Dim::kOif)) out += "oifname " + Quote(r.oif) + " ";
  at(Dim::kSrc);
  if (!Keyed(keyed, Dim::kSrc)) Address(out, "saddr", r.src, f);
  at(Dim::kDst);
  if (!Keyed(keyed, Dim::kDst)) Address(out, "daddr", r.dst, f);
  for (Dim d : {Dim::kProto, Dim::kSport, Dim::kDport, Dim::kIcmpType, Dim::kIcmpCode}) at(d);
  if (r.has_service) Service(out, r.service, keyed);
  return out;
}

std::string Ct(const ir::Rule& r) {
  if (r.ct == ir::CtState::kEstablishedRelated) return "ct state established,related ";
  if (r.ct == ir::CtState::kInvalid) return "ct state invalid ";
  return "";
}

// What follows the matches: log, counter, verdict.
std::string Statements(const ir::Rule& r, bool counter) {
  std::string out;
  if (r.log.enabled && r.log.rate) out += "limit rate " + std::to_string(r.log.rate) + "/" + r.log.rate_unit + " ";
  if (counter) out += "counter ";
  if (r.log.enabled) out += r.log.prefix.empty() ? "log " : "log prefix " + Quote(r.log.prefix) + " ";
  std::string v = Verdict(r);
  if (!v.empty()) out += v + " ";
  return out;
}

std::string CommentOf(const ir::Rule& r) {
  return "comment " + Quote(r.comment, NftBackend::kMaxComment);
}

std::string Rule(const ir::Rule& r) { return Matches(r) + Ct(r) + Statements(r, r.counter) + CommentOf(r); }

// --- merged rules ---------------------------------------------------------

unsigned KeyMask(const nft::MergedRule& m) {
  unsigned mask = 0;
  for (Dim d : m.key) mask |= 1u << static_cast<int>(d);
  return mask;
}

std::string KeyExpr(const nft::MergedRule& m) {
  const ir::Rule& r = m.base;
  unsigned keyed = KeyMask(m);
  const char* ip = FamilyOf(r) == Family::kV4 ? "ip" : "ip6";
  const char* icmp = r.service.proto == kProtoIcmp ? "icmp" : "icmpv6";
  std::string out;
  for (Dim d : m.key) {
    if (!out.empty()) out += " . ";
    switch (d) {
      case Dim::kIif: out += "iifname"; break;
      case Dim::kOif: out += "oifname"; break;
      case Dim::kSrc: out += std::string(ip) + " saddr"; break;
      case Dim::kDst: out += std::string(ip) + " daddr"; break;
      case Dim::kProto: out += "meta l4proto"; break;
      case Dim::kSport: out += std::string(PortProto(r.service, keyed)) + " sport"; break;
      case Dim::kDport: out += std::string(PortProto(r.service, keyed)) + " dport"; break;
      case Dim::kIcmpType: out += std::string(icmp) + " type"; break;
      case Dim::kIcmpCode: out += std::string(icmp) + " code"; break;
    }
  }
  return out;
}

// The nft type of a named set's key.
std::string KeyType(const nft::MergedRule& m) {
  const ir::Rule& r = m.base;
  bool v4 = FamilyOf(r) == Family::kV4;
  bool icmp = r.service.proto == kProtoIcmp;
  std::string out;
  for (Dim d : m.key) {
    if (!out.empty()) out += " . ";
    switch (d) {
      case Dim::kIif:
      case Dim::kOif: out += "ifname"; break;
      case Dim::kSrc:
      case Dim::kDst: out += v4 ? "ipv4_addr" : "ipv6_addr"; break;
      case Dim::kProto: out += "inet_proto"; break;
      case Dim::kSport:
      case Dim::kDport: out += "inet_service"; break;
      case Dim::kIcmpType: out += icmp ? "icmp_type" : "icmpv6_type"; break;
      case Dim::kIcmpCode: out += icmp ? "icmp_code" : "icmpv6_code"; break;
    }
  }
  return out;
}

std::string Value(const nft::MergedRuleset& ms, const ir::Rule& r, Dim d, const Interval& iv) {
  switch (d) {
    case Dim::kIif:
    case Dim::kOif: return Quote(ms.ifnames[static_cast<size_t>(iv.lo)]);
    case Dim::kSrc:
    case Dim::kDst: return FormatInterval(FamilyOf(r), iv);
    case Dim::kProto: return ProtoValue(static_cast<int>(iv.lo));
    case Dim::kSport:
    case Dim::kDport: {
      std::string p = std::to_string(static_cast<unsigned>(iv.lo));
      if (iv.hi != iv.lo) p += "-" + std::to_string(static_cast<unsigned>(iv.hi));
      return p;
    }
    case Dim::kIcmpType:
      return IcmpType(r.service.proto == kProtoIcmp ? Family::kV4 : Family::kV6, static_cast<int>(iv.lo));
    case Dim::kIcmpCode: return std::to_string(static_cast<unsigned>(iv.lo));
  }
  return "";
}

std::string MapVerdict(const nft::Action& a) {
  if (!a.chain.empty()) return (a.go_to ? "goto " : "jump ") + a.chain;
  ir::Rule r;
  r.verdict = a.verdict;
  r.target = a.target;
  return Verdict(r);
}

// One element: "10.0.0.1 . 80", with " counter" (inline sets) and
// " : verdict" (maps).
void AppendElement(std::string& out, const nft::MergedRuleset& ms, const nft::MergedRule& m, size_t i) {
  const nft::Element& e = m.elements[i];
  for (size_t j = 0; j < m.key.size(); ++j) {
    if (j) out += " . ";
    out += Value(ms, m.base, m.key[j], e.key[j]);
  }
  if (e.counter && m.name.empty()) out += " counter";
  if (m.is_map()) out += " : " + MapVerdict(m.actions[e.action]);
}

std::string MergedRuleText(const nft::MergedRuleset& ms, const nft::MergedRule& m) {
  if (m.key.empty()) return Rule(m.base);
  std::string lookup = KeyExpr(m) + (m.is_map() ? " vmap " : " ");
  if (!m.name.empty()) {
    lookup += "@" + m.name;
  } else {
    lookup += "{ ";
    for (size_t i = 0; i < m.elements.size(); ++i) {
      if (i) lookup += ", ";
      AppendElement(lookup, ms, m, i);
    }
    lookup += " }";
  }
  std::string out;
  if (m.is_map()) {
    // A verdict map decides: everything else comes before it.
    out = Matches(m.base, KeyMask(m)) + Ct(m.base) + lookup + " ";
  } else {
    out = Matches(m.base, KeyMask(m), lookup, m.key.front()) + Ct(m.base);
  }
  if (!m.is_map()) out += Statements(m.WithSingleAction(), false);
  return out + CommentOf(m.base);
}

void NamedSet(std::ostringstream& o, const nft::MergedRuleset& ms, const nft::MergedRule& m) {
  o << "\t" << (m.is_map() ? "map " : "set ") << m.name << " {\n"
    << "\t\ttype " << KeyType(m) << (m.is_map() ? " : verdict" : "") << "\n";
  if (m.interval) o << "\t\tflags interval\n";
  if (m.counters) o << "\t\tcounter\n";
  o << "\t\telements = {\n";
  std::string line;
  for (size_t i = 0; i < m.elements.size(); ++i) {
    line.assign("\t\t\t");
    AppendElement(line, ms, m, i);
    if (i + 1 < m.elements.size()) line += ",";
    line += "\n";
    o << line;
  }
  o << "\t\t}\n\t}\n\n";
}


}  // namespace

std::string NftBackend::Emit(const ir::Ruleset& rs) const {
  nft::MergeOptions options;
  options.enabled = merge_sets_;
  return Emit(nft::MergeSets(rs, options));
}

std::string NftBackend::Emit(const nft::MergedRuleset& ms) {
  const ir::Ruleset& rs = *ms.ir;
  std::ostringstream o;
  o << "#!/usr/sbin/nft -f\n"
    << "# Generated by fwc from " << Text(rs.source) << " (policy " << Text(rs.policy_name) << ").\n"
    << "# Do not edit: change the policy and compile again.\n"
    << "# Loading it replaces table inet fwc in one transaction; no other table is touched.\n\n"
    << "table inet fwc {\n}\n"
    << "delete table inet fwc\n\n"
    << "table inet fwc {\n";
  for (const auto& s : rs.sets) {
    o << "\tset " << s.name << " {\n"
      << "\t\ttype " << (s.family == Family::kV4 ? "ipv4_addr" : "ipv6_addr") << "\n"
      << "\t\tflags interval\n";
    if (s.runtime) {
      // Loading this file empties it; `fwc apply` keeps its elements.
      o << "\t\tcomment " << Quote(kRuntimeSetComment) << "\n\t}\n\n";
      continue;
    }
    o << "\t\telements = { ";
    auto els = Elements(s.elements, s.family);
    for (size_t i = 0; i < els.size(); ++i) o << (i ? ", " : "") << els[i];
    o << " }\n\t}\n\n";
  }
  for (const auto& c : ms.chains)
    for (const auto& m : c.rules)
      if (!m.name.empty()) NamedSet(o, ms, m);
  // Regular chains, then the chains of verdict-map actions, then the base
  // chains.
  std::vector<const nft::MergedChain*> chains;
  for (const auto& c : ms.chains)
    if (c.hook == ir::Hook::kNone) chains.push_back(&c);
  for (const auto& c : ms.action_chains) chains.push_back(&c);
  for (const auto& c : ms.chains)
    if (c.hook != ir::Hook::kNone) chains.push_back(&c);
  for (size_t i = 0; i < chains.size(); ++i) {
    const auto& c = *chains[i];
    o << "\tchain " << c.name << " {\n";
    if (c.hook != ir::Hook::kNone)
      o << "\t\ttype filter hook " << ir::HookName(c.hook) << " priority filter; policy "
        << (c.policy == ir::Verdict::kAccept ? "accept" : "drop") << ";\n";
    for (const auto& r : c.rules) o << "\t\t" << MergedRuleText(ms, r) << "\n";
    o << "\t}\n" << (i + 1 < chains.size() ? "\n" : "");
  }
  o << "}\n";
  return o.str();
}

}  // namespace fwc
