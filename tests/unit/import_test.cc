// fwc import of iptables-save rulesets: the reader (located errors), the
// importer (what a ruleset becomes, what it refuses), the writer (names and
// strings that cannot break out), and --check (equivalent imports pass,
// an import that lost or changed a rule does not).
#include <catch2/catch.hpp>

#include "import/equivalence.h"
#include "import/iptables_save.h"
#include "import/ruleset_import.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

struct Imported {
  SourceManager sources;
  std::unique_ptr<Diagnostics> diags = std::make_unique<Diagnostics>(sources);
  import::SourceRuleset rs;
  std::string policy;
  int unmapped = 0;
  std::string Rendered() const { return diags->Render(); }
};

std::unique_ptr<Imported> Import(const std::vector<std::pair<std::string, std::string>>& files,
                                 const std::vector<std::string>& addresses = {}, bool partial = false) {
  auto out = std::make_unique<Imported>();
  import::ImportOptions opts;
  opts.addresses = addresses;
  opts.partial = partial;
  import::ImportReporter report(*out->diags, partial);
  for (const auto& [name, text] : files) {
    int f = out->sources.Add(name, text);
    out->rs.files[f] = name;
    out->rs.origin += (out->rs.origin.empty() ? "" : " + ") + name;
    import::ReadIptablesSave(text, f, Family::kV4, out->rs, report);
  }
  if (!out->diags->has_errors()) out->policy = import::WritePolicy(import::ImportRuleset(out->rs, opts, report));
  out->unmapped = report.unmapped();
  return out;
}

// The policy's rules only: the lines between "policy" and the end.
std::string Rules(const std::string& policy) {
  std::string out;
  size_t at = policy.find("\npolicy ");
  if (at == std::string::npos) return "";
  size_t nl = policy.find('\n', at + 1);
  for (size_t i = nl + 1; i < policy.size();) {
    size_t e = policy.find('\n', i);
    std::string line = policy.substr(i, e - i);
    i = e + 1;
    size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#' || line == "}") continue;
    out += line.substr(first) + "\n";
  }
  return out;
}

const char* kPrologue =
    "*filter\n"
    ":INPUT DROP [0:0]\n"
    ":FORWARD DROP [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -i lo -j ACCEPT\n"
    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
    "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A FORWARD -m conntrack --ctstate INVALID -j DROP\n"
    "-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A OUTPUT -m conntrack --ctstate INVALID -j DROP\n";

}  // namespace

TEST_CASE("iptables-save rules become policy rules", "[import]") {
  struct Row {
    const char* rules;     // after the prologue, before COMMIT
    const char* expected;  // the policy's rules and options
  };
  const Row rows[] = {
      {"-A INPUT -s 10.1.1.0/24 -i eth1 -p tcp -m tcp --dport 22 -j ACCEPT\n",
       "option any-includes-firewall no;\n"
       "accept ssh from 10.1.1.0/24 to fw in eth1;\n"
       "accept from fw to 0.0.0.0/0;\n"},
      // Ports lists, ranges and negations; REJECT; a comment.
      {"-A FORWARD -d 10.1.2.2/32 -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT\n"
       "-A FORWARD ! -s 10.0.0.0/8 -p udp --dport 5000:5100 -m comment --comment \"no \\\"games\\\"\" -j REJECT\n",
       "option any-includes-firewall no;\n"
       "accept tcp { 80, 443, 8000-8080 } from any to 10.1.2.2;\n"
       "reject udp 5000-5100 from not 10.0.0.0/8 to 0.0.0.0/0 comment \"no \\\"games\\\"\";\n"
       "accept from fw to 0.0.0.0/0;\n"},
      // A user chain with a RETURN on one field: folded into its callers.
      {":web - [0:0]\n"
       "-A FORWARD -i eth1 -j web\n"
       "-A web -s 192.0.2.66/32 -j RETURN\n"
       "-A web -d 10.1.2.2/32 -p tcp --dport 80 -j ACCEPT\n",
       "option any-includes-firewall no;\n"
       "accept http from not 192.0.2.66 to 10.1.2.2 in eth1;\n"
       "accept from fw to 0.0.0.0/0;\n"},
      // A RETURN on two conditions, one of which the next rule has itself:
      // only the other is negated.
      {":web - [0:0]\n"
       "-A FORWARD -j web\n"
       "-A web -s 192.0.2.66/32 -o eth2 -j RETURN\n"
       "-A web -d 10.1.2.2/32 -o eth2 -p tcp --dport 80 -j ACCEPT\n",
       "option any-includes-firewall no;\n"
       "accept http from not 192.0.2.66 to 10.1.2.2 out eth2;\n"
       "accept from fw to 0.0.0.0/0;\n"},
      // A FORWARD rule never sees the firewall's own address (10.1.1.1 by
      // --address below): the network loses it, or fwc would place the
      // rule in output too.
      {"-A FORWARD -s 10.1.1.0/24 -j DROP\n",
       "option any-includes-firewall no;\n"
       "drop from { 10.1.1.0, 10.1.1.2 - 10.1.1.255 } to any;\n"
       "accept from fw to 0.0.0.0/0;\n"},
      // LOG and the rule that repeats its matches are one rule.
      {"-A INPUT -s 192.0.2.0/24 -j LOG --log-prefix \"bad: \"\n"
       "-A INPUT -s 192.0.2.0/24 -j DROP\n",
       "option any-includes-firewall no;\n"
       "drop from 192.0.2.0/24 to fw log prefix \"bad: \";\n"
       "accept from fw to 0.0.0.0/0;\n"},
      // ICMP by number, named by the writer.
      {"-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT\n",
       "option any-includes-firewall no;\n"
       "accept ping4 from any to fw;\n"
       "accept from fw to 0.0.0.0/0;\n"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.rules);
    // The ":web" declaration must come before the rules: put it first.
    std::string rules = row.rules, decl;
    if (rules.rfind(":", 0) == 0) {
      decl = rules.substr(0, rules.find('\n') + 1);
      rules = rules.substr(decl.size());
    }
    std::string text = std::string(kPrologue).insert(std::string(kPrologue).find("-A INPUT"), decl) + rules + "COMMIT\n";
    auto r = Import({{"v4.rules", text}}, {"eth1=10.1.1.1/24"});
    INFO(r->Rendered());
    REQUIRE(!r->diags->has_errors());
    std::string got = Rules(r->policy);
    // Only an IPv4 ruleset: the OUTPUT policy is said for IPv4 alone.
    CHECK(got == row.expected);
  }
}

TEST_CASE("a ruleset that is not stateful in every chain says its state rules itself", "[import]") {
  // OUTPUT accepts everything, invalid packets included: fwc's stateful
  // option would drop them, so the import spells the state rules out.
  std::string text =
      "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
      "-A INPUT -p tcp --dport 22 -j ACCEPT\n"
      "-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n"
      "COMMIT\n";
  auto r = Import({{"v4.rules", text}});
  INFO(r->Rendered());
  REQUIRE(!r->diags->has_errors());
  CHECK(Rules(r->policy) ==
        "option any-includes-firewall no;\n"
        "option stateful no;\n"
        "accept from 0.0.0.0/0 to fw state related,established;\n"
        "drop from 0.0.0.0/0 to fw state invalid;\n"
        "accept ssh from 0.0.0.0/0 to fw;\n"
        "accept from ipv4-not-fw to any state established;\n"
        "accept from fw to 0.0.0.0/0;\n");
  CHECK(r->policy.find("(option stateful no)") != std::string::npos);
}

TEST_CASE("IPv4 and IPv6 rules that say the same thing become one dual-stack rule", "[import]") {
  std::string v4 = std::string(kPrologue) +
                   "-A INPUT -s 10.1.1.0/24 -p tcp --dport 22 -j ACCEPT\n"
                   "-A INPUT -p tcp --dport 80 -j ACCEPT\n"
                   "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT\n"
                   "COMMIT\n";
  std::string v6 = "# Generated by ip6tables-save v1.8.9\n" + std::string(kPrologue) +
                   "-A INPUT -s 2001:db8:1::/64 -p tcp --dport 22 -j ACCEPT\n"
                   "-A INPUT -p ipv6-icmp --icmpv6-type 128 -j ACCEPT\n"
                   "-A INPUT -p tcp --dport 443 -j ACCEPT\n"
                   "COMMIT\n";
  auto r = Import({{"v4.rules", v4}, {"v6.rules", v6}});
  INFO(r->Rendered());
  REQUIRE(!r->diags->has_errors());
  CHECK(Rules(r->policy) ==
        "option any-includes-firewall no;\n"
        "accept ssh from { 10.1.1.0/24, 2001:db8:1::/64 } to fw;\n"
        "accept http from 0.0.0.0/0 to fw;\n"
        "accept ping from any to fw;\n"
        "accept https from ::/0 to fw;\n"
        "accept from fw to any;\n");
  // Each half keeps its line, so a reader can find it.
  CHECK(r->policy.find("# v4.rules:12 (IPv4) and v6.rules:13 (IPv6)") != std::string::npos);
}

TEST_CASE("a netmask is a prefix length, the all-zero IPv6 mask included", "[import]") {
  std::string v6 = "# Generated by ip6tables-save v1.8.9\n" + std::string(kPrologue) +
                   "-A INPUT -s 2001:db8::/ffff:ffff:: -p tcp --dport 22 -j ACCEPT\n"
                   "-A INPUT -s ::/:: -p tcp --dport 80 -j ACCEPT\n"
                   "-A INPUT -s 2001:db8::/ffff:0:ffff:: -p tcp --dport 443 -j ACCEPT\n"
                   "COMMIT\n";
  auto r = Import({{"v6.rules", v6}});
  // The third mask is not contiguous: refused, located, the others read.
  INFO(r->Rendered());
  CHECK(r->Rendered().find("v6.rules:15:") != std::string::npos);
  CHECK(r->Rendered().find("'2001:db8::/ffff:0:ffff::': the mask is not a prefix length nor a contiguous netmask") !=
        std::string::npos);
  std::string ok = "# Generated by ip6tables-save v1.8.9\n" + std::string(kPrologue) +
                   "-A INPUT -s 2001:db8::/ffff:ffff:: -p tcp --dport 22 -j ACCEPT\n"
                   "-A INPUT -s ::/:: -p tcp --dport 80 -j ACCEPT\n"
                   "COMMIT\n";
  auto g = Import({{"v6.rules", ok}});
  INFO(g->Rendered());
  REQUIRE(!g->diags->has_errors());
  CHECK(Rules(g->policy) ==
        "option any-includes-firewall no;\n"
        "accept ssh from 2001:db8::/32 to fw;\n"
        "accept http from ::/0 to fw;\n"
        "accept from fw to ::/0;\n");
}

TEST_CASE("what cannot be imported is a located error, or with --partial a gap the policy shows", "[import]") {
  std::string text = std::string(kPrologue) +
                     "-A INPUT -p tcp --dport 22 -m recent --set --name ssh -j ACCEPT\n"
                     "-A INPUT -p tcp --dport 80 -j ACCEPT\n"
                     "COMMIT\n";
  auto r = Import({{"v4.rules", text}});
  CHECK(r->Rendered() ==
        "v4.rules:12:1: error: not imported: the match module '-m recent'; the option '--set' (of -m recent); the option "
        "'--name' (of -m recent) [import-unmapped]\n"
        " 12 | -A INPUT -p tcp --dport 22 -m recent --set --name ssh -j ACCEPT\n"
        "    | ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
        "  = help: import with --partial to leave this rule out and write the rest\n");
  auto p = Import({{"v4.rules", text}}, {}, true);
  CHECK(!p->diags->has_errors());
  CHECK(p->unmapped == 1);
  CHECK(p->policy.find("# INCOMPLETE: 1 part of the source could not be imported") != std::string::npos);
  CHECK(p->policy.find("    # INCOMPLETE: v4.rules:12: not imported: the match module '-m recent'") != std::string::npos);
  CHECK(Rules(p->policy).find("accept http from 0.0.0.0/0 to fw;") != std::string::npos);
}

TEST_CASE("input that is not iptables-save output is refused with its line", "[import]") {
  struct Row {
    const char* text;
    const char* message;
  };
  const Row rows[] = {
      {"-A INPUT -j ACCEPT\n", "v4.rules:1:1: error: '-A' outside a table"},
      {"*filter\n:INPUT DROP [0:0]\n-A FOO -j ACCEPT\nCOMMIT\n",
       "v4.rules:3:4: error: chain 'FOO' is not declared in table filter"},
      {"*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.1.1.300 -j ACCEPT\nCOMMIT\n",
       "v4.rules:3:1: error: '10.1.1.300' is not an address"},
      {"*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport ssh -j ACCEPT\nCOMMIT\n",
       "v4.rules:3:1: error: 'ssh' is not a port or a port range"},
      {"*filter\n:INPUT DROP [0:0]\n-A INPUT -m comment --comment \"open -j ACCEPT\nCOMMIT\n",
       "v4.rules:3:1: error: unterminated quoted string"},
      {"*filter\n:INPUT DROP [0:0]\n", "v4.rules:1:1: error: table filter has no COMMIT"},
      {"*filter\nhello\nCOMMIT\n", "v4.rules:2:1: error: 'hello' is not a line of iptables-save output"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    auto r = Import({{"v4.rules", row.text}});
    CHECK(r->diags->has_errors());
    CHECK(r->Rendered().rfind(row.message, 0) == 0);
  }
}

TEST_CASE("the writer keeps foreign names and strings inside the policy language", "[import]") {
  import::NameTable names;
  CHECK(names.Take("a", "Web Server #1") == "Web-Server-1");
  CHECK(names.Take("b", "Web Server #1") == "Web-Server-1-2");  // another object, same name
  CHECK(names.Take("a", "anything") == "Web-Server-1");        // the same object, the same name
  CHECK(names.Take("c", "host") == "host-obj");                // a reserved word
  CHECK(names.Take("d", "10.1.2.0 net") == "n10-1-2-0-net");
  CHECK(names.Take("e", "\n;}") == "obj");
  CHECK(import::Quote("a \"b\" \\ c\nd") == "\"a \\\"b\\\" \\\\ c d\"");
  CHECK(import::Quote(std::string("x\xff") + "y") == "\"x?y\"");
  CHECK(import::CommentLine("one\ntwo\r") == "one two ");
  // A comment that tries to close the rule and add one stays a comment.
  std::string text = std::string(kPrologue) +
                     "-A INPUT -p tcp --dport 22 -m comment --comment \"x\\\"; accept from any to fw; #\" -j ACCEPT\n"
                     "COMMIT\n";
  auto r = Import({{"v4.rules", text}});
  REQUIRE(!r->diags->has_errors());
  Result c = Compile(r->policy);
  INFO(c.Rendered());
  REQUIRE(c.ok);
  CHECK(c.c->model().rules.size() == 2);  // ssh and the OUTPUT policy: nothing more
}

TEST_CASE("import --check: an import is equivalent to its ruleset, and a changed import is not", "[import]") {
  std::string v4 = std::string(kPrologue) +
                   ":web - [0:0]\n"
                   "-A INPUT -s 10.1.1.0/24 -i eth1 -p tcp --dport 22 -j ACCEPT\n"
                   "-A FORWARD -d 10.1.2.2/32 -p icmp --icmp-type 8 -j ACCEPT\n"
                   "-A FORWARD -i eth1 -j web\n"
                   "-A FORWARD -s 192.0.2.0/24 -j DROP\n"
                   "-A web -s 10.1.1.66/32 -j RETURN\n"
                   "-A web -d 10.1.2.2/32 -p tcp -m multiport --dports 80,443 -j ACCEPT\n"
                   "-A web -d 10.1.2.3/32 -p udp --dport 5000:5100 -j REJECT\n"
                   "COMMIT\n"
                   "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
                   "-A PREROUTING -s 10.1.1.128/25 -d 10.1.1.1/32 -i eth1 -p tcp --dport 8080 -j DNAT "
                   "--to-destination 10.1.2.2:80\n"
                   "-A POSTROUTING -s 10.1.2.0/24 -o eth1 -j MASQUERADE\n"
                   "COMMIT\n";
  // The declaration of web must precede the rules.
  v4.insert(v4.find("-A INPUT -i lo"), ":web - [0:0]\n");
  v4.erase(v4.find(":web - [0:0]\n-A INPUT -s"), 13);
  const std::vector<std::string> addresses = {"eth1=10.1.1.1/24", "eth2=10.1.2.1/24"};
  auto r = Import({{"v4.rules", v4}}, addresses);
  INFO(r->Rendered());
  REQUIRE(!r->diags->has_errors());
  INFO(r->policy);
  Result c = Compile(r->policy);
  INFO(c.Rendered());
  REQUIRE(c.ok);
  // The DNAT'ed connections are accepted for the address the client used.
  CHECK(r->policy.find("accept http-alt from 10.1.1.128/25 to 10.1.1.1 in eth1;") != std::string::npos);
  auto e = import::CompareWithRuleset(r->rs, *c.c, false);
  CHECK(e.equivalent());
  CHECK(e.translated == 1);
  CHECK(e.family_given[0]);
  CHECK_FALSE(e.family_given[1]);

  // Each change to the import is found, with the ruleset's rule.
  struct Change {
    const char* from;
    const char* to;
    const char* hook;
  };
  const Change changes[] = {
      {"accept ssh from 10.1.1.0/24 to fw in eth1;", "accept ssh from 10.1.0.0/16 to fw in eth1;", "input"},
      {"from not 10.1.1.66 to 10.1.2.2 in eth1;", "from any to 10.1.2.2 in eth1;", "forward"},
      {"reject udp 5000-5100", "drop udp 5000-5100", "forward"},
      {"accept from fw to 0.0.0.0/0;", "accept tcp from fw to 0.0.0.0/0;", "output"},
  };
  for (const auto& ch : changes) {
    CAPTURE(ch.from);
    std::string changed = r->policy;
    REQUIRE(changed.find(ch.from) != std::string::npos);
    changed.replace(changed.find(ch.from), std::string(ch.from).size(), ch.to);
    Result cc = Compile(changed);
    INFO(cc.Rendered());
    REQUIRE(cc.ok);
    auto d = import::CompareWithRuleset(r->rs, *cc.c, false);
    REQUIRE_FALSE(d.equivalent());
    CHECK(std::string(ir::HookName(d.differences.front().hook)) == ch.hook);
  }
}

TEST_CASE("a DNAT whose translated connections FORWARD decides differently is refused", "[import]") {
  std::string v4 = std::string(kPrologue) +
                   "-A FORWARD -s 10.1.1.66/32 -j DROP\n"
                   "-A FORWARD -d 10.1.2.2/32 -p tcp --dport 80 -j ACCEPT\n"
                   "COMMIT\n"
                   "*nat\n:PREROUTING ACCEPT [0:0]\n"
                   "-A PREROUTING -d 10.1.1.1/32 -p tcp --dport 8080 -j DNAT --to-destination 10.1.2.2:80\n"
                   "COMMIT\n";
  auto r = Import({{"v4.rules", v4}}, {"eth1=10.1.1.1/24"});
  CHECK(r->unmapped == 1);
  CHECK(r->Rendered().find("v4.rules:17:1: error: not imported: the FORWARD chain does not give every connection "
                           "this DNAT rule translates one verdict") == 0);
}
