// The policy language's lexer: the tokens of grammar/Fwc.g4, numbered as
// ANTLR numbers them (fwc_tokens.h, generated from the grammar), read the way
// ANTLR's lexer reads them: the longest match of any rule, and on a tie the
// rule defined first (keywords, then ADDR, NUMBER, ID); WS and COMMENT are
// skipped. tests/unit/syntax_test.cc compares it with ANTLR's lexer token by
// token.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>

#include "fwc_tokens.h"

namespace fwc::syntax {

// One token: where it is in bytes (for its text) and in lines and columns
// (for its Loc). col is 0-based and len counts code points, like ANTLR's.
struct Token {
  Tok type = Tok::kEof;
  size_t begin = 0;
  size_t end = 0;
  int line = 1;
  int col = 0;
  int len = 1;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text);
  // The next token; kEof at the end, again and again.
  Token Next();
  std::string_view Text(const Token& t) const { return s_.substr(t.begin, t.end - t.begin); }
  // The text from token t to the end of the input.
  std::string_view Rest(const Token& t) const { return s_.substr(t.begin); }

 private:
  char CharAt(size_t i) const { return i < s_.size() ? s_[i] : '\0'; }
  int CodePoints(size_t begin, size_t end) const;
  void SkipSpaceAndComments();
  Tok Classify(size_t* n);
  size_t CodePointBytes(size_t at) const;
  size_t AddrLength(size_t at) const;
  size_t PrefixLength(size_t at) const;
  size_t StringLength(size_t at) const;
  template <typename Pred>
  size_t Run(size_t from, Pred pred) const;

  std::string_view s_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 0;
};

// The keyword a word is, or Tok::kId.
inline Tok KeywordType(std::string_view word) {
  for (const Keyword& k : kKeywords)
    if (k.text == word) return k.type;
  return Tok::kId;
}

// The lexer is on the hot path of a policy of 100k rules: defined here, so
// that the parser's calls are inlined.
namespace lexer_detail {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline bool IsIdStart(char c) { return IsLetter(c) || c == '_'; }
inline bool IsIdChar(char c) { return IsIdStart(c) || IsDigit(c) || c == '-'; }
inline bool IsV6Char(char c) { return IsHex(c) || c == '.' || c == ':'; }
// A UTF-8 continuation byte: not a code point of its own (columns count
// code points, as ANTLR does).
inline bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

}  // namespace lexer_detail

template <typename Pred>
inline size_t Lexer::Run(size_t from, Pred pred) const {
  size_t i = from;
  while (i < s_.size() && pred(s_[i])) ++i;
  return i - from;
}

inline Lexer::Lexer(std::string_view text) : s_(text) {
  // ANTLR's input stream drops a UTF-8 byte order mark; the first line's
  // columns then count from after it.
  if (s_.substr(0, 3) == "\xef\xbb\xbf") pos_ = 3;
}

inline Token Lexer::Next() {
  SkipSpaceAndComments();
  Token t;
  t.begin = pos_;
  t.line = line_;
  t.col = col_;
  if (pos_ >= s_.size()) {
    t.type = Tok::kEof;
    t.end = pos_;
    return t;
  }
  size_t n = 1;
  t.type = Classify(&n);
  t.end = pos_ + n;
  // Only strings (and ANYCHAR) may hold characters outside ASCII.
  t.len = t.type == Tok::kString || t.type == Tok::kOther ? CodePoints(t.begin, t.end)
                                                         : static_cast<int>(n);
  pos_ = t.end;
  col_ += t.len;
  return t;
}

inline int Lexer::CodePoints(size_t begin, size_t end) const {
  int n = 0;
  for (size_t i = begin; i < end; ++i) n += !lexer_detail::IsContinuation(s_[i]);
  return n;
}

inline void Lexer::SkipSpaceAndComments() {
  while (pos_ < s_.size()) {
    char c = s_[pos_];
    if (c == '\n') {
      ++line_;
      col_ = 0;
      ++pos_;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++col_;
      ++pos_;
    } else if (c == '#') {
      size_t end = pos_;
      while (end < s_.size() && s_[end] != '\n' && s_[end] != '\r') ++end;
      col_ += CodePoints(pos_, end);
      pos_ = end;
    } else {
      return;
    }
  }
}

// The type of the token at pos_; sets *n to its length in bytes.
inline Tok Lexer::Classify(size_t* n) {
  char c = s_[pos_];
  switch (c) {
    case ';': return Tok::kSemi;
    case '{': return Tok::kLBrace;
    case '}': return Tok::kRBrace;
    case ',': return Tok::kComma;
    case '-': return Tok::kDash;
    case '/': return Tok::kSlash;
    case '"':
      if (size_t len = StringLength(pos_)) {
        *n = len;
        return Tok::kString;
      }
      return Tok::kOther;
    default: break;
  }
  size_t id = lexer_detail::IsIdStart(c) ? Run(pos_, lexer_detail::IsIdChar) : 0;
  size_t number = lexer_detail::IsDigit(c) ? Run(pos_, lexer_detail::IsDigit) : 0;
  size_t addr = AddrLength(pos_);
  size_t longest = std::max({id, number, addr});
  if (longest == 0) {
    *n = CodePointBytes(pos_);
    return Tok::kOther;
  }
  *n = longest;
  if (id == longest) {
    Tok kw = KeywordType(s_.substr(pos_, id));
    if (kw != Tok::kId) return kw;
  }
  if (addr == longest) return Tok::kAddr;
  if (number == longest) return Tok::kNumber;
  return Tok::kId;
}

inline size_t Lexer::CodePointBytes(size_t at) const {
  size_t i = at + 1;
  while (i < s_.size() && lexer_detail::IsContinuation(s_[i])) ++i;
  return i - at;
}

// ADDR : V4 ('/' [0-9]+)? | V6 ('/' [0-9]+)?, the longest match or 0.
inline size_t Lexer::AddrLength(size_t at) const {
  // V6 : [0-9a-fA-F.]* ':' [0-9a-fA-F:.]* matches any run of those
  // characters that holds a ':'; the longest match is the whole run.
  size_t v6 = Run(at, lexer_detail::IsV6Char);
  if (std::memchr(s_.data() + at, ':', v6) == nullptr) v6 = 0;
  else v6 += PrefixLength(at + v6);
  // V4 : [0-9]+ ('.' [0-9]+)+
  size_t v4 = 0;
  if (lexer_detail::IsDigit(CharAt(at))) {
    size_t i = at + Run(at, lexer_detail::IsDigit);
    int groups = 0;
    while (CharAt(i) == '.' && lexer_detail::IsDigit(CharAt(i + 1))) {
      i += 1 + Run(i + 1, lexer_detail::IsDigit);
      ++groups;
    }
    if (groups > 0) v4 = i - at + PrefixLength(i);
  }
  return std::max(v4, v6);
}

// The optional ('/' [0-9]+) after an address: its length or 0.
inline size_t Lexer::PrefixLength(size_t at) const {
  if (CharAt(at) != '/' || !lexer_detail::IsDigit(CharAt(at + 1))) return 0;
  return 1 + Run(at + 1, lexer_detail::IsDigit);
}

// STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"': its length, or 0 when
// the string is not closed on its line (ANTLR then lexes '"' as ANYCHAR).
inline size_t Lexer::StringLength(size_t at) const {
  for (size_t i = at + 1; i < s_.size(); ++i) {
    char c = s_[i];
    if (c == '"') return i + 1 - at;
    if (c == '\r' || c == '\n') return 0;
    if (c == '\\') {
      char next = CharAt(i + 1);
      if (i + 1 >= s_.size() || next == '\r' || next == '\n') return 0;
      ++i;  // a multi-byte character's other bytes are plain characters here
    }
  }
  return 0;
}


// What a token type is called in a syntax error: "'accept'", "an address".
const char* TokenWords(Tok t);

// Token values, shared by both parsers so that they decode alike.
// A STRING token without its quotes, with \" \\ and any other \x resolved to
// the escaped character.
std::string StringValue(std::string_view token);
// A NUMBER token's value; saturates at UINT64_MAX instead of overflowing
// (range checks later report the number as written).
uint64_t NumberValue(std::string_view token);

}  // namespace fwc::syntax
