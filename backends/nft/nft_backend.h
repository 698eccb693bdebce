// nftables output: one file for `nft -f` that replaces `table inet fwc` in a
// single transaction (declare, delete, redeclare) and touches no other
// table. Groups become named interval sets; runs of rules that share a shape
// become one rule over a set or a verdict map (set_merge.h).
#pragma once

#include "backends/backend.h"
#include "backends/nft/set_merge.h"

namespace fwc {

class NftBackend : public Backend {
 public:
  // nft rejects longer rule comments.
  static constexpr size_t kMaxComment = 128;
  // The comment of a runtime set in the kernel: what tells `fwc show` that
  // its elements are not the policy's.
  static constexpr const char* kRuntimeSetComment = "fwc runtime set: fwc apply keeps its elements";

  // merge_sets false: one kernel rule per IR rule, as a plain chain.
  explicit NftBackend(bool merge_sets = true) : merge_sets_(merge_sets) {}

  // Everything in an nft file that comes from outside fwc (file and policy
  // names, comments, log prefixes, interface names) is written through
  // this one function: plain text, which a double-quoted nft string and a
  // '#' comment hold as it is. It is therefore also exactly what nft stores
  // in the kernel, so the netlink backend sends these bytes.
  static std::string Text(std::string_view s, size_t max_bytes = SIZE_MAX) { return PlainText(s, max_bytes); }

  LoweringCaps caps() const override { return {/*negated_address_sets=*/true}; }
  std::string Emit(const ir::Ruleset& rs) const override;
  static std::string Emit(const nft::MergedRuleset& ms);

 private:
  bool merge_sets_;
};

}  // namespace fwc
