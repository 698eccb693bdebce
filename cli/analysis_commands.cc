// fwc query (which rule decides a packet) and fwc diff (what changed
// between two policies, semantically).
#include <fstream>
#include <iostream>

#include "compiler/analysis/nat_analysis.h"
#include "compiler/analysis/query.h"
#include "compiler/analysis/semantic_diff.h"
#include "compiler/base/json.h"
#include "cli/cli.h"

namespace fwc::cli {
namespace {

const char* FamilyName(Family f) { return f == Family::kV4 ? "IPv4" : "IPv6"; }

}  // namespace

std::string RuleText(const Compilation& c, const PolicyRule* r) {
  std::string line(c.sources().Line(r->loc.file, r->loc.line));
  size_t start = line.find_first_not_of(" \t");
  line = start == std::string::npos ? "" : line.substr(start);
  return c.sources().display_name(r->loc.file) + ":" + std::to_string(r->loc.line) + ": " + line;
}

std::string RuleWord(const Compilation& c, const analysis::QueryResult& r) {
  if (r.rule) return c.sources().display_name(r.rule->loc.file) + ":" + std::to_string(r.rule->loc.line);
  if (r.builtin.empty()) return "default";
  if (r.builtin == "loopback") return "builtin:loopback";
  if (r.builtin == "replies and related traffic") return "builtin:established";
  return "builtin:neighbour-discovery";
}

std::string JsonRule(const Compilation& c, const PolicyRule* r) {
  if (!r) return "null";
  std::string line(c.sources().Line(r->loc.file, r->loc.line));
  size_t start = line.find_first_not_of(" \t");
  line = start == std::string::npos ? "" : line.substr(start);
  return "{\"file\": " + JsonString(c.sources().display_name(r->loc.file)) + ", \"line\": " +
         std::to_string(r->loc.line) + ", \"text\": " + JsonString(line) + "}";
}

std::string JsonFamily(Family f) { return f == Family::kV4 ? "\"ipv4\"" : "\"ipv6\""; }

namespace {

struct QueryArgs {
  PolicyArgs policy;
  std::string packet;
  std::string packets_file;
  std::string format = "text";
};

std::string JsonRules(const Compilation& c, const std::vector<const PolicyRule*>& rules) {
  std::string out = "[";
  for (size_t i = 0; i < rules.size(); ++i) out += (i ? ", " : "") + JsonRule(c, rules[i]);
  return out + "]";
}

// One answer of fwc query, as one line of JSON (documented in fwc(8)).
std::string JsonAnswer(const Compilation& c, const analysis::PacketSpec& p, const analysis::QueryResult& r) {
  std::string out = "{\"packet\": " + JsonString(r.packet) + ", \"family\": " + JsonFamily(r.family) +
                    ", \"chain\": " + JsonString(ir::HookName(r.chain)) +
                    ", \"in\": " + (r.iif.empty() ? "null" : JsonString(r.iif)) +
                    ", \"out\": " + (r.oif.empty() ? "null" : JsonString(r.oif)) +
                    ", \"guessed_in\": " + (r.guessed_iif ? "true" : "false") +
                    ", \"guessed_out\": " + (r.guessed_oif ? "true" : "false") +
                    ", \"established\": " + (p.established ? "true" : "false") +
                    ", \"verdict\": " + JsonString(ast::ActionName(r.verdict)) +
                    ", \"decided_by\": " + JsonString(r.rule ? "rule" : RuleWord(c, r)) +
                    ", \"rule\": " + JsonRule(c, r.rule) + ", \"steps\": [";
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const auto& st = r.steps[i];
    out += std::string(i ? ", " : "") + "{\"hook\": " + JsonString(ir::HookName(st.hook)) +
           ", \"rule\": " + JsonRule(c, st.rule) +
           ", \"packet\": " + (st.packet.empty() ? "null" : JsonString(st.packet)) + "}";
  }
  out += "], \"mark\": " + std::to_string(r.mark) + ", \"ctmark\": " + std::to_string(r.ctmark) +
         ", \"assumed_within_limit\": " + JsonRules(c, r.assumed_rules) +
         ", \"runtime_dependent\": " + JsonRules(c, r.runtime_rules) + "}";
  return out;
}

// --packets: one packet per line in, one "key=value ..." line out, so that
// a test harness can ask about thousands of packets with one policy load.
// Every packet is answered, malformed ones with an error line; the exit
// status is 2 if any was malformed.
int RunQueryBatch(const QueryArgs& a, const Compilation& c) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (a.packets_file != "-") {
    file.open(a.packets_file);
    if (!file) {
      std::cerr << "fwc: error: cannot read '" << a.packets_file << "'\n";
      return kExitUsage;
    }
    in = &file;
  }
  analysis::QueryEngine engine(c.model(), c.placed(), c.sections());
  std::string line, err, out;
  int status = kExitOk;
  for (size_t n = 1; std::getline(*in, line); ++n) {
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    if (line.back() == '\r') line.pop_back();
    out = "line=" + std::to_string(n) + " ";
    auto packet = analysis::ParsePacket(line, &err);
    std::optional<analysis::QueryResult> r;
    if (packet) r = engine.Query(*packet, &err);
    if (!r) {
      if (a.format == "json") std::cout << "{\"line\": " << n << ", \"error\": " << JsonString(err) << "}\n";
      else std::cout << out << "error=" << err << "\n";
      status = kExitUsage;
      continue;
    }
    if (a.format == "json") {
      std::string answer = JsonAnswer(c, *packet, *r);
      std::cout << "{\"line\": " << n << ", " << answer.substr(1) << "\n";
      continue;
    }
    out += std::string("verdict=") + ast::ActionName(r->verdict) + " chain=" + ir::HookName(r->chain) +
           " family=" + (r->family == Family::kV4 ? "ipv4" : "ipv6") + " in=" + (r->iif.empty() ? "-" : r->iif) +
           " out=" + (r->oif.empty() ? "-" : r->oif) + " rule=" + RuleWord(c, *r);
    for (const auto& st : r->steps)
      out += std::string(" ") + ir::HookName(st.hook) + "=" +
             (st.rule ? c.sources().display_name(st.rule->loc.file) + ":" + std::to_string(st.rule->loc.line) : "-");
    if (r->mark) out += " mark=" + std::to_string(r->mark);
    if (r->ctmark) out += " ctmark=" + std::to_string(r->ctmark);
    // Rules over runtime sets the answer depends on (it assumes the sets empty).
    for (size_t i = 0; i < r->runtime_rules.size(); ++i)
      out += (i ? "," : " runtime=") + c.sources().display_name(r->runtime_rules[i]->loc.file) + ":" +
             std::to_string(r->runtime_rules[i]->loc.line);
    out += "\n";
    std::cout << out;
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "fwc: error: cannot write to standard output\n";
    return kExitUsage;
  }
  return status;
}

int RunQuery(const QueryArgs& a, const Registry& registry) {
  if (a.packet.empty() == a.packets_file.empty()) {
    std::cerr << "fwc: error: query needs a PACKET or --packets FILE, not " << (a.packet.empty() ? "neither" : "both")
              << "\nRun with --help for more information.\n";
    return kExitUsage;
  }
  if (!a.packets_file.empty()) {
    Compilation c;
    c.set_analysis(false);
    if (int rc = LoadPolicy(a.policy, registry, c); rc != kExitOk) return rc;
    return RunQueryBatch(a, c);
  }
  std::string err;
  auto packet = analysis::ParsePacket(a.packet, &err);
  if (!packet) {
    std::cerr << "fwc: error: " << err << "\n";
    return kExitUsage;
  }
  Compilation c;
  c.set_analysis(false);
  if (int rc = LoadPolicy(a.policy, registry, c); rc != kExitOk) return rc;
  auto r = analysis::Query(c.model(), c.placed(), *packet, &err, c.sections());
  if (!r) {
    std::cerr << "fwc: error: " << err << "\n";
    return kExitUsage;
  }
  if (a.format == "json") {
    std::cout << JsonAnswer(c, *packet, *r) << "\n";
    return kExitOk;
  }
  std::cout << "packet:  " << r->packet << "\n";
  // The way through the marks and nat sections, before and after the filter.
  auto step = [&](const analysis::QueryResult::Step& st) {
    std::string name = ir::HookName(st.hook);
    std::cout << name << ":" << std::string(name.size() < 8 ? 8 - name.size() : 1, ' ');
    if (!st.rule) {
      std::cout << "no rule matches: " << (st.hook == ir::Hook::kMarks ? "no mark" : "not translated");
      // Routes are not the policy's: a destination in none of the
      // firewall's networks leaves by an interface fwc cannot guess.
      if (st.hook == ir::Hook::kSnat && r->oif.empty()) std::cout << " (output interface unknown: add 'out IFACE')";
      if (st.hook != ir::Hook::kSnat && r->iif.empty()) std::cout << " (input interface unknown: add 'in IFACE')";
    }
    else std::cout << RuleText(c, st.rule);
    if (!st.packet.empty()) std::cout << "\n         -> " << st.packet;
    std::cout << "\n";
  };
  for (const auto& st : r->steps)
    if (st.hook != ir::Hook::kSnat) step(st);
  std::cout << "chain:   " << ir::HookName(r->chain) << " (" << FamilyName(r->family) << ")";
  std::string guessed;
  if (r->guessed_iif) guessed += "in " + r->iif;
  if (r->guessed_oif) guessed += (guessed.empty() ? "" : ", ") + std::string("out ") + r->oif;
  if (!guessed.empty()) std::cout << "; interfaces guessed from the firewall's networks: " << guessed;
  std::cout << "\n";
  std::cout << "verdict: " << ast::ActionName(r->verdict) << "\n";
  if (r->rule) std::cout << "rule:    " << RuleText(c, r->rule) << "\n";
  else if (!r->builtin.empty()) std::cout << "rule:    fwc's built-in " << r->builtin << " rule\n";
  else
    std::cout << "rule:    the policy default (" << c.sources().display_name(c.model().policy_loc.file) << ":"
              << c.model().policy_loc.line << ")\n";
  for (const auto& st : r->steps)
    if (st.hook == ir::Hook::kSnat) step(st);
  for (const PolicyRule* a : r->assumed_rules)
    std::cout << "(assuming the packet is within the rate or connection limit of " << RuleText(c, a) << ")\n";
  if (!r->runtime_rules.empty()) {
    std::cout << "(assuming the runtime sets hold none of its addresses; these rules depend on them:)\n";
    for (const PolicyRule* rt : r->runtime_rules) std::cout << "runtime: " << RuleText(c, rt) << "\n";
  }
  if (!packet->established)
    std::cout << "(as the first packet of a connection; replies to accepted connections pass by the stateful rule)\n";
  return kExitOk;
}

struct DiffArgs {
  PolicyArgs old_policy;
  std::string new_path;
  std::string format = "text";
};

int RunDiff(const DiffArgs& a, const Registry& registry) {
  Compilation old_c, new_c;
  old_c.set_analysis(false);
  new_c.set_analysis(false);
  if (int rc = LoadPolicy(a.old_policy, registry, old_c); rc != kExitOk) return rc == kExitPolicy ? kExitUsage : rc;
  PolicyArgs new_args = a.old_policy;
  new_args.policy = a.new_path;
  if (int rc = LoadPolicy(new_args, registry, new_c); rc != kExitOk) return rc == kExitPolicy ? kExitUsage : rc;
  analysis::InterfaceIds ifaces;
  auto old_lists = analysis::BuildRuleLists(old_c.model(), old_c.placed(), ifaces);
  auto new_lists = analysis::BuildRuleLists(new_c.model(), new_c.placed(), ifaces);
  // Ids added while building the new lists must be known to the old ones'
  // limits too: rebuild the old lists with the complete id set.
  old_lists = analysis::BuildRuleLists(old_c.model(), old_c.placed(), ifaces);
  new_lists = analysis::BuildRuleLists(new_c.model(), new_c.placed(), ifaces);
  auto result = analysis::SemanticDiff(old_lists, new_lists, ifaces);
  if (!old_c.model().runtime_sets.empty() || !new_c.model().runtime_sets.empty())
    std::cerr << "fwc: note: rules over runtime sets are left out of the comparison: what they match is known "
                 "only at runtime\n";
  auto sections = analysis::DiffSections(old_c.sections(), new_c.sections(), ifaces);
  if (sections.conditional)
    std::cerr << "fwc: note: nat and marks rules with mark, connmark, state or limit matches are left out of the "
                 "comparison\n";
  if (result.incomplete || sections.incomplete) {
    std::cerr << "fwc: error: the policies are too fragmented to compare exactly\n";
    return kExitUsage;
  }
  bool equivalent = result.differences.empty() && sections.changes.empty();
  if (a.format == "json") {
    // Every difference, not only the first ones the text shows.
    std::string out = std::string("{\"equivalent\": ") + (equivalent ? "true" : "false") + ", \"verdict_changes\": [";
    for (size_t i = 0; i < result.differences.size(); ++i) {
      const auto& d = result.differences[i];
      out += std::string(i ? ",\n  " : "\n  ") + "{\"chain\": " + JsonString(ir::HookName(d.hook)) +
             ", \"family\": " + JsonFamily(d.family) + ", \"before\": " + JsonString(ast::ActionName(d.before)) +
             ", \"after\": " + JsonString(ast::ActionName(d.after)) + ", \"packets\": " + JsonString(d.description) +
             ", \"regions\": " + std::to_string(d.region.size()) + ", \"old_rule\": " + JsonRule(old_c, d.old_rule) +
             ", \"new_rule\": " + JsonRule(new_c, d.new_rule) + ", \"example\": " + JsonString(d.example) + "}";
    }
    out += "], \"translation_changes\": [";
    for (size_t i = 0; i < sections.changes.size(); ++i) {
      const auto& ch = sections.changes[i];
      out += std::string(i ? ",\n  " : "\n  ") + "{\"hook\": " + JsonString(ir::HookName(ch.hook)) +
             ", \"family\": " + JsonFamily(ch.family) + ", \"before\": " + JsonString(ch.before) +
             ", \"after\": " + JsonString(ch.after) + ", \"packets\": " + JsonString(ch.description) +
             ", \"old_rule\": " + JsonRule(old_c, ch.old_rule) + ", \"new_rule\": " + JsonRule(new_c, ch.new_rule) +
             ", \"example\": " + JsonString(ch.example) + "}";
    }
    std::cout << out << "]}\n";
    return equivalent ? kExitOk : kExitPolicy;
  }
  if (equivalent) {
    std::cout << "equivalent: both policies decide and translate every packet the same way\n";
    return kExitOk;
  }
  auto who = [](const Compilation& c, const PolicyRule* r) {
    return r ? c.sources().display_name(r->loc.file) + ":" + std::to_string(r->loc.line)
             : std::string("the default policy");
  };
  if (!sections.changes.empty()) {
    std::cout << sections.changes.size() << (sections.changes.size() == 1 ? " class" : " classes")
              << " of packets changed mark or translation:\n";
    for (const auto& ch : sections.changes) {
      auto rule = [](const Compilation& c, const PolicyRule* r) {
        return r ? c.sources().display_name(r->loc.file) + ":" + std::to_string(r->loc.line) : std::string("no rule");
      };
      std::cout << "\n" << ir::HookName(ch.hook) << " (" << FamilyName(ch.family) << "): " << ch.before << " -> "
                << ch.after << "\n  packets: " << ch.description << "\n  before:  " << rule(old_c, ch.old_rule)
                << "\n  after:   " << rule(new_c, ch.new_rule) << "\n  example: " << ch.example << "\n";
    }
    if (result.differences.empty()) return kExitPolicy;
    std::cout << "\n";
  }
  constexpr size_t kShown = 20;
  std::cout << result.differences.size() << (result.differences.size() == 1 ? " class" : " classes")
            << " of packets changed verdict:\n";
  for (size_t i = 0; i < result.differences.size() && i < kShown; ++i) {
    const auto& d = result.differences[i];
    std::cout << "\n" << ir::HookName(d.hook) << " (" << FamilyName(d.family) << "): " << ast::ActionName(d.before) << " -> "
              << ast::ActionName(d.after) << "\n"
              << "  packets: " << d.description;
    if (d.region.size() > 1) std::cout << " (and " << d.region.size() - 1 << " more regions)";
    std::cout << "\n  before:  " << who(old_c, d.old_rule) << "\n  after:   " << who(new_c, d.new_rule)
              << "\n  example: " << d.example << "\n";
  }
  if (result.differences.size() > kShown)
    std::cout << "\n... and " << result.differences.size() - kShown << " more\n";
  return kExitPolicy;
}

}  // namespace

void AddAnalysisCommands(CLI::App& app, Registry& registry) {
  auto q = std::make_shared<QueryArgs>();
  CLI::App* query = app.add_subcommand("query", "show which rule decides a packet");
  q->policy.AddTo(query);
  query->add_option("PACKET", q->packet,
                    "e.g. 'tcp 10.1.1.11:40000 -> 10.1.2.2:80 in eth1' or 'icmp 10.1.1.11 -> 10.1.2.2 type echo-request'");
  query->add_option("--packets", q->packets_file,
                    "decide every packet of FILE ('-': standard input), one per line; prints one line each: "
                    "line=N verdict=V chain=C family=F in=I out=O rule=R")
      ->type_name("FILE");
  query->add_option("--format", q->format, "text, or json: one JSON object per packet (documented in fwc(8))")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  registry.Add(query, [q, &registry] { return RunQuery(*q, registry); });

  auto d = std::make_shared<DiffArgs>();
  CLI::App* diff = app.add_subcommand("diff", "compare two policies packet by packet; exit 0 if equivalent, 1 if not");
  d->old_policy.AddTo(diff);
  diff->add_option("NEW", d->new_path, "the changed policy")->required();
  diff->add_option("--format", d->format, "text, or json: every difference (documented in fwc(8))")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  registry.Add(diff, [d, &registry] { return RunDiff(*d, registry); });
}

}  // namespace fwc::cli
