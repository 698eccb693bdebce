// Firewall Builder files (.fwb, the XML of fwbuilder 5.3.7, data format
// version 24, and the older formats it reads) as fwc policies: one
// PolicyDraft per Firewall object. What the policy language cannot say
// (time intervals, DNS name and address table objects, custom services,
// branches to other rule sets, accounting and tagging rules, ...) is
// reported with its location in the XML through ImportReporter::Unmapped;
// input that is not well-formed XML, or not a Firewall Builder file, is
// reported through ImportReporter::Malformed, never by a crash.
//
// The XML is read with expat, with no DTD or external entity loading and
// no entity declarations at all (a document that declares one is refused,
// which also keeps out "billion laughs" expansions), to at most 256
// levels of nesting. Nothing is kept between calls.
#pragma once

#include <string>
#include <vector>

#include "import/importer.h"
#include "import/policy_draft.h"

namespace fwc::import {

// One PolicyDraft per Firewall object of the file, in file order (only the
// one named opts.firewall if that is set; none if no firewall has that
// name). file is the SourceManager index of `text`, for the locations of
// diagnostics (line and column of the XML element they are about).
std::vector<PolicyDraft> ImportFwb(const std::string& text, int file, const ImportOptions& opts,
                                   ImportReporter& report);

}  // namespace fwc::import
