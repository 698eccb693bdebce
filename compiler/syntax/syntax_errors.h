// The one component that writes syntax errors, in plain words: what was
// expected (the grammar's words for each token, from fwc_tokens.h), what was
// found, and what to do. It knows the mistakes people make: a forgotten ';'
// (reported at the end of the statement that lacks it, not at the next
// one), a misspelt keyword (did you mean 'accept'?), a reserved word used as
// a name, a '{' never closed, a statement that is not one.
#pragma once

#include <cstdint>
#include <string>

#include "compiler/base/diagnostics.h"
#include "compiler/syntax/lexer.h"

namespace fwc::syntax {

// The tokens the parser would have taken at the point of a mistake.
class TokenSet {
 public:
  TokenSet() = default;
  TokenSet(std::initializer_list<Tok> toks) {
    for (Tok t : toks) Add(t);
  }
  void Add(Tok t) { bits_ |= Bits{1} << static_cast<int>(t); }
  void AddAll(TokenSet o) { bits_ |= o.bits_; }
  bool Has(Tok t) const { return (bits_ >> static_cast<int>(t)) & 1; }
  bool empty() const { return bits_ == 0; }
  void clear() { bits_ = 0; }

 private:
  using Bits = unsigned __int128;
  Bits bits_ = 0;
  static_assert(kTokenTypes <= 128, "token types must fit in a TokenSet");
};

// A mistake: found where one of `expected` (one of `what`, in words, when
// the list would be long) should have been.
struct Mismatch {
  Token found;
  Token previous;  // the last token taken before it
  TokenSet expected;
  TokenSet before;  // what was expected where `previous` is
  const char* what = nullptr;  // e.g. "a statement"
  const char* help = nullptr;  // what to do, when the parser knows better than "see fwc.policy(5)"
};

class SyntaxErrors {
 public:
  SyntaxErrors(int file, const Lexer& lexer, Diagnostics* diags) : file_(file), lexer_(lexer), diags_(diags) {}

  void Report(const Mismatch& m);
  // A block's '{' with no '}': the file ended, or the next statement began,
  // after `last`, the block's last token.
  void Unclosed(const Token& open, const char* block, const Token& last, const Token& found);

  int count() const { return count_; }

 private:
  Loc At(const Token& t) const { return Loc{file_, t.line, t.col + 1, t.len}; }
  std::string Found(const Token& t) const;
  std::string Words(const TokenSet& s) const;

  int file_;
  const Lexer& lexer_;
  Diagnostics* diags_;
  int count_ = 0;
};

}  // namespace fwc::syntax
