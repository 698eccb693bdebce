#include "backends/iptables/iptables_backend.h"

#include <cctype>
#include <sstream>

#include "compiler/base/protocols.h"

namespace fwc {
namespace {

std::string ChainName(const ir::Chain& c) {
  if (c.hook != ir::Hook::kNone) return ir::Info(c.hook).iptables_chain;
  return c.name;
}

// The table a chain is in: a regular chain is in its caller's.
std::string TableOf(const ir::Chain& c) {
  return ir::Info(c.hook != ir::Hook::kNone ? c.hook : c.from).iptables_table;
}

std::string Port(const Interval& iv) {
  std::string p = std::to_string(static_cast<unsigned>(iv.lo));
  if (iv.hi != iv.lo) p += ":" + std::to_string(static_cast<unsigned>(iv.hi));
  return p;
}

// The alternatives one port set expands to: "--dport 80", or multiport
// lists of at most 15 slots. Empty set: one empty alternative.
std::vector<std::string> PortMatches(const IntervalSet& s, const char* dir) {
  const auto& iv = s.intervals();
  if (iv.empty()) return {""};
  if (iv.size() == 1) return {std::string("--") + dir + "port " + Port(iv[0]) + " "};
  std::vector<std::string> out;
  std::string list;
  int slots = 0;
  for (const auto& i : iv) {
    int need = i.lo == i.hi ? 1 : 2;
    if (slots + need > IptablesBackend::kMultiportSlots) {
      out.push_back(std::string("-m multiport --") + dir + "ports " + list + " ");
      list.clear();
      slots = 0;
    }
    list += (list.empty() ? "" : ",") + Port(i);
    slots += need;
  }
  out.push_back(std::string("-m multiport --") + dir + "ports " + list + " ");
  return out;
}

// One alternative per element of the address set (iptables matches a
// single prefix or range per rule).
std::vector<std::string> AddressMatches(const ir::AddrMatch& a, Family f, bool src, bool original = false) {
  if (!a.present) return {""};
  const char* neg = a.negated ? "! " : "";
  if (original && !a.runtime) {
    // The destination the client addressed (before DNAT).
    std::vector<std::string> out;
    for (const auto& iv : a.set.intervals())
      for (const auto& p : IptablesBackend::Prefixes(f, iv)) out.push_back(std::string("-m conntrack ") + neg + "--ctorigdst " + p + " ");
    return out;
  }
  // A runtime set is an ipset of the same name (ipset(8) keeps its
  // elements, whatever loads the rules).
  if (a.runtime)
    return {std::string("-m set ") + neg + "--match-set " + IptablesBackend::Text(a.set_name) + (src ? " src " : " dst ")};
  std::vector<std::string> out;
  for (const auto& iv : a.set.intervals()) {
    if (auto p = IntervalPrefix(f, iv)) {
      out.push_back(std::string(neg) + (src ? "-s " : "-d ") + FormatAddress(f, iv.lo) + "/" +
                    std::to_string(*p) + " ");
    } else {
      out.push_back(std::string("-m iprange ") + neg + (src ? "--src-range " : "--dst-range ") +
                    FormatAddress(f, iv.lo) + "-" + FormatAddress(f, iv.hi) + " ");
    }
  }
  return out;
}

std::vector<std::string> ServiceMatches(const ir::Rule& r, Family f) {
  if (!r.has_service) return {""};
  const auto& s = r.service;
  if (s.proto == kProtoTcp || s.proto == kProtoUdp) {
    std::string p = s.proto == kProtoTcp ? "-p tcp " : "-p udp ";
    std::vector<std::string> out;
    if (r.original_dst && !s.dports.empty()) {
      // The port the client addressed: one port or range per rule.
      for (const auto& sp : PortMatches(s.sports, "s"))
        for (const auto& iv : s.dports.intervals())
          out.push_back(p + sp + "-m conntrack --ctorigdstport " + Port(iv) + " ");
      return out;
    }
    // A single "--dport" after "-m multiport" would be read as an
    // abbreviation of multiport's "--dports" (the tcp/udp match is loaded
    // only on an option nobody knows), and iptables-restore refuses the
    // file; so a single port match always comes before a multiport one.
    for (const auto& sp : PortMatches(s.sports, "s"))
      for (const auto& dp : PortMatches(s.dports, "d"))
        out.push_back(sp.rfind("-m ", 0) == 0 && dp.rfind("-m ", 0) != 0 ? p + dp + sp : p + sp + dp);
    return out;
  }
  if (s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) {
    std::string p = f == Family::kV4 ? "-p icmp " : "-p ipv6-icmp ";
    if (s.icmp_types.empty()) return {p};
    std::string opt = f == Family::kV4 ? "--icmp-type " : "--icmpv6-type ";
    std::vector<std::string> out;
    for (int t : s.icmp_types) {
      std::string m = p + opt + std::to_string(t);
      if (s.icmp_code >= 0) m += "/" + std::to_string(s.icmp_code);
      out.push_back(m + " ");
    }
    return out;
  }
  return {"-p " + std::to_string(s.proto) + " "};
}

std::string NatPorts(const Translation& x) {
  if (!x.port_lo) return "";
  return std::to_string(x.port_lo) + (x.port_hi != x.port_lo ? "-" + std::to_string(x.port_hi) : "");
}

std::string Nat(const Translation& x, Family f) {
  switch (x.kind) {
    case Translation::Kind::kSnat:
    case Translation::Kind::kDnat: {
      const Interval& iv = *x.to(f);
      auto one = [&](U128 a) {
        std::string s = FormatAddress(f, a);
        return f == Family::kV6 && x.port_lo ? "[" + s + "]" : s;
      };
      // ip6tables wants an IPv6 range with a port in one pair of brackets.
      std::string to = iv.lo == iv.hi                         ? one(iv.lo)
                       : f == Family::kV6 && x.port_lo        ? "[" + FormatAddress(f, iv.lo) + "-" + FormatAddress(f, iv.hi) + "]"
                                                              : one(iv.lo) + "-" + one(iv.hi);
      if (x.port_lo) to += ":" + NatPorts(x);
      return x.kind == Translation::Kind::kSnat ? "-j SNAT --to-source " + to : "-j DNAT --to-destination " + to;
    }
    case Translation::Kind::kMasquerade: return x.port_lo ? "-j MASQUERADE --to-ports " + NatPorts(x) : "-j MASQUERADE";
    case Translation::Kind::kRedirect: return "-j REDIRECT --to-ports " + NatPorts(x);
    default: return "";
  }
}

std::string Target(const ir::Rule& r, Family f) {
  switch (r.verdict) {
    case ir::Verdict::kContinue: return "";
    case ir::Verdict::kAccept: return "-j ACCEPT";
    case ir::Verdict::kDrop: return "-j DROP";
    case ir::Verdict::kRejectTcpReset: return "-j REJECT --reject-with tcp-reset";
    case ir::Verdict::kRejectIcmp:
      return f == Family::kV4 ? "-j REJECT --reject-with icmp-port-unreachable"
                              : "-j REJECT --reject-with icmp6-port-unreachable";
    case ir::Verdict::kJump: return "-j " + r.target;
    case ir::Verdict::kReturn: return "-j RETURN";
    case ir::Verdict::kNat: return r.xlate ? Nat(*r.xlate, f) : "";
  }
  return "";
}

// Extra matches: mark, connmark, state, limit.
std::string ExtraMatches(const MatchExtras& x) {
  std::string out;
  if (x.has_mark) out += "-m mark --mark " + std::to_string(x.mark) + " ";
  if (x.has_ctmark) out += "-m connmark --mark " + std::to_string(x.ctmark) + " ";
  if (x.states) {
    std::string names;
    for (const auto& s : kStateNames)
      if (x.states & s.bit) {
        std::string n = s.name;
        for (char& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        names += (names.empty() ? "" : ",") + n;
      }
    out += "-m conntrack --ctstate " + names + " ";
  }
  if (x.connlimit)
    out += "-m connlimit --connlimit-upto " + std::to_string(x.connlimit) + " --connlimit-mask 0 ";
  if (x.limit_rate) {
    std::string unit = kRateUnits[x.limit_unit];
    out += "-m limit --limit " + std::to_string(x.limit_rate) + "/" +
           (unit == "second" ? "sec" : unit == "minute" ? "min" : unit) + " ";
  }
  return out;
}

void EmitRule(std::ostringstream& o, const std::string& chain, const ir::Rule& r, Family f) {
  std::string common;
  if (!r.iif.empty()) common += "-i " + IptablesBackend::Text(r.iif) + " ";
  if (!r.oif.empty()) common += "-o " + IptablesBackend::Text(r.oif) + " ";
  std::string tail;
  if (r.ct == ir::CtState::kEstablishedRelated) tail += "-m conntrack --ctstate RELATED,ESTABLISHED ";
  if (r.ct == ir::CtState::kInvalid) tail += "-m conntrack --ctstate INVALID ";
  tail += ExtraMatches(r.extras);
  std::string comment =
      "-m comment --comment \"" + IptablesBackend::Text(r.comment, IptablesBackend::kMaxComment) + "\" ";

  // LOG does not end the rule set's traversal, so a logged verdict is a LOG
  // rule followed by the verdict rule.
  std::vector<std::string> targets;
  if (r.log.enabled) {
    std::string log;
    if (r.log.rate) {
      std::string unit = r.log.rate_unit == "second" ? "sec" : r.log.rate_unit == "minute" ? "min" : r.log.rate_unit;
      log += "-m limit --limit " + std::to_string(r.log.rate) + "/" + unit + " ";
    }
    log += comment + "-j LOG";
    if (!r.log.prefix.empty()) log += " --log-prefix \"" + IptablesBackend::Text(r.log.prefix, 29) + "\"";
    targets.push_back(log);
  }
  // MARK and CONNMARK do not end the traversal either: the mark, then
  // the rule's verdict (accept: first match wins in the marks section).
  if (r.xlate && (r.xlate->kind == Translation::Kind::kMark || r.xlate->kind == Translation::Kind::kConnmark))
    targets.push_back(comment + (r.xlate->kind == Translation::Kind::kMark ? "-j MARK --set-mark " : "-j CONNMARK --set-mark ") +
                      std::to_string(r.xlate->mark));
  if (!r.helper.empty()) {
    // The object's kind: its name is KIND_PROTO.
    targets.push_back(comment + "-j CT --helper " + IptablesBackend::Text(r.helper.substr(0, r.helper.rfind('_'))));
  }
  if (r.clamp_mss) targets.push_back("-p tcp --tcp-flags SYN,RST SYN " + comment + "-j TCPMSS --clamp-mss-to-pmtu");
  if (r.verdict != ir::Verdict::kContinue) targets.push_back(comment + Target(r, f));

  for (const auto& s : AddressMatches(r.src, f, true))
    for (const auto& d : AddressMatches(r.dst, f, false, r.original_dst))
      for (const auto& svc : ServiceMatches(r, f))
        for (const auto& t : targets) o << "-A " << chain << " " << common << s << d << svc << tail << t << "\n";
}

std::string OwnedTables(const ir::Ruleset& rs) {
  bool mangle = rs.owns_marks || rs.clamp_mss;
  if (!rs.helpers.empty()) return std::string("filter") + (mangle ? ", mangle" : "") + (rs.owns_nat ? ", nat" : "") + " and raw tables";
  if (rs.owns_nat && mangle) return "filter, mangle and nat tables";
  if (rs.owns_nat) return "filter and nat tables";
  if (mangle) return "filter and mangle tables";
  return "filter table";
}

// IP forwarding, after the rules are in (option forwarding), or a warning
// when the policy translates and forwards with forwarding off.
std::string Forwarding(const ir::Ruleset& rs) {
  if (rs.forwarding) {
    const char* v = *rs.forwarding ? "1" : "0";
    return std::string("{ echo ") + v + " > /proc/sys/net/ipv4/ip_forward && echo " + v +
           " > /proc/sys/net/ipv6/conf/all/forwarding; } ||\n"
           "\t{ echo \"fwc: the rules are loaded, but IP forwarding could not be set (option forwarding)\" >&2; exit 1; }\n";
  }
  if (rs.owns_nat && rs.forwards)
    return "[ \"$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)\" = 1 ] ||\n"
           "\techo \"fwc: warning: the policy forwards traffic but net.ipv4.ip_forward is 0 (option forwarding yes sets it)\" >&2\n";
  return "";
}

}  // namespace

// The largest aligned block at lo that stays within the interval, as its
// number of host bits; the whole IPv6 space is one /0 block, so the size
// is never computed as 1 << 128 (undefined).
std::vector<std::string> IptablesBackend::Prefixes(Family f, const Interval& iv) {
  std::vector<std::string> out;
  const int bits = FamilyBits(f);
  auto last_of = [](U128 lo, int host) { return host >= 128 ? ~U128{0} : lo + ((U128{1} << host) - 1); };
  U128 lo = iv.lo;
  for (;;) {
    int host = 0;
    while (host < bits) {
      U128 mask = last_of(0, host + 1);
      if ((lo & mask) != 0 || lo + mask > iv.hi) break;
      ++host;
    }
    U128 last = last_of(lo, host);
    out.push_back(FormatAddress(f, lo) + "/" + std::to_string(bits - host));
    if (last >= iv.hi) break;
    lo = last + 1;
  }
  return out;
}

std::string IptablesBackend::RestoreFile(const ir::Ruleset& rs, Family f) const {
  std::ostringstream o;
  // The filter table, then the mangle and nat tables the policy has a
  // section for: each is replaced whole.
  struct Table {
    const char* name;
    bool owned;
    std::vector<const char*> builtin;  // declared with policy ACCEPT unless fwc has that chain
  };
  const Table tables[] = {{"filter", true, {}},
                          {"mangle", rs.owns_marks || rs.clamp_mss, {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}},
                          {"nat", rs.owns_nat, {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
                          {"raw", !rs.helpers.empty(), {"PREROUTING", "OUTPUT"}}};
  for (const Table& t : tables) {
    if (!t.owned) continue;
    o << "*" << t.name << "\n";
    for (const char* b : t.builtin) {
      bool ours = false;
      for (const auto& c : rs.chains) ours |= c.hook != ir::Hook::kNone && TableOf(c) == t.name && ChainName(c) == b;
      if (!ours) o << ":" << b << " ACCEPT [0:0]\n";
    }
    for (const auto& c : rs.chains)
      if (c.hook != ir::Hook::kNone && TableOf(c) == t.name)
        o << ":" << ChainName(c) << (c.policy == ir::Verdict::kAccept ? " ACCEPT" : " DROP") << " [0:0]\n";
    for (const auto& c : rs.chains)
      if (c.hook == ir::Hook::kNone && TableOf(c) == t.name) o << ":" << c.name << " - [0:0]\n";
    for (const auto& c : rs.chains)
      if (TableOf(c) == t.name)
        for (const auto& r : c.rules)
          if (ir::InFamily(r.family, f)) EmitRule(o, ChainName(c), r, f);
    o << "COMMIT\n";
  }
  return o.str();
}

std::vector<std::vector<std::string>> IptablesBackend::IpsetCommands(const ir::Ruleset& rs) {
  std::vector<std::vector<std::string>> out;
  for (const auto& s : rs.sets)
    if (s.runtime)
      out.push_back({"ipset", "create", "-exist", Text(s.name), "hash:net", "family",
                     s.family == Family::kV4 ? "inet" : "inet6"});
  return out;
}

std::string IptablesBackend::Emit(const ir::Ruleset& rs) const {
  std::ostringstream o;
  o << "#!/bin/sh\n"
    << "# Generated by fwc from " << Text(rs.source) << " (policy " << Text(rs.policy_name) << ").\n"
    << "# Do not edit: change the policy and compile again.\n"
    << "#\n"
    << "# Replaces the whole " << OwnedTables(rs) << " of IPv4 (iptables-restore) and of IPv6\n"
    << "# (ip6tables-restore), including rules other tools put there; no other\n"
    << "# table is touched. Both families are checked with\n"
    << "# --test first, so a rejected policy loads nothing. Exits non-zero if\n"
    << "# either family fails.\n"
    << "PATH=/usr/sbin:/sbin:/usr/bin:/bin\n"
    << "export PATH\n\n";
  auto ipsets = IpsetCommands(rs);
  if (!ipsets.empty()) {
    // The runtime sets must exist before a rule can name them; their
    // elements are not this script's, and an existing set keeps them.
    o << "command -v ipset >/dev/null 2>&1 || {\n"
      << "\techo \"fwc: the rules use runtime sets, which need ipset(8); nothing was loaded\" >&2; exit 1; }\n";
    for (const auto& argv : ipsets) {
      std::string line;
      for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
      o << line << " || {\n\techo \"fwc: cannot create ipset " << argv[3]
        << " (an ipset of that name and another type exists?); nothing was loaded\" >&2; exit 1; }\n";
    }
    o << "\n";
  }
  o << "fwc_ipv4() {\n\tcat <<'FWC_EOF'\n"
    << RestoreFile(rs, Family::kV4) << "FWC_EOF\n}\n\n"
    << "fwc_ipv6() {\n\tcat <<'FWC_EOF'\n"
    << RestoreFile(rs, Family::kV6) << "FWC_EOF\n}\n\n"
    << "fwc_ipv4 | iptables-restore --wait --test || {\n"
    << "\techo \"fwc: iptables-restore rejected the IPv4 rules; nothing was loaded\" >&2; exit 1; }\n"
    << "fwc_ipv6 | ip6tables-restore --wait --test || {\n"
    << "\techo \"fwc: ip6tables-restore rejected the IPv6 rules; nothing was loaded\" >&2; exit 1; }\n"
    << "fwc_ipv4 | iptables-restore --wait || {\n"
    << "\techo \"fwc: loading the IPv4 rules failed; nothing was loaded\" >&2; exit 1; }\n"
    << "fwc_ipv6 | ip6tables-restore --wait || {\n"
    << "\techo \"fwc: loading the IPv6 rules failed after the IPv4 rules were loaded\" >&2; exit 1; }\n"
    << Forwarding(rs)
    << "exit 0\n";
  return o.str();
}

}  // namespace fwc
