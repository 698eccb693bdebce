// One small interface for every output format. A backend turns the IR into
// text and declares what it can express natively (LoweringCaps), so lowering
// can do the rest. Adding a backend means a folder here and one line in
// registry.cc (registry.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/caps.h"

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

// Text that comes from outside fwc (a file name, a comment, a log prefix)
// made plain, so that no target can read it as anything but text: double
// quotes become ', backslashes /, control characters (line breaks
// included) spaces and bytes that are not UTF-8 '?'; then it is cut to at
// most max_bytes without splitting a UTF-8 sequence. Each backend has one
// function that writes such text, and that function calls this one.
std::string PlainText(std::string_view s, size_t max_bytes = SIZE_MAX);

}  // namespace fwc
