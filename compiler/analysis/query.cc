#include "compiler/analysis/query.h"

#include <algorithm>
#include <sstream>

#include "compiler/base/protocols.h"

namespace fwc::analysis {
namespace {

// "[2001:db8::1]:80", "10.0.0.1:80", "10.0.0.1", "2001:db8::1".
bool ParseEndpoint(const std::string& s, bool ports, U128* addr, unsigned* port, Family* fam, std::string* error) {
  std::string host = s, p;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) {
      *error = "unbalanced '[' in '" + s + "'";
      return false;
    }
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') {
        *error = "expected ':PORT' after ']' in '" + s + "'";
        return false;
      }
      p = s.substr(close + 2);
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    host = s.substr(0, s.find(':'));
    p = s.substr(s.find(':') + 1);
  }
  auto a = ParseAddress(host, error);
  if (!a) return false;
  if (a->prefix >= 0) {
    *error = "a packet has single addresses, not '" + s + "'";
    return false;
  }
  *addr = a->addr;
  *fam = a->family;
  if (!p.empty()) {
    if (!ports) {
      *error = "only tcp and udp packets have ports";
      return false;
    }
    if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos || std::stoul(p) > 65535) {
      *error = "bad port '" + p + "'";
      return false;
    }
    *port = static_cast<unsigned>(std::stoul(p));
  }
  return true;
}

bool InNetworks(const FirewallInterface& i, Family f, U128 a) {
  return i.networks.of(f).Intersects(IntervalSet::Range(a, a));
}

}  // namespace

std::optional<PacketSpec> ParsePacket(const std::string& text, std::string* error) {
  std::istringstream in(text);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  PacketSpec p;
  size_t arrow = std::find(w.begin(), w.end(), "->") - w.begin();
  if (w.size() < 4 || arrow != 2) {
    *error = "write a packet as 'PROTO SRC[:PORT] -> DST[:PORT] [type T [code C]] [in IFACE] [out IFACE] [chain C] [established]'";
    return std::nullopt;
  }
  const std::string& proto = w[0];
  if (proto == "tcp") p.proto = kProtoTcp;
  else if (proto == "udp") p.proto = kProtoUdp;
  else if (proto == "icmp") p.proto = kProtoIcmp;
  else if (proto == "icmpv6") p.proto = kProtoIcmpv6;
  else if (auto n = ProtocolByName(proto)) p.proto = *n;
  else if (!proto.empty() && proto.size() <= 3 && proto.find_first_not_of("0123456789") == std::string::npos &&
           std::stoi(proto) <= 255)
    p.proto = std::stoi(proto);
  else {
    *error = "unknown protocol '" + proto + "'";
    return std::nullopt;
  }
  bool ports = p.proto == kProtoTcp || p.proto == kProtoUdp;
  Family fs, fd;
  if (!ParseEndpoint(w[1], ports, &p.src, &p.sport, &fs, error)) return std::nullopt;
  unsigned dport = 0;
  if (!ParseEndpoint(w[3], ports, &p.dst, &dport, &fd, error)) return std::nullopt;
  p.dport = dport;
  if (fs != fd) {
    *error = "source and destination are of different address families";
    return std::nullopt;
  }
  p.family = fs;
  if (p.proto == kProtoIcmp && p.family == Family::kV6) p.proto = kProtoIcmpv6;
  if (p.proto == kProtoIcmpv6 && p.family == Family::kV4) {
    *error = "icmpv6 needs IPv6 addresses";
    return std::nullopt;
  }
  for (size_t i = 4; i < w.size();) {
    const std::string& key = w[i++];
    if (key == "established") {  // the one word without a value
      p.established = true;
      continue;
    }
    if (i >= w.size()) {
      *error = "'" + key + "' needs a value";
      return std::nullopt;
    }
    const std::string& v = w[i++];
    if (key == "in") p.iif = v;
    else if (key == "out") p.oif = v;
    else if (key == "chain") {
      p.chain = v == "input" ? ir::Hook::kInput : v == "forward" ? ir::Hook::kForward
                : v == "output" ? ir::Hook::kOutput : ir::Hook::kNone;
      if (p.chain == ir::Hook::kNone) {
        *error = "bad chain '" + v + "': input, forward or output";
        return std::nullopt;
      }
    }
    else if ((key == "type" || key == "code") && (p.proto == kProtoIcmp || p.proto == kProtoIcmpv6)) {
      Family f = p.proto == kProtoIcmp ? Family::kV4 : Family::kV6;
      int value = -1;
      if (!v.empty() && v.size() <= 3 && v.find_first_not_of("0123456789") == std::string::npos) value = std::stoi(v);
      else if (key == "type" && IcmpTypeByName(f, v)) value = *IcmpTypeByName(f, v);
      if (value < 0 || value > 255) {
        *error = "bad ICMP " + key + " '" + v + "'";
        return std::nullopt;
      }
      (key == "type" ? p.icmp_type : p.icmp_code) = value;
    } else {
      *error = "unexpected '" + key + "'";
      return std::nullopt;
    }
  }
  if ((p.proto == kProtoIcmp || p.proto == kProtoIcmpv6) && p.icmp_type < 0)
    p.icmp_type = p.proto == kProtoIcmp ? 8 : 128;  // a ping unless told otherwise
  return p;
}

QueryEngine::QueryEngine(const Model& m, const std::vector<PlacedRule>& placed,
                         const std::vector<PlacedRule>& sections)
    : m_(m) {
  AddInterfaces(sections, ifaces_);
  lists_ = BuildRuleLists(m, placed, ifaces_);
  for (ir::Hook hook : {ir::Hook::kMarks, ir::Hook::kDnat, ir::Hook::kSnat})
    for (Family f : {Family::kV4, Family::kV6}) {
      SectionList l{hook, f, {}};
      FieldLimits lim = FieldLimits::For(f, ifaces_.count());
      for (const auto& w : sections) {
        if (w.hook != hook || !InFamily(w.rule.family, f)) continue;
        l.rules.push_back({&w, RuleCubes(w, lim, ifaces_)});
      }
      sections_.push_back(std::move(l));
    }
}

std::optional<QueryResult> Query(const Model& m, const std::vector<PlacedRule>& placed, const PacketSpec& p,
                                 std::string* error, const std::vector<PlacedRule>& sections) {
  return QueryEngine(m, placed, sections).Query(p, error);
}

bool ExtrasMatch(const MatchExtras& x, uint32_t mark, uint32_t ctmark, bool established) {
  if (x.has_mark && x.mark != mark) return false;
  if (x.has_ctmark && x.ctmark != ctmark) return false;
  if (x.states && !(x.states & (established ? kStateEstablished : kStateNew))) return false;
  return true;
}

const PlacedRule* QueryEngine::FirstMatch(ir::Hook hook, Family f, const Point& pt, uint32_t mark, uint32_t ctmark,
                                          bool established) const {
  for (const auto& l : sections_) {
    if (l.hook != hook || l.family != f) continue;
    for (const auto& r : l.rules) {
      if (!ExtrasMatch(r.placed->rule.extras, mark, ctmark, established)) continue;
      if (std::any_of(r.cubes.begin(), r.cubes.end(), [&](const Cube& c) { return CubeContains(c, pt); }))
        return r.placed;
    }
  }
  return nullptr;
}

std::optional<QueryResult> QueryEngine::Query(const PacketSpec& p, std::string* error) const {
  const Model& m = m_;
  const InterfaceIds& ifaces = ifaces_;
  QueryResult r;
  r.family = p.family;
  const Family f = p.family;
  auto device = [&](const std::string& name, std::string* out) {
    for (const auto& i : m.interfaces)
      if (i.name == name || i.device == name) {
        *out = i.device;
        return true;
      }
    if (name == "lo" || p.kernel_devices) {
      *out = name;
      return true;
    }
    *error = "the firewall has no interface '" + name + "'";
    return false;
  };
  if (!p.iif.empty() && !device(p.iif, &r.iif)) return std::nullopt;
  if (!p.oif.empty() && !device(p.oif, &r.oif)) return std::nullopt;

  bool from_fw = m.firewall_addresses.of(f).Intersects(IntervalSet::Range(p.src, p.src));
  using ir::Hook;
  bool ports = p.proto == kProtoTcp || p.proto == kProtoUdp;
  auto point = [&](U128 src, unsigned sport, U128 dst, unsigned dport, const std::string& iif, const std::string& oif) {
    Point q{};
    q[kIif] = iif.empty() ? 0 : ifaces.Find(iif);
    q[kOif] = oif.empty() ? 0 : ifaces.Find(oif);
    q[kSrc] = src;
    q[kDst] = dst;
    q[kProto] = static_cast<U128>(p.proto);
    q[kSport] = ports ? sport : 0;
    q[kDport] = ports ? dport : 0;
    q[kIcmp] = p.icmp_type >= 0 ? (static_cast<U128>(p.icmp_type) << 8) | static_cast<U128>(p.icmp_code) : 0;
    return q;
  };
  auto guess_iif = [&] {
    if (!r.iif.empty()) return;
    for (const auto& i : m.interfaces)
      if (InNetworks(i, f, p.src)) {
        r.iif = i.device;
        r.guessed_iif = true;
        break;
      }
  };
  // Before routing (not for the firewall's own packets): the marks, then
  // destination NAT, which decides where the packet is routed.
  bool local_origin = p.chain == Hook::kOutput || (p.chain == Hook::kNone && from_fw);
  U128 dst = p.dst;
  unsigned dport = p.dport;
  uint32_t mark = 0, ctmark = 0;
  if (!local_origin && !sections_.empty()) {
    guess_iif();
    Point pre = point(p.src, p.sport, p.dst, p.dport, r.iif, "");
    if (const PlacedRule* w = FirstMatch(Hook::kMarks, f, pre, mark, ctmark, p.established)) {
      const Translation& x = *w->origin->translation;
      (x.kind == Translation::Kind::kMark ? mark : ctmark) = x.mark;
      r.steps.push_back({Hook::kMarks, w->origin, ""});
    } else if (m.has_marks) {
      r.steps.push_back({Hook::kMarks, nullptr, ""});
    }
    // Replies and later packets keep the translation of their connection.
    if (!p.established) {
      if (const PlacedRule* w = FirstMatch(Hook::kDnat, f, pre, mark, ctmark, p.established)) {
        const Translation& x = *w->origin->translation;
        if (x.kind == Translation::Kind::kDnat) dst = x.to(f)->lo;
        if (x.kind == Translation::Kind::kRedirect) {
          // The kernel redirects to the primary address of the interface the packet came in by.
          for (const auto& i : m.interfaces)
            if (i.device == r.iif && !i.addresses.of(f).empty()) dst = i.addresses.of(f).intervals()[0].lo;
        }
        if (x.port_lo && ports) dport = x.port_lo;
        r.steps.push_back({Hook::kDnat, w->origin, FormatPoint(point(p.src, p.sport, dst, dport, r.iif, ""), f, ifaces)});
      } else if (m.has_nat) {
        r.steps.push_back({Hook::kDnat, nullptr, ""});
      }
    }
  }
  r.mark = mark;
  r.ctmark = ctmark;
  bool to_fw = m.local_destinations.of(f).Intersects(IntervalSet::Range(dst, dst));
  r.chain = p.chain != Hook::kNone ? p.chain : from_fw ? Hook::kOutput : to_fw ? Hook::kInput : Hook::kForward;
  // Guess the interfaces the packet would use from the attached networks.
  if (r.chain != Hook::kOutput) guess_iif();
  if (r.chain != Hook::kInput && r.oif.empty())
    for (const auto& i : m.interfaces)
      if (InNetworks(i, f, dst)) {
        r.oif = i.device;
        r.guessed_oif = true;
        break;
      }
  if (r.chain == Hook::kInput) r.oif.clear();
  if (r.chain == Hook::kOutput) r.iif.clear();
  // After the filter, on the way out: source NAT.
  auto srcnat = [&] {
    if (r.chain == Hook::kInput || r.verdict != ast::Action::kAccept || p.established || sections_.empty()) return;
    Point post = point(p.src, p.sport, dst, dport, r.iif, r.oif);
    const PlacedRule* w = FirstMatch(Hook::kSnat, f, post, mark, ctmark, p.established);
    if (!w) {
      if (m.has_nat) r.steps.push_back({Hook::kSnat, nullptr, ""});
      return;
    }
    const Translation& x = *w->origin->translation;
    U128 src = p.src;
    unsigned sport = p.sport;
    if (x.kind == Translation::Kind::kSnat) src = x.to(f)->lo;
    if (x.kind == Translation::Kind::kMasquerade)
      for (const auto& i : m.interfaces)
        if (i.device == r.oif && !i.addresses.of(f).empty()) src = i.addresses.of(f).intervals()[0].lo;
    if (x.port_lo && ports) sport = x.port_lo;
    r.steps.push_back({Hook::kSnat, w->origin, FormatPoint(point(src, sport, dst, dport, r.iif, r.oif), f, ifaces)});
  };

  // The filter rules name the destination the client addressed: pt keeps
  // it, with the interfaces of the translated packet.
  const Point pt = point(p.src, p.sport, p.dst, p.dport, r.iif, r.oif);
  r.packet = FormatPoint(pt, f, ifaces);

  // fwc's own rules come first in every base chain.
  if ((r.chain == Hook::kInput && r.iif == "lo") || (r.chain == Hook::kOutput && r.oif == "lo")) {
    r.verdict = ast::Action::kAccept;
    r.builtin = "loopback";
    srcnat();
    return r;
  }
  if (p.established && m.stateful) {
    r.verdict = ast::Action::kAccept;
    r.builtin = "replies and related traffic";
    return r;
  }
  if (r.chain != Hook::kForward && p.proto == kProtoIcmpv6 && p.icmp_type >= 133 && p.icmp_type <= 136) {
    r.verdict = ast::Action::kAccept;
    r.builtin = "IPv6 neighbour discovery";
    return r;
  }
  auto contains = [&](const Unit& u) {
    return std::any_of(u.cubes().begin(), u.cubes().end(), [&](const Cube& c) { return CubeContains(c, pt); });
  };
  auto decide = [&](const Unit& u) {
    r.verdict = u.action;
    r.rule = u.origin;
    srcnat();
    return r;
  };
  for (const auto& l : lists_) {
    if (l.hook != r.chain || l.family != f) continue;
    size_t next_runtime = 0;
    for (size_t i = 0; i <= l.units.size(); ++i) {
      // The rules over runtime sets that come before unit i, as if their
      // sets were empty.
      for (; next_runtime < l.runtime.size() && l.runtime[next_runtime].before <= i; ++next_runtime) {
        const RuntimeUnit& rt = l.runtime[next_runtime];
        if (!contains(rt.unit)) continue;
        if (rt.conditional) {
          // Marks and states are known here; a rate limit is assumed kept.
          if (!ExtrasMatch(rt.unit.origin->extras, mark, ctmark, p.established)) continue;
          if (rt.unit.origin->extras.limit_rate || rt.unit.origin->extras.connlimit) r.assumed_rules.push_back(rt.unit.origin);
          return decide(rt.unit);
        }
        r.runtime_rules.push_back(rt.unit.origin);
        if (rt.when_empty) return decide(rt.unit);
      }
      if (i < l.units.size() && contains(l.units[i])) return decide(l.units[i]);
    }
  }
  r.verdict = m.default_action;
  srcnat();
  return r;
}

}  // namespace fwc::analysis
