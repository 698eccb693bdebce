// The pieces every importer shares: where its input came from, how it
// reports what it cannot map, and the options of `fwc import`.
#pragma once

#include <string>
#include <vector>

#include "compiler/base/diagnostics.h"
#include "import/policy_draft.h"

namespace fwc::import {

struct ImportOptions {
  // Keep going past what cannot be mapped: the gaps become warnings and
  // comments in the policy instead of errors.
  bool partial = false;
  // Only this firewall of a file that holds several ("" = all).
  std::string firewall;
  // The firewall's own addresses, "eth0=192.0.2.1/24", for rulesets that
  // do not say them (iptables-save and nft never do).
  std::vector<std::string> addresses;
};

// How an importer reports. Unmapped() is an error (code import-unmapped)
// unless --partial made it a warning; either way the caller gets to know
// that the policy is incomplete.
class ImportReporter {
 public:
  ImportReporter(Diagnostics& diags, bool partial) : diags_(diags), partial_(partial) {}
  void Unmapped(Loc loc, std::string message, std::string help = "") {
    ++unmapped_;
    if (partial_) diags_.Warning("import-unmapped", loc, std::move(message), std::move(help));
    else diags_.Error("import-unmapped", loc, std::move(message), std::move(help));
  }
  // Input that is not of the format at all (bad XML, an unknown command).
  void Malformed(Loc loc, std::string message, std::string help = "") {
    diags_.Error("import-syntax", loc, std::move(message), std::move(help));
  }
  void Note(Loc loc, std::string message) { diags_.Warning("import-note", loc, std::move(message)); }
  bool partial() const { return partial_; }
  int unmapped() const { return unmapped_; }
  Diagnostics& diags() { return diags_; }

 private:
  Diagnostics& diags_;
  bool partial_;
  int unmapped_ = 0;
};

}  // namespace fwc::import
