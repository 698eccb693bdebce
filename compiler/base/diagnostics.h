// The one diagnostics engine every stage reports to. A diagnostic has a
// stable code (e.g. "unknown-name") so tests and users can refer to it, a
// primary location, a message saying what is wrong, a help line saying what
// to do, and optional notes pointing at related places.
#pragma once

#include <map>
#include <optional>
#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/base/source.h"

namespace fwc {

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  struct Note {
    Loc loc;
    std::string message;
  };
  Severity severity = Severity::kError;
  std::string code;
  Loc loc;
  std::string message;
  std::string help;
  std::vector<Note> notes;
};

// How -W flags and `nowarn` change a diagnostic: ignore it, or make it a
// warning or an error, per stable code.
class DiagnosticControl {
 public:
  enum class Level { kDefault, kIgnore, kNote, kWarning, kError };

  // Codes a user may name in -W flags and `nowarn`.
  static const std::vector<std::string>& ControllableCodes();

  // Applies one flag: -Werror, -Wno-error, -WCODE, -Wno-CODE, -Werror=CODE,
  // -Wno-error=CODE. Returns false with *error set for an unknown flag or
  // code.
  bool Apply(const std::string& flag, std::string* error);

  // The severity a diagnostic of this code gets, or nullopt to drop it.
  std::optional<Severity> Resolve(const std::string& code, Severity default_severity) const;

 private:
  std::map<std::string, Level> levels_;
  std::map<std::string, bool> error_;  // -Werror=CODE / -Wno-error=CODE
  bool warnings_as_errors_ = false;
};

class Diagnostics {
 public:
  // Errors past the cap are counted but not kept: a file full of garbage
  // must not produce megabytes of output.
  static constexpr int kMaxErrors = 50;

  explicit Diagnostics(const SourceManager& sources) : sources_(sources) {}

  Diagnostic& Error(std::string code, Loc loc, std::string message,
                    std::string help = "");
  Diagnostic& Warning(std::string code, Loc loc, std::string message,
                      std::string help = "");
  // A diagnostic whose severity -W flags may change or that they may drop
  // (nullptr then), e.g. an analysis finding.
  Diagnostic* Report(const std::string& code, Severity default_severity, Loc loc,
                     std::string message, std::string help = "");

  DiagnosticControl& control() { return control_; }
  // Text rendering with ANSI colours (for a terminal): the severity in
  // colour, the location bold, the caret green. JSON and SARIF never are.
  void set_color(bool on) { color_ = on; }

  int error_count() const { return errors_; }
  bool has_errors() const { return errors_ > 0; }
  bool at_cap() const { return errors_ >= kMaxErrors; }
  const std::vector<Diagnostic>& all() const { return diags_; }

  // Renders every diagnostic, rustc-style, with the source line and a caret.
  std::string Render() const;
  // Machine-readable forms for CI systems.
  std::string RenderJson() const;
  std::string RenderSarif(const std::string& tool_version) const;
  // The same, written to out as they are rendered: 100k findings render to
  // 30 MB, which need not be in memory at once.
  void Render(std::ostream& out) const;
  void RenderJson(std::ostream& out) const;
  void RenderSarif(std::ostream& out, const std::string& tool_version) const;
  std::string Render(const Diagnostic& d) const;

 private:
  Diagnostic& Add(Severity sev, std::string code, Loc loc, std::string message,
                  std::string help);

  const SourceManager& sources_;
  DiagnosticControl control_;
  bool color_ = false;
  std::vector<Diagnostic> diags_;
  Diagnostic overflow_;  // sink for diagnostics past the cap
  int errors_ = 0;
};

// "did you mean" support: the closest candidate within a small edit
// distance, or "" when nothing is close enough to be a plausible typo.
std::string ClosestName(const std::string& name,
                        const std::vector<std::string>& candidates);

}  // namespace fwc
