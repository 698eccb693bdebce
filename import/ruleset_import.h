// A SourceRuleset (iptables-save, nft) as a PolicyDraft: the filter
// table's base chains become the rules to, through and from the firewall,
// user chains are inlined where they are jumped to, the rules fwc always
// has (loopback, replies, invalid packets, neighbour discovery) are
// recognised and left to it, and IPv4 and IPv6 rules that say the same
// thing become one dual-stack rule.
#pragma once

#include "import/importer.h"
#include "import/ruleset.h"

namespace fwc::import {

// Whether every base chain of the filter table, in each family, accepts
// replies and related traffic and drops invalid packets before its own
// rules: what fwc's "option stateful yes" does.
bool RulesetIsStateful(const SourceRuleset& rs);

PolicyDraft ImportRuleset(const SourceRuleset& rs, const ImportOptions& opts, ImportReporter& report);

}  // namespace fwc::import
