// nftables output: one file for `nft -f` that replaces `table inet fwc` in a
// single transaction (declare, delete, redeclare) and touches no other
// table. Groups become named interval sets.
#pragma once

#include "backends/backend.h"

namespace fwc {

class NftBackend : public Backend {
 public:
  // nft rejects longer rule comments.
  static constexpr size_t kMaxComment = 128;

  LoweringCaps caps() const override { return {/*negated_address_sets=*/true}; }
  std::string Emit(const ir::Ruleset& rs) const override;
};

}  // namespace fwc
