#include "import/ruleset_import.h"

#include <algorithm>
#include <map>
#include <set>

#include "compiler/base/protocols.h"
#include "import/ruleset_flatten.h"
#include "import/ruleset_semantics.h"

namespace fwc::import {

namespace {

std::string IntervalText(Family f, const Interval& iv) {
  if (iv.lo == iv.hi) return FormatAddress(f, iv.lo);
  if (IntervalPrefix(f, iv)) return FormatInterval(f, iv);
  return FormatAddress(f, iv.lo) + " - " + FormatAddress(f, iv.hi);
}

// The addresses of a FORWARD rule's slot without those it can never see
// there (away); false when nothing is left.
bool KeepToForward(const std::optional<AddressMatch>& a, const IntervalSet& away, Family f,
                   std::vector<std::string>& text) {
  // A negation is an open slot, which holds no address of the firewall's
  // (the import says option any-includes-firewall no).
  if (!a || a->negated || !a->set.Intersects(away)) return true;
  IntervalSet set = a->set.Intersect(away.Complement(FamilyMax(f)));
  if (set.empty()) return false;  // only addresses FORWARD never sees
  text.clear();
  for (const auto& iv : set.intervals()) text.push_back(IntervalText(f, iv));
  return true;
}

// "! -s NET" of one family: fwc's "not NET" would match every packet of the
// other family too. When the other slot cannot say the family with its
// "any" (0.0.0.0/0, ::/0) because it is taken, the rule says the addresses
// of its own family that are not NET instead, as ranges.
bool PinNegated(const SourceRule& r, Family f, DraftRule& d) {
  for (auto [a, text, neg] : {std::tuple{&r.src, &d.from, &d.not_from}, std::tuple{&r.dst, &d.to, &d.not_to}}) {
    if (!*a || !(*a)->negated) continue;
    text->clear();
    const IntervalSet others = (*a)->set.Complement(FamilyMax(f));
    for (const auto& iv : others.intervals())
      text->push_back(iv.lo == iv.hi ? FormatAddress(f, iv.lo) : FormatAddress(f, iv.lo) + " - " + FormatAddress(f, iv.hi));
    *neg = false;
    return true;
  }
  return false;
}

// Why a rule cannot be imported as it is: what the reader did not
// understand, and what it understood but fwc cannot say.
std::vector<std::string> ImportReasons(const SourceRule& r) {
  std::vector<std::string> reasons = r.unsupported;
  if (r.not_first_packet) reasons.push_back("'! --syn' (TCP packets that cannot open a connection), which fwc cannot match");
  if (!r.reject_with.empty())
    reasons.push_back("--reject-with " + r.reject_with + " (fwc rejects with port-unreachable, TCP with a reset)");
  return reasons;
}

using T = SourceRule::Target;

enum class Base { kInput, kForward, kOutput };
constexpr Base kChains[] = {Base::kInput, Base::kForward, Base::kOutput};
const char* ChainName(Base c) { return c == Base::kInput ? "INPUT" : c == Base::kForward ? "FORWARD" : "OUTPUT"; }

// Services fwc users write by name; a rule's literal item that is one of
// these is written as the name (declared once).
struct KnownService {
  const char* name;
  const char* item;
};
constexpr KnownService kKnown[] = {
    {"ssh", "tcp 22"},       {"http", "tcp 80"},       {"https", "tcp 443"},    {"smtp", "tcp 25"},
    {"submission", "tcp 587"}, {"imaps", "tcp 993"},   {"pop3s", "tcp 995"},    {"ftp", "tcp 21"},
    {"dns", "udp 53"},       {"dns-tcp", "tcp 53"},    {"ntp", "udp 123"},      {"mysql", "tcp 3306"},
    {"postgresql", "tcp 5432"}, {"snmp", "udp 161"},   {"syslog", "udp 514"},   {"tftp", "udp 69"},
    {"dhcp", "udp 67"},      {"http-alt", "tcp 8080"}, {"ping4", "icmp echo-request"},
    {"ping6", "icmpv6 echo-request"}};

std::string PortList(const IntervalSet& s) {
  std::vector<std::string> items;
  for (const auto& iv : s.intervals()) {
    std::string lo = std::to_string(static_cast<unsigned>(iv.lo));
    items.push_back(iv.lo == iv.hi ? lo : lo + "-" + std::to_string(static_cast<unsigned>(iv.hi)));
  }
  if (items.size() == 1) return items[0];
  std::string out = "{ ";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + " }";
}

IntervalSet EffectivePorts(const PortMatch& p) { return p.negated ? p.ports.Complement(65535) : p.ports; }

// One family's rule of one chain, as draft text, with what decides
// whether an IPv4 and an IPv6 rule can become one.
struct Piece {
  DraftRule rule;
  Family family = Family::kV4;
  bool family_pinned = false;  // its addresses or services already say the family
  bool forward = false;        // a rule of FORWARD
  // Its negated address as the rest of its family, for when it stays a
  // rule of one family with both slots taken (PinNegated).
  std::optional<std::vector<std::string>> from_of_family, to_of_family;
  std::string key;             // equal for the two halves of a dual-stack rule
  Loc loc;
};

class Importer {
 public:
  Importer(const SourceRuleset& rs, const ImportOptions& opts, ImportReporter& report)
      : rs_(rs), opts_(opts), report_(report) {}
  PolicyDraft Run();

 private:
  void Addresses();
  std::vector<Piece> ChainPieces(Family f, Base c, const SourceTable& t);
  std::optional<Piece> Convert(const FlatRule& fr, Base c, const char* action, const std::string& why_not = "");
  std::string Services(const SourceRule& r, bool* negated, std::string* error);
  bool Address(const std::optional<AddressMatch>& a, Family f, std::vector<std::string>& out, bool* negated);
  bool OwnAddress(const AddressMatch& a, Family f) const;
  std::string Interface(const std::optional<InterfaceMatch>& m, std::string* error);
  void Merge(const std::vector<Piece>& v4, const std::vector<Piece>& v6);
  void Nat(Family f, const SourceTable& t);
  bool PortForward(Family f, const SourceTable& nat, const SourceRule& r, const DraftRule& d);
  void NameServices();
  std::string OthersOf(Family f);
  std::string Trace(const FlatRule& fr) const;
  std::string Where(const Loc& loc) const;
  void Gap(const Loc& loc, bool nat, const std::string& why, const std::string& help = "");

  const SourceRuleset& rs_;
  const ImportOptions& opts_;
  ImportReporter& report_;
  PolicyDraft d_;
  NameTable names_;
  std::map<std::string, size_t> iface_;  // device -> index in d_.interfaces
  AddressSet own_;                       // the firewall's addresses
  // What fwc takes for a destination on the firewall (compiler/semantics/
  // resolver.cc): its addresses, their subnets' broadcast and anycast
  // addresses, limited broadcast and multicast.
  AddressSet local_;
  IntervalSet LocalOf(Family f) const {
    IntervalSet s = own_.of(f);
    s.AddAll(local_.of(f));
    if (f == Family::kV4) {
      s.Add(0xffffffffu, 0xffffffffu);
      s.Add(U128{0xe0000000u}, U128{0xefffffffu});
    } else {
      s.Add(U128{0xff} << 120, ~U128{0});
    }
    return s;
  }
  bool stateful_ = false;
  // Filter rules for the connections DNAT rules translate (fwc's filter
  // names the destination the client used), put first.
  std::vector<Piece> port_forwards_[2];
};

void Importer::Gap(const Loc& loc, bool nat, const std::string& why, const std::string& help) {
  report_.Unmapped(loc, why, help);
  d_.gaps.push_back({nat, nat ? d_.nat_rules.size() : d_.rules.size(),
                     Where(loc) + ": " + why});
}

std::string Importer::Where(const Loc& loc) const {
  auto it = rs_.files.find(loc.file);
  return (it == rs_.files.end() ? rs_.origin : it->second) + ":" + std::to_string(loc.line);
}

std::string Importer::Trace(const FlatRule& fr) const {
  std::string t = Where(fr.rule.loc);
  for (auto it = fr.via.rbegin(); it != fr.via.rend(); ++it) t += ", jumped to at line " + std::to_string(it->line);
  return t;
}

void Importer::Addresses() {
  // --address DEV=ADDR/LEN: the firewall's addresses, which a ruleset never says.
  for (const auto& a : opts_.addresses) {
    size_t eq = a.find('=');
    std::string dev = eq == std::string::npos ? "" : a.substr(0, eq);
    std::string err;
    auto p = eq == std::string::npos ? std::nullopt : ParseAddress(a.substr(eq + 1), &err);
    if (dev.empty() || !p || p->prefix < 0) {
      report_.Malformed(Loc{}, "--address '" + a + "' is not DEVICE=ADDRESS/LENGTH", "e.g. --address eth0=192.0.2.1/24");
      continue;
    }
    auto it = iface_.find(dev);
    if (it == iface_.end()) {
      it = iface_.emplace(dev, d_.interfaces.size()).first;
      d_.interfaces.push_back({names_.Take("if:" + dev, dev), dev, {}, ""});
    }
    d_.interfaces[it->second].addresses.push_back(a.substr(eq + 1));
    own_.of(p->family).Add(p->addr, p->addr);
    Interval net = PrefixInterval(p->family, p->addr, p->prefix);
    if (p->family == Family::kV4 && p->prefix <= 30) local_.v4.Add(net.hi, net.hi);
    if (p->family == Family::kV6 && p->prefix < 127) local_.v6.Add(net.lo, net.lo);
  }
}

bool Importer::OwnAddress(const AddressMatch& a, Family f) const {
  return !a.negated && own_.of(f).Contains(a.set);
}

std::string Importer::Interface(const std::optional<InterfaceMatch>& m, std::string* error) {
  if (!m) return "";
  if (m->negated) {
    *error = "a negated interface (! -i " + m->name + "): fwc's in and out name one interface";
    return "";
  }
  if (!m->name.empty() && m->name.back() == '+') {
    *error = "the interface wildcard '" + m->name + "'";
    return "";
  }
  auto it = iface_.find(m->name);
  if (it == iface_.end()) {
    it = iface_.emplace(m->name, d_.interfaces.size()).first;
    d_.interfaces.push_back({names_.Take("if:" + m->name, m->name), m->name, {}, ""});
  }
  return d_.interfaces[it->second].logical;
}

bool Importer::Address(const std::optional<AddressMatch>& a, Family, std::vector<std::string>& out, bool* negated) {
  if (!a) return true;
  out = a->text;
  *negated = a->negated;
  return true;
}

std::string Importer::Services(const SourceRule& r, bool* negated, std::string* error) {
  *negated = false;
  if (r.proto < 0) {
    if (r.sport || r.dport || r.icmp_type >= 0) *error = "ports or an ICMP type without a protocol";
    return "";
  }
  std::string item;
  if (r.proto == kProtoTcp || r.proto == kProtoUdp) {
    item = r.proto == kProtoTcp ? "tcp" : "udp";
    if (r.dport) item += " " + PortList(EffectivePorts(*r.dport));
    if (r.sport) item += " sport " + PortList(EffectivePorts(*r.sport));
  } else if (r.proto == kProtoIcmp || r.proto == kProtoIcmpv6) {
    Family f = r.proto == kProtoIcmp ? Family::kV4 : Family::kV6;
    if ((f == Family::kV6) != (r.family == Family::kV6)) {
      *error = std::string("ICMP") + (f == Family::kV6 ? "v6 in an IPv4" : " in an IPv6") + " ruleset";
      return "";
    }
    item = f == Family::kV4 ? "icmp" : "icmpv6";
    if (r.icmp_type >= 0) {
      std::string name = IcmpTypeName(f, r.icmp_type);
      item += " " + (name.empty() ? std::to_string(r.icmp_type) : name);
      if (r.icmp_code >= 0) item += " code " + std::to_string(r.icmp_code);
    }
  } else {
    std::string name = ProtocolName(r.proto);
    item = "proto " + (name.empty() ? std::to_string(r.proto) : name);
  }
  *negated = r.proto_negated;
  if (r.proto_negated && (r.sport || r.dport || r.icmp_type >= 0)) *error = "a negated protocol with ports or types";
  return item;
}

std::optional<Piece> Importer::Convert(const FlatRule& fr, Base c, const char* action,
                                       const std::string& why_not) {
  const SourceRule& r = fr.rule;
  std::vector<std::string> reasons = ImportReasons(r);
  if (!why_not.empty()) reasons.push_back(why_not);
  Piece p;
  p.family = r.family;
  p.loc = r.loc;
  DraftRule& d = p.rule;
  d.action = action;
  d.comment = r.comment;
  d.trace = Trace(fr);
  std::string error;
  bool neg = false;
  std::string svc = Services(r, &neg, &error);
  if (!svc.empty()) d.services.push_back(svc);
  d.not_services = neg;
  if (!error.empty()) reasons.push_back(error), error.clear();
  d.in = Interface(r.iif, &error);
  if (!error.empty()) reasons.push_back(error), error.clear();
  d.out = Interface(r.oif, &error);
  if (!error.empty()) reasons.push_back(error), error.clear();
  Address(r.src, r.family, d.from, &d.not_from);
  Address(r.dst, r.family, d.to, &d.not_to);
  if (c == Base::kForward) {
    // A FORWARD rule never sees the firewall's own addresses; fwc would
    // place a rule naming them in output (without -i) or input (without
    // -o) as well. Say the addresses FORWARD can see.
    if ((!r.iif && !KeepToForward(r.src, own_.of(r.family), r.family, d.from)) ||
        (!r.oif && !KeepToForward(r.dst, LocalOf(r.family), r.family, d.to))) {
      report_.Note(r.loc, "left out: a FORWARD rule for the firewall's own addresses, which only INPUT and OUTPUT see");
      return std::nullopt;
    }
  }
  bool pinned = (r.src && !r.src->negated) || (r.dst && !r.dst->negated) || r.proto == kProtoIcmp ||
                r.proto == kProtoIcmpv6;
  // The chain says whether the firewall is the destination or the source.
  if (c == Base::kInput) {
    if (r.dst && !OwnAddress(*r.dst, r.family))
      reasons.push_back("a destination in INPUT that is not one of the firewall's addresses"),
          error = "declare the firewall's addresses with --address DEVICE=ADDRESS/LENGTH";
    if (!r.dst) d.to = {d_.firewall_name};
  } else if (c == Base::kOutput) {
    if (r.src && !OwnAddress(*r.src, r.family))
      reasons.push_back("a source in OUTPUT that is not one of the firewall's addresses"),
          error = "declare the firewall's addresses with --address DEVICE=ADDRESS/LENGTH";
    if (!r.src) d.from = {d_.firewall_name};
  }
  if (!r.states.empty()) {
    std::vector<std::string> st = r.states;
    if (r.states_negated) reasons.push_back("a negated connection state");
    // With the replies accepted first, a rule for new connections is a
    // plain rule.
    if (!(stateful_ && st == std::vector<std::string>{"new"})) d.states = st;
  }
  d.limit = r.limit;
  if (!reasons.empty()) {
    std::string why = "not imported: ";
    for (size_t i = 0; i < reasons.size(); ++i) why += (i ? "; " : "") + reasons[i];
    Gap(r.loc, false, why, error.empty() ? "import with --partial to leave this rule out and write the rest" : error);
    return std::nullopt;
  }
  if (!pinned) {
    DraftRule e = d;
    if (PinNegated(r, r.family, e)) {
      if (d.not_from) p.from_of_family = e.from;
      else p.to_of_family = e.to;
    }
  }
  p.family_pinned = pinned;
  p.forward = c == Base::kForward;
  // The key of a dual-stack pair: everything but the addresses' values.
  std::string k = d.action + "|" + std::to_string(static_cast<int>(c)) + "|";
  for (const auto& s : d.services) {
    std::string n = s;
    if (n.rfind("icmpv6", 0) == 0) n = "icmp" + n.substr(6);
    k += n + ",";
  }
  k += "|" + d.in + "|" + d.out + "|" + std::to_string(d.not_services) + std::to_string(d.not_from) +
       std::to_string(d.not_to) + std::to_string(d.from.empty()) + std::to_string(d.to.empty()) + "|" + d.comment +
       "|" + d.limit + "|";
  for (const auto& s : d.states) k += s + ",";
  if (!d.from.empty() && d.from[0] == d_.firewall_name) k += "|from-fw";
  if (!d.to.empty() && d.to[0] == d_.firewall_name) k += "|to-fw";
  p.key = k;
  return p;
}

// Whether a rule is one of those fwc always has at the top of its chains.
enum class Prologue { kNone, kLoopback, kNeighbours, kReplies, kInvalid };

// Which of the rules fwc has at the top of its chains a rule is.
Prologue PrologueKind(const SourceRule& r, Base c) {
  if (!r.unsupported.empty()) return Prologue::kNone;
  int n = MatchFieldCount(r);
  if (r.target == T::kAccept && n == 1 && c == Base::kInput && r.iif && !r.iif->negated && r.iif->name == "lo")
    return Prologue::kLoopback;
  if (r.target == T::kAccept && n == 1 && c == Base::kOutput && r.oif && !r.oif->negated && r.oif->name == "lo")
    return Prologue::kLoopback;
  std::set<std::string> st(r.states.begin(), r.states.end());
  if (r.target == T::kAccept && n == 1 && !r.states_negated && st == std::set<std::string>{"established", "related"})
    return Prologue::kReplies;
  if (r.target == T::kDrop && n == 1 && !r.states_negated && st == std::set<std::string>{"invalid"})
    return Prologue::kInvalid;
  // Neighbour discovery (133-136), which fwc accepts to and from itself.
  if (r.target == T::kAccept && c != Base::kForward && r.family == Family::kV6 && r.proto == kProtoIcmpv6 &&
      r.icmp_type >= 133 && r.icmp_type <= 136 && r.icmp_code < 0 && n == 2)
    return Prologue::kNeighbours;
  return Prologue::kNone;
}

// fwc's "option stateful yes" accepts replies and related traffic and drops
// invalid packets before any rule, in every chain: a chain is that when
// both rules come before its first rule of its own.
bool ChainIsStateful(const SourceTable& t, Base c) {
  bool replies = false, invalid = false;
  for (const auto& fr : FlattenChain(t, ChainName(c))) {
    Prologue k = PrologueKind(fr.rule, c);
    if (k == Prologue::kNone) break;
    replies |= k == Prologue::kReplies;
    invalid |= k == Prologue::kInvalid;
  }
  return replies && invalid;
}

bool IsBuiltin(const SourceRule& r, Base c, bool stateful) {
  Prologue k = PrologueKind(r, c);
  if (k == Prologue::kReplies || k == Prologue::kInvalid) return stateful;
  return k != Prologue::kNone;
}

std::vector<Piece> Importer::ChainPieces(Family f, Base c, const SourceTable& t) {
  std::vector<Piece> out;
  std::vector<FlatRule> flat = FlattenChain(t, ChainName(c));
  for (size_t i = 0; i < flat.size(); ++i) {
    const SourceRule& r = flat[i].rule;
    if (IsBuiltin(r, c, stateful_)) continue;
    const char* action = nullptr;
    std::string why;
    switch (r.target) {
      case T::kAccept: action = "accept"; break;
      case T::kDrop: action = "drop"; break;
      case T::kReject: action = "reject"; break;
      case T::kLog: {
        // LOG then a rule with the same matches: one rule that logs.
        if (i + 1 < flat.size() && MatchKey(flat[i + 1].rule) == MatchKey(r) && flat[i + 1].rule.target != T::kLog &&
            flat[i + 1].rule.target != T::kNone) {
          if (auto p = Convert(flat[i + 1], c,
                               flat[i + 1].rule.target == T::kAccept ? "accept"
                               : flat[i + 1].rule.target == T::kDrop ? "drop"
                                                                     : "reject",
                               flat[i + 1].rule.target == T::kAccept || flat[i + 1].rule.target == T::kDrop ||
                                       flat[i + 1].rule.target == T::kReject
                                   ? ""
                                   : "a LOG rule before a rule that is not accept, drop or reject")) {
            p->rule.log = true;
            p->rule.log_prefix = r.log_prefix;
            if (p->rule.log_prefix.size() > 29 || p->rule.log_prefix.find('$') != std::string::npos) {
              Gap(r.loc, false, "not imported: the log prefix '" + r.log_prefix + "' (fwc allows 29 bytes, no '$')");
            } else {
              p->rule.trace = Trace(flat[i]) + "-" + std::to_string(flat[i + 1].rule.loc.line);
              out.push_back(std::move(*p));
            }
          }
          ++i;
          continue;
        }
        why = "a LOG rule that the next rule does not repeat (fwc logs as part of a rule that decides)";
        action = "accept";
        break;
      }
      default:
        why = "the target of this rule in the filter table";
        action = "accept";
    }
    if (auto p = Convert(flat[i], c, action, why)) out.push_back(std::move(*p));
  }
  (void)f;
  return out;
}

// The longest common subsequence of the two families' keys: the rules
// they share become one rule, the others stay as they are, in an order
// that keeps each family's own order (the only order that matters: an
// IPv4 rule never meets an IPv6 packet).
void Importer::Merge(const std::vector<Piece>& v4, const std::vector<Piece>& v6) {
  size_t n = v4.size(), m = v6.size();
  std::vector<std::vector<unsigned>> L(n + 1, std::vector<unsigned>(m + 1, 0));
  if (n * m <= 4'000'000) {
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        L[i][j] = v4[i].key == v6[j].key ? L[i + 1][j + 1] + 1 : std::max(L[i + 1][j], L[i][j + 1]);
  }
  auto pin = [&](const Piece& p) {
    DraftRule r = p.rule;
    if (!p.family_pinned) {
      // The rule is of one family only: say so with the family's "any".
      std::string all = p.family == Family::kV4 ? "0.0.0.0/0" : "::/0";
      if (p.forward && r.from.empty() && r.to.empty()) {
        // Through the firewall: a literal "any" of the family would hold
        // the firewall's own addresses and put the rule in input and
        // output too. Every other address of the family is what it means.
        r.from = {OthersOf(p.family)};
        return r;
      }
      if (r.from.empty()) r.from = {all};
      else if (r.to.empty()) r.to = {all};
      else if (p.from_of_family) r.from = *p.from_of_family, r.not_from = false;
      else if (p.to_of_family) r.to = *p.to_of_family, r.not_to = false;
      else r.from = {all};  // from fw to fw cannot be; any other case has an address
    }
    return r;
  };
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && v4[i].key == v6[j].key && L[i][j] == L[i + 1][j + 1] + 1) {
      DraftRule r = v4[i].rule;
      const DraftRule& s = v6[j].rule;
      for (const auto& x : s.services)
        if (std::find(r.services.begin(), r.services.end(), x) == r.services.end()) r.services.push_back(x);
      if (r.from.empty() || r.from[0] != d_.firewall_name) r.from.insert(r.from.end(), s.from.begin(), s.from.end());
      if (r.to.empty() || r.to[0] != d_.firewall_name) r.to.insert(r.to.end(), s.to.begin(), s.to.end());
      if (s.trace != r.trace) r.trace += " (IPv4) and " + s.trace + " (IPv6)";
      d_.rules.push_back(std::move(r));
      ++i, ++j;
    } else if (i < n && (j >= m || L[i + 1][j] >= L[i][j + 1])) {
      d_.rules.push_back(pin(v4[i++]));
      d_.rules.back().trace += " (IPv4)";
    } else {
      d_.rules.push_back(pin(v6[j++]));
      d_.rules.back().trace += " (IPv6)";
    }
  }
}

void Importer::Nat(Family f, const SourceTable& t) {
  for (const char* chain : {"PREROUTING", "POSTROUTING", "OUTPUT", "INPUT"}) {
    bool pre = std::string(chain) == "PREROUTING", post = std::string(chain) == "POSTROUTING";
    for (const auto& fr : FlattenChain(t, chain)) {
      const SourceRule& r = fr.rule;
      std::vector<std::string> reasons = ImportReasons(r);
      DraftRule d;
      d.nat = true;
      d.trace = Trace(fr) + (f == Family::kV4 ? " (IPv4)" : " (IPv6)");
      d.comment = r.comment;
      auto port_of = [&](const std::string& to, std::string* addr) {
        // "10.0.0.5:8080", "[2001:db8::5]:8080", "10.0.0.5-10.0.0.9:1024-2000"
        std::string a = to, port;
        if (!a.empty() && a[0] == '[') {
          size_t close = a.find(']');
          port = close != std::string::npos && close + 1 < a.size() && a[close + 1] == ':' ? a.substr(close + 2) : "";
          a = a.substr(1, close == std::string::npos ? std::string::npos : close - 1);
        } else if (f == Family::kV4 && a.find(':') != std::string::npos) {
          port = a.substr(a.find(':') + 1);
          a = a.substr(0, a.find(':'));
        }
        *addr = a;
        for (char& c : port)
          if (c == ':') c = '-';
        return port;
      };
      if (!pre && !post) reasons.push_back(std::string("NAT in chain ") + chain + " (fwc translates in prerouting and postrouting)");
      std::string addr, port;
      switch (r.target) {
        case T::kDnat:
          port = port_of(r.to, &addr);
          d.action = "dnat to " + addr + (port.empty() ? "" : " port " + port);
          if (!pre) reasons.push_back("DNAT outside PREROUTING");
          break;
        case T::kSnat:
          port = port_of(r.to, &addr);
          d.action = "snat to " + addr + (port.empty() ? "" : " port " + port);
          if (!post) reasons.push_back("SNAT outside POSTROUTING");
          break;
        case T::kMasquerade:
          d.action = "masquerade" + (r.to.empty() ? "" : " port " + port_of(":" + r.to, &addr));
          if (!post) reasons.push_back("MASQUERADE outside POSTROUTING");
          if (r.oif && !r.oif->negated) {
            auto it = iface_.find(r.oif->name);
            if (it == iface_.end() || d_.interfaces[it->second].addresses.empty())
              reasons.push_back("MASQUERADE out " + r.oif->name +
                                ", whose address fwc must know (to say what the translated packets look like): give it "
                                "with --address " + r.oif->name + "=ADDRESS/LENGTH");
          }
          break;
        case T::kRedirect:
          d.action = "redirect to port " + r.to;
          if (r.to.empty() || r.to.find_first_not_of("0123456789") != std::string::npos)
            reasons.push_back("REDIRECT without one --to-ports port");
          break;
        case T::kAccept:
        case T::kReturn: d.action = "no nat"; break;
        default: reasons.push_back("the target of this rule in the nat table");
      }
      std::string error, err2;
      bool neg = false;
      std::string svc = Services(r, &neg, &error);
      if (!svc.empty()) d.services.push_back(svc);
      d.not_services = neg;
      d.in = Interface(r.iif, &err2);
      d.out = Interface(r.oif, &err2);
      for (const auto* e : {&error, &err2})
        if (!e->empty()) reasons.push_back(*e);
      Address(r.src, f, d.from, &d.not_from);
      Address(r.dst, f, d.to, &d.not_to);
      if (d.action == "no nat" && d.in.empty() && d.out.empty()) {
        // iptables' ACCEPT in the nat table ends the chain it is in: in
        // PREROUTING it is a no nat before routing only.
        reasons.push_back("an ACCEPT in the nat table without -i or -o (fwc's no nat would apply in both places)");
      }
      if (!r.states.empty()) d.states = r.states;
      d.limit = r.limit;
      if (!reasons.empty()) {
        std::string why = "not imported: ";
        for (size_t i = 0; i < reasons.size(); ++i) why += (i ? "; " : "") + reasons[i];
        Gap(r.loc, true, why, "import with --partial to leave this rule out and write the rest");
        continue;
      }
      if (r.target == T::kDnat && !PortForward(f, t, r, d)) continue;
      bool pinned = (r.src && !r.src->negated) || (r.dst && !r.dst->negated) || r.target == T::kDnat ||
                    r.target == T::kSnat || (!d.from.empty() && !d.to.empty() && PinNegated(r, f, d));
      if (!pinned) (d.from.empty() ? d.from : d.to) = {f == Family::kV4 ? "0.0.0.0/0" : "::/0"};
      d_.nat_rules.push_back(std::move(d));
    }
  }
}

// iptables' FORWARD sees a DNAT'ed connection with its new destination;
// fwc's filter names the one the client used. So the verdict the FORWARD
// chain gives the translated connections becomes a rule for the original
// ones; false (reported) when FORWARD does not give them all one verdict.
bool Importer::PortForward(Family f, const SourceTable&, const SourceRule& r, const DraftRule& d) {
  const SourceTable* filter = rs_.Find(f, "filter");
  std::string to = r.to, port;
  if (!to.empty() && to[0] == '[') {
    size_t close = to.find(']');
    if (close != std::string::npos && close + 2 < to.size()) port = to.substr(close + 2);
    to = to.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  } else if (f == Family::kV4 && to.find(':') != std::string::npos) {
    port = to.substr(to.find(':') + 1);
    to = to.substr(0, to.find(':'));
  }
  SourceRule tr = r;
  tr.target = T::kNone;
  std::string err;
  size_t dash = to.find('-');
  auto lo = ParseAddress(dash == std::string::npos ? to : to.substr(0, dash), &err);
  auto hi = dash == std::string::npos ? lo : ParseAddress(to.substr(dash + 1), &err);
  std::optional<unsigned> p;
  if (!port.empty() && port.find_first_not_of("0123456789") == std::string::npos && port.size() < 6)
    p = static_cast<unsigned>(std::stoul(port));
  if (!lo || !hi || lo->prefix >= 0 || hi->prefix >= 0 || lo->family != f || hi->family != f ||
      (!port.empty() && (!p || *p > 65535))) {
    Gap(r.loc, true, "not imported: the DNAT target '" + r.to + "' (one address or range, and one port)");
    return false;
  }
  AddressMatch a;
  a.set.Add(lo->addr, hi->addr);
  tr.dst = a;
  if (p) tr.dport = PortMatch{false, IntervalSet::Range(*p, *p)};
  bool local = own_.of(f).Contains(a.set);
  std::optional<ast::Action> v;
  if (filter) v = UniformVerdict(*filter, local ? "INPUT" : "FORWARD", tr);
  else v = ast::Action::kAccept;
  if (!v) {
    Gap(r.loc, true,
        std::string("not imported: the ") + (local ? "INPUT" : "FORWARD") +
            " chain does not give every connection this DNAT rule translates one verdict (fwc's filter rules name "
            "the destination the client used)",
        "split the DNAT rule by the forward rules' matches, or import with --partial and write the filter rule");
    return false;
  }
  // Always a rule of its own, first: even when the default would give the
  // same verdict, a later rule may match the destination the client used
  // (a drop on the inbound interface, say) where FORWARD saw another one.
  std::string verdict = *v == ast::Action::kAccept ? "accept" : *v == ast::Action::kDrop ? "drop" : "reject";
  Piece pc;
  pc.family = f;
  pc.family_pinned = true;
  pc.rule.action = verdict;
  pc.rule.services = d.services;
  pc.rule.not_services = d.not_services;
  pc.rule.from = d.from;
  pc.rule.not_from = d.not_from;
  pc.rule.to = d.to;
  pc.rule.not_to = d.not_to;
  if (d.to.empty()) pc.rule.to = {f == Family::kV4 ? "0.0.0.0/0" : "::/0"};
  pc.rule.in = d.in;
  pc.rule.trace = Where(r.loc) + ": the " + (local ? "INPUT" : "FORWARD") + " verdict of the connections this DNAT " +
                  "rule translates, for the destination the client used";
  pc.key = "dnat|" + Where(r.loc);
  port_forwards_[f == Family::kV6].push_back(std::move(pc));
  return true;
}

// A range object of every address of the family but the firewall's.
std::string Importer::OthersOf(Family f) {
  std::string key = f == Family::kV4 ? "others:v4" : "others:v6";
  if (names_.Has(key)) return names_.Get(key);
  DraftObject o;
  o.kind = DraftObject::Kind::kRange;
  o.name = names_.Take(key, f == Family::kV4 ? "ipv4-not-fw" : "ipv6-not-fw");
  const IntervalSet others = own_.of(f).Complement(FamilyMax(f));
  for (const auto& iv : others.intervals())
    o.items.push_back(FormatAddress(f, iv.lo) + " - " + FormatAddress(f, iv.hi));
  o.comment = std::string("every ") + (f == Family::kV4 ? "IPv4" : "IPv6") + " address but the firewall's";
  d_.objects.push_back(std::move(o));
  return names_.Get(key);
}

void Importer::NameServices() {
  std::map<std::string, std::string> by_item;
  for (const auto& k : kKnown) by_item[k.item] = k.name;
  std::set<std::string> declared;
  auto name_of = [&](const std::string& item) -> std::string {
    auto it = by_item.find(item);
    if (it == by_item.end()) return item;
    if (declared.insert(it->second).second) {
      DraftObject o;
      o.kind = DraftObject::Kind::kService;
      o.name = names_.Take("svc:" + it->second, it->second);
      o.items = {item};
      d_.objects.push_back(o);
    }
    return names_.Get("svc:" + it->second);
  };
  for (auto* list : {&d_.rules, &d_.nat_rules})
    for (auto& r : *list) {
      // Echo requests of both families together are ping.
      auto v4 = std::find(r.services.begin(), r.services.end(), "icmp echo-request");
      auto v6 = std::find(r.services.begin(), r.services.end(), "icmpv6 echo-request");
      if (v4 != r.services.end() && v6 != r.services.end()) {
        *v4 = "ping";
        r.services.erase(v6);
        if (declared.insert("ping").second) {
          DraftObject o;
          o.kind = DraftObject::Kind::kService;
          o.name = names_.Take("svc:ping", "ping");
          o.items = {"icmp echo-request", "icmpv6 echo-request"};
          d_.objects.push_back(o);
        }
        *std::find(r.services.begin(), r.services.end(), "ping") = names_.Get("svc:ping");
      }
      for (auto& s : r.services)
        if (!names_.Has("svc:ping") || s != names_.Get("svc:ping")) s = name_of(s);
    }
}

PolicyDraft Importer::Run() {
  d_.source = rs_.origin;
  d_.firewall_name = names_.Take("fw", opts_.firewall.empty() ? "fw" : opts_.firewall);
  d_.policy_name = names_.Take("policy", "imported");
  Addresses();
  // The firewall needs an address of each family for its rules to have
  // one; the loopback's are every Linux host's.
  bool v4 = !own_.v4.empty(), v6 = !own_.v6.empty();
  if (!v4 || !v6) {
    auto it = iface_.find("lo");
    if (it == iface_.end()) {
      it = iface_.emplace("lo", d_.interfaces.size()).first;
      d_.interfaces.push_back({names_.Take("if:lo", "loopback"), "lo", {}, ""});
    }
    auto& lo = d_.interfaces[it->second];
    if (!v4) lo.addresses.push_back("127.0.0.1/8"), own_.v4.Add(0x7f000001, 0x7f000001);
    if (!v6) lo.addresses.push_back("::1/128"), own_.v6.Add(1, 1);
    lo.comment = "every host's; give the real addresses with fwc import --address DEVICE=ADDRESS/LENGTH";
  }
  const SourceTable* filter[2] = {rs_.Find(Family::kV4, "filter"), rs_.Find(Family::kV6, "filter")};
  stateful_ = RulesetIsStateful(rs_);
  if (!stateful_ && (filter[0] || filter[1]))
    d_.header_notes.push_back(
        "Not every chain accepts replies and drops invalid packets before its own rules, as fwc's stateful "
        "option does: the policy says its connection-state rules itself (option stateful no).");
  if (!filter[0] && !filter[1])
    report_.Note(Loc{}, "the ruleset has no filter table: the policy only translates, and its default is accept");

  // One default for every chain: the one most chains have; the others end
  // with a rule that says theirs.
  std::map<std::string, int> votes;
  for (const auto* t : filter)
    if (t)
      for (const char* c : {"INPUT", "FORWARD", "OUTPUT"})
        if (const SourceChain* ch = t->Find(c)) ++votes[ch->policy];
  std::string def = "ACCEPT";
  if (votes["DROP"] > 0 && votes["DROP"] >= votes["ACCEPT"]) def = "DROP";
  if (!filter[0] && !filter[1]) def = "ACCEPT";
  d_.default_action = def == "DROP" ? "drop" : "accept";
  d_.options.push_back({"any-includes-firewall", "no"});
  if (!stateful_) d_.options.push_back({"stateful", "no"});

  for (Family f : {Family::kV4, Family::kV6})
    if (const SourceTable* t = rs_.Find(f, "nat")) Nat(f, *t);
  for (Base c : kChains) {
    std::vector<Piece> per[2];
    // First of all: they are about connections no other rule of the
    // ruleset sees with their original destination, and a rule "to fw"
    // placed before them would also take them (fwc places rules naming a
    // port-forwarded address of the firewall in forward too).
    if (c == Base::kInput)
      for (int fi = 0; fi < 2; ++fi) per[fi] = port_forwards_[fi];
    for (int fi = 0; fi < 2; ++fi) {
      if (!filter[fi]) continue;
      Family f = fi ? Family::kV6 : Family::kV4;
      for (auto& p : ChainPieces(f, c, *filter[fi])) per[fi].push_back(std::move(p));
      const SourceChain* ch = filter[fi]->Find(ChainName(c));
      std::string policy = ch ? ch->policy : "ACCEPT";
      if (policy != def) {
        Piece p;
        p.family = f;
        p.rule.action = policy == "DROP" ? "drop" : "accept";
        p.rule.trace = (ch ? Where(ch->loc) : rs_.origin) + ": the policy of " + ChainName(c);
        if (c == Base::kInput) p.rule.to = {d_.firewall_name};
        if (c == Base::kOutput) p.rule.from = {d_.firewall_name};
        p.key = p.rule.action + "|policy|" + std::to_string(static_cast<int>(c));
        if (c == Base::kForward) p.rule.trace += " (packets through the firewall)";
        p.forward = c == Base::kForward;
        per[fi].push_back(std::move(p));
      }
    }
    if (filter[0] && !filter[1] && c == Base::kInput)
      d_.header_notes.push_back("No IPv6 ruleset was given: IPv6 gets the policy's default (" + d_.default_action + ").");
    if (filter[1] && !filter[0] && c == Base::kInput)
      d_.header_notes.push_back("No IPv4 ruleset was given: IPv4 gets the policy's default (" + d_.default_action + ").");
    Merge(per[0], per[1]);
  }
  for (const auto& t : rs_.tables)
    if (t.name != "filter" && t.name != "nat") {
      bool any = false;
      for (const auto& c : t.chains) any |= !c.rules.empty() || (c.policy != "ACCEPT" && !c.policy.empty());
      if (any) Gap(t.loc, false, "not imported: table " + t.name + " (fwc imports the filter and nat tables)");
    }
  NameServices();
  return d_;
}

}  // namespace

bool RulesetIsStateful(const SourceRuleset& rs) {
  bool any = false;
  for (Family f : {Family::kV4, Family::kV6})
    if (const SourceTable* t = rs.Find(f, "filter")) {
      any = true;
      for (Base c : kChains)
        if (!ChainIsStateful(*t, c)) return false;
    }
  return any;
}

PolicyDraft ImportRuleset(const SourceRuleset& rs, const ImportOptions& opts, ImportReporter& report) {
  return Importer(rs, opts, report).Run();
}

}  // namespace fwc::import
