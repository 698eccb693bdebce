// Shared pieces of the fwc fuzz harnesses: an in-memory file system for
// includes, and the location checks every diagnostic must pass.
//
// Input format. A fuzz input is the text of the main policy, "main.fw".
// A line "%% NAME" starts another in-memory file called NAME, so one input
// can carry several files that include each other (the seeds of policies
// with includes use this). Besides those, a small fixed set of files is
// always there (see FuzzLoader::FuzzLoader), including ones that include
// themselves, each other, a directory, invalid UTF-8 and a deep chain, so
// the include paths themselves are fuzzed. A first line "#D a b c" (it is a
// comment to the parser) gives the -D conditions for the frontend fuzzer.
#pragma once

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/base/diagnostics.h"
#include "compiler/syntax/parser.h"
#include "compiler/base/source.h"

namespace fwc::fuzz {

inline void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==fwc-fuzz== INVARIANT VIOLATED: %s\n%s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// "a/./b/../c" -> "a/c"; keeps a leading '/'. What realpath() does for the
// file system loader, without symlinks.
inline std::string NormalizePath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string p = path.substr(i, j - i);
    if (p == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (path.empty() || path[0] != '/') parts.push_back(p);
    } else if (!p.empty() && p != ".") {
      parts.push_back(p);
    }
    i = j + 1;
  }
  std::string out = !path.empty() && path[0] == '/' ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) out += (k ? "/" : "") + parts[k];
  return out;
}

class FuzzLoader : public SourceLoader {
 public:
  static constexpr const char* kMain = "main.fw";
  static constexpr int kMaxReads = 500;
  static constexpr size_t kMaxFiles = 8;

  FuzzLoader(const uint8_t* data, size_t size) {
    files_["objects.fw"] = "host h1 10.0.0.1, 2001:db8::1;\nnetwork n1 10.0.0.0/8;\nservice s1 tcp 80;\n";
    files_["fw.fw"] = "firewall fw {\n  interface outside eth0 192.0.2.1/24, 2001:db8::ff/64;\n}\n";
    files_["sub/inc.fw"] = "include \"../objects.fw\";\n";
    files_["sub/up.fw"] = "include \"../main.fw\";\n";
    files_["self.fw"] = "include \"self.fw\";\n";
    files_["a.fw"] = "include \"b.fw\";\nhost ha 10.9.9.9;\n";
    files_["b.fw"] = "include \"a.fw\";\n";
    files_["bad.fw"] = "host ;\nservice s tcp 70000;\n";
    files_["bin.fw"] = std::string("host x \xff\xfe;\n") + std::string(1, '\0') + "\n";
    files_["empty.fw"] = "";
    files_["/etc/fwc/abs.fw"] = "service abs tcp 1;\n";
    for (int d = 0; d < 20; ++d)
      files_["deep/" + std::to_string(d) + ".fw"] = "include \"" + std::to_string(d + 1) + ".fw\";\n";
    dirs_ = {"dir", "sub", "deep", "/etc", "/etc/fwc", "/", ""};

    // Split the input into main.fw and the "%% NAME" files.
    std::string text(reinterpret_cast<const char*>(data), size);
    std::string name = kMain;
    std::string cur;
    size_t pos = 0, nfiles = 1;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      size_t end = nl == std::string::npos ? text.size() : nl + 1;
      std::string line = text.substr(pos, end - pos);
      if (nfiles < kMaxFiles && line.size() > 3 && line.compare(0, 3, "%% ") == 0) {
        files_[NormalizePath(name)] = cur;
        name = line.substr(3);
        while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
        cur.clear();
        ++nfiles;
      } else {
        cur += line;
      }
      pos = end;
    }
    files_[NormalizePath(name)] = cur;
    main_ = files_[kMain];

    if (main_.rfind("#D ", 0) == 0) {
      std::string line = main_.substr(3, main_.find('\n') == std::string::npos ? std::string::npos
                                                                                : main_.find('\n') - 3);
      std::string word;
      for (char c : line + " ") {
        if (c == ' ' || c == '\t' || c == '\r') {
          if (!word.empty() && defines_.size() < 8) defines_.insert(word);
          word.clear();
        } else {
          word += c;
        }
      }
    }
  }

  const std::string& main() const { return main_; }
  const std::set<std::string>& defines() const { return defines_; }
  int reads() const { return reads_; }

  std::optional<std::string> Read(const std::string& path, std::string* error) override {
    // Finding F2 (findings/README.md, fixed): a file included several
    // times was read and parsed every time, so a few files that include the
    // next one several times each cost exponential time. Each file is now
    // read once, so a long run of reads means it came back.
    if (++reads_ > kMaxReads) Fail("include explosion (finding F2 is back)", std::to_string(reads_) + " file reads");
    std::string p = NormalizePath(path);
    if (dirs_.count(p)) {
      *error = "Is a directory";
      return std::nullopt;
    }
    auto it = files_.find(p);
    if (it == files_.end()) {
      *error = "No such file or directory";
      return std::nullopt;
    }
    return it->second;
  }
  std::string Canonical(const std::string& path) override { return NormalizePath(path); }

 private:
  std::map<std::string, std::string> files_;
  std::set<std::string> dirs_;
  std::string main_;
  std::set<std::string> defines_;
  int reads_ = 0;
};

// Code points in s (what columns count), treating a stray byte as one.
inline int CodePoints(std::string_view s) {
  int n = 0;
  for (unsigned char c : s) n += (c >> 6) != 2;
  return n;
}

// A location must name a registered file and a line and column inside it
// (one past the end of a line is allowed: "missing ';'" points there).
inline bool LocInside(const SourceManager& sm, const Loc& loc, std::string* why) {
  if (!loc.valid()) return *why = "no location", false;
  if (loc.file >= sm.size()) return *why = "file index out of range", false;
  if (loc.line < 1) return *why = "line < 1", false;
  if (loc.col < 1) return *why = "col < 1", false;
  const std::string& text = sm.text(loc.file);
  int lines = 1;
  for (char c : text) lines += c == '\n';
  if (loc.line > lines) return *why = "line past the end of the file (" + std::to_string(lines) + " lines)", false;
  int width = CodePoints(sm.Line(loc.file, loc.line));
  if (loc.col > width + 1)
    return *why = "column past the end of the line (" + std::to_string(width) + " columns)", false;
  return true;
}

inline std::string Describe(const SourceManager& sm, const Diagnostic& d) {
  std::string where = d.loc.valid() && d.loc.file < sm.size() ? sm.path(d.loc.file) : "?";
  return where + ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + " [" + d.code +
         "] " + d.message;
}

// Every diagnostic kept (errors, warnings and their notes) that has a
// location must point inside its file; aborts otherwise.
inline void CheckLocations(const SourceManager& sm, const Diagnostics& diags) {
  for (const auto& d : diags.all()) {
    std::string why;
    if (d.loc.valid() && !LocInside(sm, d.loc, &why))
      Fail("diagnostic location outside its file", why + ": " + Describe(sm, d));
    for (const auto& n : d.notes)
      if (n.loc.valid() && !LocInside(sm, n.loc, &why))
        Fail("note location outside its file", why + ": note '" + n.message + "' of " + Describe(sm, d));
  }
}

}  // namespace fwc::fuzz
