#include "compiler/syntax/parser.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <set>
#include <utility>

#include "compiler/base/utf8.h"
#include "compiler/syntax/policy_parser.h"

namespace fwc {

namespace {

const char* FileKind(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::optional<size_t> ParseByteSize(std::string_view text) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    if (n > (uint64_t{1} << 62)) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit;
  for (; i < text.size(); ++i) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  int shift = -1;
  for (auto [names, s] : {std::pair{std::set<std::string>{"", "b"}, 0},
                          std::pair{std::set<std::string>{"k", "kb", "kib"}, 10},
                          std::pair{std::set<std::string>{"m", "mb", "mib"}, 20},
                          std::pair{std::set<std::string>{"g", "gb", "gib"}, 30}}) {
    if (names.count(unit)) shift = s;
  }
  if (shift < 0 || n == 0 || n > (uint64_t{1} << (62 - shift))) return std::nullopt;
  return static_cast<size_t>(n << shift);
}

std::string FormatByteSize(size_t bytes) {
  for (auto [shift, unit] : {std::pair{30, " GiB"}, std::pair{20, " MiB"}, std::pair{10, " KiB"}}) {
    size_t one = size_t{1} << shift;
    if (bytes >= one && bytes % one == 0) return std::to_string(bytes >> shift) + unit;
  }
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

std::optional<std::string> FileSystemLoader::Read(const std::string& path,
                                                  std::string* error) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // right after, as every file that is not a regular one.
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = std::strerror(errno);
    close(fd);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = S_ISDIR(st.st_mode) ? std::strerror(EISDIR)
                                 : std::string("it is ") + FileKind(st.st_mode) + ", not a policy file";
    close(fd);
    return std::nullopt;
  }
  auto out = ReadAll(fd, static_cast<size_t>(std::max<off_t>(st.st_size, 0)), error);
  close(fd);
  return out;
}

std::optional<std::string> FileSystemLoader::ReadStdin(std::string* error) {
  struct stat st;
  if (fstat(0, &st) != 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    *error = std::strerror(EISDIR);
    return std::nullopt;
  }
  return ReadAll(0, S_ISREG(st.st_mode) ? static_cast<size_t>(std::max<off_t>(st.st_size, 0)) : 0, error);
}

std::optional<std::string> FileSystemLoader::ReadAll(int fd, size_t size_hint, std::string* error) {
  // The size a file claims is only a hint (a file in /proc claims 0, a
  // file may grow while it is read): the limit is enforced on what is read.
  // A policy is text a person wrote, so anything this large is a mistake.
  std::string out;
  out.reserve(std::min(size_hint, max_bytes_) + 1);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes_) {
      *error = "the file is larger than " + FormatByteSize(max_bytes_) +
               ", the limit on a policy file (--max-policy-size raises it)";
      return std::nullopt;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string FileSystemLoader::Canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf)) return buf;
  return path;
}

namespace {

// The first byte offset that is not valid UTF-8, or npos. Checked before
// ANTLR sees the text: its UTF-8 decoder throws on bad input.
size_t FindInvalidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = s[i] == 0 ? 0 : Utf8SequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string::npos;
}

}  // namespace

bool ReportInvalidUtf8(int file, std::string_view text, Diagnostics& diags) {
  size_t bad = FindInvalidUtf8(text);
  if (bad == std::string::npos) return false;
  int line = 1, col = 1;
  for (size_t i = 0; i < bad; ++i) {
    if (text[i] == '\n') { ++line; col = 1; }
    else if ((static_cast<unsigned char>(text[i]) >> 6) != 2) ++col;
  }
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[bad]));
  diags.Error("invalid-encoding", Loc{file, line, col, 1},
              std::string(text[bad] == 0 ? "NUL byte" : "invalid UTF-8 byte ") +
                  (text[bad] == 0 ? "" : byte) + " in policy file",
              "policy files are UTF-8 text; re-save the file as UTF-8");
  return true;
}

namespace {

constexpr int kMaxIncludeDepth = 16;

struct IncludeState {
  SourceLoader& loader;
  SourceManager& sources;
  Diagnostics& diags;
  std::vector<std::string> stack;  // canonical paths of the files being parsed
  std::set<std::string> seen;      // every file parsed so far
};

void ParseIncluded(int file, IncludeState& state, ast::Unit& unit);

// Reads and parses the files one file includes, in order.
void FollowIncludes(int file, const std::vector<syntax::IncludeRef>& includes, IncludeState& state,
                    ast::Unit& unit) {
  std::string dir;
  size_t slash = state.sources.path(file).find_last_of('/');
  if (slash != std::string::npos) dir = state.sources.path(file).substr(0, slash + 1);
  for (const auto& [rel, loc] : includes) {
    std::string path = !rel.empty() && rel[0] == '/' ? rel : dir + rel;
    std::string canonical = state.loader.Canonical(path);
    bool recursive = false;
    for (const auto& s : state.stack) recursive |= s == canonical;
    if (recursive) {
      state.diags.Error("recursive-include", loc, "'" + rel + "' includes itself (directly or through other files)",
                        "remove this include; each file needs to be included only once");
      continue;
    }
    // A file included again (a diamond of includes) adds nothing new; parsing
    // it again would only repeat its declarations, and could take
    // exponential time.
    if (state.seen.count(canonical)) {
      state.sources.AddRepeat(path);
      continue;
    }
    if (static_cast<int>(state.stack.size()) >= kMaxIncludeDepth) {
      state.diags.Error("include-depth", loc, "includes are nested more than " +
                        std::to_string(kMaxIncludeDepth) + " deep", "flatten the include structure");
      continue;
    }
    std::string err;
    auto content = state.loader.Read(path, &err);
    if (!content) {
      state.diags.Error("include-not-found", loc, "cannot read included file '" + path + "': " + err,
                        "include a policy file; a relative path is relative to the including file's directory");
      continue;
    }
    int child = state.sources.Add(path, std::move(*content));
    state.seen.insert(canonical);
    state.stack.push_back(canonical);
    ParseIncluded(child, state, unit);
    state.stack.pop_back();
  }
}

// Parses one file and, depth first, the files it includes.
void ParseIncluded(int file, IncludeState& state, ast::Unit& unit) {
  const std::string& text = state.sources.text(file);
  if (ReportInvalidUtf8(file, text, state.diags)) return;
  std::vector<syntax::IncludeRef> includes;
  syntax::ParseFile(file, text, unit, includes, &state.diags);
  FollowIncludes(file, includes, state, unit);
}

}  // namespace

ast::Unit ParsePolicy(const std::string& path, std::string text, SourceLoader& loader, SourceManager& sources,
                      Diagnostics& diags) {
  ast::Unit unit;
  int file = sources.Add(path, std::move(text));
  IncludeState state{loader, sources, diags, {loader.Canonical(path)}, {loader.Canonical(path)}};
  ParseIncluded(file, state, unit);
  return unit;
}

}  // namespace fwc
