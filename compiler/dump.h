// Readable dumps of the front-end stages, for `fwc compile --dump STAGE`:
// a bug is found by reading what each stage produced. (The IR's dump is
// ir::Dump in ir.h.)
#pragma once

#include <string>

#include "compiler/ast.h"
#include "compiler/model.h"

namespace fwc {

// The AST printed back as policy text in canonical form: one statement a
// line, includes already merged.
std::string DumpAst(const ast::Unit& unit);
// Every name resolved: the firewall's addresses and each rule's exact sets.
std::string DumpModel(const Model& model, const SourceManager& sources);

}  // namespace fwc
