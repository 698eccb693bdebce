// The fast path of the front end: a hand-written lexer and recursive-descent
// parser for grammar/Fwc.g4. The ANTLR parser needs about ten times the time
// and fifty times the memory of the text for a large policy; this one reads
// the text once and builds the AST directly.
//
// It accepts exactly what the ANTLR parser accepts without a syntax error
// and then builds exactly the AST that parser.cc builds from the ANTLR parse
// tree (every string and every Loc). On the first token it does not expect
// it gives up without a diagnostic: parser.cc then parses the file again with
// ANTLR, which reports the error as before. So a wrong rejection only costs
// time, while a wrong acceptance would be a bug: when in doubt, reject.
// tests/unit/direct_parser_test.cc and tests/fuzz/parser_fuzzer.cc compare
// the two parsers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/syntax/ast.h"

namespace fwc {

// An include statement: the path as written (unquoted) and where it is.
struct IncludeRef {
  std::string path;
  Loc loc;
};

// Parses one file's text (valid UTF-8, as parser.cc checks first). On
// success appends the file's declarations to unit and its include
// statements to includes, and returns true. When the text is not a valid
// policy returns false and leaves unit and includes as they were.
bool ParseDirect(int file, std::string_view text, ast::Unit& unit, std::vector<IncludeRef>& includes);

// Token values, shared by both parsers so that they decode alike.
// A STRING token without its quotes, with \" \\ and any other \x resolved to
// the escaped character.
std::string StringValue(std::string_view token);
// A NUMBER token's value; saturates at UINT64_MAX instead of overflowing
// (range checks later report the number as written).
uint64_t NumberValue(std::string_view token);

}  // namespace fwc
