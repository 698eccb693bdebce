// fwc audit: probe the real firewall from this machine and compare what it
// does with what the policy says (audit/audit.h), rule by rule.
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "audit/audit.h"
#include "audit/nmap_scanner.h"
#include "backends/backend.h"
#include "compiler/base/json.h"
#include "compiler/base/protocols.h"
#include "compiler/semantics/resolver.h"
#include "cli/cli.h"

namespace fwc::cli {
namespace {

struct AuditArgs {
  PolicyArgs policy;
  std::vector<std::string> from;
  bool plan = false;
  bool all = false;
  std::vector<std::string> ports;
  std::string nmap = "nmap";
  std::string format = "text";
};

// The policy default or a built-in rule, in words.
std::string DecidedBy(const Compilation& c, const PolicyRule* rule, const std::string& builtin) {
  if (rule) return RuleText(c, rule);
  if (!builtin.empty()) return "fwc's built-in " + builtin + " rule";
  return "the policy default (" + std::string(ast::ActionName(c.model().default_action)) + ")";
}

std::string Word(const Compilation& c, const audit::PlannedProbe& p) { return RuleWord(c, p.expected); }

// --ports 8000-8010,9000 or tcp:..., udp:...: ports probed besides the policy's.
bool ParsePorts(const std::string& spec, audit::AuditOptions& o, std::string* error) {
  std::string s = spec;
  std::vector<unsigned>* into = nullptr;
  bool both = true;
  for (const char* proto : {"tcp:", "udp:"})
    if (s.rfind(proto, 0) == 0) {
      into = proto[0] == 't' ? &o.extra_tcp : &o.extra_udp;
      both = false;
      s = s.substr(4);
    }
  size_t i = 0;
  while (i <= s.size()) {
    size_t comma = s.find(',', i);
    std::string item = s.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    size_t dash = item.find('-');
    unsigned long lo = 0, hi = 0;
    try {
      size_t used = 0;
      lo = std::stoul(item.substr(0, dash), &used);
      if (used != item.substr(0, dash).size()) throw std::invalid_argument(item);
      hi = lo;
      if (dash != std::string::npos) {
        hi = std::stoul(item.substr(dash + 1), &used);
        if (used != item.substr(dash + 1).size()) throw std::invalid_argument(item);
      }
    } catch (const std::exception&) {
      *error = "--ports '" + PlainText(spec) + "': '" + PlainText(item) + "' is not a port or a range like 8000-8010";
      return false;
    }
    if (lo < 1 || hi > 65535 || lo > hi) {
      *error = "--ports '" + PlainText(spec) + "': ports are 1 to 65535, the first of a range not above the last";
      return false;
    }
    for (unsigned long p = lo; p <= hi; ++p) {
      if (both || into == &o.extra_tcp) o.extra_tcp.push_back(static_cast<unsigned>(p));
      if (both || into == &o.extra_udp) o.extra_udp.push_back(static_cast<unsigned>(p));
    }
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  return true;
}

// A probe's source in one family: the one address of the vantage point's
// set, or (for a network) the kernel's choice, which must be inside it.
bool ChooseSource(const Compilation& c, const AuditArgs& a, const AddressSet* from, Family f,
                  audit::AuditOptions& o, std::vector<std::string>& notes, std::string* error) {
  bool& has = f == Family::kV4 ? o.has_v4 : o.has_v6;
  U128& src = f == Family::kV4 ? o.src_v4 : o.src_v6;
  const char* fam = f == Family::kV4 ? "IPv4" : "IPv6";
  if (from) {
    const auto& iv = from->of(f).intervals();
    if (iv.empty()) return true;  // --from has no address of this family
  }
  // Ask the kernel which address reaches the firewall.
  std::optional<U128> chosen;
  for (const auto& i : c.model().interfaces)
    for (const auto& addr : i.addresses.of(f).intervals())
      if (!chosen) chosen = audit::KernelSourceAddress(f, addr.lo);
  if (from && from->of(f).intervals().size() == 1 && from->of(f).intervals()[0].lo == from->of(f).intervals()[0].hi) {
    src = from->of(f).intervals()[0].lo;
    has = true;
    // The probes are decided from this address, so they must leave from it.
    if (!a.plan && chosen && *chosen != src) {
      *error = "this machine sends to the firewall from " + FormatAddress(f, *chosen) + ", not from --from's " +
               FormatAddress(f, src) + ": run fwc audit on that machine";
      return false;
    }
    return true;
  }
  if (a.plan && from) {
    // No network to ask: the first host of the set stands for it.
    // (not the firewall's own address, nor a network's first address).
    const IntervalSet& fw = c.model().firewall_addresses.of(f);
    for (const auto& iv : from->of(f).intervals()) {
      U128 lo = IntervalPrefix(f, iv) && iv.hi - iv.lo >= 3 ? iv.lo + 1 : iv.lo;
      for (U128 cand = lo; cand <= iv.hi && !has; ++cand)
        if (!fw.Intersects(IntervalSet::Range(cand, cand))) has = true, src = cand;
      if (has) break;
    }
    if (!has) return true;
    notes.push_back(std::string(fam) + " probes from " + FormatAddress(f, src) + ", the first host of --from");
    return true;
  }
  if (!chosen) {
    if (from) {
      *error = std::string("this machine has no ") + fam + " route to the firewall, but --from has " + fam +
               " addresses";
      return false;
    }
    notes.push_back(std::string("no ") + fam + " route to the firewall: " + fam + " is not probed");
    return true;
  }
  if (from && !from->of(f).Intersects(IntervalSet::Range(*chosen, *chosen))) {
    *error = "this machine sends to the firewall from " + FormatAddress(f, *chosen) + ", which is not in --from";
    return false;
  }
  has = true, src = *chosen;
  return true;
}

std::string Pad(std::string s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

std::string JsonRow(const Compilation& c, const audit::AuditRow& r, bool observed) {
  const audit::Probe& p = r.planned.probe;
  const auto& e = r.planned.expected;
  std::string out = "{\"probe\": " + JsonString(audit::ProbeText(p)) + ", \"kind\": " +
                    JsonString(audit::ProbeKindName(p.kind)) + ", \"family\": " + JsonFamily(p.family) +
                    ", \"src\": " + JsonString(FormatAddress(p.family, p.src)) +
                    ", \"dst\": " + JsonString(FormatAddress(p.family, p.dst)) +
                    ", \"port\": " + (p.kind == audit::ProbeKind::kPing ? "null" : std::to_string(p.port)) +
                    ", \"chain\": " + JsonString(ir::HookName(e.chain)) +
                    ", \"verdict\": " + JsonString(ast::ActionName(e.verdict)) +
                    ", \"decided_by\": " + JsonString(e.rule ? "rule" : RuleWord(c, e)) +
                    ", \"rule\": " + JsonRule(c, e.rule) +
                    ", \"expected\": " + JsonString(audit::ExpectedText(p.kind, e.verdict));
  if (observed) {
    const char* agreement = r.agreement == audit::Agreement::kAgrees        ? "agrees"
                            : r.agreement == audit::Agreement::kUnconfirmed ? "unconfirmed"
                                                                            : "differs";
    out += ", \"observed\": " + JsonString(audit::SeenName(r.observed.seen)) +
           ", \"reason\": " + JsonString(r.observed.reason) + ", \"agreement\": " + JsonString(agreement);
  }
  return out + "}";
}

// One error per deciding rule and kind of difference, located at the rule
// (or at the policy's default), with a few of its probes.
void ReportDifferences(const Compilation& c, const audit::AuditReport& report, bool color) {
  struct Group {
    const audit::AuditRow* first = nullptr;
    std::vector<std::string> probes;
  };
  std::map<std::tuple<int, int, std::string, int, int>, Group> groups;
  for (const auto& r : report.rows) {
    if (r.agreement != audit::Agreement::kDiffers) continue;
    const auto& e = r.planned.expected;
    auto key = std::make_tuple(e.rule ? e.rule->loc.file : -1, e.rule ? e.rule->loc.line : 0, e.builtin,
                               static_cast<int>(r.planned.probe.kind), static_cast<int>(r.observed.seen));
    Group& g = groups[key];
    if (!g.first) g.first = &r;
    g.probes.push_back(audit::ProbeText(r.planned.probe));
  }
  Diagnostics render(c.sources());
  render.set_color(color);
  for (const auto& [_, g] : groups) {
    const auto& r = *g.first;
    const auto& e = r.planned.expected;
    audit::ProbeKind kind = r.planned.probe.kind;
    Diagnostic d;
    d.code = "audit-differs";
    d.loc = e.rule ? e.rule->span : c.model().policy_loc;
    std::string who = e.rule ? "this rule" : !e.builtin.empty() ? "fwc's built-in " + e.builtin + " rule"
                                                                : "the policy's default";
    std::string verb = e.verdict == ast::Action::kAccept ? "accepts" : e.verdict == ast::Action::kDrop ? "drops" : "rejects";
    size_t n = g.probes.size();
    d.message = (n == 1 ? g.probes[0] : std::to_string(n) + " probes") + " got " + audit::SeenText(kind, r.observed) +
                ", but " + who + " " + verb + (n == 1 ? " it" : " them") + " (expected " +
                audit::ExpectedText(kind, e.verdict) + ")";
    if (n > 1) {
      d.message += ": ";
      for (size_t i = 0; i < n && i < 4; ++i) d.message += (i ? ", " : "") + g.probes[i];
      if (n > 4) d.message += ", and " + std::to_string(n - 4) + " more";
    }
    if (e.verdict == ast::Action::kAccept)
      d.help = "is the host up? Does the loaded ruleset match the policy ('fwc verify')?";
    else
      d.help = "the firewall lets through what the policy does not: 'fwc verify' shows whether the loaded "
               "ruleset is this policy's";
    std::cerr << render.Render(d);
  }
}

int RunAudit(const AuditArgs& a, const Registry& registry) {
  Compilation c;
  c.set_analysis(false);
  c.set_keep_ast(true);
  if (int rc = LoadPolicy(a.policy, registry, c); rc != kExitOk) return rc;
  if (c.model().interfaces.empty()) {
    std::cerr << "fwc: error: the policy declares no firewall interfaces: fwc audit probes across the firewall\n";
    return kExitUsage;
  }
  audit::AuditOptions o;
  if (!a.plan) o.source_port = 40000 + std::random_device{}() % 20000;
  std::string err;
  for (const auto& spec : a.ports)
    if (!ParsePorts(spec, o, &err)) {
      std::cerr << "fwc: error: " << err << "\n";
      return kExitUsage;
    }
  // --from: names of the policy or addresses, together the vantage point.
  std::optional<AddressSet> from;
  for (const auto& item : a.from) {
    if (!from) from.emplace();
    if (auto named = ResolveAddressName(c.unit(), item, a.policy.firewall)) {
      from->AddAll(*named);
      continue;
    }
    auto addr = ParseAddress(item, &err);
    if (!addr) {
      std::cerr << "fwc: error: --from '" << PlainText(item)
                << "' is neither an address nor a host, network, range or group of the policy\n";
      return kExitUsage;
    }
    Interval iv = addr->prefix < 0 ? Interval{addr->addr, addr->addr} : PrefixInterval(addr->family, addr->addr, addr->prefix);
    from->of(addr->family).Add(iv.lo, iv.hi);
  }
  if (a.plan && !from) {
    std::cerr << "fwc: error: --plan needs --from: the probes' source decides which rules they meet\n";
    return kExitUsage;
  }
  std::vector<std::string> notes;
  for (Family f : {Family::kV4, Family::kV6})
    if (!ChooseSource(c, a, from ? &*from : nullptr, f, o, notes, &err)) {
      std::cerr << "fwc: error: " << err << "\n";
      return kExitUsage;
    }
  if (!o.has_v4 && !o.has_v6) {
    std::cerr << "fwc: error: no address to probe from: give --from\n";
    return kExitUsage;
  }
  for (Family f : {Family::kV4, Family::kV6}) {
    U128 src = f == Family::kV4 ? o.src_v4 : o.src_v6;
    if ((f == Family::kV4 ? o.has_v4 : o.has_v6) && c.model().firewall_addresses.of(f).Intersects(IntervalSet::Range(src, src))) {
      std::cerr << "fwc: error: " << FormatAddress(f, src)
                << " is the firewall's own address: run fwc audit on another machine, one whose traffic crosses it\n";
      return kExitUsage;
    }
  }

  std::vector<audit::NamedTarget> named;
  for (const auto& d : c.unit().objects)
    if (d.kind == ast::ObjectDecl::Kind::kHost)
      if (auto addrs = ResolveAddressName(c.unit(), d.name, a.policy.firewall)) named.push_back({d.name, *addrs});
  analysis::QueryEngine engine(c.model(), c.placed(), c.sections());
  audit::AuditPlan plan = audit::PlanAudit(c.model(), engine, named, o);
  notes.insert(notes.end(), plan.notes.begin(), plan.notes.end());
  std::set<std::pair<int, U128>> targets;
  for (const auto& p : plan.probes) targets.insert({static_cast<int>(p.probe.family), p.probe.dst});
  std::string vantage;
  if (o.has_v4) vantage = FormatAddress(Family::kV4, o.src_v4);
  if (o.has_v6) vantage += (vantage.empty() ? "" : ", ") + FormatAddress(Family::kV6, o.src_v6);

  std::vector<audit::Observation> observed;
  if (!a.plan) {
    std::vector<audit::Probe> probes;
    for (const auto& p : plan.probes) probes.push_back(p.probe);
    try {
      audit::NmapScanner scanner(a.nmap);
      observed = scanner.Scan(probes);
    } catch (const std::exception& e) {
      std::cerr << "fwc: error: cannot probe: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  audit::AuditReport report = audit::Compare(plan, observed);

  if (a.format == "json") {
    std::string out = "{\"policy\": " + JsonString(a.policy.policy) + ", \"from\": [";
    bool first = true;
    if (o.has_v4) out += JsonString(FormatAddress(Family::kV4, o.src_v4)), first = false;
    if (o.has_v6) out += std::string(first ? "" : ", ") + JsonString(FormatAddress(Family::kV6, o.src_v6));
    out += "], \"source_port\": " + std::to_string(o.source_port) +
           ", \"probed\": " + std::string(a.plan ? "false" : "true") + ", \"targets\": " +
           std::to_string(targets.size()) + ", \"probes\": [";
    for (size_t i = 0; i < report.rows.size(); ++i) out += (i ? ", " : "") + JsonRow(c, report.rows[i], !a.plan);
    out += "], \"rules\": [";
    for (size_t i = 0; i < report.tallies.size(); ++i) {
      const auto& t = report.tallies[i];
      analysis::QueryResult q;
      q.rule = t.rule;
      q.builtin = t.builtin;
      out += std::string(i ? ", " : "") + "{\"decided_by\": " + JsonString(t.rule ? "rule" : RuleWord(c, q)) +
             ", \"rule\": " + JsonRule(c, t.rule) + ", \"verdict\": " + JsonString(ast::ActionName(t.verdict)) +
             ", \"probes\": " + std::to_string(t.probes);
      if (!a.plan)
        out += ", \"agree\": " + std::to_string(t.agree) + ", \"unconfirmed\": " + std::to_string(t.unconfirmed) +
               ", \"differ\": " + std::to_string(t.differ);
      out += "}";
    }
    out += "], \"notes\": [";
    for (size_t i = 0; i < notes.size(); ++i) out += (i ? ", " : "") + JsonString(notes[i]);
    out += "]";
    if (!a.plan)
      out += ", \"agree\": " + std::to_string(report.agree) + ", \"unconfirmed\": " + std::to_string(report.unconfirmed) +
             ", \"differ\": " + std::to_string(report.differ);
    std::cout << out << "}\n";
  } else {
    std::cout << "fwc audit of " << PlainText(a.policy.policy) << " from " << vantage << ": " << plan.probes.size()
              << " probes to " << targets.size() << " addresses" << (a.plan ? " (planned, not sent)" : "") << "\n";
    for (const auto& n : notes) std::cout << "note: " << n << "\n";
    if (a.plan || a.all) {
      for (const auto& r : report.rows) {
        const auto& p = r.planned;
        std::cout << "  " << Pad(audit::ProbeText(p.probe), 44) << Pad(ast::ActionName(p.expected.verdict), 7)
                  << Pad(Word(c, p), 22);
        if (!a.plan)
          std::cout << Pad(audit::SeenText(p.probe.kind, r.observed), 26)
                    << (r.agreement == audit::Agreement::kAgrees        ? "agrees"
                        : r.agreement == audit::Agreement::kUnconfirmed ? "unconfirmed"
                                                                        : "DIFFERS");
        std::cout << "\n";
      }
    }
    std::cout << "rule by rule:\n";
    for (const auto& t : report.tallies) {
      std::string counts = std::to_string(t.probes) + " probe" + (t.probes == 1 ? "" : "s");
      if (!a.plan) {
        counts += ": " + std::to_string(t.agree) + " agree";
        if (t.unconfirmed) counts += ", " + std::to_string(t.unconfirmed) + " unconfirmed";
        if (t.differ) counts += ", " + std::to_string(t.differ) + " DIFFER";
      }
      std::cout << "  " << Pad(DecidedBy(c, t.rule, t.builtin), 70) << counts << "\n";
    }
    if (!a.plan)
      std::cout << "fwc audit: " << report.rows.size() << " probes: " << report.agree << " agree, "
                << report.unconfirmed << " unconfirmed, " << report.differ << " differ\n";
  }
  std::cout.flush();
  if (!a.plan) ReportDifferences(c, report, registry.StderrColor());
  return report.differ ? kExitPolicy : kExitOk;
}

}  // namespace

void AddAuditCommands(CLI::App& app, Registry& registry) {
  auto a = std::make_shared<AuditArgs>();
  CLI::App* audit = app.add_subcommand(
      "audit", "probe the firewall with nmap from this machine and compare with the policy; exit 1 on a difference");
  a->policy.AddTo(audit);
  audit->add_option("--from", a->from,
                    "this machine: a host, network or group of the policy, or addresses (repeatable or "
                    "comma-separated); default: the addresses it reaches the firewall from")
      ->delimiter(',')
      ->type_name("NAME|ADDR");
  audit->add_flag("--plan", a->plan, "list the probes and what the policy says of each; send nothing");
  audit->add_flag("--all", a->all, "list every probe with what came back, not only the differences");
  audit->add_option("--ports", a->ports, "more ports to probe, e.g. 8000-8010 or tcp:9000,9001 (repeatable)")
      ->type_name("PORTS");
  audit->add_option("--nmap", a->nmap, "the nmap program to run")->capture_default_str()->type_name("PATH");
  audit->add_option("--format", a->format, "text, or json: every probe and every rule's tally (documented in fwc(8))")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  registry.Add(audit, [a, &registry] { return RunAudit(*a, registry); });
}

}  // namespace fwc::cli
