// Source files and locations. Every stage reports positions through Loc, so
// a diagnostic can always print the file, line, column and the source line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fwc {

// A span in a source file. Lines and columns are 1-based (ANTLR's 0-based
// columns are converted once, in the parser). file is an index into the
// SourceManager; -1 means "no location" (e.g. a problem with a -D flag).
struct Loc {
  int file = -1;
  int line = 0;
  int col = 0;
  int len = 1;
  bool valid() const { return file >= 0; }
};

class SourceManager {
 public:
  // Registers a file's contents; returns its index for Loc::file.
  int Add(std::string path, std::string text);

  const std::string& path(int file) const { return files_[file].path; }
  // The path as shown in comments of the generated rules: the base name, so
  // the output does not depend on the directory fwc was run from.
  std::string display_name(int file) const;
  const std::string& text(int file) const { return files_[file].text; }
  // The text of a 1-based line, without its newline.
  std::string_view Line(int file, int line) const;
  int size() const { return static_cast<int>(files_.size()); }
  // Includes of a file already read (a diamond of includes), by the path
  // as resolved: not read again, but part of what the compile depended on.
  void AddRepeat(std::string path) { repeats_.push_back(std::move(path)); }
  const std::vector<std::string>& repeats() const { return repeats_; }

 private:
  struct File {
    std::string path;
    std::string text;
    std::vector<size_t> line_starts;
  };
  std::vector<File> files_;
  std::vector<std::string> repeats_;
};

}  // namespace fwc
