// fwc fmt: policy files rewritten in canonical form (compiler/syntax/formatter.h).
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <iostream>

#include "cli/cli.h"
#include "compiler/syntax/formatter.h"
#include "compiler/syntax/parser.h"

namespace fwc::cli {
namespace {

struct FormatArgs {
  std::vector<std::string> files;
  bool check = false;
  bool to_stdout = false;
};

// The first line where two texts differ (1-based), or 0.
int FirstDifferentLine(const std::string& a, const std::string& b, std::string* wanted) {
  size_t i = 0, j = 0;
  for (int line = 1;; ++line) {
    size_t ei = a.find('\n', i), ej = b.find('\n', j);
    std::string_view la = i <= a.size() ? std::string_view(a).substr(i, ei == std::string::npos ? std::string::npos : ei - i) : "";
    std::string_view lb = j <= b.size() ? std::string_view(b).substr(j, ej == std::string::npos ? std::string::npos : ej - j) : "";
    bool a_end = i >= a.size(), b_end = j >= b.size();
    if (a_end && b_end) return 0;
    if (la != lb || a_end != b_end || (ei == std::string::npos) != (ej == std::string::npos)) {
      *wanted = b_end ? "" : std::string(lb);
      return line;
    }
    i = ei + 1;
    j = ej + 1;
  }
}

// Formats one file; returns its exit status.
int FormatOne(const std::string& path, const FormatArgs& args, const Registry& registry) {
  FileSystemLoader loader;
  std::string err;
  bool from_stdin = path == "-";
  auto text = from_stdin ? loader.ReadStdin(&err) : loader.Read(path, &err);
  if (!text) {
    std::cerr << "fwc: error: cannot read " << (from_stdin ? "standard input" : "'" + path + "'") << ": " << err << "\n";
    return kExitUsage;
  }
  SourceManager sources;
  Diagnostics diags(sources);
  diags.set_color(registry.StderrColor());
  int file = sources.Add(from_stdin ? "<stdin>" : path, *text);
  auto formatted = syntax::FormatPolicy(file, sources.text(file), diags);
  if (!formatted) {
    diags.Render(std::cerr);
    std::cerr << "fwc: " << (from_stdin ? "standard input" : "'" + path + "'")
              << " has errors; it is left as it is\n";
    return kExitPolicy;
  }
  if (args.check) {
    std::string wanted;
    int line = FirstDifferentLine(*text, *formatted, &wanted);
    if (line == 0) return kExitOk;
    diags.Error("not-formatted", Loc{file, line, 1, 1}, "not in the form fwc fmt writes",
                wanted.empty() ? "fwc fmt ends the file here; run 'fwc fmt " + path + "' to rewrite it"
                               : "fwc fmt writes this line as '" + wanted + "'; run 'fwc fmt " + path +
                                     "' to rewrite the file");
    diags.Render(std::cerr);
    return kExitPolicy;
  }
  if (from_stdin || args.to_stdout) return WriteOutput("-", *formatted, 0);
  if (*formatted == *text) return kExitOk;
  // Rewritten where the file is (through a symbolic link, not over it), with
  // its permissions.
  char real[PATH_MAX];
  std::string target = realpath(path.c_str(), real) ? std::string(real) : path;
  struct stat st;
  unsigned mode = stat(target.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  return WriteOutput(target, *formatted, mode);
}

}  // namespace

void AddFormatCommands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<FormatArgs>();
  CLI::App* fmt = app.add_subcommand("fmt", "rewrite policy files in canonical form, keeping every comment");
  fmt->add_option("FILE", args->files, "policy files (- for standard input, written to standard output)")->required();
  fmt->add_flag("--check", args->check, "write nothing; exit 1 if a file is not in canonical form, showing where");
  fmt->add_flag("--stdout", args->to_stdout, "write the canonical form to standard output instead of the file");
  registry.Add(fmt, [args, &registry] {
    int status = kExitOk;
    for (const auto& f : args->files) status = std::max(status, FormatOne(f, *args, registry));
    return status;
  });
}

}  // namespace fwc::cli
