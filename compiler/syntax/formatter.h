// fwc fmt: one policy file rewritten in canonical form, every comment kept.
//
// The formatter works on the token stream, as clang-format does, not on the
// AST (which keeps no comments): one statement a line, blocks indented by
// four spaces, one space between tokens (none before , and ;, none around the
// - of a range and the / of a rate), blank lines kept but never more than
// one, and the optional ';' after a closing brace dropped. Runs of lines of
// one kind (declarations, interfaces, rules, ...) are aligned in columns and
// their trailing comments too, the way people align them by hand (gofmt's
// rule). A group written over several lines stays one member a line.
//
// A comment stays where it was: at the end of the line it ended, or on a
// line of its own; a comment in the middle of a statement breaks it there
// and the statement goes on, indented, on the next line.
//
// Before returning, the result is parsed again and compared with the
// original: the same AST, the same tokens, the same comments. A difference
// is an internal error (fmt-changed-meaning), never a rewritten policy.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "compiler/base/diagnostics.h"

namespace fwc::syntax {

// The canonical text of the policy file `file` whose text is given; its
// includes are not followed (each file is formatted on its own). nullopt
// when the file has a syntax error or is not UTF-8 (reported to diags).
std::optional<std::string> FormatPolicy(int file, std::string_view text, Diagnostics& diags);

}  // namespace fwc::syntax
