#include "apply/origin.h"

#include <dlfcn.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "backends/netlink/table_image.h"
#include "compiler/syntax/parser.h"

namespace fwc::apply {
namespace {

constexpr const char* kVersionLine = "fwc-origin 2";

std::string Hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char ch : s) {
    out += digits[ch >> 4];
    out += digits[ch & 15];
  }
  return out.empty() ? "-" : out;
}

std::optional<std::string> Unhex(const std::string& s) {
  if (s == "-") return std::string();
  if (s.empty() || s.size() % 2) return std::nullopt;
  auto nibble = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// A whole unsigned decimal number, nothing else.
template <typename T>
bool Number(const std::string& s, T* out) {
  if (s.empty() || s.size() > 20) return false;
  unsigned long long v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    unsigned long long next = v * 10 + static_cast<unsigned>(ch - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  if (v > static_cast<unsigned long long>(static_cast<T>(-1))) return false;
  *out = static_cast<T>(v);
  return true;
}

}  // namespace

uint64_t ContentDigest(const std::string& bytes) { return netlink::Digest(bytes.data(), bytes.size()); }

std::string Origin::Encode() const {
  std::ostringstream o;
  o << kVersionLine << "\n"
    << "netns " << Hex(netns) << "\n"
    << "genid " << genid << "\n"
    << "table " << table << "\n"
    << "key " << Hex(key) << "\n"
    << "forwarding " << (!forwarding.set ? "unset" : *forwarding.set ? "on" : "off") << " "
    << (forwarding.forwards ? 1 : 0) << "\n"
    << "summary " << Hex(summary) << "\n"
    << "said " << Hex(said) << "\n"
    << "verified " << Hex(verified) << "\n"
    << "files " << files.size() << "\n";
  for (const auto& f : files) {
    if (f.read) o << "file " << f.size << " " << f.digest << " " << Hex(f.path) << " " << Hex(f.canonical) << "\n";
    else o << "repeat " << Hex(f.path) << " " << Hex(f.canonical) << "\n";
  }
  o << "end\n";
  return o.str();
}

std::optional<Origin> Origin::Decode(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  // The next line's words; nullopt at the end.
  auto words = [&]() -> std::optional<std::vector<std::string>> {
    if (!std::getline(in, line)) return std::nullopt;
    std::istringstream l(line);
    std::vector<std::string> v;
    for (std::string w; l >> w;) v.push_back(w);
    return v;
  };
  // The next line's n values after its name.
  auto fields = [&](const char* name, size_t n) -> std::optional<std::vector<std::string>> {
    auto v = words();
    if (!v || v->size() != n + 1 || v->at(0) != name) return std::nullopt;
    v->erase(v->begin());
    return v;
  };
  if (!std::getline(in, line) || line != kVersionLine) return std::nullopt;
  Origin o;
  auto ns = fields("netns", 1);
  auto netns = ns ? Unhex(ns->at(0)) : std::nullopt;
  if (!netns || netns->empty()) return std::nullopt;
  o.netns = *netns;
  auto g = fields("genid", 1), t = g ? fields("table", 1) : std::nullopt;
  if (!t || !Number(g->at(0), &o.genid) || !Number(t->at(0), &o.table)) return std::nullopt;
  auto k = fields("key", 1);
  auto key = k ? Unhex(k->at(0)) : std::nullopt;
  if (!key) return std::nullopt;
  o.key = *key;
  auto f = fields("forwarding", 2);
  if (!f) return std::nullopt;
  if (f->at(0) == "on") o.forwarding.set = true;
  else if (f->at(0) == "off") o.forwarding.set = false;
  else if (f->at(0) != "unset") return std::nullopt;
  if (f->at(1) != "0" && f->at(1) != "1") return std::nullopt;
  o.forwarding.forwards = f->at(1) == "1";
  auto s = fields("summary", 1);
  auto summary = s ? Unhex(s->at(0)) : std::nullopt;
  if (!summary) return std::nullopt;
  o.summary = *summary;
  auto w = fields("said", 1);
  auto said = w ? Unhex(w->at(0)) : std::nullopt;
  if (!said) return std::nullopt;
  o.said = *said;
  auto v = fields("verified", 1);
  auto verified = v ? Unhex(v->at(0)) : std::nullopt;
  if (!verified) return std::nullopt;
  o.verified = *verified;
  auto n = fields("files", 1);
  size_t count = 0;
  if (!n || !Number(n->at(0), &count)) return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    auto line_words = words();
    if (!line_words) return std::nullopt;
    const std::vector<std::string>& v = *line_words;
    Origin::File entry;
    std::optional<std::string> path, canonical;
    if (v.size() == 5 && v[0] == "file") {
      if (!Number(v[1], &entry.size) || !Number(v[2], &entry.digest)) return std::nullopt;
      path = Unhex(v[3]);
      canonical = Unhex(v[4]);
    } else if (v.size() == 3 && v[0] == "repeat") {
      entry.read = false;
      path = Unhex(v[1]);
      canonical = Unhex(v[2]);
    }
    if (!path || !canonical || path->empty() || canonical->empty()) return std::nullopt;
    entry.path = *path;
    entry.canonical = *canonical;
    o.files.push_back(std::move(entry));
  }
  if (!std::getline(in, line) || line != "end" || std::getline(in, line)) return std::nullopt;
  if (o.files.empty() || o.key.empty() || !o.genid) return std::nullopt;
  return o;
}

namespace {

// Device, inode, size and modification time: a rebuilt or upgraded file is
// another. "" when it cannot be read.
std::string FileIdentity(const char* path) {
  struct stat st;
  if (!path || !*path || stat(path, &st) != 0) return "";
  char id[160];
  snprintf(id, sizeof id, "%llu:%llu:%llu:%lld.%09ld", static_cast<unsigned long long>(st.st_dev),
           static_cast<unsigned long long>(st.st_ino), static_cast<unsigned long long>(st.st_size),
           static_cast<long long>(st.st_mtim.tv_sec), static_cast<long>(st.st_mtim.tv_nsec));
  return id;
}

// The file the shared object holding `symbol` was loaded from.
const char* LoadedFrom(const void* symbol) {
  Dl_info info;
  return dladdr(symbol, &info) && info.dli_fname ? info.dli_fname : nullptr;
}

}  // namespace

std::string OriginKey(const std::string& options) {
  // fwc itself, and the libraries that encode its batches (an upgraded
  // libnftnl may encode the same rules otherwise).
  std::string binary = FileIdentity("/proc/self/exe");
  std::string nftnl = FileIdentity(LoadedFrom(reinterpret_cast<const void*>(&nftnl_rule_alloc)));
  std::string mnl = FileIdentity(LoadedFrom(reinterpret_cast<const void*>(&mnl_nlmsg_put_header)));
  if (binary.empty() || nftnl.empty() || mnl.empty()) return "";
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return "";
  // Lengths first, so that no two different lists make the same text.
  std::string all = std::to_string(options.size()) + ":" + options + binary + " " + nftnl + " " + mnl + "\n" + cwd;
  char out[40];
  snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(ContentDigest(all)));
  return out;
}

std::optional<Origin> OriginOf(const std::string& key, const SourceManager& sources, const Diagnostics& said) {
  if (key.empty() || said.all().size() > kMaxSaidFindings) return std::nullopt;
  Origin origin;
  origin.said = said.Render();
  if (origin.said.size() > kMaxSaidBytes) return std::nullopt;
  origin.key = key;
  origin.files = OriginFiles(sources);
  return origin;
}

std::vector<Origin::File> OriginFiles(const SourceManager& sources) {
  FileSystemLoader loader;
  std::vector<Origin::File> files;
  for (int i = 0; i < sources.size(); ++i) {
    Origin::File f;
    f.path = sources.path(i);
    f.canonical = loader.Canonical(f.path);
    f.size = sources.text(i).size();
    f.digest = ContentDigest(sources.text(i));
    files.push_back(std::move(f));
  }
  for (const auto& path : sources.repeats()) {
    Origin::File f;
    f.path = path;
    f.canonical = loader.Canonical(path);
    f.read = false;
    files.push_back(std::move(f));
  }
  return files;
}

bool FilesUnchanged(const Origin& origin, size_t max_bytes) {
  FileSystemLoader loader(max_bytes);
  for (const auto& f : origin.files) {
    if (loader.Canonical(f.path) != f.canonical) return false;
    if (!f.read) continue;
    std::string err;
    auto text = loader.Read(f.path, &err);
    if (!text || text->size() != f.size || ContentDigest(*text) != f.digest) return false;
  }
  return !origin.files.empty();
}

}  // namespace fwc::apply
