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
