// The rule processors one at a time, plus what the whole lowering must
// guarantee: family separation, first-match order, conditions.
#include <catch2/catch.hpp>

#include "compiler/base/protocols.h"
#include "compiler/lowering/lower.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

ServiceAtom Tcp(U128 lo, U128 hi, U128 slo = 0, U128 shi = 0) {
  ServiceAtom a;
  a.proto = kProtoTcp;
  a.dports.Add(lo, hi);
  if (shi) a.sports.Add(slo, shi);
  return a;
}

ServiceAtom Icmp(int proto, int type, int code = -1) {
  ServiceAtom a;
  a.proto = proto;
  a.icmp_type = type;
  a.icmp_code = code;
  return a;
}

}  // namespace

TEST_CASE("GroupServices merges same-shape atoms and keeps the rest apart", "[lowering]") {
  auto m = GroupServices({Tcp(80, 80), Tcp(443, 443), Tcp(22, 22, 1024, 65535), Icmp(kProtoIcmp, 8),
                          Icmp(kProtoIcmp, 0), Icmp(kProtoIcmpv6, 128), Icmp(kProtoIcmp, 3, 4)},
                         Family::kV4);
  REQUIRE(m.size() == 4);
  CHECK(m[0].proto == kProtoTcp);
  CHECK(m[0].dports.intervals().size() == 2);
  CHECK(m[1].sports.intervals().size() == 1);  // different source ports: apart
  CHECK(m[2].proto == kProtoIcmp);
  CHECK(m[2].icmp_types == std::vector<int>{0, 8});
  CHECK(m[3].icmp_code == 4);  // a type with a code stands alone
}

TEST_CASE("GroupServices: a port-less atom widens its group to any port", "[lowering]") {
  ServiceAtom any_tcp;
  any_tcp.proto = kProtoTcp;
  auto m = GroupServices({Tcp(80, 80), any_tcp, Tcp(443, 443)}, std::nullopt);
  REQUIRE(m.size() == 1);
  CHECK(m[0].dports.empty());
}

// A lowering processor on its own, rules in, rules out.
template <typename Processor, typename... Args>
std::vector<LoweringRule> Run(std::vector<LoweringRule> rules, Args... args) {
  Processor p(args...);
  return RunProcessor(p, std::move(rules));
}

TEST_CASE("SplitServices gives each protocol its own rule, in order", "[placement]") {
  PlacedRule w;
  w.hook = ir::Hook::kForward;
  w.services = GroupServices({Tcp(80, 80), Icmp(kProtoIcmp, 8)}, Family::kV4);
  std::vector<PlacedRule> out;
  SplitServices(w, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].rule.service.proto == kProtoTcp);
  CHECK(out[1].rule.service.proto == kProtoIcmp);
}

TEST_CASE("LowerNegation moves negated services into a chain of RETURNs", "[lowering]") {
  LoweringRule w;
  w.hook = ir::Hook::kForward;
  w.line = 12;
  w.rule.comment = "x.fw:12";
  w.rule.verdict = ir::Verdict::kAccept;
  w.rule.counter = true;
  w.services = GroupServices({Tcp(22, 22), Icmp(kProtoIcmp, 8)}, Family::kV4);
  w.services_negated = true;
  auto out = Run<LowerNegation>({w}, LoweringCaps{});
  REQUIRE(out.size() == 4);
  CHECK(out[0].hook == ir::Hook::kForward);
  CHECK(out[0].rule.verdict == ir::Verdict::kJump);
  CHECK(out[0].rule.target == "neg_12");
  CHECK_FALSE(out[0].rule.counter);
  CHECK(out[1].hook == ir::Hook::kNone);
  CHECK(out[1].chain == "neg_12");
  CHECK(out[1].rule.verdict == ir::Verdict::kReturn);
  CHECK(out[2].rule.verdict == ir::Verdict::kReturn);
  CHECK(out[3].rule.verdict == ir::Verdict::kAccept);
  CHECK(out[3].rule.counter);
}

TEST_CASE("LowerNegation lowers negated address sets only for targets that need it", "[lowering]") {
  LoweringRule w;
  w.hook = ir::Hook::kForward;
  w.line = 3;
  w.rule.src.present = true;
  w.rule.src.negated = true;
  w.rule.src.set.Add(10, 20);
  w.rule.src.set.Add(30, 40);
  CHECK(Run<LowerNegation>({w}, LoweringCaps{true}).size() == 1);
  auto out = Run<LowerNegation>({w}, LoweringCaps{false});
  REQUIRE(out.size() == 3);
  CHECK_FALSE(out[0].rule.src.present);
  CHECK(out[1].rule.src.present);
  CHECK_FALSE(out[1].rule.src.negated);
  CHECK(out[1].rule.verdict == ir::Verdict::kReturn);
}

TEST_CASE("SplitRateLimitedLog never lets the limit throttle the verdict", "[lowering]") {
  LoweringRule w;
  w.rule.verdict = ir::Verdict::kDrop;
  w.rule.log = {true, "drop ", 5, "minute"};
  w.rule.counter = true;
  auto out = Run<SplitRateLimitedLog>({w});
  REQUIRE(out.size() == 2);
  CHECK(out[0].rule.verdict == ir::Verdict::kContinue);
  CHECK(out[0].rule.log.rate == 5);
  CHECK_FALSE(out[1].rule.log.enabled);
  CHECK(out[1].rule.verdict == ir::Verdict::kDrop);
  // Without a rate one rule both logs and decides.
  w.rule.log.rate = 0;
  CHECK(Run<SplitRateLimitedLog>({w}).size() == 1);
}

TEST_CASE("SplitReject answers TCP with a reset and the rest with ICMP", "[lowering]") {
  LoweringRule any;
  any.reject = true;
  auto out = Run<SplitReject>({any});
  REQUIRE(out.size() == 2);
  CHECK(out[0].rule.service.proto == kProtoTcp);
  CHECK(out[0].rule.verdict == ir::Verdict::kRejectTcpReset);
  CHECK(out[1].rule.verdict == ir::Verdict::kRejectIcmp);
  LoweringRule udp = any;
  udp.rule.has_service = true;
  udp.rule.service.proto = kProtoUdp;
  out = Run<SplitReject>({udp});
  REQUIRE(out.size() == 1);
  CHECK(out[0].rule.verdict == ir::Verdict::kRejectIcmp);
}

TEST_CASE("an object of one family never leaks into the other family's rules", "[lowering]") {
  Result r = Compile(Policy("host v4 10.1.2.5;\nhost dual 10.1.2.6, 2001:db8:2::6;\nservice ping icmp echo-request, icmpv6 echo-request;",
                            "  accept ping from any to v4;\n  accept ping from any to dual;\n"));
  REQUIRE(r.ok);
  auto fwd = PolicyRules(r.rs, "forward");
  REQUIRE(fwd.size() == 3);
  CHECK(fwd[0].family == ir::RuleFamily::kV4);
  CHECK(fwd[0].service.proto == kProtoIcmp);
  CHECK(fwd[1].family == ir::RuleFamily::kV4);
  CHECK(fwd[2].family == ir::RuleFamily::kV6);
  CHECK(fwd[2].service.proto == kProtoIcmpv6);
  CHECK(fwd[2].dst.set.intervals().size() == 1);
}

TEST_CASE("a rule with nothing family-specific is one rule for both families", "[lowering]") {
  Result r = Compile(Policy("", "  accept tcp 22 from any to any in outside;\n"));
  REQUIRE(r.ok);
  auto fwd = PolicyRules(r.rs, "forward");
  REQUIRE(fwd.size() == 1);
  CHECK(fwd[0].family == ir::RuleFamily::kAny);
}

TEST_CASE("a negation that excludes nothing of a family matches all of it", "[lowering]") {
  Result r = Compile(Policy("host c1 10.1.1.11;", "  accept tcp 80 from not c1 to any in outside;\n"));
  REQUIRE(r.ok);
  auto fwd = PolicyRules(r.rs, "forward");
  REQUIRE(fwd.size() == 2);
  CHECK(fwd[0].family == ir::RuleFamily::kV4);
  CHECK(fwd[0].src.negated);
  CHECK(fwd[1].family == ir::RuleFamily::kV6);
  CHECK_FALSE(fwd[1].src.present);
  // ...and must still be confined to IPv6 in the inet table.
  CHECK(r.output.find("meta nfproto ipv6 iifname \"eth1\" tcp dport 80 accept") != std::string::npos);
}

TEST_CASE("rules keep policy order inside each chain", "[lowering]") {
  Result r = Compile(Policy("host a 10.1.2.5;\nhost b 10.1.2.6;",
                            "  drop from any to a in outside;\n  accept from any to b in outside;\n  reject from any to a in dmz;\n"));
  REQUIRE(r.ok);
  auto fwd = PolicyRules(r.rs, "forward");
  REQUIRE(fwd.size() == 4);
  CHECK(fwd[0].comment == "test.fw:8");
  CHECK(fwd[1].comment == "test.fw:9");
  CHECK(fwd[2].comment == "test.fw:10");
  CHECK(fwd[2].verdict == ir::Verdict::kRejectTcpReset);
  CHECK(fwd[3].verdict == ir::Verdict::kRejectIcmp);
}

TEST_CASE("conditional rules follow -D; disabled rules never appear", "[lowering]") {
  std::string p = Policy("host ges 10.1.2.10;",
                         "  accept tcp 22 from any to ges if mgmt;\n  accept tcp 23 from any to ges if not mgmt;\n"
                         "  accept tcp 24 from any to ges disabled;\n");
  Result off = Compile(p);
  Result on = Compile(p, "nft", {"mgmt"});
  REQUIRE(off.ok);
  REQUIRE(on.ok);
  auto f_off = PolicyRules(off.rs, "forward");
  auto f_on = PolicyRules(on.rs, "forward");
  REQUIRE(f_off.size() == 1);
  REQUIRE(f_on.size() == 1);
  CHECK(f_off[0].service.dports == IntervalSet::Range(23, 23));
  CHECK(f_on[0].service.dports == IntervalSet::Range(22, 22));
}

TEST_CASE("stateful preamble, loopback and neighbour discovery come first", "[lowering]") {
  Result r = Compile(Policy("", ""));
  REQUIRE(r.ok);
  const ir::Chain* input = FindChain(r.rs, "input");
  REQUIRE(input);
  REQUIRE(input->rules.size() == 4);
  CHECK(input->rules[0].iif == "lo");
  CHECK(input->rules[1].ct == ir::CtState::kEstablishedRelated);
  CHECK(input->rules[2].service.icmp_types == std::vector<int>{133, 134, 135, 136});
  CHECK(input->rules[3].ct == ir::CtState::kInvalid);
  CHECK(input->policy == ir::Verdict::kDrop);
  Result stateless = Compile(Policy("", "  option stateful no;\n"));
  REQUIRE(stateless.ok);
  CHECK(FindChain(stateless.rs, "forward")->rules.empty());
}

TEST_CASE("a reject default ends every base chain with reject rules", "[lowering]") {
  Result r = Compile(Policy("", "", "reject"));
  REQUIRE(r.ok);
  for (const char* name : {"input", "forward", "output"}) {
    const ir::Chain* c = FindChain(r.rs, name);
    REQUIRE(c->rules.size() >= 2);
    CHECK(c->rules[c->rules.size() - 2].verdict == ir::Verdict::kRejectTcpReset);
    CHECK(c->rules.back().verdict == ir::Verdict::kRejectIcmp);
    CHECK(c->rules.back().comment == "test.fw:6 default reject");
  }
}

TEST_CASE("groups become named sets per family", "[lowering]") {
  Result r = Compile(Policy("host s1 10.1.3.11, 2001:db8:3::11;\nhost s2 10.1.3.12;\ngroup web { s1, s2 }",
                            "  accept tcp 80 from any to web in outside;\n"));
  REQUIRE(r.ok);
  REQUIRE(r.rs.sets.size() == 2);
  CHECK(r.rs.sets[0].name == "web_v4");
  CHECK(r.rs.sets[0].elements.intervals().size() == 1);  // .11-.12 merged
  CHECK(r.rs.sets[1].name == "web_v6");
  CHECK(r.output.find("ip daddr @web_v4") != std::string::npos);
}
