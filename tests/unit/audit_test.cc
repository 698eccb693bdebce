// fwc audit without a network: the plan of probes, the judgement of what
// came back, nmap's XML, and whole audits against fake firewalls that
// decide each probe by another (broken) policy.
#include <catch2/catch.hpp>

#include "audit/audit.h"
#include "audit/nmap_scanner.h"
#include "compiler/base/protocols.h"
#include "compiler/semantics/resolver.h"
#include "support.h"

namespace fwc {
namespace {

using audit::Agreement;
using audit::ProbeKind;
using audit::Seen;

U128 V4(const char* s) {
  std::string err;
  return ParseAddress(s, &err)->addr;
}
U128 V6(const char* s) { return V4(s); }

// The crm policy as the scenario has it (policies/crm.fw, without comments).
const char* kCrm =
    "firewall fw {\n"
    "  interface outside eth1 10.1.1.1/24, 2001:db8:1::1/64;\n"
    "  interface dmz eth2 10.1.2.1/24, 2001:db8:2::1/64;\n"
    "}\n"
    "host lb 10.1.2.2, 2001:db8:2::2;\n"
    "host ges 10.1.2.10, 2001:db8:2::10;\n"
    "network clients 10.1.1.0/24, 2001:db8:1::/64;\n"
    "service http tcp 80;\n"
    "service ping icmp echo-request, icmpv6 echo-request;\n"
    "policy crm default drop {\n"
    "  accept ping from any to lb;\n"
    "  accept http from any to lb in outside;\n"
    "%EXTRA%"
    "}\n";

std::string Crm(const std::string& extra = "", const std::string& drop = "") {
  std::string s = kCrm;
  s.replace(s.find("%EXTRA%"), 7, extra);
  if (!drop.empty()) s.replace(s.find(drop), drop.size(), "");
  return s;
}

struct Compiled {
  test::Result r;
  std::unique_ptr<analysis::QueryEngine> engine;
  explicit Compiled(const std::string& text) {
    r.c->set_keep_ast(true);
    test::MemoryLoader l;
    r.ok = r.c->Check("test.fw", text, l, {});
    REQUIRE(r.ok);
    engine = std::make_unique<analysis::QueryEngine>(r.c->model(), r.c->placed(), r.c->sections());
  }
  std::vector<audit::NamedTarget> Hosts() const {
    std::vector<audit::NamedTarget> out;
    for (const auto& d : r.c->unit().objects)
      if (d.kind == ast::ObjectDecl::Kind::kHost) out.push_back({d.name, *ResolveAddressName(r.c->unit(), d.name)});
    return out;
  }
};

audit::AuditOptions FromC1() {
  audit::AuditOptions o;
  o.has_v4 = o.has_v6 = true;
  o.src_v4 = V4("10.1.1.11");
  o.src_v6 = V6("2001:db8:1::11");
  return o;
}

// A firewall that decides every probe as `policy` does, and answers as a
// host with the given listeners behind it would.
class FakeFirewall : public audit::Scanner {
 public:
  explicit FakeFirewall(const std::string& policy) : fw_(policy) {}
  std::vector<audit::Observation> Scan(const std::vector<audit::Probe>& probes) override {
    std::vector<audit::Observation> out;
    for (const auto& p : probes) {
      analysis::PacketSpec s;
      s.family = p.family;
      s.src = p.src;
      s.dst = p.dst;
      s.sport = p.sport;
      s.dport = p.port;
      s.proto = p.kind == ProbeKind::kTcp ? kProtoTcp : p.kind == ProbeKind::kUdp ? kProtoUdp
                : p.family == Family::kV4 ? kProtoIcmp : kProtoIcmpv6;
      if (p.kind == ProbeKind::kPing) s.icmp_type = p.family == Family::kV4 ? 8 : 128;
      std::string err;
      auto r = fw_.engine->Query(s, &err);
      REQUIRE(r);
      Seen seen = Seen::kSilent;
      if (r->verdict == ast::Action::kAccept)
        seen = p.kind == ProbeKind::kTcp ? (p.port == 80 || p.port == 8080 ? Seen::kOpen : Seen::kReset)
               : p.kind == ProbeKind::kUdp ? Seen::kPortUnreach : Seen::kOpen;
      if (r->verdict == ast::Action::kReject) seen = p.kind == ProbeKind::kTcp ? Seen::kReset : Seen::kPortUnreach;
      out.push_back({seen, ""});
    }
    return out;
  }

 private:
  Compiled fw_;
};

// The report points into the audited policy's rules: the run keeps both.
struct AuditRun {
  std::unique_ptr<Compiled> policy;
  audit::AuditReport report;
};

AuditRun Audit(const std::string& policy, const std::string& firewall) {
  AuditRun run{std::make_unique<Compiled>(policy), {}};
  const Compiled& c = *run.policy;
  audit::AuditPlan plan = audit::PlanAudit(c.r.c->model(), *c.engine, c.Hosts(), FromC1());
  std::vector<audit::Probe> probes;
  for (const auto& p : plan.probes) probes.push_back(p.probe);
  FakeFirewall fw(firewall);
  run.report = audit::Compare(plan, fw.Scan(probes));
  return run;
}

bool Probed(const audit::AuditPlan& plan, ProbeKind k, U128 dst, unsigned port) {
  for (const auto& p : plan.probes)
    if (p.probe.kind == k && p.probe.dst == dst && p.probe.port == port) return true;
  return false;
}

}  // namespace

TEST_CASE("audit plan: the firewall, every named host and the rules' boundaries, on the policy's ports", "[audit]") {
  Compiled c(Crm("  accept tcp 8000-8010 from clients to 10.1.2.64/26;\n"));
  audit::AuditPlan plan = audit::PlanAudit(c.r.c->model(), *c.engine, c.Hosts(), FromC1());
  // Named hosts and the firewall, both families.
  for (const char* a : {"10.1.1.1", "10.1.2.1", "10.1.2.2", "10.1.2.10"}) {
    CAPTURE(a);
    CHECK(Probed(plan, ProbeKind::kPing, V4(a), 0));
    CHECK(Probed(plan, ProbeKind::kTcp, V4(a), 80));
  }
  CHECK(Probed(plan, ProbeKind::kTcp, V6("2001:db8:2::2"), 80));
  // The network's first and last hosts and the addresses just outside it.
  for (const char* a : {"10.1.2.65", "10.1.2.126", "10.1.2.63", "10.1.2.128"}) {
    CAPTURE(a);
    CHECK(Probed(plan, ProbeKind::kTcp, V4(a), 8000));
  }
  CHECK_FALSE(Probed(plan, ProbeKind::kTcp, V4("10.1.2.64"), 8000));
  // A port range's ends and neighbours, the policy's ports' neighbours, well-known ports.
  for (unsigned port : {7999u, 8000u, 8010u, 8011u, 79u, 81u, 22u, 443u})
    CHECK(Probed(plan, ProbeKind::kTcp, V4("10.1.2.2"), port));
  CHECK_FALSE(Probed(plan, ProbeKind::kTcp, V4("10.1.2.2"), 8005));
  CHECK(Probed(plan, ProbeKind::kUdp, V4("10.1.2.2"), 53));
  // Not the vantage point itself, nor its neighbours on its own network.
  CHECK_FALSE(Probed(plan, ProbeKind::kPing, V4("10.1.1.11"), 0));
  // Each decided as fwc query decides it.
  for (const auto& p : plan.probes)
    if (p.probe.kind == ProbeKind::kTcp && p.probe.dst == V4("10.1.2.2") && p.probe.port == 80) {
      REQUIRE(p.expected.rule);
      CHECK(p.expected.rule->loc.line == 12);
      CHECK(p.expected.verdict == ast::Action::kAccept);
    }

  // Without IPv6 at the vantage point, no IPv6 probes.
  audit::AuditOptions v4only = FromC1();
  v4only.has_v6 = false;
  for (const auto& p : audit::PlanAudit(c.r.c->model(), *c.engine, c.Hosts(), v4only).probes)
    CHECK(p.probe.family == Family::kV4);
  // The caps bound the plan and say so.
  audit::AuditOptions small = FromC1();
  small.max_targets = 2;
  small.max_ports = 3;
  audit::AuditPlan capped = audit::PlanAudit(c.r.c->model(), *c.engine, c.Hosts(), small);
  CHECK(capped.probes.size() == 2 * 2 * (1 + 3 + 3));
  CHECK(capped.notes.size() == 4);
}

TEST_CASE("audit judgement: what each verdict lets one see", "[audit]") {
  struct Row {
    ProbeKind kind;
    ast::Action verdict;
    Seen seen;
    Agreement want;
  };
  using A = ast::Action;
  const Row rows[] = {
      {ProbeKind::kTcp, A::kAccept, Seen::kOpen, Agreement::kAgrees},
      {ProbeKind::kTcp, A::kAccept, Seen::kReset, Agreement::kAgrees},  // nothing listens
      {ProbeKind::kTcp, A::kAccept, Seen::kSilent, Agreement::kDiffers},
      {ProbeKind::kTcp, A::kAccept, Seen::kNoHost, Agreement::kUnconfirmed},
      {ProbeKind::kTcp, A::kAccept, Seen::kPortUnreach, Agreement::kDiffers},
      {ProbeKind::kTcp, A::kDrop, Seen::kSilent, Agreement::kAgrees},
      {ProbeKind::kTcp, A::kDrop, Seen::kOpen, Agreement::kDiffers},
      {ProbeKind::kTcp, A::kDrop, Seen::kReset, Agreement::kDiffers},
      {ProbeKind::kTcp, A::kDrop, Seen::kNoHost, Agreement::kDiffers},  // it was routed
      {ProbeKind::kTcp, A::kReject, Seen::kReset, Agreement::kAgrees},
      {ProbeKind::kTcp, A::kReject, Seen::kSilent, Agreement::kDiffers},
      {ProbeKind::kTcp, A::kReject, Seen::kOpen, Agreement::kDiffers},
      {ProbeKind::kUdp, A::kAccept, Seen::kOpen, Agreement::kAgrees},
      {ProbeKind::kUdp, A::kAccept, Seen::kPortUnreach, Agreement::kAgrees},
      {ProbeKind::kUdp, A::kAccept, Seen::kSilent, Agreement::kUnconfirmed},
      {ProbeKind::kUdp, A::kDrop, Seen::kSilent, Agreement::kAgrees},
      {ProbeKind::kUdp, A::kDrop, Seen::kPortUnreach, Agreement::kDiffers},
      {ProbeKind::kUdp, A::kReject, Seen::kPortUnreach, Agreement::kAgrees},
      {ProbeKind::kUdp, A::kReject, Seen::kSilent, Agreement::kDiffers},
      {ProbeKind::kPing, A::kAccept, Seen::kOpen, Agreement::kAgrees},
      {ProbeKind::kPing, A::kAccept, Seen::kSilent, Agreement::kDiffers},
      {ProbeKind::kPing, A::kDrop, Seen::kSilent, Agreement::kAgrees},
      {ProbeKind::kPing, A::kDrop, Seen::kOpen, Agreement::kDiffers},
      {ProbeKind::kPing, A::kReject, Seen::kPortUnreach, Agreement::kAgrees},
      {ProbeKind::kPing, A::kReject, Seen::kOpen, Agreement::kDiffers},
      {ProbeKind::kTcp, A::kDrop, Seen::kNotProbed, Agreement::kUnconfirmed},
  };
  for (const auto& r : rows) {
    CAPTURE(audit::ProbeKindName(r.kind), ast::ActionName(r.verdict), audit::SeenName(r.seen));
    CHECK(audit::Judge(r.kind, r.verdict, r.seen) == r.want);
  }
}

TEST_CASE("nmap's XML: listed ports, folded ports with their reasons, hosts that answered a ping", "[audit]") {
  const char* scan =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n"
      "<?xml-stylesheet href=\"file:///usr/bin/../share/nmap/nmap.xsl\" type=\"text/xsl\"?>\n"
      "<!-- Nmap 7.93 scan -->\n"
      "<nmaprun scanner=\"nmap\" args=\"nmap -n -Pn -sS\" version=\"7.93\" xmloutputversion=\"1.05\">\n"
      "<host starttime=\"1\" endtime=\"1\"><status state=\"up\" reason=\"user-set\" reason_ttl=\"0\"/>\n"
      "<address addr=\"10.9.0.2\" addrtype=\"ipv4\"/>\n<address addr=\"32:15:47:16:4B:B4\" addrtype=\"mac\"/>\n"
      "<ports><extraports state=\"filtered\" count=\"43\">\n"
      "<extrareasons reason=\"no-response\" count=\"42\" proto=\"tcp\" ports=\"1-40,79,83\"/>\n"
      "<extrareasons reason=\"port-unreach\" count=\"1\" proto=\"tcp\" ports=\"82\"/>\n"
      "</extraports>\n"
      "<port protocol=\"tcp\" portid=\"80\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"64\"/>"
      "<service name=\"http\" method=\"table\" conf=\"3\"/></port>\n"
      "<port protocol=\"tcp\" portid=\"81\"><state state=\"closed\" reason=\"reset\" reason_ttl=\"64\"/></port>\n"
      "</ports></host>\n"
      "<host><status state=\"up\" reason=\"user-set\"/><address addr=\"2001:db8:2::2\" addrtype=\"ipv6\"/>\n"
      "<ports><port protocol=\"udp\" portid=\"53\"><state state=\"open|filtered\" reason=\"no-response\"/></port>"
      "<port protocol=\"udp\" portid=\"54\"><state state=\"closed\" reason=\"port-unreach\"/></port></ports></host>\n"
      "<runstats><finished time=\"1\" exit=\"success\"/></runstats></nmaprun>\n";
  std::string err;
  auto r = audit::ParseNmapXml(scan, &err);
  REQUIRE(r);
  auto seen = [&](const char* a, unsigned port) {
    auto it = r->ports.find({V4(a), port});
    return it == r->ports.end() ? Seen::kNotProbed : it->second.seen;
  };
  CHECK(seen("10.9.0.2", 80) == Seen::kOpen);
  CHECK(seen("10.9.0.2", 81) == Seen::kReset);
  CHECK(seen("10.9.0.2", 82) == Seen::kPortUnreach);
  CHECK(seen("10.9.0.2", 1) == Seen::kSilent);
  CHECK(seen("10.9.0.2", 40) == Seen::kSilent);
  CHECK(seen("10.9.0.2", 83) == Seen::kSilent);
  CHECK(seen("10.9.0.2", 41) == Seen::kNotProbed);
  CHECK(seen("2001:db8:2::2", 53) == Seen::kSilent);
  CHECK(seen("2001:db8:2::2", 54) == Seen::kPortUnreach);

  const char* ping =
      "<?xml version=\"1.0\"?><nmaprun>"
      "<host><status state=\"up\" reason=\"echo-reply\" reason_ttl=\"63\"/><address addr=\"10.1.2.2\" addrtype=\"ipv4\"/></host>"
      "<host><status state=\"down\" reason=\"no-response\"/><address addr=\"10.1.2.3\" addrtype=\"ipv4\"/></host>"
      "</nmaprun>";
  auto p = audit::ParseNmapXml(ping, &err);
  REQUIRE(p);
  CHECK(p->hosts.size() == 1);
  CHECK(p->hosts.at(V4("10.1.2.2")).seen == Seen::kOpen);

  CHECK_FALSE(audit::ParseNmapXml("<html></html>", &err));
  CHECK(err.find("nmaprun") != std::string::npos);
  CHECK_FALSE(audit::ParseNmapXml("<nmaprun><host>", &err));
  CHECK_FALSE(audit::ParseNmapXml(
      "<nmaprun><host><address addr=\"10.1.1.1\" addrtype=\"ipv4\"/><ports><extraports state=\"closed\">"
      "<extrareasons reason=\"reset\" ports=\"70000\"/></extraports></ports></host></nmaprun>",
      &err));
}

TEST_CASE("audit against a firewall that runs the policy: every probe agrees", "[audit]") {
  AuditRun run = Audit(Crm(), Crm());
  const audit::AuditReport& r = run.report;
  CHECK(r.differ == 0);
  CHECK(r.agree > 100);
  // Rule by rule, in policy order, the default last.
  REQUIRE(r.tallies.size() == 3);
  CHECK(r.tallies[0].rule->loc.line == 11);
  CHECK(r.tallies[1].rule->loc.line == 12);
  CHECK(r.tallies[2].rule == nullptr);
  CHECK(r.tallies[1].probes == 2);  // tcp 80 to lb, both families
}

TEST_CASE("audit against broken firewalls: the missing rule, the extra port, IPv6 left open", "[audit]") {
  SECTION("a rule missing: the web service is dropped") {
    AuditRun run = Audit(Crm(), Crm("", "  accept http from any to lb in outside;\n"));
    const audit::AuditReport& r = run.report;
    CHECK(r.differ == 2);
    REQUIRE(r.tallies.size() == 3);
    CHECK(r.tallies[1].differ == 2);
    for (const auto& row : r.rows)
      if (row.agreement == Agreement::kDiffers) {
        CHECK(row.planned.probe.port == 80);
        CHECK(row.observed.seen == Seen::kSilent);
      }
  }
  SECTION("an extra open port") {
    AuditRun run = Audit(Crm(), Crm("  accept tcp 8080 from any to lb;\n"));
    const audit::AuditReport& r = run.report;
    CHECK(r.differ == 2);
    for (const auto& row : r.rows)
      if (row.agreement == Agreement::kDiffers) {
        CHECK(row.planned.probe.port == 8080);
        CHECK(row.planned.expected.rule == nullptr);  // the default drops them
      }
  }
  SECTION("IPv6 left open") {
    AuditRun run = Audit(Crm(), Crm("  accept from 2001:db8:1::/64 to any;\n"));
    const audit::AuditReport& r = run.report;
    CHECK(r.differ > 50);
    for (const auto& row : r.rows)
      if (row.agreement == Agreement::kDiffers) CHECK(row.planned.probe.family == Family::kV6);
  }
  SECTION("a reject where the policy drops") {
    AuditRun run = Audit(Crm(), Crm("  reject tcp 22 from any to lb;\n"));
    const audit::AuditReport& r = run.report;
    CHECK(r.differ == 2);
  }
}

}  // namespace fwc
