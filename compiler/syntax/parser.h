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
  // A cap against runaway input (a log or a disk image named by mistake),
  // not against large policies: 1M rules are about 70-90 MB of text.
  // `--max-policy-size` changes it (fwc(8)).
  static constexpr size_t kMaxPolicyBytes = size_t{256} << 20;
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

// A size as a person writes it: a number of bytes, or with a K, M or G
// suffix (powers of 1024; "KiB", "MB" and the like read the same).
// nullopt for anything else, 0, or more than 2^62 bytes.
std::optional<size_t> ParseByteSize(std::string_view text);
// "256 MiB", "1 GiB", "1536 KiB", "100 bytes": the largest unit that is exact.
std::string FormatByteSize(size_t bytes);

// Parses the file at path (whose text is given) and every file it includes,
// reporting problems to diags. Returns what could be parsed even when there
// were errors, so later checks can still report theirs.
// Reports the first byte of a file's text that is not UTF-8 (or a NUL), if
// any; returns whether there was one. Neither parser reads such a file.
bool ReportInvalidUtf8(int file, std::string_view text, Diagnostics& diags);

ast::Unit ParsePolicy(const std::string& path, std::string text, SourceLoader& loader, SourceManager& sources,
                      Diagnostics& diags);

}  // namespace fwc
