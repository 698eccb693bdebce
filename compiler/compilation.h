// One compile: owns the sources and diagnostics and runs the stages
// parse -> resolve -> place -> analyze -> lower, each of which the CLI and
// tests can stop after.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "compiler/analysis/expectations.h"
#include "compiler/analysis/shadow_analysis.h"
#include "compiler/syntax/ast.h"
#include "compiler/base/diagnostics.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/caps.h"
#include "compiler/lowering/lower.h"
#include "compiler/placement/place.h"
#include "compiler/semantics/model.h"
#include "compiler/syntax/parser.h"

namespace fwc {

class Compilation {
 public:
  Compilation() : diags_(sources_) {}
  Compilation(const Compilation&) = delete;
  Compilation& operator=(const Compilation&) = delete;

  // Off: skip the shadow analysis (e.g. for a query, which needs none).
  void set_analysis(bool on) { analysis_ = on; }
  // On: keep the AST after resolving (for --dump ast). Off, it is freed
  // once the model is built: at 100k rules it is a quarter of the memory.
  void set_keep_ast(bool on) { keep_ast_ = on; }
  // Off: the placed rules will not be lowered or queried (fwc check), so
  // they are freed as soon as the analysis has taken its rule lists from
  // them, and placed() is empty afterwards. At 100k rules they are 60 MB.
  void set_keep_placed(bool on) { keep_placed_ = on; }
  // Work budget of the analysis (see AnalyzeShadows); 0 is unlimited.
  void set_analysis_budget(size_t budget) { analysis_options_.budget = budget; }
  // The firewall to compile, of a policy that declares several (--firewall).
  // Its name, and its cluster's, are then defined for 'if' as -D would.
  void set_firewall(std::string name) { firewall_ = std::move(name); }
  // Threads the analysis may use; 0: one per CPU.
  void set_analysis_threads(unsigned threads);

  // A file of expectations (see analysis/expectations.h), checked by Check
  // once the rules are placed; path names it in diagnostics.
  void add_expectations(std::string path, std::string text) {
    expectation_files_.emplace_back(std::move(path), std::move(text));
  }
  const analysis::ExpectationStats& expectation_stats() const { return expectation_stats_; }

  // Parses, checks, places the rules in chains and (unless turned off)
  // analyses them. Returns false when there were errors; analysis findings
  // that are errors (shadowed rules by default) count.
  bool Check(const std::string& path, std::string text, SourceLoader& loader,
             const std::set<std::string>& defines);
  // Lowers the checked policy for a target with the given capabilities.
  ir::Ruleset Lower(const LoweringCaps& caps);
  // The same as the last stage: hands the placed rules to the lowering
  // instead of copying them, then frees the model, so placed(), sections()
  // and model() are empty afterwards.
  ir::Ruleset LowerLast(const LoweringCaps& caps);

  const ast::Unit& unit() const { return unit_; }  // empty unless set_keep_ast(true)
  const Model& model() const { return model_; }
  const std::vector<PlacedRule>& placed() const { return placed_; }
  // The marks and nat sections' rules, placed in their hooks.
  const std::vector<PlacedRule>& sections() const { return sections_; }
  const std::vector<analysis::Finding>& findings() const { return findings_; }
  const analysis::AnalysisStats& analysis_stats() const { return stats_; }
  // Each stage's time and the process's memory high-water mark after it,
  // in order, for --timing: where a large policy's time and memory go.
  struct StageTime {
    std::string stage;
    double ms = 0;
    long peak_kb = 0;  // getrusage's maxrss: never falls, so the stage that raised it shows
  };
  const std::vector<StageTime>& timings() const { return timings_; }
  // Ends the stage that began at the previous Lap (or at Check): the
  // callers' own stages (lowering, emitting) are timed alike.
  void Lap(const char* stage);
  Diagnostics& diags() { return diags_; }
  const SourceManager& sources() const { return sources_; }

 private:
  static analysis::AnalysisOptions DefaultAnalysisOptions();
  void Analyze();

  SourceManager sources_;
  Diagnostics diags_;
  bool analysis_ = true;
  bool keep_ast_ = false;
  bool keep_placed_ = true;
  analysis::AnalysisOptions analysis_options_ = DefaultAnalysisOptions();
  ast::Unit unit_;
  Model model_;
  std::set<std::string> defines_;
  std::string firewall_;
  std::vector<PlacedRule> placed_;
  std::vector<PlacedRule> sections_;
  std::vector<analysis::Finding> findings_;
  std::vector<std::pair<std::string, std::string>> expectation_files_;
  analysis::ExpectationStats expectation_stats_;
  analysis::AnalysisStats stats_;
  std::vector<StageTime> timings_;
  std::chrono::steady_clock::time_point lap_start_;
};

}  // namespace fwc
