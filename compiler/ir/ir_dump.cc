// A plain-text view of the IR, one line per rule, for `--dump ir`: what
// the backends will receive, before any target syntax.
#include <sstream>

#include "compiler/ir/ir.h"
#include "compiler/base/protocols.h"

namespace fwc::ir {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kContinue: return "continue";
    case Verdict::kAccept: return "accept";
    case Verdict::kDrop: return "drop";
    case Verdict::kRejectTcpReset: return "reject-tcp-reset";
    case Verdict::kRejectIcmp: return "reject-icmp";
    case Verdict::kJump: return "jump";
    case Verdict::kReturn: return "return";
    case Verdict::kNat: return "nat";
  }
  return "?";
}

const HookInfo& Info(Hook h) {
  static const HookInfo kInfo[] = {
      {"", "filter", 0, "filter", "filter", ""},  // kNone: a regular chain
      {"input", "filter", 0, "filter", "filter", "INPUT"},
      {"forward", "filter", 0, "filter", "filter", "FORWARD"},
      {"output", "filter", 0, "filter", "filter", "OUTPUT"},
      {"prerouting", "filter", -150, "mangle", "mangle", "PREROUTING"},
      {"prerouting", "nat", -100, "dstnat", "nat", "PREROUTING"},
      {"postrouting", "nat", 100, "srcnat", "nat", "POSTROUTING"},
      {"forward", "filter", -150, "mangle", "mangle", "FORWARD"},
      {"prerouting", "filter", 0, "filter", "raw", "PREROUTING"},
  };
  return kInfo[static_cast<int>(h)];
}

std::string DumpTranslation(const Translation& t, RuleFamily family) {
  std::string out = std::string(" ") + TranslationName(t.kind);
  Family f = family == RuleFamily::kV6 ? Family::kV6 : Family::kV4;
  if (t.kind == Translation::Kind::kMark || t.kind == Translation::Kind::kConnmark)
    return out + " " + std::to_string(t.mark);
  if (t.has_address() && t.to(f)) out += " to " + FormatInterval(f, *t.to(f));
  if (t.port_lo) {
    out += " port " + std::to_string(t.port_lo);
    if (t.port_hi != t.port_lo) out += "-" + std::to_string(t.port_hi);
  }
  return out;
}

std::string DumpExtras(const MatchExtras& x) {
  std::string out;
  if (x.has_mark) out += " mark " + std::to_string(x.mark);
  if (x.has_ctmark) out += " ctmark " + std::to_string(x.ctmark);
  if (x.states) {
    std::string names;
    for (const auto& s : kStateNames)
      if (x.states & s.bit) names += (names.empty() ? "" : ",") + std::string(s.name);
    out += " state " + names;
  }
  if (x.limit_rate) out += " limit " + std::to_string(x.limit_rate) + "/" + kRateUnits[x.limit_unit];
  if (x.connlimit) out += " connlimit " + std::to_string(x.connlimit);
  return out;
}

namespace {

std::string Ports(const IntervalSet& s) {
  std::string out;
  for (const auto& iv : s.intervals()) {
    if (!out.empty()) out += ",";
    out += std::to_string(static_cast<unsigned>(iv.lo));
    if (iv.hi != iv.lo) out += "-" + std::to_string(static_cast<unsigned>(iv.hi));
  }
  return out;
}

std::string Service(const ServiceMatch& s) {
  std::string name = ProtocolName(s.proto);
  std::string out = " proto " + (name.empty() ? std::to_string(s.proto) : name);
  if (!s.sports.empty()) out += " sport " + Ports(s.sports);
  if (!s.dports.empty()) out += " dport " + Ports(s.dports);
  for (size_t i = 0; i < s.icmp_types.size(); ++i) out += (i ? "," : " type ") + std::to_string(s.icmp_types[i]);
  if (s.icmp_code >= 0) out += " code " + std::to_string(s.icmp_code);
  return out;
}

std::string Addr(const char* what, const AddrMatch& a, Family f) {
  if (!a.present) return "";
  std::string out = std::string(" ") + what + (a.negated ? " != " : " ");
  if (a.runtime) return out + "@" + a.set_name + " (runtime)";
  if (!a.set_name.empty()) out += "@" + a.set_name + "=";
  std::string list;
  for (const auto& iv : a.set.intervals()) list += (list.empty() ? "" : ",") + FormatInterval(f, iv);
  return out + "{" + list + "}";
}

}  // namespace

const char* HookName(Hook h) {
  switch (h) {
    case Hook::kInput: return "input";
    case Hook::kForward: return "forward";
    case Hook::kOutput: return "output";
    case Hook::kMarks: return "marks";
    case Hook::kDnat: return "dstnat";
    case Hook::kSnat: return "srcnat";
    case Hook::kMss: return "mss";
    case Hook::kHelpers: return "helpers";
    case Hook::kNone: break;
  }
  return "";
}

std::string DumpMatch(const Match& r) {
  std::ostringstream o;
  Family f = r.family == RuleFamily::kV6 ? Family::kV6 : Family::kV4;
  o << (r.family == RuleFamily::kAny ? "any " : r.family == RuleFamily::kV4 ? "ip4 " : "ip6 ");
  if (!r.iif.empty()) o << " iif " << r.iif;
  if (!r.oif.empty()) o << " oif " << r.oif;
  o << Addr("src", r.src, f) << Addr(r.original_dst ? "original-dst" : "dst", r.dst, f);
  if (r.has_service) o << Service(r.service) << (r.original_dst && !r.service.dports.empty() ? " (original)" : "");
  o << DumpExtras(r.extras);
  if (r.ct == CtState::kEstablishedRelated) o << " ct established,related";
  if (r.ct == CtState::kInvalid) o << " ct invalid";
  return o.str();
}

std::string Dump(const Ruleset& rs) {
  std::ostringstream o;
  o << "ruleset " << rs.source << " policy " << rs.policy_name << "\n";
  for (const auto& s : rs.sets) {
    o << "set " << s.name << (s.family == Family::kV4 ? " ipv4 " : " ipv6 ") << (s.runtime ? "runtime {" : "{");
    std::string list;
    for (const auto& iv : s.elements.intervals()) list += (list.empty() ? "" : ",") + FormatInterval(s.family, iv);
    o << list << "}\n";
  }
  for (const auto& c : rs.chains) {
    o << "chain " << c.name;
    if (c.hook != Hook::kNone) o << " hook policy " << VerdictName(c.policy);
    o << "\n";
    for (const auto& r : c.rules) {
      o << "  " << DumpMatch(r);
      if (r.log.enabled) {
        o << " log";
        if (!r.log.prefix.empty()) o << " prefix \"" << r.log.prefix << "\"";
        if (r.log.rate) o << " rate " << r.log.rate << "/" << r.log.rate_unit;
      }
      if (r.counter) o << " counter";
      if (r.xlate) o << DumpTranslation(*r.xlate, r.family);
      if (r.clamp_mss) o << " clamp-mss";
      if (!r.helper.empty()) o << " helper " << r.helper;
      o << " -> " << VerdictName(r.verdict);
      if (r.verdict == Verdict::kJump) o << " " << r.target;
      o << "   # " << r.comment << "\n";
    }
  }
  return o.str();
}

std::string DumpService(const ServiceMatch& s) { return Service(s).substr(1); }

}  // namespace fwc::ir
