#include "compiler/diagnostics.h"

#include <algorithm>

namespace fwc {

Diagnostic& Diagnostics::Add(Severity sev, std::string code, Loc loc,
                             std::string message, std::string help) {
  if (sev == Severity::kError) {
    ++errors_;
    if (errors_ > kMaxErrors) {
      overflow_ = Diagnostic{};
      return overflow_;
    }
  }
  diags_.push_back(Diagnostic{sev, std::move(code), loc, std::move(message),
                              std::move(help), {}});
  return diags_.back();
}

Diagnostic& Diagnostics::Error(std::string code, Loc loc, std::string message,
                               std::string help) {
  return Add(Severity::kError, std::move(code), loc, std::move(message),
             std::move(help));
}

Diagnostic& Diagnostics::Warning(std::string code, Loc loc, std::string message,
                                 std::string help) {
  return Add(Severity::kWarning, std::move(code), loc, std::move(message),
             std::move(help));
}

namespace {

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kNote: return "note";
  }
  return "error";
}

// "file:line:col" or "fwc" for diagnostics without a location.
std::string Where(const SourceManager& sm, const Loc& loc) {
  if (!loc.valid()) return "fwc";
  return sm.path(loc.file) + ":" + std::to_string(loc.line) + ":" +
         std::to_string(loc.col);
}

// Bytes in the UTF-8 sequence that starts with c.
size_t Utf8Length(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

// The source line and a caret line under the span. Columns count code
// points, as the parser does; tabs are kept in the padding so the caret
// lines up in a terminal.
void Snippet(const SourceManager& sm, const Loc& loc, std::string& out) {
  if (!loc.valid() || loc.line < 1) return;
  std::string_view line = sm.Line(loc.file, loc.line);
  std::string num = std::to_string(loc.line);
  std::string gutter(num.size(), ' ');
  out += " " + num + " | " + std::string(line) + "\n";
  out += " " + gutter + " | ";
  size_t pos = 0;
  for (int i = 1; i < loc.col && pos < line.size(); ++i) {
    out += line[pos] == '\t' ? '\t' : ' ';
    pos += Utf8Length(static_cast<unsigned char>(line[pos]));
  }
  int len = std::max(loc.len, 1);
  out += "^" + std::string(static_cast<size_t>(len - 1), '~') + "\n";
}

}  // namespace

std::string Diagnostics::Render(const Diagnostic& d) const {
  std::string out = Where(sources_, d.loc) + ": " + SeverityName(d.severity) +
                    ": " + d.message;
  if (!d.code.empty()) out += " [" + d.code + "]";
  out += "\n";
  Snippet(sources_, d.loc, out);
  for (const auto& n : d.notes) {
    out += Where(sources_, n.loc) + ": note: " + n.message + "\n";
    Snippet(sources_, n.loc, out);
  }
  if (!d.help.empty()) out += "  = help: " + d.help + "\n";
  return out;
}

std::string Diagnostics::Render() const {
  std::string out;
  for (const auto& d : diags_) out += Render(d);
  // Stages stop early once the cap is reached, so the count past it is a
  // lower bound.
  if (errors_ >= kMaxErrors)
    out += "fwc: error: too many errors; only the first " + std::to_string(kMaxErrors) +
           " are shown\n";
  return out;
}

namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string ClosestName(const std::string& name,
                        const std::vector<std::string>& candidates) {
  // A third of the name's length is about what a typo changes; beyond that a
  // suggestion is more confusing than helpful.
  const size_t limit = std::max<size_t>(1, name.size() / 3);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    size_t d = EditDistance(name, c);
    if (d < best_d || (d == best_d && c < best)) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

}  // namespace fwc
