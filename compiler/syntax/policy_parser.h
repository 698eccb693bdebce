// The parser of one policy file: a hand-written lexer (lexer.h) and
// recursive-descent parser for grammar/Fwc.g4, which builds the AST
// directly and reports syntax errors in plain words (syntax_errors.h).
//
// It accepts exactly what the grammar accepts and builds exactly the AST the
// reference parser (reference_parser.h, ANTLR's parse tree) builds, every
// string and every Loc; tests/unit/syntax_test.cc and the parser fuzzer
// check both, token by token and tree by tree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/base/diagnostics.h"
#include "compiler/syntax/ast.h"

namespace fwc::syntax {

// An include statement: the path as written (unquoted) and where it is.
struct IncludeRef {
  std::string path;
  Loc loc;
};

// Parses one file's text (valid UTF-8, as parser.cc checks first),
// appending its declarations to unit and its include statements to
// includes. Each mistake is reported to diags (when not null) once; the
// statement or rule it is in is left out and parsing goes on. Returns
// whether the file had no syntax error.
bool ParseFile(int file, std::string_view text, ast::Unit& unit, std::vector<IncludeRef>& includes,
               Diagnostics* diags);

}  // namespace fwc::syntax
