// JSON text, as fwc's machine-readable outputs write it.
#pragma once

#include <string>

namespace fwc {

// s as a JSON string, quotes included. Control characters are escaped, and
// a byte that is not part of valid UTF-8 becomes U+FFFD: the output is
// valid JSON whatever a policy or a kernel table holds.
std::string JsonString(const std::string& s);

}  // namespace fwc
