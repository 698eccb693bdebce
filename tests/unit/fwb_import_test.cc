// fwc import of Firewall Builder files: what a .fwb firewall becomes (the
// crm firewall as Debian's fwbuilder wrote it), what is refused with a
// located reason (and kept out, marked, with --partial), malformed XML.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "import/fwb_import.h"
#include "import/policy_draft.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

struct Imported {
  SourceManager sources;
  std::unique_ptr<Diagnostics> diags = std::make_unique<Diagnostics>(sources);
  std::vector<std::string> policies;
  int unmapped = 0;
  std::string Rendered() const { return diags->Render(); }
};

std::unique_ptr<Imported> ImportText(const std::string& text, const std::string& firewall, bool partial = false) {
  auto out = std::make_unique<Imported>();
  import::ImportOptions opts;
  opts.firewall = firewall;
  opts.partial = partial;
  import::ImportReporter report(*out->diags, partial);
  int f = out->sources.Add("test.fwb", text);
  for (const auto& d : import::ImportFwb(text, f, opts, report)) out->policies.push_back(import::WritePolicy(d));
  out->unmapped = report.unmapped();
  return out;
}

std::string ReadCorpus(const std::string& name) {
  std::ifstream in(std::string(FWC_SOURCE_DIR) + "/tests/import/fwb/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The lines of a policy from "policy" on, without comments.
std::string RulesOf(const std::string& policy) {
  std::string out;
  std::istringstream in(policy.substr(policy.find("\npolicy ") + 1));
  for (std::string line; std::getline(in, line);) {
    size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#') continue;
    out += line.substr(first) + "\n";
  }
  return out;
}

// A firewall with one policy rule (RULE: the <PolicyRule> element's text).
std::string OneRule(const std::string& rule) {
  return R"(<?xml version="1.0" encoding="utf-8"?>
<FWObjectDatabase xmlns="http://www.fwbuilder.org/1.0/" version="24" id="root">
  <Library id="syslib000" name="Standard" ro="True">
    <AnyNetwork id="sysid0" name="Any" address="0.0.0.0" netmask="0.0.0.0"/>
    <AnyIPService id="sysid1" protocol_num="0" name="Any"/>
    <AnyInterval id="sysid2" name="Any"/>
  </Library>
  <Library id="lib" name="User">
    <TCPService id="http" name="http" src_range_start="0" src_range_end="0" dst_range_start="80" dst_range_end="80"/>
    <Firewall id="fw" name="gw" platform="iptables" host_OS="linux24">
      <Policy id="pol" name="Policy" ipv4_rule_set="False" ipv6_rule_set="False" top_rule_set="True">
)" + rule + R"(
      </Policy>
      <Interface id="eth0" name="eth0" security_level="0">
        <IPv4 id="eth0ip" name="gw:eth0:ip" address="192.0.2.1" netmask="255.255.255.0"/>
      </Interface>
      <FirewallOptions/>
    </Firewall>
  </Library>
</FWObjectDatabase>
)";
}

}  // namespace

TEST_CASE("the crm firewall drawn in Firewall Builder imports as the crm policy", "[import]") {
  auto r = ImportText(ReadCorpus("crm.fwb"), "crm-mgmt");
  INFO(r->Rendered());
  REQUIRE(!r->diags->has_errors());
  REQUIRE(r->policies.size() == 1);
  const std::string& p = r->policies[0];
  CHECK(p.find("firewall crm-mgmt {\n"
               "    interface outside eth1 10.1.1.1/24, 2001:db8:1::1/64;  # the outside (the clients)\n"
               "    interface dmz eth2 10.1.2.1/24, 2001:db8:2::1/64;  # the farm\n"
               "}\n") != std::string::npos);
  CHECK(p.find("host lb 10.1.2.2, 2001:db8:2::2;  # load balancer VIP\n") != std::string::npos);
  CHECK(p.find("group clients { clients-v4, clients-v6 }") != std::string::npos);
  CHECK(RulesOf(p) ==
        "policy Policy default drop {\n"
        "option forwarding yes;\n"
        "accept ping from any to lb comment \"VIP answers ping\";\n"
        "accept http from any to lb in outside comment \"the CRM web service\";\n"
        "accept ssh from clients to ges in outside comment \"management by SSH\";\n"
        "drop from any to any comment \"everything else is dropped\";\n"
        "}\n");
  // Every rule traces back to its Firewall Builder rule.
  CHECK(p.find("# fwbuilder: firewall crm-mgmt, Policy rule 2\n") != std::string::npos);
  Result c = Compile(p);
  INFO(c.Rendered());
  CHECK(c.ok);
}

TEST_CASE("what a .fwb rule says that fwc cannot is refused where it is written", "[import]") {
  struct Row {
    const char* rule;
    const char* message;  // part of the located error
    const char* at;       // the text it points at
  };
  const Row rows[] = {
      {R"(<PolicyRule id="r0" position="0" action="Branch" direction="Both" comment="">
          <Src neg="False"><ObjectRef ref="sysid0"/></Src><Dst neg="False"><ObjectRef ref="sysid0"/></Dst>
          <Srv neg="False"><ServiceRef ref="sysid1"/></Srv><Itf neg="False"><ObjectRef ref="sysid0"/></Itf>
          <When neg="False"><IntervalRef ref="sysid2"/></When></PolicyRule>)",
       "its action is Branch", "<PolicyRule"},
      {R"(<PolicyRule id="r0" position="0" action="Accept" direction="Inbound" comment="">
          <Src neg="False"><ObjectRef ref="sysid0"/></Src><Dst neg="False"><ObjectRef ref="sysid0"/></Dst>
          <Srv neg="False"><ServiceRef ref="http"/></Srv><Itf neg="True"><ObjectRef ref="eth0"/></Itf>
          <When neg="False"><IntervalRef ref="sysid2"/></When></PolicyRule>)",
       "its interface column is negated", "<Itf neg=\"True\""},
      {R"(<PolicyRule id="r0" position="0" action="Reject" direction="Both" comment="">
          <Src neg="False"><ObjectRef ref="sysid0"/></Src><Dst neg="False"><ObjectRef ref="sysid0"/></Dst>
          <Srv neg="False"><ServiceRef ref="http"/></Srv><Itf neg="False"><ObjectRef ref="sysid0"/></Itf>
          <When neg="False"><IntervalRef ref="sysid2"/></When>
          <PolicyRuleOptions><Option name="action_on_reject">ICMP host prohibited</Option></PolicyRuleOptions>
          </PolicyRule>)",
       "it rejects with ICMP host prohibited, and fwc rejects with a port-unreachable", "<PolicyRule"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.message);
    std::string text = OneRule(row.rule);
    auto r = ImportText(text, "gw");
    std::string out = r->Rendered();
    INFO(out);
    CHECK(r->unmapped == 1);
    CHECK(r->diags->has_errors());
    CHECK(out.find(row.message) != std::string::npos);
    // Located at the element that says it, 1-based.
    size_t at = text.find(row.at);
    REQUIRE(at != std::string::npos);
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
    size_t bol = text.rfind('\n', at);
    int col = static_cast<int>(at - (bol == std::string::npos ? 0 : bol + 1)) + 1;
    CHECK(out.find("test.fwb:" + std::to_string(line) + ":" + std::to_string(col) + ": error:") != std::string::npos);
    // --partial: a warning, and the policy says where it is incomplete.
    auto p = ImportText(text, "gw", true);
    CHECK(!p->diags->has_errors());
    REQUIRE(p->policies.size() == 1);
    CHECK(p->policies[0].find("not imported") != std::string::npos);
  }
}

TEST_CASE("a reject answers as the rule says, else as the firewall says", "[import]") {
  // {rule's action_on_reject, firewall's, imported?}
  struct Row {
    const char* rule;
    const char* firewall;
    bool imported;
  };
  const Row rows[] = {
      {"", "", true},
      {"TCP RST", "", true},
      {"", "ICMP port unreachable", true},
      {"", "ICMP net unreachable", false},
      {"ICMP port unreachable", "ICMP net unreachable", true},
      {"ICMP admin prohibited", "TCP RST", false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.rule, row.firewall);
    std::string text = OneRule(std::string(R"(<PolicyRule id="r0" position="0" action="Reject" direction="Both" comment="">
          <Src neg="False"><ObjectRef ref="sysid0"/></Src><Dst neg="False"><ObjectRef ref="sysid0"/></Dst>
          <Srv neg="False"><ServiceRef ref="http"/></Srv><Itf neg="False"><ObjectRef ref="sysid0"/></Itf>
          <When neg="False"><IntervalRef ref="sysid2"/></When>
          <PolicyRuleOptions><Option name="action_on_reject">)") + row.rule + R"(</Option></PolicyRuleOptions>
          </PolicyRule>)");
    text.replace(text.find("<FirewallOptions/>"), 18,
                 std::string("<FirewallOptions><Option name=\"action_on_reject\">") + row.firewall +
                     "</Option></FirewallOptions>");
    auto r = ImportText(text, "gw");
    INFO(r->Rendered());
    CHECK(r->diags->has_errors() == !row.imported);
    if (row.imported) {
      REQUIRE(r->policies.size() == 1);
      INFO(r->policies[0]);
      CHECK(RulesOf(r->policies[0]).find("reject http from any to 0.0.0.0/0;") != std::string::npos);
    } else {
      CHECK(r->Rendered().find("it rejects with ") != std::string::npos);
    }
  }
}

TEST_CASE("a damaged .fwb file is a located syntax error", "[import]") {
  auto r = ImportText("<?xml version=\"1.0\"?>\n<FWObjectDatabase version=\"24\">\n  <Library id=\"x\">\n</FWObjectDatabase>\n",
                      "");
  std::string out = r->Rendered();
  INFO(out);
  CHECK(r->diags->has_errors());
  CHECK(out.find("test.fwb:4:") != std::string::npos);
  CHECK(out.find("[import-syntax]") != std::string::npos);
  CHECK(r->policies.empty());
}
