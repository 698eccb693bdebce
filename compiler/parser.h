// Front end: text -> ast::Unit. The ANTLR parse tree is converted here and
// never escapes this file pair; includes are followed through a
// SourceLoader so tests can parse from memory.
#pragma once

#include <ios>
#include <optional>
#include <string>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"

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

class FileSystemLoader : public SourceLoader {
 public:
  static constexpr std::streamoff kMaxPolicyBytes = 16 << 20;
  std::optional<std::string> Read(const std::string& path,
                                  std::string* error) override;
  std::string Canonical(const std::string& path) override;
};

// Parses the file at path (whose text is given) and every file it includes,
// reporting problems to diags. Returns what could be parsed even when there
// were errors, so later checks can still report theirs.
ast::Unit ParsePolicy(const std::string& path, std::string text,
                      SourceLoader& loader, SourceManager& sources,
                      Diagnostics& diags);

}  // namespace fwc
