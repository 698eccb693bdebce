// The nft backend's set and verdict-map compilation (backends/nftables/set_merge.h):
// what it merges and what it must leave alone, and a differential test that
// proves merged and unmerged output equivalent by sending every packet of a
// small domain through both, over random IR chains and random policies of
// both families.
#include <catch2/catch.hpp>
#include <functional>
#include <random>

#include "backends/nft/nft_backend.h"
#include "backends/nftables/model.h"
#include "backends/nftables/set_merge.h"
#include "compiler/base/protocols.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;
using nftables::Dim;

namespace {

// Lowers a policy for nft without the shadow analysis (some tests need
// rules it would reject).
ir::Ruleset LowerPolicy(const std::string& text) {
  Compilation c;
  c.set_analysis(false);
  MemoryLoader loader;
  bool ok = c.Check("test.fw", text, loader, {});
  INFO(c.diags().Render());
  REQUIRE(ok);
  return c.Lower(NftBackend().caps());
}

std::string Emit(const ir::Ruleset& rs, bool merge = true) { return NftBackend(merge).Emit(rs); }

// The body of one chain of an nft file.
std::string ChainText(const std::string& out, const std::string& chain) {
  size_t start = out.find("\tchain " + chain + " {\n");
  if (start == std::string::npos) return "";
  size_t end = out.find("\t}\n", start);
  return out.substr(start, end - start);
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

const nftables::MergedChain* FindMerged(const nftables::MergedRuleset& ms, const std::string& name) {
  for (const auto& c : ms.chains)
    if (c.name == name) return &c;
  for (const auto& c : ms.action_chains)
    if (c.name == name) return &c;
  return nullptr;
}

// --- a brute-force packet matcher over the IR and over merged rules ---------

struct Packet {
  Family family = Family::kV4;
  std::string iif, oif;
  U128 src = 0, dst = 0;
  int proto = kProtoTcp;
  int sport = 0, dport = 0;
  int type = 0, code = 0;
  ir::CtState ct = ir::CtState::kNone;  // kNone: a new connection
};

bool In(const IntervalSet& s, U128 v) {
  for (const auto& iv : s.intervals())
    if (iv.lo <= v && v <= iv.hi) return true;
  return false;
}

bool Keyed(unsigned mask, Dim d) { return (mask >> static_cast<int>(d)) & 1; }

bool AddressMatches(const ir::Rule& r, const ir::AddrMatch& a, const Packet& p, U128 v) {
  if (!a.present) return true;
  Family f = r.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4;
  if (p.family != f) return false;  // "ip saddr" never matches an IPv6 packet, negated or not
  return In(a.set, v) != a.negated;
}

// Whether a packet matches an IR rule, ignoring the dimensions in `keyed`.
bool Matches(const ir::Rule& r, const Packet& p, unsigned keyed = 0) {
  if (r.family == ir::RuleFamily::kV4 && p.family != Family::kV4) return false;
  if (r.family == ir::RuleFamily::kV6 && p.family != Family::kV6) return false;
  if (!r.iif.empty() && !Keyed(keyed, Dim::kIif) && p.iif != r.iif) return false;
  if (!r.oif.empty() && !Keyed(keyed, Dim::kOif) && p.oif != r.oif) return false;
  if (!Keyed(keyed, Dim::kSrc) && !AddressMatches(r, r.src, p, p.src)) return false;
  if (!Keyed(keyed, Dim::kDst) && !AddressMatches(r, r.dst, p, p.dst)) return false;
  if (r.has_service) {
    const ir::ServiceMatch& s = r.service;
    if (!Keyed(keyed, Dim::kProto) && p.proto != s.proto) return false;
    if (s.proto == kProtoTcp || s.proto == kProtoUdp) {
      if (!s.sports.empty() && !Keyed(keyed, Dim::kSport) && !In(s.sports, p.sport)) return false;
      if (!s.dports.empty() && !Keyed(keyed, Dim::kDport) && !In(s.dports, p.dport)) return false;
    }
    if (s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) {
      if (!s.icmp_types.empty() && !Keyed(keyed, Dim::kIcmpType) &&
          std::find(s.icmp_types.begin(), s.icmp_types.end(), p.type) == s.icmp_types.end())
        return false;
      if (s.icmp_code >= 0 && !Keyed(keyed, Dim::kIcmpCode) && p.code != s.icmp_code) return false;
    }
  }
  if (r.ct != ir::CtState::kNone && r.ct != p.ct) return false;
  return true;
}

bool Covers(const nftables::MergedRuleset& ms, const nftables::MergedRule& m, size_t element, const Packet& p) {
  const std::vector<Interval>& key = m.elements[element].key;
  for (size_t i = 0; i < m.key.size(); ++i) {
    U128 v = 0;
    switch (m.key[i]) {
      case Dim::kIif:
      case Dim::kOif: {
        const std::string& name = m.key[i] == Dim::kIif ? p.iif : p.oif;
        auto it = std::find(ms.ifnames.begin(), ms.ifnames.end(), name);
        if (it == ms.ifnames.end()) return false;
        v = static_cast<U128>(it - ms.ifnames.begin());
        break;
      }
      case Dim::kSrc: v = p.src; break;
      case Dim::kDst: v = p.dst; break;
      case Dim::kProto: v = static_cast<U128>(p.proto); break;
      case Dim::kSport: v = static_cast<U128>(p.sport); break;
      case Dim::kDport: v = static_cast<U128>(p.dport); break;
      case Dim::kIcmpType: v = static_cast<U128>(p.type); break;
      case Dim::kIcmpCode: v = static_cast<U128>(p.code); break;
    }
    if (v < key[i].lo || v > key[i].hi) return false;
  }
  return true;
}

enum class Outcome { kAccept, kDrop, kRejectTcp, kRejectIcmp, kReturn, kEnd };

// What happened to a packet: the verdict, and what it logged and counted
// (by the comment of the IR rule that counted it) on the way.
struct Trace {
  Outcome outcome = Outcome::kEnd;
  std::vector<std::string> logs;
  std::vector<std::string> counted;
  bool ambiguous = false;  // a merged lookup found elements of two rules
  bool operator==(const Trace& o) const {
    return outcome == o.outcome && logs == o.logs && counted == o.counted && !ambiguous && !o.ambiguous;
  }
};

std::string Describe(const Trace& t) {
  static const char* names[] = {"accept", "drop", "reject-tcp", "reject-icmp", "return", "end"};
  std::string s = names[static_cast<int>(t.outcome)];
  for (const auto& l : t.logs) s += " log[" + l + "]";
  for (const auto& c : t.counted) s += " counted[" + c + "]";
  if (t.ambiguous) s += " AMBIGUOUS";
  return s;
}

std::string Describe(const Packet& p) {
  std::string s = p.family == Family::kV4 ? "v4" : "v6";
  s += " iif=" + p.iif + " oif=" + p.oif + " src=" + FormatAddress(p.family, p.src) +
       " dst=" + FormatAddress(p.family, p.dst) + " proto=" + std::to_string(p.proto) +
       " sport=" + std::to_string(p.sport) + " dport=" + std::to_string(p.dport) +
       " type=" + std::to_string(p.type) + " code=" + std::to_string(p.code) +
       " ct=" + std::to_string(static_cast<int>(p.ct));
  return s;
}

// A verdict's effect: a final outcome, or kEnd to go on with the next rule.
template <typename Call>
Outcome Apply(ir::Verdict v, const std::string& target, Call call) {
  switch (v) {
    case ir::Verdict::kContinue: return Outcome::kEnd;
    case ir::Verdict::kAccept: return Outcome::kAccept;
    case ir::Verdict::kDrop: return Outcome::kDrop;
    case ir::Verdict::kRejectTcpReset: return Outcome::kRejectTcp;
    case ir::Verdict::kRejectIcmp: return Outcome::kRejectIcmp;
    case ir::Verdict::kReturn: return Outcome::kReturn;
    case ir::Verdict::kNat: return Outcome::kAccept;  // not in filter chains
    case ir::Verdict::kJump: {
      Outcome o = call(target);
      return o == Outcome::kReturn ? Outcome::kEnd : o;
    }
  }
  return Outcome::kEnd;
}

Outcome RunIr(const ir::Ruleset& rs, const std::string& chain, const Packet& p, Trace& t, int depth = 0) {
  const ir::Chain* c = FindChain(rs, chain);
  if (depth >= 8 || !c) FAIL("no chain " << chain << " or jumps too deep");
  for (const ir::Rule& r : c->rules) {
    if (!Matches(r, p)) continue;
    if (r.counter) t.counted.push_back(r.comment);
    if (r.log.enabled) t.logs.push_back(r.log.prefix);
    Outcome o = Apply(r.verdict, r.target, [&](const std::string& to) { return RunIr(rs, to, p, t, depth + 1); });
    if (o != Outcome::kEnd) return o;
  }
  return Outcome::kEnd;
}

Outcome RunMerged(const nftables::MergedRuleset& ms, const std::string& chain, const Packet& p, Trace& t,
                  int depth = 0) {
  const nftables::MergedChain* c = FindMerged(ms, chain);
  if (depth >= 8 || !c) FAIL("no chain " << chain << " or jumps too deep");
  const ir::Chain* ir_chain = FindChain(*ms.ir, chain);
  auto call = [&](const std::string& to) { return RunMerged(ms, to, p, t, depth + 1); };
  for (const nftables::MergedRule& m : c->rules) {
    if (m.key.empty()) {
      if (!Matches(m.base, p)) continue;
      if (m.base.counter) t.counted.push_back(ir_chain ? ir_chain->rules[m.origins.front()].comment : "");
      if (m.base.log.enabled) t.logs.push_back(m.base.log.prefix);
      Outcome o = Apply(m.base.verdict, m.base.target, call);
      if (o != Outcome::kEnd) return o;
      continue;
    }
    unsigned mask = 0;
    for (Dim d : m.key) mask |= 1u << static_cast<int>(d);
    if (!Matches(m.base, p, mask)) continue;
    const nftables::Element* hit = nullptr;
    for (size_t i = 0; i < m.elements.size(); ++i) {
      if (!Covers(ms, m, i, p)) continue;
      if (hit) t.ambiguous = true;  // nft would refuse overlapping elements
      hit = &m.elements[i];
    }
    if (!hit) continue;
    if (!ir_chain) FAIL("merged rule outside an IR chain");
    if (hit->counter) t.counted.push_back(ir_chain->rules[hit->origin].comment);
    const nftables::Action& a = m.actions[hit->action];
    Outcome o;
    if (!a.chain.empty()) {
      if (!m.is_map()) FAIL("an action chain in a set rule");
      o = RunMerged(ms, a.chain, p, t, depth + 1);
      if (a.go_to) return o == Outcome::kEnd ? Outcome::kReturn : o;  // goto: its return is ours
      if (o == Outcome::kReturn) o = Outcome::kEnd;
    } else {
      if (a.log) t.logs.push_back(a.log_prefix);
      o = Apply(a.verdict, a.target, call);
    }
    if (o != Outcome::kEnd) return o;
  }
  return Outcome::kEnd;
}

// A small packet domain: both families, a few addresses around the ones the
// rules use, ports 1..5, three ICMP types, a few interfaces.
struct Domain {
  std::vector<U128> v4, v6;
  std::vector<std::string> iifs{"eth1", "eth2", "lo"}, oifs{"eth1", "eth2"};
  std::vector<ir::CtState> cts{ir::CtState::kNone};
};

template <typename F>
void ForEachPacket(const Domain& d, F f) {
  Packet p;
  for (Family fam : {Family::kV4, Family::kV6}) {
    p.family = fam;
    const auto& addrs = fam == Family::kV4 ? d.v4 : d.v6;
    int icmp = fam == Family::kV4 ? kProtoIcmp : kProtoIcmpv6;
    std::vector<std::array<int, 5>> l4;  // proto, sport, dport, type, code
    for (int proto : {kProtoTcp, kProtoUdp})
      for (int sport : {1, 4})
        for (int dport = 1; dport <= 5; ++dport) l4.push_back({proto, sport, dport, 0, 0});
    for (int type : {0, 3, 8})
      for (int code : {0, 4}) l4.push_back({icmp, 0, 0, type, code});
    l4.push_back({47, 0, 0, 0, 0});
    for (const auto& iif : d.iifs)
      for (const auto& oif : d.oifs)
        for (U128 src : addrs)
          for (U128 dst : addrs)
            for (const auto& s : l4)
              for (ir::CtState ct : d.cts) {
                p.iif = iif;
                p.oif = oif;
                p.src = src;
                p.dst = dst;
                p.proto = s[0];
                p.sport = s[1];
                p.dport = s[2];
                p.type = s[3];
                p.code = s[4];
                p.ct = ct;
                f(p);
              }
  }
}

// Every packet of the domain gets the same verdict, logs and counts from the
// merged chains as from the IR, through every base chain. Returns the
// number of packets compared.
size_t CheckEquivalent(const ir::Ruleset& rs, const nftables::MergeOptions& opt, const Domain& d) {
  nftables::MergedRuleset ms = nftables::MergeSets(rs, opt);
  REQUIRE(ms.chains.size() == rs.chains.size());
  size_t packets = 0, failures = 0;
  for (const ir::Chain& c : rs.chains) {
    if (c.hook == ir::Hook::kNone) continue;
    ForEachPacket(d, [&](const Packet& p) {
      ++packets;
      Trace a, b;
      a.outcome = RunIr(rs, c.name, p, a);
      b.outcome = RunMerged(ms, c.name, p, b);
      for (Trace* t : {&a, &b})
        if (t->outcome == Outcome::kReturn || t->outcome == Outcome::kEnd) t->outcome = Outcome::kEnd;
      if (a == b || failures > 3) return;
      ++failures;
      UNSCOPED_INFO(Describe(p) << " in " << c.name << ": unmerged " << Describe(a) << ", merged "
                                << Describe(b) << "\n--- unmerged:\n"
                                << Emit(rs, false) << "\n--- merged:\n"
                                << NftBackend::Emit(ms));
      CHECK(a == b);
    });
  }
  return packets;
}

// --- random IR ---------------------------------------------------------

class RandomIr {
 public:
  explicit RandomIr(uint32_t seed) : rng_(seed) {}

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Pick(100) < percent; }

  static U128 Base(Family f) { return f == Family::kV4 ? U128{0x0a000000} : U128{0x20010db8} << 96; }

  // Sets of addresses among base+0 .. base+5.
  IntervalSet Addresses(Family f) {
    IntervalSet s;
    U128 b = Base(f);
    int n = Chance(20) ? 2 : 1;
    for (int i = 0; i < n; ++i) {
      switch (Pick(4)) {
        case 0: {
          int a = Pick(6);
          s.Add(b + a, b + a);
          break;
        }
        case 1: {
          int a = 2 * Pick(3);
          s.Add(b + a, b + a + 1);
          break;
        }
        case 2: s.Add(b, b + 3); break;
        default: {
          int lo = Pick(6), hi = lo + Pick(6 - lo);
          s.Add(b + lo, b + hi);
        }
      }
    }
    return s;
  }

  IntervalSet Ports() {
    IntervalSet s;
    int lo = 1 + Pick(5), hi = lo + (Chance(30) ? Pick(6 - lo) : 0);
    s.Add(lo, hi);
    if (Chance(20)) {
      int p = 1 + Pick(5);
      s.Add(p, p);
    }
    return s;
  }

  ir::AddrMatch Address(Family f) {
    ir::AddrMatch a;
    if (Chance(45)) return a;
    a.present = true;
    if (Chance(10)) {  // a named group: always the same set
      a.set_name = f == Family::kV4 ? "grp_v4" : "grp_v6";
      a.set.Add(Base(f) + 1, Base(f) + 2);
      return a;
    }
    a.set = Addresses(f);
    a.negated = Chance(10);
    return a;
  }

  void Service(ir::Rule& r) {
    int k = Pick(10);
    bool family_specific = r.family != ir::RuleFamily::kAny;
    int icmp = r.family == ir::RuleFamily::kV6 ? kProtoIcmpv6 : kProtoIcmp;
    if (k < 3) return;
    r.has_service = true;
    ir::ServiceMatch& s = r.service;
    if (k < 6) {
      s.proto = Chance(60) ? kProtoTcp : kProtoUdp;
      if (Chance(85)) s.dports = Ports();
      if (s.dports.empty() || Chance(25)) s.sports = Ports();
    } else if (k < 8 || !family_specific) {
      int choices[] = {kProtoTcp, kProtoUdp, 47, icmp};
      s.proto = choices[Pick(family_specific ? 4 : 3)];
    } else {
      s.proto = icmp;
      int types[] = {0, 3, 8};
      if (Chance(30)) {
        s.icmp_types = {types[Pick(3)]};
        s.icmp_code = Chance(50) ? 0 : 4;
      } else {
        for (int t : types)
          if (Chance(50)) s.icmp_types.push_back(t);
        if (s.icmp_types.empty()) s.icmp_types.push_back(8);
      }
    }
  }

  ir::Rule Rule(int line, const std::vector<std::string>& targets) {
    ir::Rule r;
    int f = Pick(10);
    r.family = f < 4 ? ir::RuleFamily::kV4 : f < 8 ? ir::RuleFamily::kV6 : ir::RuleFamily::kAny;
    if (Chance(30)) r.iif = Chance(50) ? "eth1" : "eth2";
    if (Chance(20)) r.oif = "eth1";
    if (r.family != ir::RuleFamily::kAny) {
      Family fam = r.family == ir::RuleFamily::kV4 ? Family::kV4 : Family::kV6;
      r.src = Address(fam);
      r.dst = Address(fam);
    }
    Service(r);
    Verdict(r, targets);
    if (Chance(5)) r.ct = Chance(50) ? ir::CtState::kEstablishedRelated : ir::CtState::kInvalid;
    r.comment = "t.fw:" + std::to_string(line) + (Chance(30) ? " rule " + std::to_string(line) : "");
    if (Chance(4)) r.comment = "fwc: built in";
    return r;
  }

  void Verdict(ir::Rule& r, const std::vector<std::string>& targets) {
    int v = Pick(20);
    r.verdict = v < 9 ? ir::Verdict::kAccept : v < 13 ? ir::Verdict::kDrop : ir::Verdict::kAccept;
    if (v == 13) r.verdict = r.has_service && r.service.proto == kProtoTcp ? ir::Verdict::kRejectTcpReset
                                                                           : ir::Verdict::kDrop;
    if (v == 14) r.verdict = ir::Verdict::kRejectIcmp;
    if (v == 15) r.verdict = ir::Verdict::kReturn;
    if (v == 16 && !targets.empty()) {
      r.verdict = ir::Verdict::kJump;
      r.target = targets[Pick(static_cast<int>(targets.size()))];
    }
    r.log = {};
    if (Chance(15)) {
      r.log.enabled = true;
      r.log.prefix = Chance(50) ? "" : "p" + std::to_string(Pick(2));
    }
    if (v == 17) {
      r.verdict = ir::Verdict::kContinue;
      r.log.enabled = true;
      r.log.rate = 5;
      r.log.rate_unit = "minute";
    }
    r.counter = Chance(20);
  }

  // The previous rule with one or two values changed, and maybe its action:
  // makes runs of one shape likely.
  ir::Rule Mutate(ir::Rule r, int line, const std::vector<std::string>& targets) {
    Family fam = r.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4;
    for (int n = 1 + Pick(2); n > 0; --n) {
      switch (Pick(6)) {
        case 0:
          if (!r.iif.empty()) r.iif = r.iif == "eth1" ? "eth2" : "eth1";
          break;
        case 1:
        case 2:
          if (r.family != ir::RuleFamily::kAny) {
            ir::AddrMatch& a = Chance(50) ? r.src : r.dst;
            if (a.set_name.empty() && !a.negated) {
              a.present = !Chance(10);
              a.set = Addresses(fam);
            }
          }
          break;
        case 3:
          if (r.has_service && (r.service.proto == kProtoTcp || r.service.proto == kProtoUdp) &&
              (!r.service.dports.empty() || !r.service.sports.empty())) {
            if (Chance(30)) r.service.proto = r.service.proto == kProtoTcp ? kProtoUdp : kProtoTcp;
            (r.service.dports.empty() ? r.service.sports : r.service.dports) = Ports();
          } else if (r.has_service && !r.service.icmp_types.empty()) {
            r.service.icmp_types = {Chance(50) ? 0 : 3};
          } else if (r.has_service) {
            r.service.proto = Chance(50) ? 47 : kProtoUdp;
          }
          break;
        default: break;
      }
    }
    if (Chance(30)) Verdict(r, targets);
    if (r.verdict == ir::Verdict::kRejectTcpReset && !(r.has_service && r.service.proto == kProtoTcp))
      r.verdict = ir::Verdict::kDrop;
    r.counter = Chance(20);
    r.comment = "t.fw:" + std::to_string(line);
    return r;
  }

  std::vector<ir::Rule> Rules(int n, int first_line, const std::vector<std::string>& targets) {
    std::vector<ir::Rule> out;
    for (int i = 0; i < n; ++i) {
      int line = first_line + i;
      if (!out.empty() && Chance(55)) out.push_back(Mutate(out.back(), line, targets));
      else out.push_back(Rule(line, targets));
    }
    return out;
  }

  ir::Ruleset Ruleset() {
    ir::Ruleset rs;
    rs.source = "t.fw";
    rs.policy_name = "random";
    ir::Chain sub;
    sub.name = "sub";
    sub.rules = Rules(Pick(8), 100, {});
    rs.chains.push_back(sub);
    ir::Chain fwd;
    fwd.name = "forward";
    fwd.hook = ir::Hook::kForward;
    fwd.policy = Chance(50) ? ir::Verdict::kAccept : ir::Verdict::kDrop;
    fwd.rules = Rules(4 + Pick(22), 1, {"sub"});
    rs.chains.push_back(fwd);
    return rs;
  }

 private:
  std::mt19937 rng_;
};

// Fewer random cases under the sanitizers (a Debug build, many times slower).
#if defined(__SANITIZE_ADDRESS__)
constexpr int kRandomScale = 3;
#else
constexpr int kRandomScale = 1;
#endif

Domain SmallDomain() {
  Domain d;
  for (Family f : {Family::kV4, Family::kV6}) {
    auto& v = f == Family::kV4 ? d.v4 : d.v6;
    for (int i = 0; i < 6; ++i) v.push_back(RandomIr::Base(f) + i);
    v.push_back(RandomIr::Base(f) + 200);
  }
  d.cts = {ir::CtState::kNone, ir::CtState::kEstablishedRelated};
  return d;
}

}  // namespace

TEST_CASE("a run of rules of one shape becomes one rule over a set", "[set_merge]") {
  std::string objects, rules;
  for (int i = 1; i <= 5; ++i) {
    objects += "host h" + std::to_string(i) + " 10.2.0." + std::to_string(i) + ";\n";
    rules += "  accept tcp 80 from any to h" + std::to_string(i) + ";\n";
  }
  ir::Ruleset rs = LowerPolicy(Policy(objects, rules));
  std::string fwd = ChainText(Emit(rs), "forward");
  CHECK(fwd.find("\t\tip daddr { 10.2.0.1, 10.2.0.2, 10.2.0.3, 10.2.0.4, 10.2.0.5 } tcp dport 80 accept "
                 "comment \"test.fw:12-16\"\n") != std::string::npos);
  CHECK(Count(fwd, "accept comment \"test.fw:") == 1);
  // Without merging: one rule per policy rule.
  CHECK(Count(ChainText(Emit(rs, false), "forward"), "accept comment \"test.fw:") == 5);
}

TEST_CASE("rules that differ in several dimensions become a concatenated set", "[set_merge]") {
  ir::Ruleset rs = LowerPolicy(Policy("",
                                      "  accept tcp 22 from 10.9.0.1 to 10.2.0.1;\n"
                                      "  accept udp 53 from 10.9.0.2 to 10.2.0.2;\n"
                                      "  accept tcp 8000-8099 from 10.9.1.0/24 to 10.2.0.3;\n"
                                      "  accept tcp 443 from any to 10.2.0.4 - 10.2.0.9;\n"));
  std::string fwd = ChainText(Emit(rs), "forward");
  CHECK(fwd.find("ip saddr . ip daddr . meta l4proto . th dport { 10.9.0.1 . 10.2.0.1 . tcp . 22, "
                 "10.9.0.2 . 10.2.0.2 . udp . 53, 10.9.1.0/24 . 10.2.0.3 . tcp . 8000-8099, "
                 "0.0.0.0/0 . 10.2.0.4-10.2.0.9 . tcp . 443 } accept comment \"test.fw:7-10\"") !=
        std::string::npos);
  // Two rules alone read better unmerged.
  ir::Ruleset two = LowerPolicy(Policy("",
                                       "  accept tcp 22 from 10.9.0.1 to 10.2.0.1;\n"
                                       "  accept udp 53 from 10.9.0.2 to 10.2.0.2;\n"));
  CHECK(Count(ChainText(Emit(two), "forward"), "comment \"test.fw:") == 2);
}

TEST_CASE("a concatenation never needs more than the kernel's 64 bytes of registers", "[set_merge]") {
  // iifname . oifname . ip6 saddr . ip6 daddr . tcp dport would be 68 bytes:
  // nft loads the set but aborts linearizing the lookup (found by the
  // import side-by-side test).
  const char* rules =
      "  accept tcp 3389 from 2001:db8:100::5 to 2001:db8:20::10 in outside out dmz;\n"
      "  accept tcp 25 from 2001:db8:100::6 to 2001:db8:30::10 in dmz out outside;\n"
      "  accept tcp 5432 from 2001:db8:30::7 to 2a00:1450::1 in outside out dmz;\n";
  std::string fwd = ChainText(Emit(LowerPolicy(Policy("", rules))), "forward");
  CHECK(fwd.find("iifname . oifname . ip6 saddr . ip6 daddr . tcp dport") == std::string::npos);
  CHECK(Count(fwd, "comment \"test.fw:") == 3);
  // The same shape in IPv4 is 44 bytes, and merges.
  const char* v4 =
      "  accept tcp 3389 from 10.100.0.5 to 10.20.0.10 in outside out dmz;\n"
      "  accept tcp 25 from 10.100.0.6 to 10.30.0.10 in dmz out outside;\n"
      "  accept tcp 5432 from 10.30.0.7 to 10.40.0.1 in outside out dmz;\n";
  CHECK(ChainText(Emit(LowerPolicy(Policy("", v4))), "forward").find("iifname . oifname . ip saddr . ip daddr . tcp dport") !=
        std::string::npos);
}

TEST_CASE("disjoint rules with different verdicts become a verdict map", "[set_merge]") {
  ir::Ruleset rs = LowerPolicy(Policy("",
                                      "  accept tcp 80 from any to 10.2.0.1;\n"
                                      "  drop tcp 80 from any to 10.2.0.2;\n"
                                      "  accept tcp 80 from any to 10.2.0.3;\n"
                                      "  reject tcp 80 from any to 10.2.0.4;\n"
                                      "  accept tcp 80 from any to 10.2.0.5 log prefix \"web \";\n"));
  std::string out = Emit(rs);
  std::string fwd = ChainText(out, "forward");
  CHECK(fwd.find("ip daddr vmap { 10.2.0.1 : accept, 10.2.0.2 : drop, 10.2.0.3 : accept, "
                 "10.2.0.4 : jump forward_act1, 10.2.0.5 : jump forward_act2 }") != std::string::npos);
  // Reject is no verdict a map can hold, and a log needs a rule: each goes
  // through a chain of its own whose comment names its policy line.
  CHECK(ChainText(out, "forward_act1").find("meta l4proto tcp reject with tcp reset comment \"test.fw:10\"") !=
        std::string::npos);
  CHECK(ChainText(out, "forward_act2").find("meta nfproto ipv4 log prefix \"web \" accept comment \"test.fw:11\"") !=
        std::string::npos);
}

TEST_CASE("overlapping rules end a run: first-match order is kept", "[set_merge]") {
  // Line 8 overlaps line 7 without being inside it: the two must stay in
  // order, each in its own run.
  ir::Ruleset rs = LowerPolicy(Policy("",
                                      "  accept from 10.9.0.0/24 to any in outside;\n"
                                      "  drop from 10.9.0.0/16 to any in outside;\n"
                                      "  accept from 10.8.0.0/16 to any in outside;\n"
                                      "  drop from 10.7.0.0/16 to any in outside;\n"));
  std::string fwd = ChainText(Emit(rs), "forward");
  size_t a = fwd.find("ip saddr 10.9.0.0/24 accept comment \"test.fw:7\"");
  size_t b = fwd.find("ip saddr vmap { 10.9.0.0/16 : drop, 10.8.0.0/16 : accept, 10.7.0.0/16 : drop }");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(a < b);

  // A rule inside an earlier rule of its run never matches first: it is
  // left out, and the comment still names its line.
  ir::Ruleset shadowed = LowerPolicy(Policy("",
                                            "  accept from 10.9.0.0/24 to any in outside;\n"
                                            "  drop from 10.9.0.7 to any in outside;\n"
                                            "  accept from 10.8.0.0/24 to any in outside;\n"));
  std::string s = ChainText(Emit(shadowed), "forward");
  CHECK(s.find("iifname \"eth1\" ip saddr { 10.9.0.0/24, 10.8.0.0/24 } accept comment \"test.fw:7-9\"") !=
        std::string::npos);
  CHECK(s.find("10.9.0.7") == std::string::npos);
}

TEST_CASE("a different verdict on an overlapping rule breaks the run", "[set_merge]") {
  // Same shape throughout, but line 9 overlaps line 7 (a port range) with
  // another verdict: lines 7-8 and 9-10 merge separately, in order.
  ir::Ruleset rs = LowerPolicy(Policy("",
                                      "  accept tcp 1000-2000 from any to 10.2.0.1;\n"
                                      "  accept tcp 3000 from any to 10.2.0.1;\n"
                                      "  drop tcp 1500-2500 from any to 10.2.0.1;\n"
                                      "  drop tcp 4000 from any to 10.2.0.1;\n"));
  std::string fwd = ChainText(Emit(rs), "forward");
  size_t a = fwd.find("ip daddr 10.2.0.1 tcp dport { 1000-2000, 3000 } accept comment \"test.fw:7-8\"");
  size_t b = fwd.find("ip daddr 10.2.0.1 tcp dport { 1500-2500, 4000 } drop comment \"test.fw:9-10\"");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(a < b);
}

TEST_CASE("rules that differ in their interface dispatch through a map", "[set_merge]") {
  ir::Ruleset rs = LowerPolicy(Policy("service ssh tcp 22;",
                                      "  accept ssh from any to fw in outside;\n"
                                      "  drop ssh from any to fw in dmz;\n"));
  std::string in = ChainText(Emit(rs), "input");
  CHECK(in.find("iifname vmap { \"eth1\" : accept, \"eth2\" : drop } comment \"test.fw:7-8\"") !=
        std::string::npos);
  CHECK(in.find("tcp dport 22 iifname vmap") != std::string::npos);

  ir::Ruleset three = LowerPolicy(Policy("",
                                         "  accept tcp 80 from any to 10.2.0.1 in outside;\n"
                                         "  accept tcp 80 from any to 10.2.0.2 in dmz;\n"
                                         "  accept tcp 80 from any to 10.2.0.3 in outside;\n"));
  CHECK(ChainText(Emit(three), "forward")
            .find("iifname . ip daddr { \"eth1\" . 10.2.0.1, \"eth2\" . 10.2.0.2, \"eth1\" . 10.2.0.3 } "
                  "tcp dport 80 accept") != std::string::npos);
}

TEST_CASE("prefixes and ranges become interval sets; large sets are named", "[set_merge]") {
  std::string rules;
  for (int i = 0; i < 40; ++i)
    rules += "  accept tcp " + std::to_string(1000 + 10 * i) + "-" + std::to_string(1005 + 10 * i) +
             " from 10." + std::to_string(i) + ".0.0/16 to any;\n";
  ir::Ruleset rs = LowerPolicy(Policy("", rules));
  std::string out = Emit(rs);
  CHECK(out.find("\tset forward_set1 {\n\t\ttype ipv4_addr . inet_service\n\t\tflags interval\n"
                 "\t\telements = {\n\t\t\t10.0.0.0/16 . 1000-1005,\n") != std::string::npos);
  CHECK(ChainText(out, "forward").find("ip saddr . tcp dport @forward_set1 accept comment \"test.fw:7-46\"") !=
        std::string::npos);
  // Single addresses and ports need no intervals: a hash lookup.
  std::string hosts;
  for (int i = 0; i < 40; ++i) hosts += "  accept tcp " + std::to_string(1000 + i) + " from 10.3.0." + std::to_string(i) + " to any;\n";
  std::string h = Emit(LowerPolicy(Policy("", hosts)));
  CHECK(h.find("\tset forward_set1 {\n\t\ttype ipv4_addr . inet_service\n\t\telements = {") != std::string::npos);
}

TEST_CASE("a table of many small sets keeps only the named ones; the rest stay rules", "[set_merge]") {
  // Four runs of two rules, each ended by a rule of another shape, then a
  // run of twenty.
  std::string rules;
  for (int r = 0; r < 4; ++r) {
    for (int i = 0; i < 2; ++i)
      rules += "  accept tcp 80 from any to 10.2." + std::to_string(r) + "." + std::to_string(i + 1) + ";\n";
    rules += "  accept proto gre from any to 10.3.0." + std::to_string(r + 1) + ";\n";
  }
  for (int i = 0; i < 20; ++i) rules += "  accept tcp 443 from any to 10.4.0." + std::to_string(i + 1) + ";\n";
  ir::Ruleset rs = LowerPolicy(Policy("", rules));
  auto keyed = [](const nftables::MergedChain& c) {
    std::vector<size_t> sizes;
    for (const auto& m : c.rules)
      if (!m.key.empty()) sizes.push_back(m.elements.size());
    return sizes;
  };
  nftables::MergedRuleset roomy = nftables::MergeSets(rs);
  const nftables::MergedChain* fwd = FindMerged(roomy, "forward");
  REQUIRE(fwd != nullptr);
  CHECK(keyed(*fwd) == std::vector<size_t>{2, 2, 2, 2, 20});
  nftables::MergeOptions crowded;
  crowded.max_sets = 4;  // five would be too many
  nftables::MergedRuleset ms = nftables::MergeSets(rs, crowded);
  fwd = FindMerged(ms, "forward");
  REQUIRE(fwd != nullptr);
  CHECK(keyed(*fwd) == std::vector<size_t>{20});
  // The small runs' rules one by one, in their order, then the set.
  std::vector<size_t> singles;
  for (const auto& m : fwd->rules)
    if (m.key.empty() && m.base.comment.rfind("test.fw:", 0) == 0) {
      REQUIRE(m.origins.size() == 1);
      singles.push_back(m.origins[0]);
    }
  CHECK(singles.size() == 12);
  CHECK(std::is_sorted(singles.begin(), singles.end()));
  CHECK(fwd->rules.back().key.size() == 1);
  std::string out = NftBackend().Emit(ms);
  CHECK(Count(ChainText(out, "forward"), "{ ") == 0);  // no inline set
  CHECK(ChainText(out, "forward").find("ip daddr @forward_set1 tcp dport 443 accept") != std::string::npos);
  // The same table with room for five sets is written as before.
  CHECK(Count(ChainText(Emit(rs), "forward"), "ip daddr { 10.2.") == 4);
}

TEST_CASE("IPv4 and IPv6 rules merge per family without leaving their stretch", "[set_merge]") {
  std::string objects, rules;
  for (int i = 1; i <= 4; ++i) {
    objects += "host h" + std::to_string(i) + " 10.2.0." + std::to_string(i) + ", 2001:db8:2::1" + std::to_string(i) + ";\n";
    rules += "  accept tcp 443 from any to h" + std::to_string(i) + ";\n";
  }
  rules += "  drop tcp 443 from any to any;\n";  // both families: a barrier
  rules += "  accept tcp 443 from any to h1;\n";
  ir::Ruleset rs = LowerPolicy(Policy(objects, rules));
  std::string fwd = ChainText(Emit(rs), "forward");
  size_t v4 = fwd.find("ip daddr { 10.2.0.1, 10.2.0.2, 10.2.0.3, 10.2.0.4 } tcp dport 443 accept");
  size_t v6 = fwd.find("ip6 daddr { 2001:db8:2::11, 2001:db8:2::12, 2001:db8:2::13, 2001:db8:2::14 } tcp dport 443 accept");
  size_t barrier = fwd.find("tcp dport 443 drop");
  size_t after = fwd.find("ip daddr 10.2.0.1 tcp dport 443 accept comment \"test.fw:16\"");
  CHECK(v4 < v6);
  CHECK(v6 < barrier);
  CHECK(barrier < after);
  CHECK(after != std::string::npos);
  CHECK(fwd.find("ip6 daddr 2001:db8:2::11 tcp dport 443 accept comment \"test.fw:16\"") > after);
}

TEST_CASE("rate-limited logs, fwc's own rules and named groups are not merged away", "[set_merge]") {
  ir::Ruleset rs = LowerPolicy(Policy("group g { 10.5.0.1, 10.5.0.2 }",
                                      "  drop from 10.9.0.1 to any log rate 5/minute;\n"
                                      "  drop from 10.9.0.2 to any log rate 5/minute;\n"
                                      "  accept tcp 80 from any to g;\n"
                                      "  accept tcp 81 from any to g;\n"
                                      "  accept tcp 82 from any to g;\n"));
  std::string out = Emit(rs);
  std::string fwd = ChainText(out, "forward");
  CHECK(Count(fwd, "limit rate 5/minute log") == 2);
  CHECK(fwd.find("ct state established,related accept comment \"fwc: replies and related traffic\"") !=
        std::string::npos);
  CHECK(fwd.find("ip daddr @g_v4 tcp dport { 80, 81, 82 } accept comment \"test.fw:9-11\"") != std::string::npos);
  CHECK(out.find("\tset g_v4 {") != std::string::npos);
}

TEST_CASE("counters stay per policy rule", "[set_merge]") {
  ir::Ruleset rs = LowerPolicy(Policy("",
                                      "  accept tcp 80 from any to 10.2.0.1 counter;\n"
                                      "  accept tcp 80 from any to 10.2.0.2;\n"
                                      "  drop tcp 80 from any to 10.2.0.3 counter;\n"
                                      "  accept tcp 81 from any to 10.2.0.4 in outside counter;\n"
                                      "  accept tcp 81 from any to 10.2.0.5 in outside;\n"));
  std::string out = Emit(rs);
  std::string fwd = ChainText(out, "forward");
  // In a map every element counts (nft cannot count some only).
  CHECK(fwd.find("ip daddr vmap @forward_map1 comment \"test.fw:7-9\"") != std::string::npos);
  CHECK(out.find("\tmap forward_map1 {\n\t\ttype ipv4_addr : verdict\n\t\tcounter\n") != std::string::npos);
  // In an inline set, only the elements of counting rules.
  CHECK(fwd.find("iifname \"eth1\" ip daddr { 10.2.0.4 counter, 10.2.0.5 } tcp dport 81 accept comment \"test.fw:10-11\"") !=
        std::string::npos);
}

TEST_CASE("merged comments name the lines and fit nft's limit", "[set_merge]") {
  ir::Rule a, b, c, d;
  a.comment = "crm.fw:22 web";
  b.comment = "crm.fw:31";
  c.comment = "crm.fw:25 other";
  CHECK(nftables::MergedComment({&a, &b, &c}) == "crm.fw:22-31");
  CHECK(nftables::MergedComment({&a, &a}) == "crm.fw:22 web");
  d.comment = "extra:objects.fw:7 x";
  CHECK(nftables::MergedComment({&a, &d}) == "crm.fw:22, extra:objects.fw:7");

  std::string name(150, 'n');
  std::string rules;
  for (int i = 0; i < 5; ++i) rules += "  accept tcp " + std::to_string(80 + i) + " from any to 10.2.0.1;\n";
  Compilation comp;
  comp.set_analysis(false);
  MemoryLoader loader;
  REQUIRE(comp.Check(name + ".fw", Policy("", rules), loader, {}));
  std::string out = Emit(comp.Lower(NftBackend().caps()));
  size_t pos = out.find("tcp dport { 80, 81, 82, 83, 84 } accept comment \"");
  REQUIRE(pos != std::string::npos);
  size_t open = out.find('"', out.find("comment", pos)), close = out.find('"', open + 1);
  CHECK(close - open - 1 == nftables::kMaxComment);
}

TEST_CASE("merged output is deterministic", "[set_merge]") {
  RandomIr gen(7);
  ir::Ruleset rs = gen.Ruleset();
  CHECK(Emit(rs) == Emit(rs));
}

TEST_CASE("differential: merged and unmerged chains decide every packet alike (random IR)", "[set_merge]") {
  Domain d = SmallDomain();
  nftables::MergeOptions eager;  // merge as much as possible, name small sets
  eager.min_concat_rules = 2;
  eager.inline_max = 2;
  nftables::MergeOptions tight;  // small budgets: runs end early
  tight.max_candidates = 1;
  tight.max_elements_per_rule = 2;
  tight.settle_after = 2;
  nftables::MergeOptions crowded;  // too many sets: only named ones stay
  crowded.inline_max = 2;
  crowded.max_sets = 1;
  size_t packets = 0, merged = 0, maps = 0;
  for (uint32_t seed = 1; seed <= 120 / kRandomScale; ++seed) {
    RandomIr gen(seed);
    ir::Ruleset rs = gen.Ruleset();
    INFO("seed " << seed);
    for (const nftables::MergeOptions& opt : {nftables::MergeOptions{}, eager, tight, crowded}) {
      packets += CheckEquivalent(rs, opt, d);
      for (const auto& c : nftables::MergeSets(rs, opt).chains)
        for (const auto& m : c.rules) {
          merged += m.origins.size() > 1;
          maps += m.is_map();
        }
    }
  }
  // The random chains must actually exercise sets and maps.
  CHECK(merged > 300 / kRandomScale);
  CHECK(maps > 50 / kRandomScale);
  CHECK(packets > 1000000 / kRandomScale);
}

namespace {

// A random policy over a few dual-stack and single-family objects.
std::string RandomPolicy(std::mt19937& rng) {
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  std::string objects =
      "host a 10.0.0.1, 2001:db8::1;\n"
      "host b 10.0.0.2;\n"
      "host c 2001:db8::3;\n"
      "host d 10.0.0.4, 2001:db8::4;\n"
      "network n 10.0.0.0/30, 2001:db8::/126;\n"
      "range r 10.0.0.2 - 10.0.0.5, 2001:db8::2 - 2001:db8::5;\n"
      "group g { b, c, 10.0.0.5 }\n"
      "service s1 tcp 1;\n"
      "service s2 tcp 2-3, udp 2;\n"
      "service s3 udp 4 sport 1;\n"
      "service s4 icmp echo-request, icmpv6 echo-request;\n"
      "service s5 icmp 3 code 4, icmpv6 3;\n"
      "service s6 proto gre;\n"
      "service s7 tcp { 1, 5 };\n";
  const char* addrs[] = {"a", "b", "c", "d", "n", "r", "g", "fw", "10.0.0.3", "2001:db8::5", "{ a, b }"};
  const char* svcs[] = {"s1", "s2", "s3", "s4", "s5", "s6", "s7", "tcp 4", "udp", "{ s1, s3 }"};
  auto slot = [&](const char* const* names, int n) -> std::string {
    if (pick(3) == 0) return "any";
    std::string s = names[pick(n)];
    return pick(10) == 0 ? "not " + s : s;
  };
  std::string rules;
  if (pick(3) == 0) rules += "  option stateful no;\n";
  int n = 6 + pick(20);
  std::string prev;
  for (int i = 0; i < n; ++i) {
    std::string r;
    if (!prev.empty() && pick(2) == 0) {
      // Same rule, another object: a run.
      r = prev.substr(0, prev.find(" to ")) + " to " + addrs[pick(6)];
    } else {
      const char* actions[] = {"accept", "accept", "drop", "reject"};
      r = std::string("  ") + actions[pick(4)];
      std::string s = slot(svcs, 10);
      if (s != "any") r += " " + s;
      r += " from " + slot(addrs, 11) + " to " + slot(addrs, 11);
    }
    prev = r;
    if (pick(4) == 0) r += pick(2) ? " in outside" : " in dmz";
    if (pick(6) == 0) r += " out outside";
    if (pick(8) == 0) r += " log";
    else if (pick(10) == 0) r += " log rate 3/minute";
    if (pick(6) == 0) r += " counter";
    rules += r + ";\n";
  }
  const char* defaults[] = {"drop", "accept", "reject"};
  return Policy(objects, rules, defaults[pick(3)]);
}

}  // namespace

TEST_CASE("differential: merged and unmerged output decide every packet alike (random policies)",
          "[set_merge]") {
  Domain d;
  for (int i = 0; i < 6; ++i) d.v4.push_back(0x0a000000 + i);
  d.v4.push_back(0x0a010101);  // the firewall
  d.v4.push_back(0xc6336401);  // 198.51.100.1
  U128 v6 = U128{0x20010db8} << 96;
  for (int i = 0; i < 6; ++i) d.v6.push_back(v6 + i);
  d.v6.push_back(v6 + (U128{1} << 80) + 1);  // 2001:db8:1::1, the firewall
  d.v6.push_back((U128{0x20010db9} << 96) + 1);
  std::mt19937 rng(2024);
  size_t merged = 0, policies = 0;
  const int wanted = 40 / kRandomScale;
  for (int i = 0; i < 2 * wanted && policies < wanted; ++i) {
    std::string text = RandomPolicy(rng);
    INFO(text);
    Compilation c;
    c.set_analysis(false);
    MemoryLoader loader;
    // Random slots may have no family in common: such policies are refused.
    if (!c.Check("test.fw", text, loader, {})) continue;
    ++policies;
    ir::Ruleset rs = c.Lower(NftBackend().caps());
    CheckEquivalent(rs, {}, d);
    for (const auto& ch : nftables::MergeSets(rs).chains)
      for (const auto& m : ch.rules) merged += m.origins.size() > 1;
  }
  CHECK(policies == wanted);
  CHECK(merged > wanted);
}
