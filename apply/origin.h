// What the loaded table was compiled from, so that applying the same
// policy again costs a few file reads instead of a compile.
//
// After an apply, fwc records beside its index every file the compile read (the path as it
// was opened, the size and a digest of the bytes), a digest of everything
// else that decides the output (fwc's own binary, the working directory,
// the options), and the network namespace, generation and table handle its
// commit left. An apply whose files and options are those, while the same
// namespace's ruleset is still at that generation (nothing anyone did
// since: every change of any table moves it on) and the table has that
// handle, has nothing to compile or send: the rules in force are already
// the policy's.
//
// A compile is a function of those inputs alone: the language has no
// include globs and reads nothing from the host (no DNS, no interface
// addresses), so a changed input is always one of the recorded files or
// options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apply/forwarding.h"
#include "compiler/base/diagnostics.h"
#include "compiler/base/source.h"

namespace fwc::apply {

struct Origin {
  std::string netns;   // the kernel's NetlinkTransport::Namespace()
  uint32_t genid = 0;  // the generation fwc's commit created
  uint64_t table = 0;  // the table's kernel handle after it
  std::string key;     // digest of the options, the binary, the directory (OriginKey)
  // The files the compile read, then the includes it did not read again
  // (a diamond of includes: the same canonical path): whether an include
  // is read is decided by canonical paths, so those are compared too.
  struct File {
    std::string path;       // as the compiler opened it (relative to the working directory)
    std::string canonical;  // its realpath then
    bool read = true;       // false: an include of a file already read
    uint64_t size = 0;      // read files only
    uint64_t digest = 0;
  };
  std::vector<File> files;
  ForwardingNeed forwarding;  // what the policy asks of IP forwarding
  std::string summary;        // "N rules, M sets": what `fwc apply` prints of the table
  std::string said;           // the compile's warnings as it printed them, printed again
  // Set by a verify that read the table at genid and found it exactly what
  // these files and options compile to: the summary of the loaded table it
  // printed. "": not verified (an apply's commit, until a verify reads it).
  std::string verified;

  // A text file: a version line, then one "name value" line per field and
  // per file; strings are hex so that no byte of a path can end a line.
  std::string Encode() const;
  // nullopt when the text is not an origin this fwc wrote.
  static std::optional<Origin> Decode(const std::string& text);
};

// The digest of a file's bytes (64-bit FNV-1a, as the index uses).
uint64_t ContentDigest(const std::string& bytes);

// A digest of what decides a compile's output besides its files: `options`
// (the caller's canonical text of them), this binary and the libnftnl and
// libmnl it runs with (device, inode, size, modification time of each file:
// a rebuilt fwc or an upgraded library compiles anew) and the working
// directory (relative paths of includes). "" when one of those cannot be
// read (no fast path then).
std::string OriginKey(const std::string& options);

// The files a compile read (and the includes it did not read again), with
// their digests, as an Origin records them.
std::vector<Origin::File> OriginFiles(const SourceManager& sources);

// The origin of a compile keyed `key` (OriginKey), its warnings rendered
// as they were printed; nullopt (the next apply compiles again) for no key,
// or for a compile that said much (more than kMaxSaidFindings findings or
// kMaxSaidBytes of text): recording it would cost more than compiling saves.
inline constexpr size_t kMaxSaidFindings = 3000;
inline constexpr size_t kMaxSaidBytes = size_t{1} << 20;
std::optional<Origin> OriginOf(const std::string& key, const SourceManager& sources, const Diagnostics& said);

// Whether every file still has the canonical path, size and bytes `origin`
// recorded, read the way the compiler reads them (regular files only, at
// most max_bytes).
bool FilesUnchanged(const Origin& origin, size_t max_bytes);

}  // namespace fwc::apply
