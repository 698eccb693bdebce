#include "compiler/compilation.h"

#include "compiler/analysis/nat_analysis.h"

#include "compiler/semantics/resolver.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <sys/resource.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace fwc {

analysis::AnalysisOptions Compilation::DefaultAnalysisOptions() {
  analysis::AnalysisOptions o;
  o.budget = analysis::kDefaultAnalysisBudget;
  o.threads = std::max(1u, std::thread::hardware_concurrency());
  return o;
}

void Compilation::set_analysis_threads(unsigned threads) {
  analysis_options_.threads = threads ? threads : DefaultAnalysisOptions().threads;
}

void Compilation::Lap(const char* stage) {
  auto now = std::chrono::steady_clock::now();
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  timings_.push_back({stage, std::chrono::duration<double, std::milli>(now - lap_start_).count(), ru.ru_maxrss});
  lap_start_ = now;
}

bool Compilation::Check(const std::string& path, std::string text, SourceLoader& loader,
                        const std::set<std::string>& defines) {
  defines_ = defines;
  lap_start_ = std::chrono::steady_clock::now();
  unit_ = ParsePolicy(path, std::move(text), loader, sources_, diags_);
  Lap("parse");
  // Resolve even after syntax errors: the parts that parsed may hold more
  // mistakes, and reporting them all at once saves the user round trips.
  if (keep_ast_) {
    model_ = Resolve(unit_, diags_, firewall_);
  } else {
    model_ = Resolve(std::move(unit_), diags_, firewall_);
    unit_ = ast::Unit{};
  }
  Lap("resolve");
  for (const auto& d : defines) {
    const auto& used = model_.conditions;
    if (std::find(used.begin(), used.end(), d) != used.end()) continue;
    std::string near = ClosestName(d, used);
    diags_.Warning("unused-define", Loc{}, "-D " + d + " is not tested by any rule",
                   near.empty() ? "rules test names with 'if NAME'" : "did you mean -D " + near + "?");
  }
  if (!firewall_.empty()) {
    defines_.insert(model_.firewall_name);
    if (!model_.cluster_name.empty()) defines_.insert(model_.cluster_name);
  }
  if (diags_.has_errors()) return false;
  placed_ = PlaceRules(model_, defines_, diags_);
  sections_ = PlaceSectionRules(model_, defines_);
  Lap("place");
  if (!model_.expectations.empty()) {
    auto st = analysis::CheckPolicyExpectations(sources_, model_, placed_, sections_, defines_, diags_);
    expectation_stats_.checked += st.checked;
    expectation_stats_.failed += st.failed;
    Lap("expectations");
  }
  for (auto& [path, text] : expectation_files_) {
    int file = sources_.Add(path, std::move(text));
    auto st = analysis::CheckExpectations(file, sources_, model_, placed_, sections_, diags_);
    expectation_stats_.checked += st.checked;
    expectation_stats_.failed += st.failed;
  }
  if (!expectation_files_.empty()) Lap("expectations");
  if (analysis_) {
    Analyze();
    Lap("analysis");
  }
  return !diags_.has_errors();
}

ir::Ruleset Compilation::Lower(const LoweringCaps& caps) {
  return fwc::Lower(model_, placed_, caps, sources_, sections_);
}

ir::Ruleset Compilation::LowerLast(const LoweringCaps& caps) {
  ir::Ruleset rs = fwc::Lower(model_, std::move(placed_), caps, sources_, sections_);
  // The ruleset holds what it needs by value; emitting it, the largest
  // stage's memory, reuses the model's (at 1M rules ~0.9 GB).
  sections_.clear();
  model_ = Model{};
  return rs;
}

namespace {

const char* Verb(ast::Action a) {
  switch (a) {
    case ast::Action::kAccept: return "accepted";
    case ast::Action::kDrop: return "dropped";
    case ast::Action::kReject: return "rejected";
  }
  return "decided";
}

bool Silenced(const PolicyRule& r, const std::string& code) {
  return std::find(r.nowarn.begin(), r.nowarn.end(), code) != r.nowarn.end();
}

}  // namespace

void Compilation::Analyze() {
  analysis::InterfaceIds ifaces;
  {
    auto lists = analysis::BuildRuleLists(model_, placed_, ifaces);
    if (!keep_placed_) placed_ = std::vector<PlacedRule>();
    if (!sections_.empty())
      analysis::ReportSections(analysis::AnalyzeSections(model_, sections_, lists, ifaces), diags_);
    findings_ = analysis::AnalyzeShadows(lists, ifaces, &stats_, analysis_options_);
    // A rule is redundant "because later rules agree" only if that holds
    // whatever the runtime sets hold.
    if (!model_.runtime_sets.empty())
      findings_.erase(std::remove_if(findings_.begin(), findings_.end(),
                                     [&](const analysis::Finding& f) {
                                       return f.kind == analysis::Finding::Kind::kRedundant && f.by_later &&
                                              analysis::RuntimeCanOverturn(lists, f.rule);
                                     }),
                      findings_.end());
  }
#ifdef __GLIBC__
  // The analysis frees most of what it allocated (at 100k rules, ~100 MB),
  // but glibc keeps it, and what the analysis threads freed stays in their
  // own arenas, which the lowering and set merging do not reuse: give it
  // back, or a 100k-rule compile peaks ~115 MB higher (456 vs 340 MB).
  malloc_trim(0);
#endif
  if (stats_.stopped)
    diags_.Warning("analysis-incomplete", model_.policy_loc,
                   "the analysis used up its work budget; " + std::to_string(stats_.unanalysed_rules) +
                       " rules were not (fully) analysed, the findings shown are exact",
                   "raise the budget with --analysis-budget N (0: unlimited), or split the policy");
  using Kind = analysis::Finding::Kind;
  for (const auto& f : findings_) {
    const PolicyRule& r = *f.rule;
    Loc at = r.span.valid() ? r.span : r.loc;
    const char* action = Verb(r.action);
    Diagnostic* d = nullptr;
    switch (f.kind) {
      case Kind::kShadowed:
        if (Silenced(r, "shadowed-rule")) break;
        d = diags_.Report("shadowed-rule", Severity::kError, at,
                          "this rule can never match: earlier rules with a different verdict take every packet it matches",
                          "move it above the rules that cover it, or remove it; 'nowarn shadowed-rule' keeps it as is");
        if (d)
          for (const PolicyRule* c : f.covering)
            d->notes.push_back({c->span.valid() ? c->span : c->loc,
                                std::string("covered by this rule, which ") + ast::ActionName(c->action) + "s"});
        break;
      case Kind::kRedundant:
        if (Silenced(r, "redundant-rule")) break;
        if (!f.by_later) {
          d = diags_.Report("redundant-rule", Severity::kWarning, at,
                            std::string("this rule is redundant: earlier rules already ") + ast::ActionName(r.action) +
                                " every packet it matches",
                            "remove it; 'nowarn redundant-rule' keeps it as is");
          if (d)
            for (const PolicyRule* c : f.covering)
              d->notes.push_back({c->span.valid() ? c->span : c->loc, std::string("already ") + action + " here"});
        } else {
          d = diags_.Report("redundant-rule", Severity::kWarning, at,
                            std::string("this rule is redundant: without it the packets it decides would be ") +
                                action + " all the same",
                            "remove it; 'nowarn redundant-rule' keeps it as is");
          if (d) {
            for (const PolicyRule* c : f.covering)
              d->notes.push_back({c->span.valid() ? c->span : c->loc, std::string("would be ") + action + " here"});
            if (f.by_default)
              d->notes.push_back({model_.policy_loc, std::string("would be ") + action + " by the policy default"});
          }
        }
        break;
      case Kind::kConflict:
        if (Silenced(r, "conflicting-rule")) break;
        d = diags_.Report("conflicting-rule", Severity::kNote, at,
                          "this rule overlaps an earlier rule with a different verdict",
                          "the earlier rule wins where they overlap; if that is intended, nothing to do");
        if (d)
          d->notes.push_back({f.other->span.valid() ? f.other->span : f.other->loc,
                              std::string("this rule ") + ast::ActionName(f.other->action) + "s packets such as " +
                                  f.example});
        break;
      case Kind::kEmpty:
        if (Silenced(r, "empty-rule")) break;
        diags_.Report("empty-rule", Severity::kWarning, at, "this rule matches no packet at all",
                      "check its negations: they exclude everything the rule could match");
        break;
    }
  }
}

}  // namespace fwc
