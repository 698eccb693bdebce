// Shared pieces of the fwc command line. Each command lives in its own
// file and registers itself on the CLI11 app; main.cc only dispatches.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "compiler/analysis/query.h"
#include "compiler/compilation.h"
#include "compiler/syntax/parser.h"

namespace fwc::cli {

// Exit status, documented in fwc(8).
constexpr int kExitOk = 0;
constexpr int kExitPolicy = 1;
constexpr int kExitUsage = 2;

// A parsed subcommand's action, returning the exit status.
using Action = std::function<int()>;

// Registers a subcommand; its action runs when the subcommand was given.
struct Registry {
  std::vector<std::pair<CLI::App*, Action>> commands;
  // -W flags, taken out of argv before CLI11 parses it (CLI11 cannot take
  // options of the form -Wno-CODE).
  std::vector<std::string> warning_flags;
  // --color: auto (a terminal, and NO_COLOR unset or empty), always, never.
  std::string color = "auto";
  // Whether text written to stderr gets ANSI colours.
  bool StderrColor() const;
  void Add(CLI::App* sub, Action run) { commands.emplace_back(sub, std::move(run)); }
};

// Options every command that reads a policy takes.
struct PolicyArgs {
  std::string policy;
  std::vector<std::string> defines;
  std::string firewall;  // --firewall: which of the policy's firewalls
  std::string diagnostics_format = "text";
  bool timing = false;
  bool no_analysis = false;
  size_t analysis_budget = analysis::kDefaultAnalysisBudget;
  unsigned analysis_threads = 0;
  // --max-policy-size: the most a policy file (or an include) may hold.
  size_t max_policy_bytes = FileSystemLoader::kMaxPolicyBytes;
  // fwc check --expect: files of expectations (analysis/expectations.h).
  std::vector<std::string> expect_files;
  void AddTo(CLI::App* sub);
  std::set<std::string> define_set() const { return {defines.begin(), defines.end()}; }
};

// Reads and checks a policy and prints its diagnostics (to stderr, or to
// stdout in JSON/SARIF when diagnostics_to_stdout). Returns kExitOk when the
// policy can be compiled, kExitPolicy or kExitUsage otherwise. `writes`:
// the command would write an output (its error summary says none was).
int LoadPolicy(const PolicyArgs& args, const Registry& registry, Compilation& c,
               bool diagnostics_to_stdout = false, bool writes = false);

// --timing: "fwc: timing: parse 12.3 ms, 40 MB; ..." for the stages from
// `first` on (the time each took and the memory high-water mark after it).
void PrintTiming(const Compilation& c, std::size_t first);

// Splits the -W flags out of argv into registry.warning_flags; returns
// false (with the message printed) for an unknown one.
bool TakeWarningFlags(int& argc, char** argv, Registry& registry);
// The -W flags and the codes they take, for --help.
std::string WarningFlagsHelp();

// Writes data to path atomically: a temporary file next to it, flushed,
// then renamed over it. On failure path is untouched and *error says why.
bool WriteAtomically(const std::string& path, const std::string& data, unsigned mode,
                     std::string* error);
// Writes to stdout, or atomically to path unless it is empty or "-".
int WriteOutput(const std::string& path, const std::string& data, unsigned mode);

// "crm.fw:23: accept http from any to lb in outside": a rule as written.
std::string RuleText(const Compilation& c, const PolicyRule* r);
// "p.fw:12", "default", "builtin:loopback": what decided a packet, as one word.
std::string RuleWord(const Compilation& c, const analysis::QueryResult& r);
// --format json: a rule as {"file", "line", "text"} (the line as written), null for none.
std::string JsonRule(const Compilation& c, const PolicyRule* r);
std::string JsonFamily(Family f);  // "ipv4" or "ipv6", quoted

void AddCompileCommands(CLI::App& app, Registry& registry);
void AddAnalysisCommands(CLI::App& app, Registry& registry);
void AddApplyCommands(CLI::App& app, Registry& registry);
void AddImportCommands(CLI::App& app, Registry& registry);
void AddFormatCommands(CLI::App& app, Registry& registry);
void AddAuditCommands(CLI::App& app, Registry& registry);
// `fwc completion SHELL`, built from app once every other command is added.
void AddCompletionCommands(CLI::App& app, Registry& registry);

}  // namespace fwc::cli
