// The nat and marks sections through every layer: placement (which hook,
// which families, filter rules naming the original destination), the
// lowering (what a translation becomes), the nftables model as both nft
// backends print it, the iptables script, and fwc query's way through marks,
// dstnat, the filter and srcnat.
#include <catch2/catch.hpp>

#include "backends/iptables/iptables_backend.h"
#include "compiler/analysis/nat_analysis.h"
#include "compiler/analysis/query.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

// A gateway: outside eth1 (10.1.1.1), dmz eth2 (10.1.2.1); web in the dmz.
std::string Gateway(const std::string& sections, const std::string& rules) {
  return Policy("host web 10.1.2.10, 2001:db8:2::10;\nmark webmark 1;", sections + rules);
}

// The placed rules of the sections, as "hook family translation" lines.
std::vector<std::string> SectionHooks(const Result& r) {
  std::vector<std::string> out;
  for (const auto& w : r.c->sections())
    out.push_back(std::string(ir::HookName(w.hook)) + " " +
                  (w.rule.family == ir::RuleFamily::kAny  ? "any"
                   : w.rule.family == ir::RuleFamily::kV4 ? "ip4"
                                                          : "ip6") +
                  " " + TranslationName(w.origin->translation->kind));
  return out;
}

std::string Query(const Result& r, const std::string& text, analysis::QueryResult* out = nullptr) {
  std::string err;
  auto p = analysis::ParsePacket(text, &err);
  REQUIRE(p);
  auto q = analysis::Query(r.c->model(), r.c->placed(), *p, &err, r.c->sections());
  REQUIRE(q);
  if (out) *out = *q;
  return std::string(ast::ActionName(q->verdict)) + " " + ir::HookName(q->chain);
}

bool Has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("each kind of nat and marks rule lands in its hook, in the families of its target", "[nat]") {
  struct Row {
    const char* rule;
    std::vector<std::string> hooks;
  };
  const Row rows[] = {
      {"    dnat to web tcp 80 from any to fw in outside;\n", {"dstnat ip4 dnat", "dstnat ip6 dnat"}},
      {"    dnat to 10.1.2.10 tcp 80 from any to any in outside;\n", {"dstnat ip4 dnat"}},
      {"    redirect to port 3128 tcp 80 from any to any in dmz;\n", {"dstnat any redirect"}},
      {"    snat to 10.1.1.1 from 10.1.2.0/24 to any out outside;\n", {"srcnat ip4 snat"}},
      {"    masquerade from any to any out outside;\n", {"srcnat any masquerade"}},
      {"    no nat from any to any;\n", {"dstnat any no nat", "srcnat any no nat"}},
      {"    no nat from any to any in dmz;\n", {"dstnat any no nat"}},
      {"    no nat from any to any out outside;\n", {"srcnat any no nat"}},
  };
  for (const Row& row : rows) {
    SECTION(row.rule) {
      Result r = Compile(Gateway(std::string("  nat {\n") + row.rule + "  }\n", ""));
      INFO(r.Rendered());
      REQUIRE(r.ok);
      CHECK(SectionHooks(r) == row.hooks);
    }
  }
  SECTION("marks") {
    Result r = Compile(Gateway("  marks {\n    mark webmark tcp 80 from any to web;\n    connmark 7 from any to any;\n  }\n", ""));
    REQUIRE(r.ok);
    CHECK(SectionHooks(r) == std::vector<std::string>{"marks ip4 mark", "marks ip6 mark", "marks any connmark"});
  }
}

TEST_CASE("with destination NAT, filter rules match the original destination and land where it is translated",
          "[nat]") {
  const std::string nat = "  nat {\n    dnat to web port 8080 tcp 80 from any to 10.1.1.1 in outside;\n  }\n";
  Result r = Compile(Gateway(nat, "  accept tcp 80 from any to fw in outside;\n"));
  INFO(r.Rendered());
  REQUIRE(r.ok);
  // The port forward: the rule naming the firewall's address lands in
  // forward too, and matches conntrack's original destination there.
  auto fwd = PolicyRules(r.rs, "forward");
  REQUIRE(fwd.size() == 1);  // the forward is of IPv4 only
  CHECK(fwd[0].original_dst);
  CHECK(fwd[0].dst.present);
  CHECK(PolicyRules(r.rs, "input").size() == 2);
  CHECK(Has(r.output, "ct original ip daddr"));
  CHECK(Has(r.output, "meta l4proto tcp ct original proto-dst 80 accept"));
  // Without destination NAT nothing changes.
  Result plain = Compile(Gateway("", "  accept tcp 80 from any to fw in outside;\n"));
  REQUIRE(plain.ok);
  CHECK(PolicyRules(plain.rs, "forward").empty());
  CHECK_FALSE(Has(plain.output, "ct original"));
}

TEST_CASE("a redirect brings a rule naming other hosts into input, and 'to fw' there keeps its address", "[nat]") {
  Result r = Compile(Gateway("  nat {\n    redirect to port 3128 tcp 80 from any to not fw in dmz;\n  }\n",
                             "  accept tcp 80 from any to any in dmz;\n  accept tcp 3128 from any to fw in dmz;\n"));
  INFO(r.Rendered());
  REQUIRE(r.ok);
  auto input = PolicyRules(r.rs, "input");
  REQUIRE(input.size() >= 2);
  // The "to fw" rule matches the original destination (the firewall), so
  // redirected traffic for other hosts does not pass by it.
  bool kept = false;
  for (const auto& x : input)
    if (x.has_service && !x.service.dports.empty() && x.service.dports.intervals()[0].lo == 3128)
      kept |= x.dst.present && x.original_dst;
  CHECK(kept);
}

TEST_CASE("the lowering turns translations into a kNat verdict and marks into a set-then-accept", "[nat]") {
  Result r = Compile(Gateway("  marks {\n    mark webmark tcp 80 from any to web;\n  }\n"
                             "  nat {\n    masquerade from any to not {10.0.0.0/8, 192.168.0.0/16} out outside;\n"
                             "    no nat from any to any out dmz;\n  }\n",
                             ""),
                     "iptables");
  INFO(r.Rendered());
  REQUIRE(r.ok);
  const ir::Chain* marks = FindChain(r.rs, "marks");
  REQUIRE(marks);
  REQUIRE(marks->rules.size() == 2);
  CHECK(marks->rules[0].verdict == ir::Verdict::kAccept);
  REQUIRE(marks->rules[0].xlate);
  CHECK(marks->rules[0].xlate->mark == 1);
  // iptables cannot negate a list: the masquerade moves to a chain of its
  // own in the nat table, whose last rule translates.
  const ir::Chain* neg = nullptr;
  for (const auto& c : r.rs.chains)
    if (c.hook == ir::Hook::kNone) neg = &c;
  REQUIRE(neg);
  CHECK(neg->from == ir::Hook::kSnat);
  CHECK(neg->rules.back().verdict == ir::Verdict::kNat);
  const ir::Chain* srcnat = FindChain(r.rs, "srcnat");
  REQUIRE(srcnat);
  CHECK(srcnat->rules.back().verdict == ir::Verdict::kAccept);  // no nat
  CHECK(r.rs.owns_nat);
  CHECK(r.rs.owns_marks);
  std::string v4 = IptablesBackend().RestoreFile(r.rs, Family::kV4);
  CHECK(Has(v4, "*mangle\n"));
  CHECK(Has(v4, "-j MARK --set-mark 1\n"));
  CHECK(Has(v4, "*nat\n"));
  CHECK(Has(v4, ":" + neg->name + " - [0:0]"));
  CHECK(Has(v4, "-A POSTROUTING -o eth1 -m comment --comment \"test.fw:12\" -j " + neg->name));
  CHECK(Has(v4, "-A " + neg->name + " -m comment --comment \"test.fw:12\" -j MASQUERADE\n"));
  CHECK(Has(v4, "-A POSTROUTING -o eth2 -m comment --comment \"test.fw:13\" -j ACCEPT"));
}

TEST_CASE("the nft text writes each translation as nft reads it", "[nat]") {
  struct Row {
    const char* rule;
    const char* text;
  };
  const Row rows[] = {
      {"dnat to web port 8080 tcp 80 from any to 10.1.1.1 in outside;", "dnat ip to 10.1.2.10:8080"},
      {"dnat to web port 8080 tcp 80 from any to 2001:db8:1::1 in outside;", "dnat ip6 to [2001:db8:2::10]:8080"},
      {"dnat to 10.1.2.10-10.1.2.12 tcp 80 from any to 10.1.1.1;", "dnat ip to 10.1.2.10-10.1.2.12"},
      {"snat to 10.1.1.1 port 1024-2000 udp from 10.1.2.0/24 to any out outside;",
       "snat ip to 10.1.1.1:1024-2000"},
      {"masquerade from 10.1.2.0/24 to any out outside;", "masquerade"},
      {"masquerade port 20000-30000 tcp from 10.1.2.0/24 to any out outside;", "masquerade to :20000-30000"},
      {"redirect to port 3128 tcp 80 from 10.1.2.0/24 to any in dmz;", "redirect to :3128"},
  };
  for (const Row& row : rows) {
    SECTION(row.rule) {
      Result r = Compile(Gateway(std::string("  nat {\n    ") + row.rule + "\n  }\n", ""));
      INFO(r.Rendered());
      REQUIRE(r.ok);
      CHECK(Has(r.output, row.text));
    }
  }
  SECTION("chains and matches") {
    Result r = Compile(Gateway("  marks {\n    connmark webmark from any to web;\n  }\n"
                               "  nat {\n    masquerade from any to any out outside;\n  }\n",
                               "  accept tcp 22 from any to web connmark webmark mark 3 state new,related limit 5/minute;\n"));
    REQUIRE(r.ok);
    CHECK(Has(r.output, "type filter hook prerouting priority mangle; policy accept;"));
    CHECK(Has(r.output, "type nat hook postrouting priority srcnat; policy accept;"));
    CHECK_FALSE(Has(r.output, "dstnat"));  // no rule there: no chain
    CHECK(Has(r.output, "ct mark set 1 accept"));
    CHECK(Has(r.output, "meta mark 3 ct mark 1 ct state new,related limit rate 5/minute accept"));
  }
}

TEST_CASE("fwc query follows a packet through marks, dstnat, the filter and srcnat", "[nat][query]") {
  Result r = Compile(Gateway("  marks {\n    mark webmark tcp 22 from any to web;\n  }\n"
                             "  nat {\n    dnat to web port 8080 tcp 80 from any to 10.1.1.1 in outside;\n"
                             "    masquerade from 10.1.2.0/24 to any out outside;\n  }\n",
                             "  accept tcp 80 from any to 10.1.1.1 in outside;\n"
                             "  accept tcp 22 from any to web mark webmark;\n"
                             "  accept from 10.1.2.0/24 to any in dmz;\n"));
  INFO(r.Rendered());
  REQUIRE(r.ok);
  analysis::QueryResult q;
  // The port forward: translated to web:8080, routed to forward, accepted
  // by the rule naming what the client addressed.
  CHECK(Query(r, "tcp 10.1.1.50 -> 10.1.1.1:80", &q) == "accept forward");
  REQUIRE(q.steps.size() >= 2);
  CHECK(q.steps[1].hook == ir::Hook::kDnat);
  REQUIRE(q.steps[1].rule);
  CHECK(Has(q.steps[1].packet, "10.1.2.10:8080"));
  CHECK(q.oif == "eth2");
  // The server is not reachable directly.
  CHECK(Query(r, "tcp 10.1.1.50 -> 10.1.2.10:8080") == "drop forward");
  // The mark decides the rule that matches it.
  CHECK(Query(r, "tcp 10.1.1.50 -> 10.1.2.10:22", &q) == "accept forward");
  CHECK(q.mark == 1);
  // Outbound traffic from the dmz leaves masqueraded with the outside
  // address (the interface is given: no attached network holds the host).
  CHECK(Query(r, "tcp 10.1.2.10 -> 198.51.100.7:443 out outside", &q) == "accept forward");
  REQUIRE(!q.steps.empty());
  CHECK(q.steps.back().hook == ir::Hook::kSnat);
  CHECK(Has(q.steps.back().packet, "10.1.1.1:40000 -> 198.51.100.7:443"));
}

TEST_CASE("rules with marks, states or limits neither shadow nor cover others", "[nat][analysis]") {
  Result r = Compile(Policy("", "  accept tcp 22 from any to any mark 1;\n  drop tcp 22 from any to any;\n", "accept"));
  INFO(r.Rendered());
  CHECK(r.ok);
  CHECK_FALSE(r.Find("shadowed-rule"));
  CHECK_FALSE(r.Find("redundant-rule"));
  // Without the mark the first rule covers the second.
  Result u = Compile(Policy("", "  accept tcp 22 from any to any;\n  drop tcp 22 from any to any;\n", "accept"));
  CHECK(u.Find("shadowed-rule"));
}

TEST_CASE("option forwarding reaches the IR and the outputs say what they do about it", "[nat]") {
  Result on = Compile(Policy("", "  option forwarding yes;\n  accept from any to any;\n"));
  REQUIRE(on.ok);
  REQUIRE(on.rs.forwarding.has_value());
  CHECK(*on.rs.forwarding);
  CHECK(Has(on.output, "option forwarding yes"));
  Result ipt = Compile(Policy("", "  option forwarding yes;\n  accept from any to any;\n"), "iptables");
  CHECK(Has(ipt.output, "echo 1 > /proc/sys/net/ipv4/ip_forward"));
  Result unset = Compile(Policy("", "  nat {\n    masquerade from any to any out outside;\n  }\n  accept from any to any;\n"));
  REQUIRE(unset.ok);
  CHECK_FALSE(unset.rs.forwarding.has_value());
  CHECK(unset.rs.forwards);
  CHECK(Has(unset.output, "say 'option forwarding yes;'"));
}

TEST_CASE("the sections' analysis: first match wins in each hook, and port forwards the filter drops", "[nat][analysis]") {
  struct Row {
    const char* name;
    std::string sections, rules;
    const char* code;  // expected diagnostic, "" for none
    int line;
  };
  // Gateway(): the sections start on line 8.
  const Row rows[] = {
      {"a narrower rule after a broader one with another translation is shadowed",
       "  nat {\n    masquerade from 10.1.2.0/24 to any out outside;\n    snat to 10.1.1.9 from 10.1.2.6 to any out outside;\n  }\n",
       "", "shadowed-rule", 10},
      {"the same translation again is redundant",
       "  nat {\n    masquerade from 10.1.2.0/24 to any out outside;\n    masquerade from 10.1.2.6 to any out outside;\n  }\n",
       "", "redundant-rule", 10},
      {"the narrower rule first is fine",
       "  nat {\n    snat to 10.1.1.9 from 10.1.2.6 to any out outside;\n    masquerade from 10.1.2.0/24 to any out outside;\n  }\n",
       "", "", 0},
      {"marks shadow marks",
       "  marks {\n    mark 1 tcp from any to web;\n    mark 2 tcp 80 from any to web;\n  }\n", "", "shadowed-rule", 10},
      {"different hooks do not shadow each other",
       "  nat {\n    no nat from any to any in outside;\n    masquerade from 10.1.2.0/24 to any out outside;\n  }\n", "",
       "", 0},
      {"a conditional rule does not cover",
       "  nat {\n    masquerade from 10.1.2.0/24 to any out outside mark 3;\n    snat to 10.1.1.9 from 10.1.2.6 to any out outside;\n  }\n",
       "", "", 0},
      {"a port forward no filter rule accepts",
       "  nat {\n    dnat to web tcp 80 from any to 10.1.1.1 in outside;\n  }\n", "  accept tcp 22 from any to fw;\n",
       "nat-filtered", 9},
      {"a port forward the filter accepts",
       "  nat {\n    dnat to web tcp 80 from any to 10.1.1.1 in outside;\n  }\n", "  accept tcp 80 from any to fw;\n", "", 0},
  };
  for (const Row& row : rows) {
    SECTION(row.name) {
      Result r = Compile(Gateway(row.sections, row.rules));
      INFO(r.Rendered());
      for (const char* code : {"shadowed-rule", "redundant-rule", "nat-filtered"}) {
        const Diagnostic* d = r.Find(code);
        if (std::string(code) == row.code) {
          REQUIRE(d);
          CHECK(d->loc.line == row.line);
        } else {
          CHECK_FALSE(d);
        }
      }
    }
  }
}

TEST_CASE("fwc diff of the sections finds every class of packets whose mark or translation changed", "[nat][diff]") {
  auto diff = [](const std::string& a, const std::string& b) {
    Result x = Compile(Gateway(a, "  accept from any to any;\n"));
    Result y = Compile(Gateway(b, "  accept from any to any;\n"));
    REQUIRE(x.ok);
    REQUIRE(y.ok);
    analysis::InterfaceIds ifaces;
    return analysis::DiffSections(x.c->sections(), y.c->sections(), ifaces);
  };
  const std::string one = "  marks {\n    mark webmark tcp 80 from any to web;\n  }\n";
  // The failover of the LVS farm: one mark changes, for each family.
  auto d = diff(one, "  marks {\n    mark 2 tcp 80 from any to web;\n  }\n");
  REQUIRE(d.changes.size() == 2);
  CHECK(d.changes[0].before == "mark 1");
  CHECK(d.changes[0].after == "mark 2");
  CHECK(Has(d.changes[0].example, ":80"));
  // Rules reordered without changing what they do: no difference.
  const std::string ab =
      "  nat {\n    snat to 10.1.1.9 from 10.1.2.6 to any out outside;\n    snat to 10.1.1.8 from 10.1.2.7 to any out outside;\n  }\n";
  const std::string ba =
      "  nat {\n    snat to 10.1.1.8 from 10.1.2.7 to any out outside;\n    snat to 10.1.1.9 from 10.1.2.6 to any out outside;\n  }\n";
  CHECK(diff(ab, ba).changes.empty());
  // A translation added: the packets it takes change from none to it.
  auto added = diff("", "  nat {\n    masquerade from 10.1.2.0/24 to any out outside;\n  }\n");
  REQUIRE(added.changes.size() == 1);
  CHECK(added.changes[0].before == "no translation");
  CHECK(added.changes[0].after == "masquerade");
}

TEST_CASE("conntrack helpers, MSS clamping and connection limits in every backend", "[nat]") {
  const std::string text = std::string(kFirewall) + "helper tftp udp 69;\nhelper ftp tcp 21;\nhelper ftp tcp 2121;\n" +
                           "policy p default drop {\n  option clamp-mss yes;\n"
                           "  accept tcp 22 from any to fw connlimit 4;\n}\n";
  Result nft = Compile(text);
  INFO(nft.Rendered());
  REQUIRE(nft.ok);
  // One object per helper kind and protocol, its ports gathered.
  CHECK(Has(nft.output, "ct helper ftp_tcp {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto inet\n\t}"));
  CHECK(Has(nft.output, "tcp dport { 21, 2121 } ct helper set \"ftp_tcp\""));
  CHECK(Has(nft.output, "udp dport 69 ct helper set \"tftp_udp\""));
  CHECK(Has(nft.output, "type filter hook forward priority mangle; policy accept;"));
  CHECK(Has(nft.output, "tcp flags syn tcp option maxseg size set rt mtu"));
  CHECK(Has(nft.output, "tcp dport 22 ct count 4 accept"));
  Result ipt = Compile(text, "iptables");
  REQUIRE(ipt.ok);
  std::string v4 = IptablesBackend().RestoreFile(ipt.rs, Family::kV4);
  CHECK(Has(v4, "*raw\n"));
  CHECK(Has(v4, "-j CT --helper ftp\n"));
  CHECK(Has(v4, "*mangle\n"));
  CHECK(Has(v4, "-A FORWARD -p tcp --tcp-flags SYN,RST SYN -m comment"));
  CHECK(Has(v4, "-j TCPMSS --clamp-mss-to-pmtu"));
  CHECK(Has(v4, "-m connlimit --connlimit-upto 4 --connlimit-mask 0"));
  CHECK_FALSE(Has(v4, "*nat\n"));  // no nat section: the nat table is not fwc's
}

TEST_CASE("only filter rules that can meet a translated connection match conntrack's original destination",
          "[nat]") {
  // Untracked packets (ICMP errors, MLD) have no conntrack entry: rules that
  // no translation concerns keep matching the packet's own destination.
  Result r = Compile(Gateway("  nat {\n    dnat to 10.1.2.80 tcp 80 from any to 10.1.1.1 in outside;\n  }\n",
                             "  accept icmp from any to 10.1.2.80;\n"
                             "  accept tcp 22 from any to 10.1.2.5;\n"
                             "  accept tcp 80 from any to 10.1.2.80;\n"
                             "  accept tcp 80 from any to 10.1.1.1;\n"),
                     "iptables");
  INFO(r.Rendered());
  REQUIRE(r.ok);
  auto fwd = PolicyRules(r.rs, "forward");
  std::map<int, bool> original;  // policy line -> matches the original destination
  for (const auto& x : fwd) original[std::stoi(x.comment.substr(x.comment.find(':') + 1))] = x.original_dst;
  CHECK_FALSE(original.at(11));  // ICMP: never translated
  CHECK_FALSE(original.at(12));  // a host no translation touches
  CHECK(original.at(13));        // the DNAT target: not reachable directly
  CHECK(original.at(14));        // what the client addresses
  std::string v4 = IptablesBackend().RestoreFile(r.rs, Family::kV4);
  CHECK(Has(v4, "-A FORWARD -d 10.1.2.5/32 -p tcp --dport 22"));
  CHECK(Has(v4, "-A FORWARD -m conntrack --ctorigdst 10.1.2.80/32 -p tcp -m conntrack --ctorigdstport 80"));
}

TEST_CASE("iptables: a negated original destination of several prefixes goes to a chain of its own", "[nat]") {
  Result r = Compile(Gateway("  nat {\n    dnat to 10.1.2.80 tcp 80 from any to any in outside;\n  }\n",
                             "  drop udp 53 from any to not 10.1.2.15 - 10.1.2.17;\n"),
                     "iptables");
  INFO(r.Rendered());
  REQUIRE(r.ok);
  std::string v4 = IptablesBackend().RestoreFile(r.rs, Family::kV4);
  // "! --ctorigdst" per prefix would match every address: RETURN per prefix.
  CHECK_FALSE(Has(v4, "! --ctorigdst"));
  CHECK(Has(v4, "-m conntrack --ctorigdst 10.1.2.15/32 -m comment --comment \"test.fw:11\" -j RETURN"));
  CHECK(Has(v4, "-m conntrack --ctorigdst 10.1.2.16/31 -m comment --comment \"test.fw:11\" -j RETURN"));
  // nft negates the range itself.
  Result n = Compile(Gateway("  nat {\n    dnat to 10.1.2.80 tcp 80 from any to any in outside;\n  }\n",
                             "  drop udp 53 from any to not 10.1.2.15 - 10.1.2.17;\n"));
  CHECK(Has(n.output, "ct original ip daddr != 10.1.2.15-10.1.2.17"));
}

TEST_CASE("iptables writes an IPv6 NAT range with a port in one pair of brackets", "[nat]") {
  Result r = Compile(Gateway("  nat {\n    dnat to 2001:db8:2::6 - 2001:db8:2::7 port 3128 tcp 80 from any to 2001:db8:1::1;\n  }\n",
                             "  accept tcp 80 from any to 2001:db8:1::1;\n"),
                     "iptables");
  INFO(r.Rendered());
  REQUIRE(r.ok);
  std::string v6 = IptablesBackend().RestoreFile(r.rs, Family::kV6);
  CHECK(Has(v6, "-j DNAT --to-destination [2001:db8:2::6-2001:db8:2::7]:3128"));
}

TEST_CASE("an option given twice is a warning", "[nat]") {
  Result r = Compile(Policy("", "  option forwarding yes;\n  option forwarding no;\n  accept from any to any;\n"));
  const Diagnostic* d = r.Find("duplicate-option");
  REQUIRE(d);
  CHECK(d->loc.line == 8);
  REQUIRE(r.rs.forwarding);
  CHECK_FALSE(*r.rs.forwarding);
}
