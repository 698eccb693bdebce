// iptables output: a POSIX sh script for boot that loads the IPv4 and IPv6
// filter tables with iptables-restore / ip6tables-restore. Both rule sets
// are checked with --test before either is loaded, so a rejected policy
// leaves the running rules alone. It replaces the whole filter table of each
// family; nat, mangle and raw are not touched.
#pragma once

#include "backends/backend.h"

namespace fwc {

class IptablesBackend : public Backend {
 public:
  static constexpr size_t kMaxComment = 256;
  // multiport takes at most 15 ports; a range counts as two.
  static constexpr int kMultiportSlots = 15;

  LoweringCaps caps() const override { return {/*negated_address_sets=*/false}; }
  std::string Emit(const ir::Ruleset& rs) const override;
  unsigned file_mode() const override { return 0755; }

  // The iptables-restore input for one family (exposed for tests).
  std::string RestoreFile(const ir::Ruleset& rs, Family f) const;
};

}  // namespace fwc
