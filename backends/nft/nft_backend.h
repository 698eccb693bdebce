// nftables output: one file for `nft -f` that replaces `table inet fwc` in a
// single transaction (declare, delete, redeclare) and touches no other
// table. It prints the nftables model (backends/nftables/model.h), which the
// netlink backend loads as it is: groups become named interval sets; runs
// of rules that share a shape become one rule over a set or a verdict map.
#pragma once

#include "backends/backend.h"
#include "backends/nftables/set_merge.h"

namespace fwc {

class NftBackend : public Backend {
 public:
  // merge_sets false: one kernel rule per IR rule, as a plain chain.
  explicit NftBackend(bool merge_sets = true) : merge_sets_(merge_sets) {}

  LoweringCaps caps() const override { return {/*negated_address_sets=*/true}; }
  std::string Emit(const ir::Ruleset& rs) const override;
  static std::string Emit(const nftables::MergedRuleset& ms);

 private:
  bool merge_sets_;
};

}  // namespace fwc
