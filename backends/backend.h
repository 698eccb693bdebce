// One small interface for every output format. A backend turns the IR into
// text and declares what it can express natively (LoweringCaps), so lowering
// can do the rest. Adding a backend means a folder here and one line in
// registry.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ir.h"
#include "compiler/lower.h"

namespace fwc {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual LoweringCaps caps() const = 0;
  // The complete output file: deterministic for a given IR.
  virtual std::string Emit(const ir::Ruleset& rs) const = 0;
  // File mode for `-o`: scripts are executable.
  virtual unsigned file_mode() const { return 0644; }
};

// nullptr for an unknown name.
std::unique_ptr<Backend> MakeBackend(const std::string& name);
std::vector<std::string> BackendNames();

// Cuts s to at most max_bytes without splitting a UTF-8 sequence, and
// replaces what neither target can carry safely in a quoted string: double
// quotes, backslashes and control characters.
std::string KernelComment(const std::string& s, size_t max_bytes);

}  // namespace fwc
