// Reads an nftables ruleset as `nft -j list ruleset` prints it (the schema
// of libnftables-json(5)) into a SourceRuleset, as ReadIptablesSave does
// for iptables-save: one SourceTable per family, "filter" for the chains of
// type filter at the hooks input, forward and output, "nat" for those of
// type nat, base chains named INPUT, FORWARD, OUTPUT, PREROUTING and
// POSTROUTING, regular chains by their own names. An inet table gives its
// rules to both families (a rule that names IPv4-only fields to IPv4 only,
// IPv6-only ones to IPv6 only).
//
// One nft rule may become several SourceRules: a rule that logs and
// decides becomes a LOG rule and a rule with the same matches (the shape
// iptables-save has, which the importer makes one rule that logs); a set
// of protocols, ICMP types or interfaces becomes one rule per member; a
// verdict map one rule per verdict. What has no SourceRule field stays in
// the rule's `unsupported`, for the importer to report with the rule's
// location (the line and column of the rule's '{' in the JSON text).
#pragma once

#include <string>

#include "import/importer.h"
#include "import/ruleset.h"

namespace fwc::import {

// Returns false for input that is not such JSON (reported as import-syntax
// with its line and column). Chains fwc has no place for (a second base
// chain on a hook, chains of type route, netdev, bridge and arp tables)
// are reported as import-unmapped.
bool ReadNftJson(const std::string& text, int file, SourceRuleset& out, ImportReporter& report);

}  // namespace fwc::import
