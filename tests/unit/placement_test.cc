// Chain placement as Firewall Builder does it, table-driven: which base
// chains a one-rule policy puts its rule into.
#include <catch2/catch.hpp>

#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

std::string Chains(const Result& r) {
  std::string out;
  for (const char* c : {"input", "forward", "output"})
    if (!PolicyRules(r.rs, c).empty()) out += std::string(out.empty() ? "" : ",") + c;
  return out;
}

}  // namespace

TEST_CASE("rules land in input, output or forward by their addresses", "[placement]") {
  const std::string objects =
      "host lb 10.1.2.2, 2001:db8:2::2;\n"
      "network clients 10.1.1.0/24, 2001:db8:1::/64;\n"
      "host fw_eth1 10.1.1.1;\n"
      "host c1 10.1.1.11, 2001:db8:1::11;\n"
      "network mcast 224.0.0.0/4;\n";
  struct Row {
    const char* rule;
    const char* chains;
  };
  const Row rows[] = {
      {"accept from any to lb;", "forward,output"},
      {"accept from c1 to lb;", "forward"},
      // clients holds the firewall's own 10.1.1.1: traffic from it is covered too.
      {"accept from clients to lb;", "forward,output"},
      {"accept from any to fw;", "input"},
      {"accept from clients to fw_eth1;", "input"},
      {"accept from fw to any;", "output"},
      {"accept from fw to lb;", "output"},
      {"accept from any to any;", "input,forward,output"},
      {"accept from c1 to any;", "input,forward"},
      // A network containing the firewall reaches it too.
      {"accept from any to 10.1.1.0/24;", "input,forward,output"},
      {"accept from c1 to not lb;", "input,forward"},
      {"accept from any to any in outside;", "input,forward"},
      {"accept from any to any out dmz;", "forward,output"},
      {"accept from any to any in outside out dmz;", "forward"},
      {"accept from c1 to mcast;", "input"},
      {"accept from fw to mcast;", "output"},
  };
  for (const Row& row : rows) {
    SECTION(row.rule) {
      Result r = Compile(Policy(objects, std::string("  ") + row.rule + "\n"));
      INFO(r.Rendered());
      REQUIRE(r.ok);
      CHECK(Chains(r) == row.chains);
    }
  }
}

TEST_CASE("with any-includes-firewall off, any means only traffic through", "[placement]") {
  Result r = Compile(Policy("", "  option any-includes-firewall no;\n  accept from any to any;\n  accept from any to fw;\n"));
  REQUIRE(r.ok);
  auto input = PolicyRules(r.rs, "input");
  REQUIRE(input.size() == 2);  // "to fw", once per family
  CHECK(input[0].comment == "test.fw:9");
  CHECK(input[1].comment == "test.fw:9");
  CHECK(PolicyRules(r.rs, "forward").size() == 1);
  CHECK(PolicyRules(r.rs, "output").empty());
}

TEST_CASE("a rule that can match nothing the firewall sees is warned about", "[placement]") {
  Result r = Compile(Policy("", "  accept from fw to fw;\n"));
  REQUIRE(r.ok);
  const Diagnostic* d = r.Find("never-matches");
  REQUIRE(d);
  CHECK(d->severity == Severity::kWarning);
  CHECK(d->loc.line == 7);
}

TEST_CASE("interfaces are matched by name so rules load before they exist", "[placement]") {
  Result r = Compile(Policy("", "  accept tcp 22 from any to any in outside;\n"));
  REQUIRE(r.ok);
  auto fwd = PolicyRules(r.rs, "forward");
  REQUIRE(fwd.size() == 1);
  CHECK(fwd[0].iif == "eth1");
  CHECK(r.output.find("iifname \"eth1\"") != std::string::npos);
  CHECK(r.output.find("iif \"") == std::string::npos);
}

TEST_CASE("the firewall object needs no address match in its own chains", "[placement]") {
  Result r = Compile(Policy("host lb 10.1.2.2;", "  accept tcp 22 from any to fw;\n  accept udp 53 from fw to lb;\n"));
  REQUIRE(r.ok);
  auto input = PolicyRules(r.rs, "input");
  REQUIRE(input.size() == 2);  // one per family: the firewall has both
  CHECK_FALSE(input[0].dst.present);
  CHECK(input[0].family == ir::RuleFamily::kV4);
  auto output = PolicyRules(r.rs, "output");
  REQUIRE(output.size() == 1);
  CHECK_FALSE(output[0].src.present);
  CHECK(output[0].dst.present);
  // An explicit address of the firewall keeps its match.
  Result h = Compile(Policy("host eth1addr 10.1.1.1;", "  accept tcp 22 from any to eth1addr;\n"));
  REQUIRE(h.ok);
  CHECK(PolicyRules(h.rs, "input")[0].dst.present);
}

TEST_CASE("the placed rules are counted before they are made, exactly", "[placement]") {
  // PlaceRules allocates its rules once, by a count taken without making
  // them; a wrong count would not change the rules, only regrow the vector.
  Result r = Compile(Policy("host lb 10.1.2.2, 2001:db8:2::2;\nservice web tcp 80, tcp 443, udp 443;\n",
                            "  drop { icmp echo-request, tcp 22 } from any to any;\n"  // one family's service
                            "  accept web from any to lb;\n"                      // two families, chains and services
                            "  accept not web from any to lb;\n"                  // a negated list stays whole
                            "  accept from any to any;\n"                         // both families, three chains
                            "  accept from fw to fw;\n"));                        // no chain at all
  INFO(r.Rendered());
  REQUIRE(r.ok);
  CHECK(r.c->placed().size() > 10);
  CHECK(r.c->placed().capacity() == r.c->placed().size());
}

TEST_CASE("a firewall with no address of a family may send from any address of it", "[placement]") {
  // Only a dynamic interface (its address known at run time): an open
  // source may be the firewall, as Firewall Builder has it.
  struct Row {
    const char* rule;
    const char* chains;
  };
  const Row rows[] = {
      {"accept from any to 192.0.2.100;", "forward,output"},
      {"accept from not 10.1.1.0/24 to 192.0.2.100;", "forward,output"},
      {"accept from 10.1.1.0/24 to 192.0.2.100;", "forward"},
      {"accept from any to any;", "input,forward,output"},
  };
  for (const Row& row : rows) {
    SECTION(row.rule) {
      Result r = Compile(std::string("firewall gw {\n  interface wan ppp0;\n}\npolicy p default drop {\n  ") +
                         row.rule + "\n}\n");
      INFO(r.Rendered());
      REQUIRE(r.ok);
      CHECK(Chains(r) == row.chains);
    }
  }
}
