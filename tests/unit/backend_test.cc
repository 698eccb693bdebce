#include <catch2/catch.hpp>

#include "backends/iptables/iptables_backend.h"
#include "backends/nft/nft_backend.h"
#include "backends/nftables/model.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;

TEST_CASE("kernel comments are capped per target without splitting UTF-8", "[backend]") {
  std::string longc(300, 'x');
  CHECK(PlainText(longc, 128).size() == 128);
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xc3\xa9";  // 'é', 2 bytes each
  std::string cut = PlainText(accents, 127);
  CHECK(cut.size() == 126);
  CHECK(PlainText("say \"hi\"", 128) == "say 'hi'");

  Result r = Compile(Policy("", "  accept from any to any comment \"" + std::string(200, 'c') + "\";\n"));
  REQUIRE(r.ok);
  for (size_t pos = r.output.find("comment \""); pos != std::string::npos; pos = r.output.find("comment \"", pos + 1)) {
    size_t end = r.output.find('"', pos + 9);
    CHECK(end - (pos + 9) <= nftables::kMaxComment);
  }
  Result ipt = Compile(Policy("", "  accept from any to any comment \"" + std::string(300, 'c') + "\";\n"), "iptables");
  REQUIRE(ipt.ok);
  CHECK(ipt.output.find(std::string(257 - 10, 'c')) == std::string::npos);
  CHECK(ipt.output.find("test.fw:7 " + std::string(256 - 10, 'c') + "\"") != std::string::npos);
}

TEST_CASE("every kernel rule carries a comment tracing it to the policy", "[backend]") {
  Result r = Compile(Policy("host lb 10.1.2.2;", "  accept tcp 80 from any to lb in outside;\n"), "iptables");
  REQUIRE(r.ok);
  size_t rules = 0;
  for (size_t pos = r.output.find("\n-A "); pos != std::string::npos; pos = r.output.find("\n-A ", pos + 1)) {
    size_t eol = r.output.find('\n', pos + 1);
    CHECK(r.output.substr(pos, eol - pos).find("--comment \"") != std::string::npos);
    ++rules;
  }
  CHECK(rules > 10);
  CHECK(r.output.find("--comment \"test.fw:7\" -j ACCEPT") != std::string::npos);
}

TEST_CASE("iptables splits long port lists into multiport chunks of 15 slots", "[backend]") {
  std::string ports;
  for (int i = 0; i < 20; ++i) ports += (i ? ", " : "") + std::to_string(1000 + 2 * i);
  Result r = Compile(Policy("service many tcp { " + ports + ", 5000-5010 };", "  accept many from any to any in outside;\n"),
                     "iptables");
  REQUIRE(r.ok);
  IptablesBackend b;
  std::string v4 = b.RestoreFile(r.rs, Family::kV4);
  CHECK(v4.find("--dports 1000,1002,1004,1006,1008,1010,1012,1014,1016,1018,1020,1022,1024,1026,1028 ") !=
        std::string::npos);
  CHECK(v4.find("--dports 1030,1032,1034,1036,1038,5000:5010 ") != std::string::npos);
}

TEST_CASE("iptables uses iprange for ranges that are not one prefix", "[backend]") {
  Result r = Compile(Policy("range r 10.1.2.5 - 10.1.2.9;", "  accept from r to any in outside;\n  drop from not r to any in dmz;\n"),
                     "iptables");
  REQUIRE(r.ok);
  IptablesBackend b;
  std::string v4 = b.RestoreFile(r.rs, Family::kV4);
  CHECK(v4.find("-m iprange --src-range 10.1.2.5-10.1.2.9 ") != std::string::npos);
  CHECK(v4.find("-m iprange ! --src-range 10.1.2.5-10.1.2.9 ") != std::string::npos);
  std::string v6 = b.RestoreFile(r.rs, Family::kV6);
  CHECK(v6.find("10.1.2") == std::string::npos);
}

TEST_CASE("nft output replaces only its own table", "[backend]") {
  Result r = Compile(Policy("", ""));
  REQUIRE(r.ok);
  CHECK(r.output.find("flush ruleset") == std::string::npos);
  size_t declare = r.output.find("table inet fwc {\n}\n");
  size_t del = r.output.find("delete table inet fwc\n");
  size_t redeclare = r.output.find("table inet fwc {\n", del);
  CHECK(declare < del);
  CHECK(del < redeclare);
  CHECK(redeclare != std::string::npos);
}

TEST_CASE("the iptables script tests both families before loading either", "[backend]") {
  Result r = Compile(Policy("", ""), "iptables");
  REQUIRE(r.ok);
  size_t t4 = r.output.find("fwc_ipv4 | iptables-restore --wait --test");
  size_t t6 = r.output.find("fwc_ipv6 | ip6tables-restore --wait --test");
  size_t l4 = r.output.find("fwc_ipv4 | iptables-restore --wait ||");
  size_t l6 = r.output.find("fwc_ipv6 | ip6tables-restore --wait ||");
  REQUIRE(l6 != std::string::npos);
  CHECK(t4 < t6);
  CHECK(t6 < l4);
  CHECK(l4 < l6);
}

TEST_CASE("log with a rate becomes a limited log rule before the verdict rule", "[backend]") {
  Result nft = Compile(Policy("", "  drop from any to any in outside log prefix \"fwc-drop \" rate 10/minute;\n"));
  REQUIRE(nft.ok);
  CHECK(nft.output.find("iifname \"eth1\" limit rate 10/minute log prefix \"fwc-drop \" comment") != std::string::npos);
  CHECK(nft.output.find("iifname \"eth1\" drop comment \"test.fw:7\"") != std::string::npos);
  Result ipt = Compile(Policy("", "  drop from any to any in outside log prefix \"fwc-drop \" rate 10/minute;\n"), "iptables");
  REQUIRE(ipt.ok);
  CHECK(ipt.output.find("-m limit --limit 10/min -m comment --comment \"test.fw:7\" -j LOG --log-prefix \"fwc-drop \"") !=
        std::string::npos);
}
