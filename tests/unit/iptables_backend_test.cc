// The iptables backend from IR fixtures: the restore file per family and
// the script around it.
#include <catch2/catch.hpp>

#include "backends/iptables/iptables_backend.h"
#include "ir_fixtures.h"

using namespace fwc;
using namespace fwc::test;

TEST_CASE("each IR rule is one iptables-restore line per family, with its comment", "[iptables]") {
  ir::Ruleset rs = EmptyRuleset();
  ir::Rule web = TcpTo(Family::kV4, V4(10, 1, 2, 2), 80, "fixture.fw:3 web");
  web.iif = "eth1";
  Base(rs, ir::Hook::kForward).rules.push_back(web);
  Base(rs, ir::Hook::kForward).rules.push_back(TcpTo(Family::kV6, U128{1}, 443, "fixture.fw:4"));
  IptablesBackend b;
  std::string v4 = b.RestoreFile(rs, Family::kV4), v6 = b.RestoreFile(rs, Family::kV6);
  CHECK(v4.find("-A FORWARD -i eth1 -d 10.1.2.2/32 -p tcp --dport 80 -m comment --comment \"fixture.fw:3 web\" -j ACCEPT\n") !=
        std::string::npos);
  CHECK(v4.find("443") == std::string::npos);
  CHECK(v6.find("-A FORWARD -d ::1/128 -p tcp --dport 443 -m comment --comment \"fixture.fw:4\" -j ACCEPT\n") !=
        std::string::npos);
  CHECK(v4.find(":FORWARD DROP [0:0]\n") != std::string::npos);
}

TEST_CASE("a runtime set is an ipset the script creates before it tests the rules", "[iptables]") {
  ir::Ruleset rs = EmptyRuleset();
  ir::Rule drop;
  drop.family = ir::RuleFamily::kV4;
  drop.src.present = true;
  drop.src.runtime = true;
  drop.src.set_name = "blocklist_v4";
  drop.verdict = ir::Verdict::kDrop;
  drop.comment = "fixture.fw:5";
  Base(rs, ir::Hook::kInput).rules.push_back(drop);
  ir::NamedSet bl;
  bl.name = "blocklist_v4";
  bl.runtime = true;
  rs.sets.push_back(bl);
  IptablesBackend b;
  CHECK(b.RestoreFile(rs, Family::kV4).find("-A INPUT -m set --match-set blocklist_v4 src -m comment") !=
        std::string::npos);
  auto ipsets = IptablesBackend::IpsetCommands(rs);
  REQUIRE(ipsets.size() == 1);
  CHECK(ipsets[0] == std::vector<std::string>{"ipset", "create", "-exist", "blocklist_v4", "hash:net", "family", "inet"});
  std::string script = b.Emit(rs);
  size_t create = script.find("ipset create -exist blocklist_v4 hash:net family inet");
  size_t test = script.find("iptables-restore --wait --test");
  REQUIRE(create != std::string::npos);
  CHECK(create < test);
}

TEST_CASE("an interval is the fewest CIDR blocks, up to the whole address space", "[iptables]") {
  const U128 all6 = ~U128{0};
  struct Row {
    Family f;
    Interval iv;
    std::vector<std::string> blocks;
  };
  const Row rows[] = {
      {Family::kV4, {V4(10, 1, 2, 15), V4(10, 1, 2, 17)}, {"10.1.2.15/32", "10.1.2.16/31"}},
      {Family::kV4, {V4(10, 0, 0, 0), V4(10, 255, 255, 255)}, {"10.0.0.0/8"}},
      {Family::kV4, {0, V4(255, 255, 255, 255)}, {"0.0.0.0/0"}},
      {Family::kV4, {V4(128, 0, 0, 0), V4(255, 255, 255, 255)}, {"128.0.0.0/1"}},
      // 1 << 128 does not exist: the whole IPv6 space is said without it.
      {Family::kV6, {0, all6}, {"::/0"}},
      {Family::kV6, {U128{1}, all6}, {}},
      {Family::kV6, {U128{1} << 127, all6}, {"8000::/1"}},
      {Family::kV6, {all6, all6}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}},
  };
  for (const auto& row : rows) {
    auto got = IptablesBackend::Prefixes(row.f, row.iv);
    if (row.blocks.empty()) {
      // Everything but ::: one block per host-bit length, 128 of them.
      CHECK(got.size() == 128);
      CHECK(got.front() == "::1/128");
      CHECK(got.back() == "8000::/1");
    } else {
      CHECK(got == row.blocks);
    }
  }
}
