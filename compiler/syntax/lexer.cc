#include "compiler/syntax/lexer.h"

namespace fwc::syntax {

const char* TokenWords(Tok t) { return kTokenWords[static_cast<int>(t)]; }

std::string StringValue(std::string_view token) {
  std::string out;
  for (size_t i = 1; i + 1 < token.size(); ++i) {
    if (token[i] == '\\' && i + 2 < token.size()) ++i;
    out += token[i];
  }
  return out;
}

uint64_t NumberValue(std::string_view token) {
  uint64_t v = 0;
  for (char c : token) {
    if (v > (UINT64_MAX - 9) / 10) return UINT64_MAX;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace fwc::syntax
