// One compile: owns the sources and diagnostics and runs the stages
// parse -> resolve -> lower, each of which the CLI and tests can stop after.
#pragma once

#include <set>
#include <string>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/lower.h"
#include "compiler/model.h"
#include "compiler/parser.h"

namespace fwc {

class Compilation {
 public:
  Compilation() : diags_(sources_) {}
  Compilation(const Compilation&) = delete;
  Compilation& operator=(const Compilation&) = delete;

  // Parses and checks. Returns false when there were errors.
  bool Check(const std::string& path, std::string text, SourceLoader& loader,
             const std::set<std::string>& defines);
  // Lowers the checked model for a target with the given capabilities.
  ir::Ruleset Lower(const LoweringCaps& caps);

  const ast::Unit& unit() const { return unit_; }
  const Model& model() const { return model_; }
  Diagnostics& diags() { return diags_; }
  const SourceManager& sources() const { return sources_; }

 private:
  SourceManager sources_;
  Diagnostics diags_;
  ast::Unit unit_;
  Model model_;
  std::set<std::string> defines_;
};

}  // namespace fwc
