#include "compiler/base/source.h"

namespace fwc {

int SourceManager::Add(std::string path, std::string text) {
  File f{std::move(path), std::move(text), {0}};
  for (size_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n') f.line_starts.push_back(i + 1);
  files_.push_back(std::move(f));
  return static_cast<int>(files_.size()) - 1;
}

std::string SourceManager::display_name(int file) const {
  const std::string& p = files_[file].path;
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string_view SourceManager::Line(int file, int line) const {
  const File& f = files_[file];
  if (line < 1 || static_cast<size_t>(line) > f.line_starts.size()) return {};
  size_t begin = f.line_starts[line - 1];
  size_t end = f.text.find('\n', begin);
  if (end == std::string::npos) end = f.text.size();
  std::string_view v(f.text);
  v = v.substr(begin, end - begin);
  if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
  return v;
}

}  // namespace fwc
