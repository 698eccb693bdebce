// Front end: text -> ast::Unit. Each file is read through a SourceLoader (so
// tests can parse from memory), checked to be UTF-8, and parsed by the
// policy parser (policy_parser.h); includes are followed depth first.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "compiler/syntax/ast.h"
#include "compiler/base/diagnostics.h"

namespace fwc {

class SourceLoader {
 public:
  virtual ~SourceLoader() = default;
  // Reads a file. On failure returns nullopt and sets *error (e.g. "No such
  // file or directory").
  virtual std::optional<std::string> Read(const std::string& path,
                                          std::string* error) = 0;
  // A key identifying the file regardless of how its path was written, to
  // detect recursive includes.
  virtual std::string Canonical(const std::string& path) { return path; }
};

// Reads regular files only, and at most max_bytes of each: a device
// (/dev/zero), a FIFO or a socket named as a policy or an include is an
// error at once, not an endless read or a wait.
class FileSystemLoader : public SourceLoader {
 public:
  static constexpr size_t kMaxPolicyBytes = 16 << 20;
  explicit FileSystemLoader(size_t max_bytes = kMaxPolicyBytes) : max_bytes_(max_bytes) {}
  std::optional<std::string> Read(const std::string& path,
                                  std::string* error) override;
  std::string Canonical(const std::string& path) override;
  // The policy given as "-": standard input, whatever it is (a pipe, a
  // file, a terminal), up to max_bytes too.
  std::optional<std::string> ReadStdin(std::string* error);

 private:
  std::optional<std::string> ReadAll(int fd, size_t size_hint, std::string* error);
  size_t max_bytes_;
};

// Parses the file at path (whose text is given) and every file it includes,
// reporting problems to diags. Returns what could be parsed even when there
// were errors, so later checks can still report theirs.
// Reports the first byte of a file's text that is not UTF-8 (or a NUL), if
// any; returns whether there was one. Neither parser reads such a file.
bool ReportInvalidUtf8(int file, std::string_view text, Diagnostics& diags);

ast::Unit ParsePolicy(const std::string& path, std::string text, SourceLoader& loader, SourceManager& sources,
                      Diagnostics& diags);

}  // namespace fwc
