// The nftables model (backends/nftables/model.h) from IR fixtures: the
// statements and declarations both nft backends read, and that the text
// printer and the netlink linearizer read them alike.
#include <catch2/catch.hpp>

#include "backends/netlink/codegen.h"
#include "backends/netlink/netlink_backend.h"
#include "backends/nft/nft_backend.h"
#include "backends/nftables/model.h"
#include "ir_fixtures.h"

using namespace fwc;
using namespace fwc::test;
using nftables::Field;
using Kind = nftables::Stmt::Kind;

namespace {

nftables::Table Model(const ir::Ruleset& rs, nftables::MergedRuleset& keep) {
  keep = nftables::MergeSets(rs);
  return nftables::BuildTable(rs, keep);
}

const nftables::Chain& ChainNamed(const nftables::Table& t, const std::string& name) {
  for (const auto& c : t.chains)
    if (c.name == name) return c;
  FAIL("no chain " << name);
  return t.chains.front();
}

std::vector<Kind> Kinds(const nftables::Rule& r) {
  std::vector<Kind> out;
  for (const auto& s : r.stmts) out.push_back(s.kind);
  return out;
}

}  // namespace

TEST_CASE("the fields table names every field and says where the kernel finds it", "[nftables]") {
  CHECK(std::string(nftables::Info(Field::kIpSaddr).text) == "ip saddr");
  CHECK(std::string(nftables::Info(Field::kIp6Daddr).type_name) == "ipv6_addr");
  CHECK(nftables::Info(Field::kIpDaddr).offset == 16);
  CHECK(nftables::Info(Field::kTcpDport).need_l4 == kProtoTcp);
  CHECK(nftables::Info(Field::kThDport).need_l4 == -1);
  CHECK(nftables::Info(Field::kIcmpv6Type).need_l4 == kProtoIcmpv6);
  CHECK(nftables::Info(Field::kIifname).meta);
  for (Field f : {Field::kL4proto, Field::kIifname, Field::kOifname, Field::kIpSaddr, Field::kIpDaddr, Field::kIp6Saddr,
                  Field::kIp6Daddr, Field::kTcpSport, Field::kTcpDport, Field::kUdpSport, Field::kUdpDport,
                  Field::kThSport, Field::kThDport, Field::kIcmpType, Field::kIcmpCode, Field::kIcmpv6Type,
                  Field::kIcmpv6Code}) {
    INFO(nftables::Info(f).text);
    CHECK(nftables::Info(f).type != 0);  // can key a set
    CHECK(std::string(nftables::Info(f).type_name) != "");
    CHECK(nftables::Info(f).len > 0);
  }
}

TEST_CASE("one rule: its matches in order, and the protocol match nft would not infer", "[nftables]") {
  ir::Ruleset rs = EmptyRuleset();
  ir::Rule web = TcpTo(Family::kV4, V4(10, 1, 2, 2), 80, "fixture.fw:3 web");
  web.iif = "eth1";
  Base(rs, ir::Hook::kForward).rules.push_back(web);
  ir::Rule ssh6;  // IPv6 only, but no address says so
  ssh6.family = ir::RuleFamily::kV6;
  ssh6.has_service = true;
  ssh6.service.proto = kProtoTcp;
  ssh6.service.dports.Add(22, 22);
  ssh6.comment = "fixture.fw:4";
  Base(rs, ir::Hook::kInput).rules.push_back(ssh6);
  nftables::MergedRuleset ms;
  nftables::Table t = Model(rs, ms);
  const auto& fwd = ChainNamed(t, "forward").rules;
  REQUIRE(fwd.size() == 1);
  CHECK(Kinds(fwd[0]) == std::vector<Kind>{Kind::kMatch, Kind::kMatch, Kind::kMatch, Kind::kVerdict});
  CHECK(fwd[0].stmts[0].fields[0] == Field::kIifname);
  CHECK(fwd[0].stmts[0].name == "eth1");
  CHECK(fwd[0].stmts[1].fields[0] == Field::kIpDaddr);
  CHECK(fwd[0].stmts[2].fields[0] == Field::kTcpDport);
  CHECK(fwd[0].comment == "fixture.fw:3 web");
  const auto& in = ChainNamed(t, "input").rules;
  REQUIRE(in.size() == 1);
  CHECK(in[0].stmts[0].fields[0] == Field::kNfproto);
  CHECK(in[0].stmts[0].value.lo == 10);  // NFPROTO_IPV6
  // Declaration order: regular chains, then the base chains.
  CHECK(t.chains.back().name == "output");
}

TEST_CASE("a run of rules becomes one lookup into a named set, declared once for both backends", "[nftables]") {
  ir::Ruleset rs = EmptyRuleset();
  for (uint32_t i = 0; i < 20; ++i)
    Base(rs, ir::Hook::kForward).rules.push_back(TcpTo(Family::kV4, V4(10, 0, 0, i), 1000 + i, "fixture.fw:" + std::to_string(10 + i)));
  nftables::MergedRuleset ms;
  nftables::Table t = Model(rs, ms);
  REQUIRE(t.sets.size() == 1);
  const nftables::Set& s = t.sets[0];
  CHECK(s.key == std::vector<Field>{Field::kIpDaddr, Field::kTcpDport});
  CHECK_FALSE(s.interval);
  REQUIRE(s.elements.merged);
  CHECK(s.elements.merged->elements.size() == 20);
  const auto& fwd = ChainNamed(t, "forward").rules;
  REQUIRE(fwd.size() == 1);
  REQUIRE(fwd[0].stmts.size() == 2);
  CHECK(fwd[0].stmts[0].kind == Kind::kLookup);
  CHECK(fwd[0].stmts[0].name == s.name);
  CHECK(fwd[0].comment == "fixture.fw:10-29");

  // The printer and the linearizer: one set of 20 elements, one rule.
  std::string text = NftBackend().Emit(rs);
  CHECK(text.find("ip daddr . tcp dport @" + s.name + " accept comment \"fixture.fw:10-29\"") != std::string::npos);
  CHECK(text.find("type ipv4_addr . inet_service") != std::string::npos);
  netlink::TableImage image = netlink::BuildImage(rs);
  CHECK(netlink::Summary(image) == "3 chains, 1 rules, 1 sets with 20 elements");
}

TEST_CASE("different verdicts become a verdict map; a reject goes through a chain of its own", "[nftables]") {
  ir::Ruleset rs = EmptyRuleset();
  for (uint32_t i = 0; i < 6; ++i)
    Base(rs, ir::Hook::kForward)
        .rules.push_back(TcpTo(Family::kV4, V4(10, 0, 0, i), 80, "fixture.fw:" + std::to_string(10 + i),
                               i % 3 == 0 ? ir::Verdict::kAccept : i % 3 == 1 ? ir::Verdict::kDrop
                                                                               : ir::Verdict::kRejectTcpReset));
  nftables::MergedRuleset ms;
  nftables::Table t = Model(rs, ms);
  const auto& fwd = ChainNamed(t, "forward").rules;
  REQUIRE(fwd.size() == 1);
  const nftables::Stmt& map = fwd[0].stmts.back();
  CHECK(map.kind == Kind::kLookup);
  CHECK(map.map);
  // The reject's chain is declared before the base chains.
  bool action_chain = false;
  for (const auto& c : t.chains) {
    if (c.hook != ir::Hook::kNone) break;
    for (const auto& r : c.rules)
      for (const auto& s : r.stmts) action_chain |= s.kind == Kind::kReject;
  }
  CHECK(action_chain);
  std::string text = NftBackend().Emit(rs);
  CHECK(text.find("vmap") != std::string::npos);
  CHECK(text.find("reject with tcp reset") != std::string::npos);
}

TEST_CASE("comments are capped once, for both backends, and runtime sets are declared empty", "[nftables]") {
  ir::Ruleset rs = EmptyRuleset();
  Base(rs, ir::Hook::kInput).rules.push_back(TcpTo(Family::kV4, V4(10, 1, 1, 1), 22, "fixture.fw:9 " + std::string(300, 'c')));
  ir::NamedSet bl;
  bl.name = "blocklist_v4";
  bl.runtime = true;
  rs.sets.push_back(bl);
  nftables::MergedRuleset ms;
  nftables::Table t = Model(rs, ms);
  CHECK(ChainNamed(t, "input").rules[0].comment.size() == nftables::kMaxComment);
  REQUIRE(t.sets.size() == 1);
  CHECK(t.sets[0].runtime);
  CHECK(t.sets[0].comment == nftables::kRuntimeSetComment);
  netlink::TableImage image = netlink::BuildImage(rs);
  CHECK(image.runtime_sets == std::vector<std::string>{"blocklist_v4"});
  CHECK(netlink::RuleComment(image.rules[0].get()).size() == nftables::kMaxComment);
  std::string text = NftBackend().Emit(rs);
  CHECK(text.find("comment \"" + nftables::KernelString(ChainNamed(t, "input").rules[0].comment) + "\"") !=
        std::string::npos);
}
