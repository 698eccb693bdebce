// Cross-checks the analysis, queries and diff against a brute-force
// reference: random small policies whose constants all lie in tiny domains
// (a /29 of each family, ports 1-6, a few ICMP types), so that enumerating
// one packet per equivalence class visits every behaviour. The reference
// evaluates first match packet by packet with its own membership test, not
// with the cube algebra under test.
//
// FWC_CROSSCHECK_CASES sets the number of random policies (default 1000;
// a quarter of that for the query and diff checks);
// FWC_CROSSCHECK_SEED the first seed. A failure prints the policy.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

#include "compiler/analysis/query.h"
#include "compiler/analysis/semantic_diff.h"
#include "compiler/base/protocols.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;
using Kind = analysis::Finding::Kind;

namespace {

// --- the reference evaluator ---------------------------------------------

struct Pkt {
  std::string iif, oif;  // "" = an interface the policy does not name
  U128 src = 0, dst = 0;
  int proto = 0;
  unsigned sport = 0, dport = 0;
  int type = 0, code = 0;
};

bool In(const IntervalSet& s, U128 v) {
  for (const auto& iv : s.intervals())
    if (iv.lo <= v && v <= iv.hi) return true;
  return false;
}

bool AddrMatches(const ir::AddrMatch& a, U128 v) { return !a.present || (In(a.set, v) != a.negated); }

bool ServiceMatches(const ir::ServiceMatch& s, const Pkt& p) {
  if (p.proto != s.proto) return false;
  if (s.proto == kProtoTcp || s.proto == kProtoUdp)
    return (s.sports.empty() || In(s.sports, p.sport)) && (s.dports.empty() || In(s.dports, p.dport));
  if (s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) {
    if (s.icmp_types.empty()) return true;
    bool type = std::find(s.icmp_types.begin(), s.icmp_types.end(), p.type) != s.icmp_types.end();
    return type && (s.icmp_code < 0 || s.icmp_code == p.code);
  }
  return true;
}

bool Matches(const PlacedRule& w, const Pkt& p) {
  if (!w.rule.iif.empty() && w.rule.iif != p.iif) return false;
  if (!w.rule.oif.empty() && w.rule.oif != p.oif) return false;
  if (!AddrMatches(w.rule.src, p.src) || !AddrMatches(w.rule.dst, p.dst)) return false;
  if (w.services_negated && !w.services.empty()) {
    for (const auto& s : w.services)
      if (ServiceMatches(s, p)) return false;
    return true;
  }
  return !w.rule.has_service || ServiceMatches(w.rule.service, p);
}

// One chain and family: its rules in order, as the analysis sees them.
struct RefList {
  ir::Hook chain;
  Family family;
  std::vector<const PlacedRule*> rules;
  std::vector<struct Pkt> domain;  // filled by RefLists
};

std::vector<Pkt> Domain(const RefList& l);

std::vector<RefList> RefLists(const std::vector<PlacedRule>& placed) {
  std::vector<RefList> out;
  for (ir::Hook chain : {ir::Hook::kInput, ir::Hook::kForward, ir::Hook::kOutput})
    for (Family f : {Family::kV4, Family::kV6}) {
      RefList l{chain, f, {}, {}};
      for (const auto& w : placed) {
        if (w.hook != chain || !w.origin) continue;
        if (w.rule.family == ir::RuleFamily::kV4 && f != Family::kV4) continue;
        if (w.rule.family == ir::RuleFamily::kV6 && f != Family::kV6) continue;
        l.rules.push_back(&w);
      }
      l.domain = Domain(l);
      out.push_back(std::move(l));
    }
  return out;
}

U128 V4(int last) { return (U128{10} << 24) | static_cast<U128>(last); }
U128 V6(int last) { return (U128{0x20010db8} << 96) | static_cast<U128>(last); }

// One packet per equivalence class of the generator's constants.
std::vector<Pkt> Domain(const RefList& l) {
  std::vector<U128> addrs;
  for (int i = 0; i < 8; ++i) addrs.push_back(l.family == Family::kV4 ? V4(i) : V6(i));
  addrs.push_back(l.family == Family::kV4 ? V4(100) : V6(100));
  std::vector<std::string> ins = {"", "eth1", "eth2"}, outs = ins;
  if (l.chain == ir::Hook::kInput) outs = {""};
  if (l.chain == ir::Hook::kOutput) ins = {""};
  std::vector<Pkt> services;
  for (int proto : {kProtoTcp, kProtoUdp})
    for (unsigned sport : {1u, 2u, 1000u})
      for (unsigned dport : {1u, 2u, 3u, 4u, 5u, 6u, 1000u}) {
        Pkt p;
        p.proto = proto;
        p.sport = sport;
        p.dport = dport;
        services.push_back(p);
      }
  int icmp = l.family == Family::kV4 ? kProtoIcmp : kProtoIcmpv6;
  std::vector<std::pair<int, int>> types = l.family == Family::kV4
                                               ? std::vector<std::pair<int, int>>{{0, 0}, {8, 0}, {3, 4}, {3, 0}, {100, 0}}
                                               : std::vector<std::pair<int, int>>{{128, 0}, {129, 0}, {1, 4}, {1, 0}, {100, 0}};
  for (auto [t, c] : types) {
    Pkt p;
    p.proto = icmp;
    p.type = t;
    p.code = c;
    services.push_back(p);
  }
  for (int proto : {47, 99}) {
    Pkt p;
    p.proto = proto;
    services.push_back(p);
  }
  std::vector<Pkt> out;
  for (const auto& i : ins)
    for (const auto& o : outs)
      for (U128 s : addrs)
        for (U128 d : addrs)
          for (Pkt p : services) {
            p.iif = i;
            p.oif = o;
            p.src = s;
            p.dst = d;
            out.push_back(p);
          }
  return out;
}

// Index of the first rule matching p, or -1 for the default.
int FirstMatch(const RefList& l, const Pkt& p, const PlacedRule* skip = nullptr) {
  for (size_t i = 0; i < l.rules.size(); ++i)
    if (l.rules[i]->origin != (skip ? skip->origin : nullptr) && Matches(*l.rules[i], p)) return static_cast<int>(i);
  return -1;
}

ast::Action Verdict(const RefList& l, int i, ast::Action dflt) { return i < 0 ? dflt : l.rules[i]->origin->action; }

// --- random policies ---------------------------------------------------------

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  std::string Policy() {
    std::ostringstream o;
    o << "firewall fw {\n  interface outside eth1 10.0.0.1/30, 2001:db8::1/126;\n"
      << "  interface dmz eth2 10.0.0.5/30, 2001:db8::5/126;\n}\n";
    int objects = Pick(2, 5);
    names_.clear();
    for (int i = 0; i < objects; ++i) {
      std::string name = "o" + std::to_string(i);
      o << Object(name) << "\n";
      names_.push_back(name);
    }
    o << "service s1 " << Service() << ";\nservice s2 " << Service() << ", " << Service() << ";\n";
    o << "policy p default " << Action() << " {\n";
    int rules = Pick(2, 9);
    for (int i = 0; i < rules; ++i) o << "  " << Rule() << "\n";
    o << "}\n";
    return o.str();
  }

 private:
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Pick(1, 100) <= percent; }

  std::string Addr(bool v6, int last) { return v6 ? "2001:db8::" + std::to_string(last) : "10.0.0." + std::to_string(last); }

  std::string Literal() {
    bool v6 = Chance(40);
    switch (Pick(0, 2)) {
      case 0: return Addr(v6, Pick(0, 7));
      case 1: {
        int len = Pick(0, 2);  // /29, /30 or /31 (v4); /125../127 (v6)
        int size = 8 >> len;
        int base = Pick(0, 8 / size - 1) * size;
        return Addr(v6, base) + "/" + std::to_string(v6 ? 125 + len : 29 + len);
      }
      default: {
        int a = Pick(0, 7), b = Pick(a, 7);
        return Addr(v6, a) + " - " + Addr(v6, b);
      }
    }
  }

  std::string Object(const std::string& name) {
    if (Chance(50)) {
      bool dual = Chance(50);
      int last = Pick(0, 7);
      return "host " + name + " " + Addr(false, last) + (dual ? ", " + Addr(true, last) : "") + ";";
    }
    std::string members = Literal();
    if (Chance(50)) members += ", " + Literal();
    return "group " + name + " { " + members + " }";
  }

  std::string Ports() {
    if (Chance(30)) {
      int a = Pick(1, 6), b = Pick(a, 6);
      return std::to_string(a) + "-" + std::to_string(b);
    }
    if (Chance(30)) return "{ " + std::to_string(Pick(1, 3)) + ", " + std::to_string(Pick(4, 6)) + " }";
    return std::to_string(Pick(1, 6));
  }

  std::string Service() {
    switch (Pick(0, 5)) {
      case 0: return "tcp " + Ports() + (Chance(25) ? " sport " + std::to_string(Pick(1, 2)) : "");
      case 1: return "udp " + Ports();
      case 2: return Chance(50) ? "icmp echo-request" : "icmp 3 code 4";
      case 3: return Chance(50) ? "icmpv6 echo-request" : "icmpv6";
      case 4: return "proto gre";
      default: return "tcp";
    }
  }

  std::string Action() {
    int a = Pick(0, 2);
    return a == 0 ? "accept" : a == 1 ? "drop" : "reject";
  }

  std::string AddrSlot() {
    std::string s;
    switch (Pick(0, 4)) {
      case 0: return "any";
      case 1: s = names_[Pick(0, static_cast<int>(names_.size()) - 1)]; break;
      case 2: s = Literal(); break;
      case 3: s = "fw"; break;
      default: s = "{ " + names_[Pick(0, static_cast<int>(names_.size()) - 1)] + ", " + Literal() + " }"; break;
    }
    return (Chance(20) ? "not " : "") + s;
  }

  std::string Rule() {
    std::string r = Action();
    switch (Pick(0, 4)) {
      case 0: break;
      case 1: r += " s1"; break;
      case 2: r += " s2"; break;
      case 3: r += " " + Service(); break;
      default: r += " not " + std::string(Chance(50) ? "s1" : "s2"); break;
    }
    r += " from " + AddrSlot() + " to " + AddrSlot();
    if (Chance(25)) r += Chance(50) ? " in outside" : " in dmz";
    if (Chance(15)) r += Chance(50) ? " out outside" : " out dmz";
    if (Chance(10)) r += " log";
    return r + ";";
  }

  std::mt19937 rng_;
  std::vector<std::string> names_;
};

unsigned EnvOr(const char* name, unsigned dflt) {
  const char* v = std::getenv(name);
  return v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : dflt;
}

// Compiles for the analysis; nullopt when the random policy is invalid
// (e.g. a family mismatch), which the generator does not try to avoid.
std::unique_ptr<Compilation> Build(const std::string& text) {
  auto c = std::make_unique<Compilation>();
  MemoryLoader loader;
  c->Check("rand.fw", text, loader, {});
  for (const auto& d : c->diags().all())
    if (d.severity == Severity::kError && d.code != "shadowed-rule") return nullptr;
  return c;
}

// Calls check(seed, compilation) for `cases` random policies that compile,
// from seed seed0 on (with the seed and the policy as context for any
// failure); returns how many it checked.
template <typename Check>
unsigned ForRandomPolicies(unsigned seed0, unsigned cases, const Check& check) {
  unsigned checked = 0;
  for (unsigned seed = seed0; checked < cases && seed < seed0 + cases * 4; ++seed) {
    std::string text = Generator(seed).Policy();
    auto c = Build(text);
    if (!c) continue;
    ++checked;
    INFO("seed " << seed << "\n" << text);
    check(seed, c);
  }
  return checked;
}

}  // namespace

TEST_CASE("the analysis agrees with brute force on random small policies", "[analysis][crosscheck]") {
  const unsigned cases = EnvOr("FWC_CROSSCHECK_CASES", 1000);
  const unsigned seed0 = EnvOr("FWC_CROSSCHECK_SEED", 1);
  unsigned findings = 0;
  unsigned checked = ForRandomPolicies(seed0, cases, [&](unsigned, const std::unique_ptr<Compilation>& c) {
    const Model& m = c->model();
    auto lists = RefLists(c->placed());

    // Per policy rule, what brute force says.
    struct Truth {
      bool any_point = false;    // some packet matches one of its pieces
      bool reached = false;      // some packet is decided by it
      bool different = false;    // some packet it matches is decided otherwise by an earlier rule
      bool removal_changes = false;
    };
    std::map<const PolicyRule*, Truth> truth;
    for (const auto& l : lists) {
      for (const auto* w : l.rules) truth[w->origin];
      for (const Pkt& p : l.domain) {
        int first = FirstMatch(l, p);
        for (size_t i = 0; i < l.rules.size(); ++i) {
          if (!Matches(*l.rules[i], p)) continue;
          Truth& t = truth[l.rules[i]->origin];
          t.any_point = true;
          if (static_cast<int>(i) == first) {
            t.reached = true;
            ast::Action without = Verdict(l, FirstMatch(l, p, l.rules[i]), m.default_action);
            if (without != l.rules[i]->origin->action) t.removal_changes = true;
          } else if (static_cast<int>(i) > first &&
                     l.rules[first]->origin->action != l.rules[i]->origin->action) {
            t.different = true;
          }
        }
      }
    }
    std::map<const PolicyRule*, const analysis::Finding*> found;
    for (const auto& f : c->findings()) found[f.rule] = &f;
    for (const auto& [rule, t] : truth) {
      INFO("rule at line " << rule->loc.line);
      const analysis::Finding* f = found.count(rule) ? found[rule] : nullptr;
      if (!t.any_point) {
        REQUIRE(f);
        CHECK(f->kind == Kind::kEmpty);
        continue;
      }
      if (!t.reached) {
        // Dead: shadowed if some packet goes another way, else redundant.
        REQUIRE(f);
        CHECK(f->kind == (t.different ? Kind::kShadowed : Kind::kRedundant));
        CHECK_FALSE(f->by_later);
        ++findings;
        // The covering set alone covers it.
        for (const auto& l : lists)
          for (const auto* w : l.rules) {
            if (w->origin != rule) continue;
            for (const Pkt& p : l.domain) {
              if (!Matches(*w, p)) continue;
              bool covered = false;
              for (const auto* x : l.rules)
                if (std::find(f->covering.begin(), f->covering.end(), x->origin) != f->covering.end() && Matches(*x, p))
                  covered = true;
              REQUIRE(covered);
            }
          }
        continue;
      }
      bool redundant = !t.removal_changes && !rule->log.enabled;
      if (redundant) {
        REQUIRE(f);
        CHECK(f->kind == Kind::kRedundant);
        CHECK(f->by_later);
        ++findings;
      } else if (t.different) {
        REQUIRE(f);
        CHECK(f->kind == Kind::kConflict);
        ++findings;
      } else {
        CHECK(f == nullptr);
      }
    }
  });
  CHECK(checked >= cases / 2);
  CHECK(findings > checked / 4);  // the generator does produce interesting cases
}

TEST_CASE("fwc query agrees with brute force", "[analysis][crosscheck]") {
  const unsigned cases = EnvOr("FWC_CROSSCHECK_CASES", 1000) / 4;
  std::mt19937 rng(7);
  unsigned checked = ForRandomPolicies(1000, cases, [&](unsigned, const std::unique_ptr<Compilation>& c) {
    const Model& m = c->model();
    auto lists = RefLists(c->placed());
    for (const auto& l : lists) {
      const auto& domain = l.domain;
      for (int k = 0; k < 40; ++k) {
        Pkt p = domain[std::uniform_int_distribution<size_t>(0, domain.size() - 1)(rng)];
        if (p.proto == kProtoIcmpv6 && p.type >= 133 && p.type <= 136) continue;
        // The query picks the chain from the addresses; compare only where
        // that is the chain enumerated here, with the interfaces named.
        analysis::PacketSpec spec;
        spec.family = l.family;
        spec.proto = p.proto;
        spec.src = p.src;
        spec.dst = p.dst;
        spec.sport = p.sport;
        spec.dport = p.dport;
        spec.icmp_type = (p.proto == kProtoIcmp || p.proto == kProtoIcmpv6) ? p.type : -1;
        spec.icmp_code = p.code;
        // An interface left out would be guessed from the routes.
        if (p.iif.empty() && l.chain != ir::Hook::kOutput) continue;
        if (p.oif.empty() && l.chain != ir::Hook::kInput) continue;
        spec.iif = p.iif;
        spec.oif = p.oif;
        std::string err;
        auto q = analysis::Query(m, c->placed(), spec, &err);
        REQUIRE(q);
        if (q->chain != l.chain) continue;
        int first = FirstMatch(l, p);
        CHECK(q->verdict == Verdict(l, first, m.default_action));
        CHECK(q->rule == (first < 0 ? nullptr : l.rules[first]->origin));
      }
    }
  });
  CHECK(checked >= cases / 2);
}

TEST_CASE("fwc diff agrees with brute force", "[analysis][crosscheck]") {
  const unsigned cases = EnvOr("FWC_CROSSCHECK_CASES", 1000) / 4;
  unsigned checked = 0, equivalent = 0;
  std::mt19937 rng(11);
  for (unsigned seed = 5000; checked < cases && seed < 5000 + cases * 4; ++seed) {
    Generator gen(seed);
    std::string a = gen.Policy();
    // The other policy: the same with two rules swapped, one rule dropped,
    // or one verdict flipped — often equivalent, often not.
    std::vector<std::string> lines;
    std::istringstream in(a);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::vector<size_t> rule_lines;
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i].rfind("  accept", 0) == 0 || lines[i].rfind("  drop", 0) == 0 || lines[i].rfind("  reject", 0) == 0)
        rule_lines.push_back(i);
    if (rule_lines.size() < 2) continue;
    size_t x = rule_lines[std::uniform_int_distribution<size_t>(0, rule_lines.size() - 2)(rng)];
    switch (seed % 3) {
      case 0: std::swap(lines[x], lines[x + 1]); break;
      case 1: lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(x)); break;
      default: lines[x] = "  drop" + lines[x].substr(lines[x].find(' ', 2)); break;
    }
    std::string b;
    for (const auto& l : lines) b += l + "\n";
    auto ca = Build(a), cb = Build(b);
    if (!ca || !cb) continue;
    ++checked;
    INFO("seed " << seed << "\nOLD:\n" << a << "NEW:\n" << b);
    analysis::InterfaceIds ifaces;
    analysis::BuildRuleLists(ca->model(), ca->placed(), ifaces);
    analysis::BuildRuleLists(cb->model(), cb->placed(), ifaces);
    auto la = analysis::BuildRuleLists(ca->model(), ca->placed(), ifaces);
    auto lb = analysis::BuildRuleLists(cb->model(), cb->placed(), ifaces);
    auto diff = analysis::SemanticDiff(la, lb, ifaces);
    REQUIRE_FALSE(diff.incomplete);
    auto ra = RefLists(ca->placed()), rb = RefLists(cb->placed());
    bool differs = false;
    for (size_t i = 0; i < ra.size(); ++i)
      for (const Pkt& p : ra[i].domain)
        if (Verdict(ra[i], FirstMatch(ra[i], p), ca->model().default_action) !=
            Verdict(rb[i], FirstMatch(rb[i], p), cb->model().default_action))
          differs = true;
    CHECK(differs == !diff.differences.empty());
    equivalent += !differs;
    // Every reported example really changes verdict.
    for (const auto& d : diff.differences) {
      size_t li = 0;
      while (ra[li].chain != d.hook || ra[li].family != d.family) ++li;
      analysis::Point pt = analysis::Sample(d.region.front());
      Pkt p;
      p.iif = pt[analysis::kIif] ? ifaces.Name(static_cast<int>(pt[analysis::kIif])) : "";
      p.oif = pt[analysis::kOif] ? ifaces.Name(static_cast<int>(pt[analysis::kOif])) : "";
      p.src = pt[analysis::kSrc];
      p.dst = pt[analysis::kDst];
      p.proto = static_cast<int>(pt[analysis::kProto]);
      p.sport = static_cast<unsigned>(pt[analysis::kSport]);
      p.dport = static_cast<unsigned>(pt[analysis::kDport]);
      p.type = static_cast<int>(pt[analysis::kIcmp] >> 8);
      p.code = static_cast<int>(pt[analysis::kIcmp] & 0xff);
      CHECK(Verdict(ra[li], FirstMatch(ra[li], p), ca->model().default_action) == d.before);
      CHECK(Verdict(rb[li], FirstMatch(rb[li], p), cb->model().default_action) == d.after);
    }
  }
  CHECK(checked >= cases / 2);
  CHECK(equivalent > 0);
  CHECK(equivalent < checked);
}

TEST_CASE("shared out among threads, or checking dead rules the other way, the analysis finds the same", "[analysis][crosscheck]") {
  const unsigned cases = EnvOr("FWC_CROSSCHECK_CASES", 1000) / 4;
  unsigned compared = 0;
  unsigned checked = ForRandomPolicies(9000, cases, [&](unsigned seed, const std::unique_ptr<Compilation>& c) {
    analysis::InterfaceIds ifaces;
    auto lists = analysis::BuildRuleLists(c->model(), c->placed(), ifaces);
    analysis::AnalysisOptions one, many;
    many.threads = 3;
    many.chunk = 1;  // even a list of three rules is split
    // and a dead rule cut into more than one piece is checked the other way
    many.decomposition_limit = seed % 2 ? 1 : one.decomposition_limit;
    auto a = analysis::AnalyzeShadows(lists, ifaces, nullptr, one);
    auto b = analysis::AnalyzeShadows(lists, ifaces, nullptr, many);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].rule == b[i].rule);
      CHECK(a[i].kind == b[i].kind);
      CHECK(a[i].covering == b[i].covering);
      CHECK(a[i].by_later == b[i].by_later);
      CHECK(a[i].by_default == b[i].by_default);
      CHECK(a[i].other == b[i].other);
      CHECK(a[i].example == b[i].example);
      ++compared;
    }
  });
  CHECK(checked >= cases / 2);
  CHECK(compared > checked);  // there were findings to compare
}
