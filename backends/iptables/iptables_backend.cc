#include "backends/iptables/iptables_backend.h"

#include <sstream>

#include "compiler/base/protocols.h"

namespace fwc {
namespace {

std::string ChainName(const ir::Chain& c) {
  switch (c.hook) {
    case ir::Hook::kInput: return "INPUT";
    case ir::Hook::kForward: return "FORWARD";
    case ir::Hook::kOutput: return "OUTPUT";
    case ir::Hook::kNone: break;
  }
  return c.name;
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
std::vector<std::string> AddressMatches(const ir::AddrMatch& a, Family f, bool src) {
  if (!a.present) return {""};
  const char* neg = a.negated ? "! " : "";
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
  }
  return "";
}

void EmitRule(std::ostringstream& o, const std::string& chain, const ir::Rule& r, Family f) {
  std::string common;
  if (!r.iif.empty()) common += "-i " + IptablesBackend::Text(r.iif) + " ";
  if (!r.oif.empty()) common += "-o " + IptablesBackend::Text(r.oif) + " ";
  std::string tail;
  if (r.ct == ir::CtState::kEstablishedRelated) tail += "-m conntrack --ctstate RELATED,ESTABLISHED ";
  if (r.ct == ir::CtState::kInvalid) tail += "-m conntrack --ctstate INVALID ";
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
  if (r.verdict != ir::Verdict::kContinue) targets.push_back(comment + Target(r, f));

  for (const auto& s : AddressMatches(r.src, f, true))
    for (const auto& d : AddressMatches(r.dst, f, false))
      for (const auto& svc : ServiceMatches(r, f))
        for (const auto& t : targets) o << "-A " << chain << " " << common << s << d << svc << tail << t << "\n";
}

bool InFamily(ir::RuleFamily rf, Family f) {
  return rf == ir::RuleFamily::kAny || (rf == ir::RuleFamily::kV4) == (f == Family::kV4);
}

}  // namespace

std::string IptablesBackend::RestoreFile(const ir::Ruleset& rs, Family f) const {
  std::ostringstream o;
  o << "*filter\n";
  for (const auto& c : rs.chains) {
    if (c.hook != ir::Hook::kNone)
      o << ":" << ChainName(c) << (c.policy == ir::Verdict::kAccept ? " ACCEPT" : " DROP") << " [0:0]\n";
  }
  for (const auto& c : rs.chains)
    if (c.hook == ir::Hook::kNone) o << ":" << c.name << " - [0:0]\n";
  for (const auto& c : rs.chains)
    for (const auto& r : c.rules)
      if (InFamily(r.family, f)) EmitRule(o, ChainName(c), r, f);
  o << "COMMIT\n";
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
    << "# Replaces the whole filter table of IPv4 (iptables-restore) and of IPv6\n"
    << "# (ip6tables-restore), including rules other tools put there; the nat,\n"
    << "# mangle and raw tables are not touched. Both families are checked with\n"
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
    << "exit 0\n";
  return o.str();
}

}  // namespace fwc
