// The reference parser: ANTLR's lexer and parser generated from
// grammar/Fwc.g4, the language's one definition, and the conversion of its
// parse tree into the AST. fwc's own parser (policy_parser.h) must agree with
// it token by token and tree by tree; the tests, the parser fuzzer and
// `fwc check --reference-parser` hold it to that.
#pragma once

#include <string>
#include <vector>

#include "compiler/syntax/ast.h"
#include "compiler/syntax/policy_parser.h"

namespace fwc::syntax::reference {

struct Result {
  bool accepted = false;  // the grammar accepts the text
  ast::Unit unit;         // what ANTLR's error recovery made of it otherwise
  std::vector<IncludeRef> includes;
};

// Parses one file's text (valid UTF-8) with ANTLR.
Result ParseFile(int file, const std::string& text);

// A token as a lexer read it (the skipped ones, spaces and comments, left
// out): its ANTLR type, 1-based line, 0-based column and text.
struct Token {
  int type = 0;
  int line = 0, col = 0;
  std::string text;
};
std::vector<Token> Tokens(const std::string& text);        // ANTLR's lexer
std::vector<Token> DirectTokens(const std::string& text);  // fwc's

// "" when both lexers read the same tokens and both parsers accept (or both
// reject) the text; else what differs.
std::string Disagreement(int file, const std::string& text);

}  // namespace fwc::syntax::reference
