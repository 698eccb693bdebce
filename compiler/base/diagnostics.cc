#include "compiler/base/diagnostics.h"

#include "compiler/base/json.h"

#include <algorithm>
#include <sstream>

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
  auto sev = control_.Resolve(code, Severity::kWarning);
  if (!sev) {
    overflow_ = Diagnostic{};
    return overflow_;
  }
  return Add(*sev, std::move(code), loc, std::move(message), std::move(help));
}

Diagnostic* Diagnostics::Report(const std::string& code, Severity default_severity, Loc loc,
                                std::string message, std::string help) {
  auto sev = control_.Resolve(code, default_severity);
  if (!sev) return nullptr;
  Diagnostic& d = Add(*sev, code, loc, std::move(message), std::move(help));
  return &d == &overflow_ ? nullptr : &d;
}

const std::vector<std::string>& DiagnosticControl::ControllableCodes() {
  static const std::vector<std::string> codes = {
      "shadowed-rule", "redundant-rule", "conflicting-rule", "empty-rule",
      "never-matches", "unused-define",  "no-interfaces", "analysis-incomplete", "port-zero",
      "nat-filtered"};
  return codes;
}

bool DiagnosticControl::Apply(const std::string& flag, std::string* error) {
  if (flag == "-Werror") {
    warnings_as_errors_ = true;
    return true;
  }
  if (flag == "-Wno-error") {
    warnings_as_errors_ = false;
    return true;
  }
  std::string code;
  std::optional<Level> level;
  std::optional<bool> as_error;
  if (flag.rfind("-Werror=", 0) == 0) code = flag.substr(8), as_error = true;
  else if (flag.rfind("-Wno-error=", 0) == 0) code = flag.substr(11), as_error = false;
  else if (flag.rfind("-Wno-", 0) == 0) code = flag.substr(5), level = Level::kIgnore;
  else if (flag.rfind("-W", 0) == 0) code = flag.substr(2), level = Level::kWarning;
  const auto& known = ControllableCodes();
  if (std::find(known.begin(), known.end(), code) == known.end()) {
    std::string near = ClosestName(code, known);
    *error = "unknown diagnostic in '" + flag + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?");
    return false;
  }
  if (level) levels_[code] = *level;
  if (as_error) error_[code] = *as_error;
  return true;
}

std::optional<Severity> DiagnosticControl::Resolve(const std::string& code, Severity def) const {
  auto it = levels_.find(code);
  Level level = it == levels_.end() ? Level::kDefault : it->second;
  if (level == Level::kIgnore) return std::nullopt;
  Severity sev = def;
  // -WCODE shows a note-level finding as a warning; it never lowers an error.
  if (level == Level::kWarning && def == Severity::kNote) sev = Severity::kWarning;
  auto e = error_.find(code);
  if (e != error_.end()) {
    if (e->second) sev = Severity::kError;
    else if (sev == Severity::kError) sev = Severity::kWarning;
  } else if (warnings_as_errors_ && sev == Severity::kWarning) {
    sev = Severity::kError;
  }
  return sev;
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

// A file name as a terminal shows it: control characters (a file name may
// hold any byte but '/' and NUL) as \xNN instead of escape sequences.
std::string PrintablePath(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  }
  return out;
}

// "file:line:col" or "fwc" for diagnostics without a location.
std::string Where(const SourceManager& sm, const Loc& loc) {
  if (!loc.valid()) return "fwc";
  return PrintablePath(sm.path(loc.file)) + ":" + std::to_string(loc.line) + ":" +
         std::to_string(loc.col);
}

// Bytes in the UTF-8 sequence that starts with c.
size_t Utf8Length(unsigned char c) {
  return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

// The source line and a caret line under the span. Columns count code
// points, as the parser does; tabs are kept in the padding so the caret
// lines up in a terminal.
// ANSI escapes, or nothing when colour is off.
struct Paint {
  bool on;
  std::string operator()(const char* code, const std::string& text) const {
    return on ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  }
};

constexpr const char* kBold = "1";
constexpr const char* kBlue = "1;34";
constexpr const char* kGreen = "1;32";
constexpr const char* kCyan = "1;36";

const char* SeverityColor(Severity s) {
  return s == Severity::kError ? "1;31" : s == Severity::kWarning ? "1;35" : kCyan;
}

void Snippet(const SourceManager& sm, const Loc& loc, const Paint& paint, std::string& out) {
  if (!loc.valid() || loc.line < 1) return;
  std::string_view line = sm.Line(loc.file, loc.line);
  std::string num = std::to_string(loc.line);
  std::string gutter(num.size(), ' ');
  out += paint(kBlue, " " + num + " | ") + std::string(line) + "\n";
  out += paint(kBlue, " " + gutter + " | ");
  size_t pos = 0;
  for (int i = 1; i < loc.col && pos < line.size(); ++i) {
    out += line[pos] == '\t' ? '\t' : ' ';
    pos += Utf8Length(static_cast<unsigned char>(line[pos]));
  }
  int len = std::max(loc.len, 1);
  out += paint(kGreen, "^" + std::string(static_cast<size_t>(len - 1), '~')) + "\n";
}

}  // namespace

std::string Diagnostics::Render(const Diagnostic& d) const {
  Paint paint{color_};
  std::string out = paint(kBold, Where(sources_, d.loc) + ":") + " " +
                    paint(SeverityColor(d.severity), std::string(SeverityName(d.severity)) + ":") + " " +
                    paint(kBold, d.message);
  if (!d.code.empty()) out += " [" + d.code + "]";
  out += "\n";
  Snippet(sources_, d.loc, paint, out);
  for (const auto& n : d.notes) {
    out += paint(kBold, Where(sources_, n.loc) + ":") + " " + paint(kCyan, "note:") + " " + n.message + "\n";
    Snippet(sources_, n.loc, paint, out);
  }
  if (!d.help.empty()) out += "  = " + paint(kCyan, "help:") + " " + d.help + "\n";
  return out;
}

namespace {

// Takes rendered text and writes it on in pieces of about 64 KB: the whole
// output is never in memory, and an unbuffered stream (std::cerr) still
// gets few, large writes.
class ChunkWriter {
 public:
  explicit ChunkWriter(std::ostream& out) : out_(out) {}
  void Add(const std::string& text) {
    buf_ += text;
    if (buf_.size() >= kChunk) Flush();
  }
  void Flush() {
    out_ << buf_;
    buf_.clear();
  }

 private:
  static constexpr size_t kChunk = 1 << 16;
  std::ostream& out_;
  std::string buf_;
};

}  // namespace

std::string Diagnostics::Render() const {
  std::ostringstream o;
  Render(o);
  return o.str();
}

void Diagnostics::Render(std::ostream& out) const {
  ChunkWriter w(out);
  for (const auto& d : diags_) w.Add(Render(d));
  // Stages stop early once the cap is reached, so the count past it is a
  // lower bound.
  if (errors_ >= kMaxErrors)
    w.Add("fwc: error: too many errors; only the first " + std::to_string(kMaxErrors) + " are shown\n");
  w.Flush();
}

namespace {

std::string JsonLocation(const SourceManager& sm, const Loc& loc) {
  if (!loc.valid()) return "null";
  return "{\"file\": " + JsonString(sm.path(loc.file)) + ", \"line\": " + std::to_string(loc.line) +
         ", \"column\": " + std::to_string(loc.col) + ", \"length\": " + std::to_string(loc.len) + "}";
}

std::string SarifLocation(const SourceManager& sm, const Loc& loc, const std::string& message) {
  std::string out = "{\"physicalLocation\": {\"artifactLocation\": {\"uri\": " + JsonString(sm.path(loc.file)) +
                    "}, \"region\": {\"startLine\": " + std::to_string(loc.line) +
                    ", \"startColumn\": " + std::to_string(loc.col) +
                    ", \"endColumn\": " + std::to_string(loc.col + std::max(loc.len, 1)) + "}}";
  if (!message.empty()) out += ", \"message\": {\"text\": " + JsonString(message) + "}";
  return out + "}";
}

}  // namespace

std::string Diagnostics::RenderJson() const {
  std::ostringstream o;
  RenderJson(o);
  return o.str();
}

void Diagnostics::RenderJson(std::ostream& out) const {
  ChunkWriter w(out);
  w.Add("[");
  for (size_t i = 0; i < diags_.size(); ++i) {
    const Diagnostic& d = diags_[i];
    std::ostringstream o;
    o << (i ? ",\n " : "\n ") << "{\"severity\": " << JsonString(SeverityName(d.severity))
      << ", \"code\": " << JsonString(d.code) << ", \"message\": " << JsonString(d.message)
      << ", \"help\": " << JsonString(d.help) << ", \"location\": " << JsonLocation(sources_, d.loc)
      << ", \"notes\": [";
    for (size_t n = 0; n < d.notes.size(); ++n)
      o << (n ? ", " : "") << "{\"message\": " << JsonString(d.notes[n].message)
        << ", \"location\": " << JsonLocation(sources_, d.notes[n].loc) << "}";
    o << "]}";
    w.Add(o.str());
  }
  w.Add(diags_.empty() ? "]\n" : "\n]\n");
  w.Flush();
}

std::string Diagnostics::RenderSarif(const std::string& tool_version) const {
  std::ostringstream o;
  RenderSarif(o, tool_version);
  return o.str();
}

void Diagnostics::RenderSarif(std::ostream& out, const std::string& tool_version) const {
  ChunkWriter w(out);
  std::ostringstream o;
  std::vector<std::string> rules;
  for (const auto& d : diags_)
    if (std::find(rules.begin(), rules.end(), d.code) == rules.end()) rules.push_back(d.code);
  o << "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n"
    << "  \"runs\": [{\n    \"tool\": {\"driver\": {\"name\": \"fwc\", \"version\": " << JsonString(tool_version)
    << ", \"informationUri\": \"https://manpages.debian.org/fwc\", \"rules\": [";
  for (size_t i = 0; i < rules.size(); ++i) o << (i ? ", " : "") << "{\"id\": " << JsonString(rules[i]) << "}";
  o << "]}},\n    \"results\": [";
  w.Add(o.str());
  for (size_t i = 0; i < diags_.size(); ++i) {
    const Diagnostic& d = diags_[i];
    o.str("");
    const char* level = d.severity == Severity::kError ? "error" : d.severity == Severity::kWarning ? "warning" : "note";
    std::string text = d.message + (d.help.empty() ? "" : " (" + d.help + ")");
    o << (i ? ",\n      " : "\n      ") << "{\"ruleId\": " << JsonString(d.code) << ", \"level\": \"" << level
      << "\", \"message\": {\"text\": " << JsonString(text) << "}";
    if (d.loc.valid()) o << ", \"locations\": [" << SarifLocation(sources_, d.loc, "") << "]";
    std::string related;
    int id = 0;
    for (const auto& n : d.notes)
      if (n.loc.valid())
        related += std::string(related.empty() ? "" : ", ") + "{\"id\": " + std::to_string(id++) + ", " +
                   SarifLocation(sources_, n.loc, n.message).substr(1);
    if (!related.empty()) o << ", \"relatedLocations\": [" << related << "]";
    o << "}";
    w.Add(o.str());
  }
  w.Add(diags_.empty() ? "]\n  }]\n}\n" : "\n    ]\n  }]\n}\n");
  w.Flush();
}

namespace {

// Edits that turn a into b: insertions, deletions, substitutions and swaps
// of two neighbours ("tpc" is one edit from "tcp"; optimal string
// alignment).
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
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
