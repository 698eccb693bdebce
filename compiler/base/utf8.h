// UTF-8, as policy files must be written and as every output is kept.
#pragma once

#include <cstddef>
#include <string_view>

namespace fwc {

// The length in bytes of the valid UTF-8 sequence that starts at s[i], or
// 0 when none does: a stray continuation byte, a truncated sequence, an
// overlong form, a surrogate or a value past Unicode. NUL is a valid
// sequence of length 1 here; callers that refuse it check it themselves.
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace fwc
