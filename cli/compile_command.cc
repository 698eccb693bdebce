// fwc compile / fwc check.
#include <iostream>

#include "backends/registry.h"
#include "cli/cli.h"
#include "compiler/syntax/reference_parser.h"
#include "compiler/semantics/model_dump.h"
#include "compiler/syntax/ast_dump.h"

namespace fwc::cli {
namespace {

struct CompileArgs {
  PolicyArgs policy;
  std::string target = "nft";
  std::string output;
  std::string dump;
  bool reference_parser = false;
};

// --reference-parser: every file read again by the parser generated from
// the grammar, which must agree with fwc's own.
int CheckWithReference(const Compilation& c) {
  int status = kExitOk;
  for (int i = 0; i < c.sources().size(); ++i) {
    std::string why = syntax::reference::Disagreement(i, c.sources().text(i));
    if (why.empty()) continue;
    std::cerr << "fwc: internal error: in " << c.sources().path(i) << ", " << why
              << "; please report it, with the file\n";
    status = kExitUsage;
  }
  if (status == kExitOk)
    std::cerr << "fwc: the grammar's parser reads " << c.sources().size()
              << (c.sources().size() == 1 ? " file" : " files") << " exactly as fwc's does\n";
  return status;
}

int Compile(const CompileArgs& a, const Registry& registry, bool emit) {
  Compilation c;
  c.set_keep_ast(a.dump == "ast");
  c.set_keep_placed(emit);
  // `check` has no other output, so machine-readable diagnostics go to
  // stdout there; `compile` keeps stdout for the rules.
  int rc = LoadPolicy(a.policy, registry, c, !emit, emit);
  if (a.reference_parser) {
    int ref = CheckWithReference(c);
    if (ref != kExitOk) return ref;
  }
  if (rc != kExitOk) return rc;
  if (!emit) return kExitOk;
  // The placed rules are dumped before the lowering takes them.
  if (a.dump == "placed")
    return WriteOutput(a.output, DumpPlaced(c.sections(), c.sources()) + DumpPlaced(c.placed(), c.sources()), 0644);
  auto backend = MakeBackend(a.target);
  std::size_t checked = c.timings().size();
  std::string out;
  if (a.dump == "model") out = DumpModel(c.model(), c.sources());  // the last lowering frees the model
  ir::Ruleset rs = c.LowerLast(backend->caps());
  c.Lap("lower");
  if (a.dump == "ast") out = DumpAst(c.unit());
  else if (a.dump == "ir") out = ir::Dump(rs);
  else if (a.dump.empty()) out = backend->Emit(rs);
  c.Lap("emit");
  int written = WriteOutput(a.output, out, a.dump.empty() ? backend->file_mode() : 0644);
  c.Lap("write");
  if (a.policy.timing) PrintTiming(c, checked);
  return written;
}

}  // namespace

void AddCompileCommands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* compile = app.add_subcommand("compile", "compile POLICY and write the rules");
  args->policy.AddTo(compile);
  compile->add_option("-t,--target", args->target, "output format")
      ->check(CLI::IsMember(BackendNames()))
      ->capture_default_str();
  compile->add_option("-o,--output", args->output, "write to FILE atomically instead of stdout")->type_name("FILE");
  compile->add_option("--dump", args->dump, "print a compiler stage instead of the rules")
      ->check(CLI::IsMember({"ast", "model", "placed", "ir"}));
  registry.Add(compile, [args, &registry] { return Compile(*args, registry, true); });

  auto check_args = std::make_shared<CompileArgs>();
  CLI::App* check = app.add_subcommand("check", "run every check of POLICY; write nothing");
  check_args->policy.AddTo(check);
  check->add_option("--expect", check_args->policy.expect_files,
                    "check the expectations of FILE: lines 'VERDICT PACKET' (the packet as for query); repeatable")
      ->type_name("FILE");
  check->add_flag("--reference-parser", check_args->reference_parser,
                  "also read every file with the parser generated from the grammar, and fail if it disagrees");
  registry.Add(check, [check_args, &registry] { return Compile(*check_args, registry, false); });
}

}  // namespace fwc::cli
