// parser_fuzzer: bytes -> fwc::ParsePolicy, with includes served from
// memory (see fuzz_support.h). Checks that the parser never crashes, that
// every diagnostic it reports points inside its file, that a file the
// parser rejects gets at least one located error, and that rendering the
// diagnostics and dumping the AST work on whatever was parsed. And that
// fwc's parser agrees with the reference parser generated from the grammar
// (parser_agreement.h): the same tokens, the same accept or reject, and the
// same AST, every Loc included. And that fwc fmt formats every file the
// parser accepts (its own check compares AST, tokens and comments) and is
// idempotent.
#include <cstddef>
#include <cstdint>

#include "compiler/semantics/model_dump.h"
#include "compiler/syntax/ast_dump.h"
#include "compiler/syntax/formatter.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/parser_agreement.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    fwc::fuzz::FuzzLoader parts(data, size);
    fwc::test::Agreement a = fwc::test::CompareParsers(parts.main());
    if (!a.agree) fwc::fuzz::Fail("fwc's parser and the grammar disagree", a.why);
  }
  fwc::fuzz::FuzzLoader loader(data, size);
  fwc::SourceManager sources;
  fwc::Diagnostics diags(sources);
  fwc::ast::Unit unit =
      fwc::ParsePolicy(fwc::fuzz::FuzzLoader::kMain, loader.main(), loader, sources, diags);

  fwc::fuzz::CheckLocations(sources, diags);
  if (diags.has_errors()) {
    bool located = false;
    for (const auto& d : diags.all())
      located |= d.severity == fwc::Severity::kError && d.loc.valid() && d.loc.line >= 1;
    if (!located) fwc::fuzz::Fail("parse errors without a located error diagnostic", diags.Render());
  }
  // Every file parsed only once per include statement: a runaway include
  // graph would show up here before it shows up as a time-out.
  if (sources.size() > 1000)
    fwc::fuzz::Fail("include explosion", std::to_string(sources.size()) + " files parsed");

  {
    fwc::SourceManager fmt_sources;
    fwc::Diagnostics fmt_diags(fmt_sources);
    int file = fmt_sources.Add("main.fw", loader.main());
    auto once = fwc::syntax::FormatPolicy(file, fmt_sources.text(file), fmt_diags);
    for (const auto& d : fmt_diags.all())
      if (d.code == "fmt-changed-meaning") fwc::fuzz::Fail("fwc fmt would change the policy", fmt_diags.Render());
    if (once) {
      int again = fmt_sources.Add("again.fw", *once);
      auto twice = fwc::syntax::FormatPolicy(again, fmt_sources.text(again), fmt_diags);
      if (!twice || *twice != *once) fwc::fuzz::Fail("fwc fmt is not idempotent", *once);
    }
  }
  std::string rendered = diags.Render();
  std::string dump = fwc::DumpAst(unit);
  (void)rendered;
  (void)dump;
  return 0;
}
