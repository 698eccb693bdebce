// iptables output: a POSIX sh script for boot that loads the IPv4 and IPv6
// filter tables with iptables-restore / ip6tables-restore. Both rule sets
// are checked with --test before either is loaded, so a rejected policy
// leaves the running rules alone. It replaces the whole filter table of each
// family; nat, mangle and raw are not touched. Runtime sets are ipsets,
// created when missing and otherwise left as they are.
#pragma once

#include "backends/backend.h"

namespace fwc {

class IptablesBackend : public Backend {
 public:
  static constexpr size_t kMaxComment = 256;
  // multiport takes at most 15 ports; a range counts as two.
  static constexpr int kMultiportSlots = 15;

  // Everything in the script that comes from outside fwc (file and policy
  // names, comments, log prefixes, interface names) is written through
  // this one function: plain text without line breaks, quotes or
  // backslashes, so it can neither end the here-document that holds the
  // rules nor a quoted iptables-restore argument, and a '#' comment holds
  // it as it is.
  static std::string Text(std::string_view s, size_t max_bytes = SIZE_MAX) { return PlainText(s, max_bytes); }

  LoweringCaps caps() const override { return {/*negated_address_sets=*/false}; }
  std::string Emit(const ir::Ruleset& rs) const override;
  unsigned file_mode() const override { return 0755; }

  // An interval as CIDR blocks, largest first ("10.0.0.0/8"): conntrack's
  // --ctorigdst takes one prefix (exposed for tests).
  static std::vector<std::string> Prefixes(Family f, const Interval& iv);

  // The iptables-restore input for one family (exposed for tests).
  std::string RestoreFile(const ir::Ruleset& rs, Family f) const;
  // The commands that create the ipsets of the runtime sets (if missing),
  // which must exist before the rules that name them are loaded or tested.
  static std::vector<std::vector<std::string>> IpsetCommands(const ir::Ruleset& rs);
};

}  // namespace fwc
