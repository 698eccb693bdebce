// Expectations: packets a policy must decide a given way, written in the
// policy (expect statements) or kept in a file beside it and checked by
// `fwc check --expect FILE`, so that a policy carries its own tests (like
// Capirca's aclcheck). One per line:
//   accept tcp 10.1.1.11 -> 10.1.2.2:80
//   drop   udp 203.0.113.9 -> 10.1.2.2:53 in eth1
// the verdict, then a packet as `fwc query` reads it; '#' starts a comment.
// Each is decided by the one packet evaluator (QueryEngine), the same that
// answers fwc query and guards fwc apply against an SSH lockout.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "compiler/base/diagnostics.h"
#include "compiler/placement/place.h"
#include "compiler/semantics/model.h"

namespace fwc::analysis {

struct ExpectationStats {
  size_t checked = 0;  // expectations decided (malformed ones are not)
  size_t failed = 0;   // decided otherwise than expected
};

// Checks every expectation of `file` (registered in sm), reporting each
// malformed or failed one as a located error.
ExpectationStats CheckExpectations(int file, const SourceManager& sm, const Model& m,
                                   const std::vector<PlacedRule>& placed, const std::vector<PlacedRule>& sections,
                                   Diagnostics& diags);

// Checks the policy's own expect statements (Model::expectations) whose
// condition the defines meet, one packet per family each names, reporting
// each one decided otherwise as a located error.
ExpectationStats CheckPolicyExpectations(const SourceManager& sm, const Model& m,
                                         const std::vector<PlacedRule>& placed,
                                         const std::vector<PlacedRule>& sections,
                                         const std::set<std::string>& defines, Diagnostics& diags);

}  // namespace fwc::analysis
