// The one diagnostics engine every stage reports to. A diagnostic has a
// stable code (e.g. "unknown-name") so tests and users can refer to it, a
// primary location, a message saying what is wrong, a help line saying what
// to do, and optional notes pointing at related places.
#pragma once

#include <string>
#include <vector>

#include "compiler/source.h"

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

  int error_count() const { return errors_; }
  bool has_errors() const { return errors_ > 0; }
  bool at_cap() const { return errors_ >= kMaxErrors; }
  const std::vector<Diagnostic>& all() const { return diags_; }

  // Renders every diagnostic, rustc-style, with the source line and a caret.
  std::string Render() const;
  std::string Render(const Diagnostic& d) const;

 private:
  Diagnostic& Add(Severity sev, std::string code, Loc loc, std::string message,
                  std::string help);

  const SourceManager& sources_;
  std::vector<Diagnostic> diags_;
  Diagnostic overflow_;  // sink for diagnostics past the cap
  int errors_ = 0;
};

// "did you mean" support: the closest candidate within a small edit
// distance, or "" when nothing is close enough to be a plausible typo.
std::string ClosestName(const std::string& name,
                        const std::vector<std::string>& candidates);

}  // namespace fwc
