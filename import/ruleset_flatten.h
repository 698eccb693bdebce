// The rules of a base chain in the order the kernel tries them, with the
// user chains they jump to inlined: each FlatRule is one rule with the
// conditions of the jumps that lead to it folded into its own matches.
// What cannot be folded into one rule (two different interface matches, a
// conditional RETURN on more than one field) is left in `unsupported`.
#pragma once

#include <string>
#include <vector>

#include "import/ruleset.h"

namespace fwc::import {

struct FlatRule {
  SourceRule rule;            // matches folded; target terminal (or LOG / NAT)
  std::vector<Loc> via;       // the jumps that lead to it, outermost first
};

std::vector<FlatRule> FlattenChain(const SourceTable& table, const std::string& chain);

// The conjunction of two rules' matches in *out; false when no packet can
// match both. Conditions that cannot be folded go to out->unsupported.
bool FoldMatches(const SourceRule& outer, const SourceRule& inner, SourceRule* out);

// The number of match fields a rule sets (addresses, interfaces, protocol,
// ports, ICMP type, states, limit).
int MatchFieldCount(const SourceRule& r);

// A string equal for two rules exactly when their matches are.
std::string MatchKey(const SourceRule& r);

}  // namespace fwc::import
