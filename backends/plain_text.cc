#include <algorithm>

#include "backends/backend.h"
#include "compiler/base/utf8.h"

namespace fwc {

std::string PlainText(std::string_view s, size_t max_bytes) {
  // Neither target escapes reliably inside a quoted string, a '#' comment
  // ends at a line break, and the iptables output is a shell script: keep
  // only plain printable text.
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    std::string_view piece = n ? s.substr(i, n) : std::string_view("?");
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (n == 1 && c == '"') piece = "'";
    else if (n == 1 && c == '\\') piece = "/";
    else if (n == 1 && (c < 0x20 || c == 0x7f)) piece = " ";
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += n ? n : 1;
  }
  return out;
}

}  // namespace fwc
