// IR -> libnftnl objects. The image is what `nft -f` makes of the nft
// backend's text for the same IR, expression for expression: the same set
// merging (backends/nftables/set_merge.h), the same protocol dependencies, the
// same payload merging, the same anonymous sets and set userdata, so that
// `nft list table inet fwc` cannot tell the two apart.
#pragma once

#include "backends/netlink/table_image.h"
#include "compiler/ir/ir.h"

namespace fwc::netlink {

struct CodegenOptions {
  // Mirror the nft backend's set and verdict-map merging (its default).
  bool merge_sets = true;
};

TableImage BuildImage(const ir::Ruleset& rs, const CodegenOptions& options = {});

}  // namespace fwc::netlink
