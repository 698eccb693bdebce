// The AST printed back as policy text in canonical form (fwc compile --dump
// ast): a bug in the front end is found by reading what it produced.
#pragma once

#include <string>

#include "compiler/syntax/ast.h"

namespace fwc {

// One statement a line, includes already merged.
std::string DumpAst(const ast::Unit& unit);

}  // namespace fwc
