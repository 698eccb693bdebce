#include "backends/nft/nft_backend.h"

#include <sstream>

#include "backends/nftables/model.h"
#include "compiler/base/protocols.h"

namespace fwc {
namespace {

using nftables::Field;
using nftables::Info;
using nftables::Stmt;
using nftables::ValueKind;

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

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

// One value of field f, as nft writes it.
std::string Value(const nftables::Table& t, Field f, const Interval& iv) {
  switch (Info(f).values) {
    case ValueKind::kIfname: return Quote(t.ifnames[static_cast<size_t>(iv.lo)]);
    case ValueKind::kNfproto: return iv.lo == 10 ? "ipv6" : "ipv4";
    case ValueKind::kProto: return ProtoValue(static_cast<int>(iv.lo));
    case ValueKind::kIpv4: return FormatInterval(Family::kV4, iv);
    case ValueKind::kIpv6: return FormatInterval(Family::kV6, iv);
    case ValueKind::kPort: {
      std::string p = std::to_string(static_cast<unsigned>(iv.lo));
      if (iv.hi != iv.lo) p += "-" + std::to_string(static_cast<unsigned>(iv.hi));
      return p;
    }
    case ValueKind::kIcmpType: return IcmpType(Family::kV4, static_cast<int>(iv.lo));
    case ValueKind::kIcmpv6Type: return IcmpType(Family::kV6, static_cast<int>(iv.lo));
    case ValueKind::kNumber:
    case ValueKind::kMark: return std::to_string(static_cast<unsigned>(iv.lo));
  }
  return "";
}

// "10.0.0.5", "10.0.0.5-10.0.0.9"; IPv6 in brackets when a port follows.
std::string NatAddress(Family f, const Interval& iv, bool port) {
  auto one = [&](U128 a) {
    std::string s = FormatAddress(f, a);
    return f == Family::kV6 && port ? "[" + s + "]" : s;
  };
  return iv.lo == iv.hi ? one(iv.lo) : one(iv.lo) + "-" + one(iv.hi);
}

std::string NatPort(const Translation& x) {
  if (!x.port_lo) return "";
  std::string p = ":" + std::to_string(x.port_lo);
  if (x.port_hi != x.port_lo) p += "-" + std::to_string(x.port_hi);
  return p;
}

std::string Nat(const Stmt& s) {
  const Translation& x = *s.xlate;
  switch (x.kind) {
    case Translation::Kind::kSnat:
    case Translation::Kind::kDnat: {
      Family f = s.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4;
      return std::string(x.kind == Translation::Kind::kSnat ? "snat " : "dnat ") +
             (f == Family::kV6 ? "ip6" : "ip") + " to " + NatAddress(f, *x.to(f), x.port_lo != 0) + NatPort(x);
    }
    case Translation::Kind::kMasquerade: return x.port_lo ? "masquerade to " + NatPort(x) : "masquerade";
    case Translation::Kind::kRedirect: return "redirect to " + NatPort(x);
    default: return "";
  }
}

std::string States(uint8_t states) {
  std::string out;
  for (const auto& s : kStateNames)
    if (states & s.bit) out += (out.empty() ? "" : ",") + std::string(s.name);
  return out;
}

std::string Verdict(const nftables::Verdict& v) {
  switch (v.kind) {
    case nftables::Verdict::Kind::kNone: return "";
    case nftables::Verdict::Kind::kAccept: return "accept";
    case nftables::Verdict::Kind::kDrop: return "drop";
    case nftables::Verdict::Kind::kReturn: return "return";
    case nftables::Verdict::Kind::kJump: return "jump " + v.chain;
    case nftables::Verdict::Kind::kGoto: return "goto " + v.chain;
  }
  return "";
}

std::string Key(const std::vector<Field>& fields, bool types) {
  std::string out;
  for (Field f : fields) out += (out.empty() ? "" : " . ") + std::string(types ? Info(f).type_name : Info(f).text);
  return out;
}

// Element i of a merged rule: "10.0.0.1 . 80", with " counter" (inline
// sets) and " : verdict" (maps).
void MergedElement(std::string& out, const nftables::Table& t, const std::vector<Field>& key,
                   const nftables::MergedRule& m, size_t i, bool inline_set) {
  const nftables::Element& e = m.elements[i];
  for (size_t j = 0; j < key.size(); ++j) {
    if (j) out += " . ";
    out += Value(t, key[j], e.key[j]);
  }
  if (e.counter && inline_set) out += " counter";
  if (m.is_map()) out += " : " + Verdict(nftables::ActionVerdict(m.actions[e.action]));
}

void Lookup(std::string& out, const nftables::Table& t, const Stmt& s) {
  out += Key(s.fields, false) + (s.negated ? " != " : " ") + (s.map ? "vmap " : "");
  if (!s.name.empty()) {
    out += "@" + s.name;
  } else if (const nftables::MergedRule* m = s.elements.merged) {
    out += "{ ";
    for (size_t i = 0; i < m->elements.size(); ++i) {
      if (i) out += ", ";
      MergedElement(out, t, s.fields, *m, i, true);
    }
    out += " }";
  } else {
    std::string list;
    for (const auto& iv : s.elements.Intervals()) list += (list.empty() ? "" : ", ") + Value(t, s.fields[0], iv);
    out += "{ " + list + " }";
  }
  out += " ";
}

void Statement(std::string& out, const nftables::Table& t, const Stmt& s) {
  switch (s.kind) {
    case Stmt::Kind::kMatch:
      out += std::string(Info(s.fields[0]).text) + (s.negated ? " != " : " ") +
             (Info(s.fields[0]).values == ValueKind::kIfname ? Quote(s.name) : Value(t, s.fields[0], s.value)) + " ";
      return;
    case Stmt::Kind::kLookup: return Lookup(out, t, s);
    case Stmt::Kind::kCt:
      out += s.ct == ir::CtState::kEstablishedRelated ? "ct state established,related " : "ct state invalid ";
      return;
    case Stmt::Kind::kLimit: out += "limit rate " + std::to_string(s.rate) + "/" + s.unit + " "; return;
    case Stmt::Kind::kCounter: out += "counter "; return;
    case Stmt::Kind::kLog: out += s.prefix.empty() ? "log " : "log prefix " + Quote(s.prefix) + " "; return;
    case Stmt::Kind::kVerdict: out += Verdict(s.verdict) + " "; return;
    case Stmt::Kind::kCtStates: out += "ct state " + States(s.states) + " "; return;
    case Stmt::Kind::kSetMark:
      out += std::string(Info(s.fields[0]).text) + " set " + std::to_string(s.mark) + " ";
      return;
    case Stmt::Kind::kNat: out += Nat(s) + " "; return;
    case Stmt::Kind::kSetHelper: out += "ct helper set " + Quote(s.name) + " "; return;
    case Stmt::Kind::kClampMss: out += "tcp flags syn tcp option maxseg size set rt mtu "; return;
    case Stmt::Kind::kConnlimit: out += "ct count " + std::to_string(s.rate) + " "; return;
    case Stmt::Kind::kReject:
      if (s.reject == ir::Verdict::kRejectTcpReset) out += "reject with tcp reset ";
      else if (s.family == ir::RuleFamily::kV4) out += "reject with icmp type port-unreachable ";
      else if (s.family == ir::RuleFamily::kV6) out += "reject with icmpv6 type port-unreachable ";
      else out += "reject with icmpx type port-unreachable ";
      return;
  }
}

void NamedSet(std::ostringstream& o, const nftables::Table& t, const nftables::Set& s) {
  o << "\t" << (s.map ? "map " : "set ") << s.name << " {\n"
    << "\t\ttype " << Key(s.key, true) << (s.map ? " : verdict" : "") << "\n";
  if (s.interval) o << "\t\tflags interval\n";
  if (s.counters) o << "\t\tcounter\n";
  if (!s.comment.empty()) o << "\t\tcomment " << Quote(s.comment) << "\n";
  if (s.runtime) {
    // Loading this file empties it; `fwc apply` keeps its elements.
    o << "\t}\n\n";
    return;
  }
  if (const nftables::MergedRule* m = s.elements.merged) {
    o << "\t\telements = {\n";
    std::string line;
    for (size_t i = 0; i < m->elements.size(); ++i) {
      line.assign("\t\t\t");
      MergedElement(line, t, s.key, *m, i, false);
      if (i + 1 < m->elements.size()) line += ",";
      line += "\n";
      o << line;
    }
    o << "\t\t}\n\t}\n\n";
    return;
  }
  o << "\t\telements = { ";
  const auto& ivs = s.elements.Intervals();
  for (size_t i = 0; i < ivs.size(); ++i) o << (i ? ", " : "") << Value(t, s.key[0], ivs[i]);
  o << " }\n\t}\n\n";
}

// What the file says about IP forwarding, which nft cannot set: the boot
// unit and fwc apply do (option forwarding).
std::string Forwarding(const ir::Ruleset& rs) {
  if (rs.forwarding)
    return *rs.forwarding ? "# The policy turns IP forwarding on (option forwarding yes): fwc apply and the boot unit\n"
                            "# set net.ipv4.ip_forward=1 and net.ipv6.conf.all.forwarding=1; nft -f alone does not.\n"
                          : "# The policy turns IP forwarding off (option forwarding no): fwc apply and the boot unit\n"
                            "# set net.ipv4.ip_forward=0 and net.ipv6.conf.all.forwarding=0.\n";
  if (rs.owns_nat && rs.forwards)
    return "# The policy translates and forwards traffic: the kernel forwards only with net.ipv4.ip_forward=1\n"
           "# (net.ipv6.conf.all.forwarding=1); say 'option forwarding yes;' to have fwc set it.\n";
  return "";
}

}  // namespace

std::string NftBackend::Emit(const ir::Ruleset& rs) const {
  nftables::MergeOptions options;
  options.enabled = merge_sets_;
  return Emit(nftables::MergeSets(rs, options));
}

std::string NftBackend::Emit(const nftables::MergedRuleset& ms) {
  nftables::Table t = nftables::BuildTable(*ms.ir, ms);
  std::ostringstream o;
  o << "#!/usr/sbin/nft -f\n"
    << "# Generated by fwc from " << t.source << " (policy " << t.policy_name << ").\n"
    << "# Do not edit: change the policy and compile again.\n"
    << "# Loading it replaces table inet fwc in one transaction; no other table is touched.\n"
    << Forwarding(*ms.ir) << "\n"
    << "table inet fwc {\n}\n"
    << "delete table inet fwc\n\n"
    << "table inet fwc {\n";
  for (const auto& h : t.helpers)
    o << "\tct helper " << h.name << " {\n\t\ttype " << Quote(h.kind) << " protocol " << ProtoValue(h.proto)
      << "\n\t\tl3proto inet\n\t}\n\n";
  for (const auto& s : t.sets) NamedSet(o, t, s);
  std::string line;
  for (size_t i = 0; i < t.chains.size(); ++i) {
    const auto& c = t.chains[i];
    o << "\tchain " << c.name << " {\n";
    if (c.hook != ir::Hook::kNone) {
      const ir::HookInfo& h = ir::Info(c.hook);
      o << "\t\ttype " << h.type << " hook " << h.kernel_hook << " priority " << h.priority_name << "; policy "
        << (c.policy == ir::Verdict::kAccept ? "accept" : "drop") << ";\n";
    }
    for (const auto& r : c.rules) {
      line.assign("\t\t");
      for (const auto& s : r.stmts) Statement(line, t, s);
      line += "comment " + Quote(r.comment) + "\n";
      o << line;
    }
    o << "\t}\n" << (i + 1 < t.chains.size() ? "\n" : "");
  }
  o << "}\n";
  return o.str();
}

}  // namespace fwc
