#include "compiler/syntax/syntax_errors.h"

#include <vector>

namespace fwc::syntax {
namespace {

bool IsKeyword(Tok t) {
  for (const Keyword& k : kKeywords)
    if (k.type == t) return true;
  return false;
}

// A token's text for a message: at most a line's worth.
std::string Short(std::string_view s) {
  if (s.size() <= 40) return std::string(s);
  return std::string(s.substr(0, 37)) + "...";
}

// The keyword among `allowed` that `word` is a plausible typo of, or "".
std::string Nearest(std::string_view word, const TokenSet& allowed) {
  std::vector<std::string> keywords;
  for (const Keyword& k : kKeywords)
    if (allowed.Has(k.type) && k.text != word) keywords.emplace_back(k.text);
  return ClosestName(std::string(word), keywords);
}

}  // namespace

std::string SyntaxErrors::Found(const Token& t) const {
  std::string text = Short(lexer_.Text(t));
  switch (t.type) {
    case Tok::kEof: return "the end of the file";
    case Tok::kId: return "the name '" + text + "'";
    case Tok::kNumber: return "the number " + text;
    case Tok::kAddr: return "the address " + text;
    case Tok::kString: return "the string " + text;
    default: return "'" + text + "'";
  }
}

std::string SyntaxErrors::Words(const TokenSet& s) const {
  std::vector<std::string> words;
  for (int t = 0; t < kTokenTypes; ++t)
    if (s.Has(static_cast<Tok>(t))) words.push_back(kTokenWords[t]);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

void SyntaxErrors::Report(const Mismatch& m) {
  ++count_;
  if (!diags_ || diags_->at_cap()) return;
  const Token& t = m.found;
  Loc at = At(t);
  if (t.type == Tok::kOther) {
    if (lexer_.Text(t) == "\"") {
      diags_->Error("syntax-error", at, "unterminated string",
                    "a string ends with '\"' on the same line; it cannot span lines");
      return;
    }
    diags_->Error("syntax-error", at, "unexpected character '" + Short(lexer_.Text(t)) + "'",
                  "remove the character, or quote it inside a \"string\"");
    return;
  }
  // A forgotten ';' is noticed only at the next token, often lines later;
  // point at the end of the statement that lacks it instead.
  if (m.expected.Has(Tok::kSemi) && m.previous.len > 0 && t.line > m.previous.line) {
    Loc end{file_, m.previous.line, m.previous.col + m.previous.len + 1, 1};
    diags_->Error("syntax-error", end, "missing ';' at the end of the statement",
                  "every statement and rule ends with ';'");
    return;
  }
  if (m.expected.Has(Tok::kId) && IsKeyword(t.type)) {
    diags_->Error("syntax-error", at, "'" + std::string(lexer_.Text(t)) + "' is a reserved word, not a name",
                  "choose another name; fwc.policy(5) lists the reserved words");
    return;
  }
  std::string expected = m.what && Words(m.expected).size() > 60 ? m.what : Words(m.expected);
  // A misspelt keyword that is also a valid name ("accept tpc 80 from")
  // is noticed only at the next token: point at the name.
  if (m.previous.type == Tok::kId && m.previous.len > 0) {
    std::string near = Nearest(lexer_.Text(m.previous), m.before);
    if (!near.empty()) {
      diags_->Error("syntax-error", At(m.previous),
                    "expected " + expected + " after the name '" + std::string(lexer_.Text(m.previous)) + "', found " +
                        Found(t),
                    "did you mean '" + near + "'?");
      return;
    }
  }
  std::string help = m.help ? m.help : "";
  if (help.empty() && (t.type == Tok::kId || IsKeyword(t.type))) {
    std::string near = Nearest(lexer_.Text(t), m.expected);
    if (!near.empty()) help = "did you mean '" + near + "'?";
  }
  if (help.empty())
    help = t.type == Tok::kEof ? "the file ended in the middle of a statement" : "see fwc.policy(5) for the syntax";
  diags_->Error("syntax-error", at, "expected " + expected + ", found " + Found(t), help);
}

void SyntaxErrors::Unclosed(const Token& open, const char* block, const Token& last, const Token& found) {
  ++count_;
  if (!diags_ || diags_->at_cap()) return;
  // Where the '}' is missing: after the block's last token.
  Loc end{file_, last.line, last.col + last.len + 1, 1};
  std::string why = found.type == Tok::kEof ? "the file ends" : Found(found) + " begins a new statement";
  diags_->Error("syntax-error", end, std::string("missing '}' at the end of the ") + block + ": " + why,
                "add '}' here")
      .notes.push_back({At(open), std::string("the ") + block + " starts here"});
}

}  // namespace fwc::syntax
