// What a target can express directly; the lowering lowers the rest to
// plainer IR. Each backend declares its own (Backend::caps()).
#pragma once

namespace fwc {

struct LoweringCaps {
  // nft: "ip saddr != { a, b }"; iptables can negate only one prefix/range.
  bool negated_address_sets = true;
};

}  // namespace fwc
