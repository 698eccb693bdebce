// fwc import of nftables rulesets (nft -j list ruleset): the reader's
// SourceRules, the rulesets captured from a kernel imported as policies
// that --check finds equivalent, located errors for what is not nft's JSON
// and for what fwc cannot say, and no crash on hostile input.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "compiler/base/protocols.h"
#include "import/equivalence.h"
#include "import/nft_ruleset.h"
#include "import/ruleset_import.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;
using T = import::SourceRule::Target;

namespace {

std::string ReadSample(const std::string& name) {
  std::ifstream in(std::string(FWC_SOURCE_DIR) + "/tests/import/nft/" + name);
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Read {
  SourceManager sources;
  std::unique_ptr<Diagnostics> diags = std::make_unique<Diagnostics>(sources);
  import::SourceRuleset rs;
  bool ok = false;
  int unmapped = 0;
  std::string policy;
  std::string Rendered() const { return diags->Render(); }
  const import::SourceChain* Chain(Family f, const std::string& table, const std::string& chain) const {
    const import::SourceTable* t = rs.Find(f, table);
    return t ? t->Find(chain) : nullptr;
  }
};

std::unique_ptr<Read> ReadJson(const std::string& name, const std::string& text, bool import = false,
                               const std::vector<std::string>& addresses = {}) {
  auto out = std::make_unique<Read>();
  import::ImportReporter report(*out->diags, false);
  int f = out->sources.Add(name, text);
  out->rs.files[f] = name;
  out->rs.origin = name;
  out->ok = import::ReadNftJson(text, f, out->rs, report);
  if (import && out->ok && !out->diags->has_errors()) {
    import::ImportOptions opts;
    opts.addresses = addresses;
    out->policy = import::WritePolicy(import::ImportRuleset(out->rs, opts, report));
  }
  out->unmapped = report.unmapped();
  return out;
}

// A ruleset of one inet table whose chain input holds these rules (each a
// JSON array of statements), pretty-printed: rule i is on line 5 + i.
std::string InetRules(const std::vector<std::string>& rules, const std::string& extra = "") {
  std::string s =
      "{\"nftables\": [\n"
      "  {\"table\": {\"family\": \"inet\", \"name\": \"t\", \"handle\": 1}},\n"
      "  {\"chain\": {\"family\": \"inet\", \"table\": \"t\", \"name\": \"input\", \"handle\": 1, \"type\": \"filter\", "
      "\"hook\": \"input\", \"prio\": 0, \"policy\": \"drop\"}},\n"
      "  {\"chain\": {\"family\": \"inet\", \"table\": \"t\", \"name\": \"sub\", \"handle\": 2}},\n"
      "  {\"set\": {\"family\": \"inet\", \"name\": \"ports\", \"table\": \"t\", \"type\": \"inet_service\", "
      "\"handle\": 3, \"elem\": [22, {\"range\": [8000, 8080]}]}},\n";
  for (const auto& r : rules)
    s += "  {\"rule\": {\"family\": \"inet\", \"table\": \"t\", \"chain\": \"input\", \"expr\": " + r + "}},\n";
  s += extra;
  s += "  {\"metainfo\": {\"json_schema_version\": 1}}\n]}\n";
  return s;
}

std::string PortsOf(const std::optional<import::PortMatch>& p) {
  if (!p) return "-";
  std::string out = p->negated ? "!" : "";
  for (const auto& iv : p->ports.intervals())
    out += std::to_string(static_cast<unsigned>(iv.lo)) +
           (iv.lo == iv.hi ? "" : "-" + std::to_string(static_cast<unsigned>(iv.hi))) + ",";
  return out;
}

std::string AddrOf(const std::optional<import::AddressMatch>& a) {
  if (!a) return "-";
  std::string out = a->negated ? "!" : "";
  for (const auto& t : a->text) out += t + ",";
  return out;
}

// The rules of one family's INPUT, one line each.
std::string Summary(const Read& r, Family f, const std::string& chain = "INPUT", const std::string& table = "filter") {
  const import::SourceChain* c = r.Chain(f, table, chain);
  if (!c) return "(no chain)";
  std::string out;
  for (const auto& x : c->rules) {
    static const char* kTargets[] = {"accept", "drop",       "reject",   "return", "jump", "goto",
                                     "log",    "dnat",       "snat",     "masquerade", "redirect", "none"};
    std::string line = "L" + std::to_string(x.loc.line) + " " + kTargets[static_cast<int>(x.target)];
    if (!x.jump.empty()) line += " " + x.jump;
    if (x.target == T::kLog) line += " '" + x.log_prefix + "'";
    if (!x.to.empty()) line += " to " + x.to;
    if (x.src) line += " src=" + AddrOf(x.src);
    if (x.dst) line += " dst=" + AddrOf(x.dst);
    if (x.iif) line += std::string(" iif=") + (x.iif->negated ? "!" : "") + x.iif->name;
    if (x.oif) line += std::string(" oif=") + (x.oif->negated ? "!" : "") + x.oif->name;
    if (x.proto >= 0) line += std::string(" proto=") + (x.proto_negated ? "!" : "") + std::to_string(x.proto);
    if (x.sport) line += " sport=" + PortsOf(x.sport);
    if (x.dport) line += " dport=" + PortsOf(x.dport);
    if (x.icmp_type >= 0) line += " type=" + std::to_string(x.icmp_type);
    if (x.icmp_code >= 0) line += " code=" + std::to_string(x.icmp_code);
    if (!x.states.empty()) {
      line += std::string(" state=") + (x.states_negated ? "!" : "");
      for (const auto& s : x.states) line += s + ",";
    }
    if (!x.limit.empty()) line += " limit=" + x.limit;
    if (!x.comment.empty()) line += " comment='" + x.comment + "'";
    for (const auto& u : x.unsupported) line += " UNSUPPORTED(" + u + ")";
    out += line + "\n";
  }
  return out;
}

std::string Match(const std::string& left, const std::string& right, const std::string& op = "==") {
  return "{\"match\": {\"op\": \"" + op + "\", \"left\": " + left + ", \"right\": " + right + "}}";
}
const std::string kTcpDport = "{\"payload\": {\"protocol\": \"tcp\", \"field\": \"dport\"}}";
const std::string kIpSaddr = "{\"payload\": {\"protocol\": \"ip\", \"field\": \"saddr\"}}";
const std::string kIp6Saddr = "{\"payload\": {\"protocol\": \"ip6\", \"field\": \"saddr\"}}";
const std::string kL4proto = "{\"meta\": {\"key\": \"l4proto\"}}";
const std::string kIifname = "{\"meta\": {\"key\": \"iifname\"}}";
const std::string kCtState = "{\"ct\": {\"key\": \"state\"}}";

}  // namespace

TEST_CASE("nft rules become SourceRules, per family of an inet table", "[import]") {
  struct Row {
    std::string expr;  // the rule's statements
    const char* v4;    // what IPv4's INPUT gets
    const char* v6;
  };
  const Row rows[] = {
      // Addresses pin the family; prefixes, ranges, sets, negation.
      {"[" + Match(kIpSaddr, "{\"prefix\": {\"addr\": \"10.0.0.0\", \"len\": 8}}") + ", " +
           Match("{\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}}",
                 "{\"set\": [\"10.1.0.1\", {\"range\": [\"10.1.0.5\", \"10.1.0.9\"]}]}", "!=") +
           ", {\"accept\": null}]",
       "L6 accept src=10.0.0.0/8, dst=!10.1.0.1,10.1.0.5 - 10.1.0.9,\n", ""},
      {"[" + Match(kIp6Saddr, "{\"prefix\": {\"addr\": \"2001:db8::\", \"len\": 32}}") + ", {\"drop\": null}]", "",
       "L6 drop src=2001:db8::/32,\n"},
      // Ports: numbers, ranges, sets, comparisons, named sets; tcp dport
      // says tcp, in both families.
      {"[" + Match(kTcpDport, "{\"set\": [80, 443, {\"range\": [1000, 2000]}]}") + ", {\"accept\": null}]",
       "L6 accept proto=6 dport=80,443,1000-2000,\n", "L6 accept proto=6 dport=80,443,1000-2000,\n"},
      {"[" + Match(kTcpDport, "1024", "<") + ", {\"reject\": {\"type\": \"tcp reset\"}}]",
       "L6 reject proto=6 dport=0-1023,\n", "L6 reject proto=6 dport=0-1023,\n"},
      {"[" + Match(kTcpDport, "\"@ports\"") + ", {\"accept\": null}]", "L6 accept proto=6 dport=22,8000-8080,\n",
       "L6 accept proto=6 dport=22,8000-8080,\n"},
      // A set of protocols with th: a rule per protocol.
      {"[" + Match(kL4proto, "{\"set\": [\"tcp\", \"udp\"]}") + ", " +
           Match("{\"payload\": {\"protocol\": \"th\", \"field\": \"dport\"}}", "53") + ", {\"accept\": null}]",
       "L6 accept proto=6 dport=53,\nL6 accept proto=17 dport=53,\n",
       "L6 accept proto=6 dport=53,\nL6 accept proto=17 dport=53,\n"},
      // ICMP is IPv4's, ICMPv6 IPv6's; a set of types is a rule per type.
      {"[" + Match("{\"payload\": {\"protocol\": \"icmpv6\", \"field\": \"type\"}}",
                   "{\"set\": [\"nd-neighbor-solicit\", \"echo-request\"]}") +
           ", {\"accept\": null}]",
       "", "L6 accept proto=58 type=128\nL6 accept proto=58 type=135\n"},
      {"[" + Match("{\"payload\": {\"protocol\": \"icmp\", \"field\": \"type\"}}", "\"destination-unreachable\"") +
           ", " + Match("{\"payload\": {\"protocol\": \"icmp\", \"field\": \"code\"}}", "\"port-unreachable\"") +
           ", {\"limit\": {\"rate\": 10, \"burst\": 5, \"per\": \"second\"}}, {\"accept\": null}]",
       "L6 accept proto=1 type=3 code=3 limit=10/second\n", ""},
      {"[" + Match(kL4proto, "\"icmp\"") + ", {\"accept\": null}]", "L6 accept proto=1\n", ""},
      {"[" + Match(kL4proto, "\"tcp\"", "!=") + ", {\"drop\": null}]", "L6 drop proto=!6\n", "L6 drop proto=!6\n"},
      // Interfaces: names, wildcards, sets.
      {"[" + Match(kIifname, "{\"set\": [\"eth0\", \"eth1\"]}") + ", {\"accept\": null}]",
       "L6 accept iif=eth0\nL6 accept iif=eth1\n", "L6 accept iif=eth0\nL6 accept iif=eth1\n"},
      {"[" + Match(kIifname, "\"wg*\"") + ", " + Match("{\"meta\": {\"key\": \"oif\"}}", "\"eth2\"", "!=") +
           ", {\"accept\": null}]",
       "L6 accept iif=wg+ oif=!eth2\n", "L6 accept iif=wg+ oif=!eth2\n"},
      // Connection states; a verdict map is a rule per verdict.
      {"[" + Match(kCtState, "[\"established\", \"related\"]", "in") + ", {\"accept\": null}]",
       "L6 accept state=established,related,\n", "L6 accept state=established,related,\n"},
      {"[" + Match(kCtState, "\"new\"", "!=") + ", {\"counter\": {\"packets\": 0, \"bytes\": 0}}, {\"drop\": null}]",
       "L6 drop state=!new,\n", "L6 drop state=!new,\n"},
      {"[{\"vmap\": {\"key\": " + kCtState +
           ", \"data\": {\"set\": [[\"invalid\", {\"drop\": null}], [\"established\", {\"accept\": null}], "
           "[\"related\", {\"accept\": null}]]}}}]",
       "L6 drop state=invalid,\nL6 accept state=established,related,\n",
       "L6 drop state=invalid,\nL6 accept state=established,related,\n"},
      // Log and verdict in one rule: LOG then the verdict, member by member.
      {"[" + Match(kIifname, "{\"set\": [\"eth0\", \"eth1\"]}") +
           ", {\"log\": {\"prefix\": \"in: \", \"level\": \"info\"}}, {\"drop\": null}]",
       "L6 log 'in: ' iif=eth0\nL6 drop iif=eth0\nL6 log 'in: ' iif=eth1\nL6 drop iif=eth1\n",
       "L6 log 'in: ' iif=eth0\nL6 drop iif=eth0\nL6 log 'in: ' iif=eth1\nL6 drop iif=eth1\n"},
      // A log that sees more packets than the verdict stays apart.
      {"[{\"log\": null}, " + Match(kTcpDport, "22") + ", {\"accept\": null}]",
       "L6 log ''\nL6 accept proto=6 dport=22,\n", "L6 log ''\nL6 accept proto=6 dport=22,\n"},
      // Jumps, returns, comments; a rule that only counts is none.
      {"[" + Match(kTcpDport, "22") + ", {\"jump\": {\"target\": \"sub\"}}]", "L6 jump sub proto=6 dport=22,\n",
       "L6 jump sub proto=6 dport=22,\n"},
      {"[{\"counter\": {\"packets\": 0, \"bytes\": 0}}]", "", ""},
      {"[" + Match("{\"meta\": {\"key\": \"nfproto\"}}", "\"ipv6\"") + ", {\"return\": null}]", "", "L6 return\n"},
      // Contradictions match nothing.
      {"[" + Match(kTcpDport, "22") + ", " + Match("{\"payload\": {\"protocol\": \"udp\", \"field\": \"dport\"}}", "53") +
           ", {\"accept\": null}]",
       "", ""},
      // What fwc cannot say stays in unsupported, in both families.
      {"[" + Match("{\"meta\": {\"key\": \"mark\"}}", "1") + ", {\"accept\": null}]",
       "L6 accept UNSUPPORTED(the match on meta mark)\n", "L6 accept UNSUPPORTED(the match on meta mark)\n"},
      {"[" + Match("{\"&\": [{\"payload\": {\"protocol\": \"tcp\", \"field\": \"flags\"}}, [\"syn\", \"ack\"]]}",
                   "\"syn\"") +
           ", {\"accept\": null}]",
       "L6 accept UNSUPPORTED(the match on tcp flags & ...)\n", "L6 accept UNSUPPORTED(the match on tcp flags & ...)\n"},
      {"[{\"mangle\": {\"key\": {\"meta\": {\"key\": \"mark\"}}, \"value\": 1}}]",
       "L6 none UNSUPPORTED(the statement 'mangle')\n", "L6 none UNSUPPORTED(the statement 'mangle')\n"},
      {"[" + Match("{\"concat\": [" + kIpSaddr + ", " + kTcpDport + "]}", "{\"set\": [{\"concat\": [\"10.0.0.1\", 22]}]}") +
           ", {\"accept\": null}]",
       "L6 accept UNSUPPORTED(the match on ip saddr . tcp dport)\n",
       "L6 accept UNSUPPORTED(the match on ip saddr . tcp dport)\n"},
      {"[{\"limit\": {\"rate\": 5, \"burst\": 10, \"per\": \"minute\"}}, {\"accept\": null}]",
       "L6 accept UNSUPPORTED(limit ... burst 10 (fwc's limit has nft's default burst, 5 packets))\n",
       "L6 accept UNSUPPORTED(limit ... burst 10 (fwc's limit has nft's default burst, 5 packets))\n"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.expr);
    auto r = ReadJson("t.json", InetRules({row.expr}));
    INFO(r->Rendered());
    REQUIRE(r->ok);
    CHECK(Summary(*r, Family::kV4) == row.v4);
    CHECK(Summary(*r, Family::kV6) == row.v6);
  }
}

TEST_CASE("nft's nat statements, chains and tables in iptables-save's terms", "[import]") {
  std::string nat =
      "{\"nftables\": [\n"
      "  {\"table\": {\"family\": \"inet\", \"name\": \"n\", \"handle\": 1}},\n"
      "  {\"chain\": {\"family\": \"inet\", \"table\": \"n\", \"name\": \"pre\", \"type\": \"nat\", \"hook\": "
      "\"prerouting\", \"prio\": -100, \"policy\": \"accept\"}},\n"
      "  {\"chain\": {\"family\": \"inet\", \"table\": \"n\", \"name\": \"post\", \"type\": \"nat\", \"hook\": "
      "\"postrouting\", \"prio\": 100, \"policy\": \"accept\"}},\n"
      "  {\"rule\": {\"family\": \"inet\", \"table\": \"n\", \"chain\": \"pre\", \"expr\": [" +
      Match(kTcpDport, "80") + ", {\"dnat\": {\"family\": \"ip\", \"addr\": \"10.0.0.5\", \"port\": 8080}}]}},\n" +
      "  {\"rule\": {\"family\": \"inet\", \"table\": \"n\", \"chain\": \"pre\", \"expr\": [" + Match(kTcpDport, "80") +
      ", {\"dnat\": {\"family\": \"ip6\", \"addr\": \"2001:db8::5\", \"port\": 8080}}]}},\n" +
      "  {\"rule\": {\"family\": \"inet\", \"table\": \"n\", \"chain\": \"pre\", \"expr\": [" + Match(kTcpDport, "81") +
      ", {\"dnat\": {\"family\": \"ip\", \"addr\": {\"range\": [\"10.0.0.5\", \"10.0.0.9\"]}, \"port\": {\"range\": "
      "[1024, 2000]}}}]}},\n" +
      "  {\"rule\": {\"family\": \"inet\", \"table\": \"n\", \"chain\": \"pre\", \"expr\": [" + Match(kTcpDport, "82") +
      ", {\"redirect\": {\"port\": 8081}}]}},\n" +
      "  {\"rule\": {\"family\": \"inet\", \"table\": \"n\", \"chain\": \"post\", \"expr\": [" +
      Match("{\"meta\": {\"key\": \"oifname\"}}", "\"eth0\"") + ", {\"masquerade\": null}]}},\n" +
      "  {\"rule\": {\"family\": \"inet\", \"table\": \"n\", \"chain\": \"post\", \"expr\": [" +
      Match(kL4proto, "\"tcp\"") +
      ", {\"masquerade\": {\"port\": {\"range\": [1024, 2000]}, \"flags\": \"random\"}}]}},\n" +
      "  {\"rule\": {\"family\": \"inet\", \"table\": \"n\", \"chain\": \"post\", \"expr\": [" + Match(kIpSaddr, "\"10.1.1.0/24\"") +
      ", {\"snat\": {\"family\": \"ip\", \"addr\": \"192.0.2.1\"}}]}}\n"
      "]}\n";
  auto r = ReadJson("n.json", nat);
  INFO(r->Rendered());
  REQUIRE(r->ok);
  CHECK(Summary(*r, Family::kV4, "PREROUTING", "nat") ==
        "L5 dnat to 10.0.0.5:8080 proto=6 dport=80,\n"
        "L7 dnat to 10.0.0.5-10.0.0.9:1024-2000 proto=6 dport=81,\n"
        "L8 redirect to 8081 proto=6 dport=82,\n");
  CHECK(Summary(*r, Family::kV6, "PREROUTING", "nat") ==
        "L6 dnat to [2001:db8::5]:8080 proto=6 dport=80,\n"
        "L8 redirect to 8081 proto=6 dport=82,\n");
  CHECK(Summary(*r, Family::kV4, "POSTROUTING", "nat") ==
        "L9 masquerade oif=eth0\n"
        "L10 masquerade to 1024-2000 proto=6\n"
        "L11 snat to 192.0.2.1 src=10.1.1.0/24,\n");
  CHECK(Summary(*r, Family::kV6, "POSTROUTING", "nat") ==
        "L9 masquerade oif=eth0\n"
        "L10 masquerade to 1024-2000 proto=6\n");
  CHECK(r->rs.Find(Family::kV4, "filter") == nullptr);

  // The captured rulesets: chain names, policies, named sets resolved.
  auto h = ReadJson("host.json", ReadSample("host.json"));
  REQUIRE(h->ok);
  for (Family f : {Family::kV4, Family::kV6}) {
    const import::SourceTable* t = h->rs.Find(f, "filter");
    REQUIRE(t);
    REQUIRE(t->chains.size() == 3);
    CHECK(t->chains[0].name == "INPUT");
    CHECK(t->chains[0].policy == "DROP");
    CHECK(t->chains[1].name == "FORWARD");
    CHECK(t->chains[2].name == "OUTPUT");
    CHECK(t->chains[2].policy == "ACCEPT");
    CHECK(t->chains[0].loc.line == 1);
  }
  CHECK(Summary(*h, Family::kV4).find("L1 accept src=10.1.1.0/24,192.0.2.10, proto=6 dport=22, comment='ssh from "
                                      "the admins'\n") != std::string::npos);
  // An nft chain of the same name as a base chain's keeps apart.
  auto c = ReadJson("chains.json", ReadSample("chains.json"));
  REQUIRE(c->ok);
  const import::SourceTable* t6 = c->rs.Find(Family::kV6, "filter");
  REQUIRE(t6);
  CHECK(t6->Find("from_outside"));
  CHECK(Summary(*c, Family::kV6) == "L1 accept state=established,related,\nL1 jump from_outside iif=eth1\n");
}

TEST_CASE("nft -j rulesets captured from a kernel import as equivalent policies", "[import]") {
  struct Sample {
    const char* file;
    std::vector<std::string> addresses;
    std::vector<const char*> lines;  // in the policy
  };
  const Sample samples[] = {
      {"host.json",
       {},
       {"accept ssh from { 10.1.1.0/24, 192.0.2.10 } to fw comment \"ssh from the admins\";",
        "accept ssh from 2001:db8:1::/64 to fw;",
        "accept tcp { 80, 443 } from any to fw;", "reject udp 33434-33534 from any to fw;",
        "drop from any to fw log prefix \"input drop: \";"}},
      {"gateway.json",
       {"eth0=192.0.2.1/24", "eth1=10.1.1.1/24", "eth2=10.1.2.1/24"},
       {"masquerade from 10.1.1.0/24 to any out eth0;",
        "dnat to 10.1.2.2 port 80 http-alt from any to 192.0.2.1 in eth0;",
        "reject from 198.51.100.0/24 to any in eth0;"}},
      {"chains.json",
       {},
       {"accept http from not { 192.0.2.66, 2001:db8:66::/48 } to fw in eth1;",
        "accept tcp { 80, 443 } from not 10.1.1.66 to 10.1.2.0/24;"}},
  };
  for (const auto& s : samples) {
    CAPTURE(s.file);
    auto r = ReadJson(s.file, ReadSample(s.file), true, s.addresses);
    INFO(r->Rendered());
    REQUIRE(r->ok);
    REQUIRE(!r->diags->has_errors());
    INFO(r->policy);
    for (const char* line : s.lines) {
      CAPTURE(line);
      CHECK(r->policy.find(line) != std::string::npos);
    }
    Result c = Compile(r->policy);
    INFO(c.Rendered());
    REQUIRE(c.ok);
    auto e = import::CompareWithRuleset(r->rs, *c.c, false);
    CHECK(e.differences.empty());
    CHECK(e.unmodelled.empty());
    CHECK(e.equivalent());
  }
}

TEST_CASE("input that is not nft's JSON is refused with its line and column", "[import]") {
  struct Row {
    std::string text;
    const char* message;
  };
  const Row rows[] = {
      {"", "x.json:1:1: error: not JSON: the text is empty"},
      {"{\"nftables\": [\n  {\"table\": {\"family\": \"ip\", \"name\": \"t\"}},\n  {\"chain\": {]\n]}",
       "x.json:3:14: error: not JSON: expected a key in double quotes"},
      {"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\"}}", "x.json:1:55: error: not JSON: the JSON "
                                                                         "text ends inside an array"},
      {"{\"nftables\": []} x", "x.json:1:18: error: not JSON: text after the end of the JSON value"},
      {"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\xff\"}}]}",
       "x.json:1:52: error: not JSON: a string that is not valid UTF-8"},
      {"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"\\ud800\"}}]}",
       "x.json:1:51: error: not JSON: a lone high surrogate"},
      {std::string(100, '[') + std::string(100, ']'), "x.json:1:65: error: not JSON: JSON nested more than 64 deep"},
      {"{\"rules\": []}", "x.json:1:1: error: not nft's JSON: expected {\"nftables\": [...]}"},
      {"{\"nftables\": [\n{\"add\": {\"table\": {\"family\": \"ip\", \"name\": \"t\"}}}]}",
       "x.json:2:1: error: the command 'add': fwc reads what nft -j list ruleset prints"},
      {"{\"nftables\": [\n{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": []}}]}",
       "x.json:2:1: error: a rule of table ip t, which the ruleset does not list"},
      {"{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\"}},\n"
       "{\"chain\": {\"family\": \"ip\", \"table\": \"t\", \"name\": \"c\", \"type\": \"filter\", \"hook\": \"input\", "
       "\"prio\": 0, \"policy\": \"accept\"}},\n"
       "{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"expr\": [" +
           Match(kIpSaddr, "\"10.1.1.300\"") + ", {\"accept\": null}]}}]}",
       "x.json:3:155: error: '10.1.1.300' is not a valid IPv4 address"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.text);
    auto r = ReadJson("x.json", row.text);
    CHECK_FALSE(r->ok);
    CHECK(r->diags->has_errors());
    CHECK(r->Rendered().rfind(row.message, 0) == 0);
    CHECK(r->Rendered().find("[import-syntax]") != std::string::npos);
  }
}

TEST_CASE("what fwc cannot say of an nft ruleset is a located import-unmapped error", "[import]") {
  // An expression: reported by the importer, at the rule's '{'.
  std::string text = ReadSample("host.json");
  std::string anchor = "{\"rule\": {\"family\": \"inet\", \"table\": \"filter\", \"chain\": \"input\", \"handle\": 13";
  size_t at = text.find(anchor);
  REQUIRE(at != std::string::npos);
  size_t expr = text.find("\"expr\": [", at) + 9;
  text.insert(expr, Match("{\"meta\": {\"key\": \"skuid\"}}", "0") + ", ");
  auto r = ReadJson("host.json", text, true);
  REQUIRE(r->ok);
  std::string rendered = r->Rendered();
  std::string where = "host.json:1:" + std::to_string(at + 1) + ": error: not imported: the match on meta skuid";
  CHECK(rendered.rfind(where, 0) == 0);
  CHECK(rendered.find("[import-unmapped]") != std::string::npos);
  CHECK(r->unmapped >= 1);

  // Chains fwc has no place for: at the chain's '{'.
  std::string chains =
      "{\"nftables\": [\n"
      "{\"table\": {\"family\": \"inet\", \"name\": \"a\"}},\n"
      "{\"chain\": {\"family\": \"inet\", \"table\": \"a\", \"name\": \"in1\", \"type\": \"filter\", \"hook\": \"input\", "
      "\"prio\": 0, \"policy\": \"drop\"}},\n"
      "{\"table\": {\"family\": \"ip\", \"name\": \"b\"}},\n"
      "  {\"chain\": {\"family\": \"ip\", \"table\": \"b\", \"name\": \"in2\", \"type\": \"filter\", \"hook\": \"input\", "
      "\"prio\": 10, \"policy\": \"accept\"}},\n"
      "  {\"chain\": {\"family\": \"ip\", \"table\": \"b\", \"name\": \"out\", \"type\": \"route\", \"hook\": \"output\", "
      "\"prio\": 0, \"policy\": \"accept\"}},\n"
      "  {\"rule\": {\"family\": \"ip\", \"table\": \"b\", \"chain\": \"out\", \"expr\": [{\"accept\": null}]}},\n"
      "{\"table\": {\"family\": \"netdev\", \"name\": \"c\"}},\n"
      "{\"chain\": {\"family\": \"netdev\", \"table\": \"c\", \"name\": \"ing\", \"type\": \"filter\", \"hook\": "
      "\"ingress\", \"dev\": \"eth0\", \"prio\": 0, \"policy\": \"drop\"}}\n"
      "]}\n";
  auto u = ReadJson("u.json", chains);
  CHECK(u->ok);
  CHECK(u->unmapped == 3);
  std::string out = u->Rendered();
  INFO(out);
  CHECK(out.find("u.json:5:3: error: not imported: chain in2 of table ip b: a second filter chain at hook input (fwc "
                 "has one chain per hook) [import-unmapped]") != std::string::npos);
  CHECK(out.find("u.json:6:3: error: not imported: chain out of table ip b, of type route at hook output") !=
        std::string::npos);
  CHECK(out.find("u.json:8:1: error: not imported: table netdev c") != std::string::npos);
  CHECK(u->Chain(Family::kV4, "filter", "INPUT")->policy == "DROP");  // the first one's
}

TEST_CASE("the nft reader survives hostile JSON", "[import]") {
  std::string good = ReadSample("gateway.json");
  // Every truncation is refused, never followed past the end.
  for (size_t n = 0; n + 1 < good.size(); n += 7) {
    auto r = ReadJson("g.json", good.substr(0, n));
    if (good.substr(0, n).find_last_not_of(" \n") != std::string::npos) CHECK_FALSE(r->ok);
  }
  // Random bytes flipped and spliced: any answer, no crash.
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string s = good;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[at] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(at, rng() % 16); break;
        case 2: s.insert(at, s.substr(rng() % s.size(), rng() % 64)); break;
        default: s.insert(at, std::string(1, "{}[]\",:0-e\\"[rng() % 11])); break;
      }
      if (s.empty()) s = "{";
    }
    ReadJson("g.json", s);
  }
  // Deep nesting, huge numbers and strings, many values.
  CHECK_FALSE(ReadJson("d.json", std::string(1000000, '['))->ok);
  CHECK_FALSE(ReadJson("d.json", std::string(100000, '{'))->ok);
  std::string huge = "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"t\", \"handle\": " +
                     std::string(5000, '9') + "}}]}";
  CHECK(ReadJson("h.json", huge)->ok);
  std::string port = InetRules({"[" + Match(kTcpDport, "1" + std::string(400, '0')) + ", {\"accept\": null}]",
                                "[" + Match(kTcpDport, "-1e999") + ", {\"accept\": null}]"});
  auto p = ReadJson("p.json", port);
  CHECK(p->ok);
  CHECK(Summary(*p, Family::kV4).find("UNSUPPORTED(the port") != std::string::npos);
}
