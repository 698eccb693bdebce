// frontend_fuzzer: bytes -> the whole front end. Compilation::Check (parse,
// resolve, every check, placement and analysis), and when the policy is
// accepted, Lower + Emit with every backend of fwc::BackendNames().
//
// Invariants (a violation aborts, so libFuzzer records the input):
//  - a rejected policy has at least one error diagnostic with a valid
//    location (line >= 1); I/O-type problems are exempt (none exist with the
//    in-memory loader, but the list is kept for when they do);
//  - every diagnostic and note with a location points inside its file;
//  - an accepted policy has no error diagnostics, and every backend emits
//    non-empty output; in the text formats (nft, iptables) every line has
//    balanced double quotes and no carriage return or NUL (a policy string
//    must never break out of its quotes into the rules or the script).
//
// The findings so far (tests/fuzz/findings/README.md) are all fixed; none is
// skipped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "backends/registry.h"
#include "compiler/compilation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

bool IsIoCode(const std::string& code) {
  return code == "io-error" || code == "include-not-found" || code == "file-too-large";
}

void CheckOutput(const std::string& backend, const std::string& out) {
  size_t line_no = 1, begin = 0;
  while (begin < out.size()) {
    size_t end = out.find('\n', begin);
    if (end == std::string::npos) end = out.size();
    std::string_view line(out.data() + begin, end - begin);
    int quotes = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      // Other control characters are copied from policy strings into the
      // comments as they are (finding F9, minor): both tools take them.
      if (c == '\r' || c == 0)
        fwc::fuzz::Fail("carriage return or NUL in the output",
                        backend + " line " + std::to_string(line_no) + ": " + std::string(line));
      // iptables-restore takes \" as a quote inside a quoted word; nft has
      // no escapes in strings.
      if (c == '"' && !(backend == "iptables" && i > 0 && line[i - 1] == '\\')) ++quotes;
    }
    if (quotes % 2)
      fwc::fuzz::Fail("unbalanced quotes in the output",
                      backend + " line " + std::to_string(line_no) + ": " + std::string(line));
    begin = end + 1;
    ++line_no;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fwc::fuzz::FuzzLoader loader(data, size);
  fwc::Compilation c;
  bool ok = c.Check(fwc::fuzz::FuzzLoader::kMain, loader.main(), loader, loader.defines());
  const fwc::Diagnostics& diags = c.diags();
  fwc::fuzz::CheckLocations(c.sources(), diags);
  std::string rendered = diags.Render();

  if (!ok) {
    if (!diags.has_errors()) fwc::fuzz::Fail("Check failed without an error", rendered);
    bool located = false, io_only = true;
    for (const auto& d : diags.all()) {
      if (d.severity != fwc::Severity::kError) continue;
      located |= d.loc.valid() && d.loc.line >= 1;
      io_only &= IsIoCode(d.code);
    }
    bool any_error_kept = false;
    for (const auto& d : diags.all()) any_error_kept |= d.severity == fwc::Severity::kError;
    if (!located && !(any_error_kept && io_only))
      fwc::fuzz::Fail("rejected policy without a located error diagnostic", rendered);
    return 0;
  }

  for (const auto& d : diags.all())
    if (d.severity == fwc::Severity::kError)
      fwc::fuzz::Fail("Check succeeded but reported an error", rendered);

  for (const std::string& name : fwc::BackendNames()) {
    std::unique_ptr<fwc::Backend> backend = fwc::MakeBackend(name);
    if (!backend) fwc::fuzz::Fail("BackendNames() lists a backend MakeBackend does not know", name);
    fwc::ir::Ruleset rs = c.Lower(backend->caps());
    std::string out = backend->Emit(rs);
    if (out.empty()) fwc::fuzz::Fail("backend emitted nothing", name);
    // The line checks are for the text formats; another backend (e.g. one
    // that emits netlink messages) only has to emit something.
    if (name == "nft" || name == "iptables") CheckOutput(name, out);
  }
  for (const auto& d : diags.all())
    if (d.severity == fwc::Severity::kError)
      fwc::fuzz::Fail("lowering reported an error after a successful Check", diags.Render());
  return 0;
}
