#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "backends/backend.h"
#include "cli/cli.h"

namespace fwc::cli {

void PolicyArgs::AddTo(CLI::App* sub) {
  sub->add_option("POLICY", policy, "policy file")->required();
  // A define is a name as the policy writes it after 'if'; anything else
  // could only be a mistake (and would travel into the boot unit's header).
  CLI::Validator is_name(
      [](std::string& v) -> std::string {
        bool ok = !v.empty() && (std::isalpha(static_cast<unsigned char>(v[0])) || v[0] == '_');
        for (char ch : v) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-');
        return ok ? "" : "'" + PlainText(v) + "' is not a name (letters, digits, '_' and '-', starting with a letter or '_')";
      },
      "NAME");
  sub->add_option("-D,--define", defines, "enable rules marked 'if NAME' (repeatable)")->type_name("NAME")->check(is_name);
  sub->add_option("--firewall", firewall,
                  "the firewall to compile, of a policy that declares several (a cluster's member); also "
                  "defines its name and its cluster's for 'if'")
      ->type_name("NAME")
      ->check(is_name);
  sub->add_option("--diagnostics-format", diagnostics_format, "text, json or sarif")
      ->check(CLI::IsMember({"text", "json", "sarif"}))
      ->capture_default_str();
  sub->add_flag("--timing", timing, "print the time each compiler stage took to stderr");
  sub->add_flag("--no-analysis", no_analysis, "skip the shadowed/redundant/conflicting rule analysis");
  sub->add_option("--analysis-budget", analysis_budget,
                  "work the analysis may do, in rule pairs plus coverage tests (0: unlimited)")
      ->capture_default_str();
  sub->add_option("--analysis-threads", analysis_threads, "threads the analysis may use (0: one per CPU)")
      ->capture_default_str();
  sub->add_option_function<std::string>(
         "--max-policy-size", [this](const std::string& v) { max_policy_bytes = *ParseByteSize(v); },
         "refuse a policy file or include larger than this, in bytes or with K, M or G (default " +
             FormatByteSize(FileSystemLoader::kMaxPolicyBytes) + ")")
      ->type_name("SIZE")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return ParseByteSize(v) ? "" : "'" + PlainText(v) + "' is not a size (e.g. 300M, 1G or 1048576)";
          },
          ""));
}

bool Registry::StderrColor() const {
  if (color == "always") return true;
  if (color == "never") return false;
  // https://no-color.org: present and not empty disables colour by default.
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return isatty(STDERR_FILENO) == 1;
}

std::string WarningFlagsHelp() {
  std::string codes;
  for (const auto& c : DiagnosticControl::ControllableCodes()) codes += (codes.empty() ? "" : ", ") + c;
  return "Warning options (any command that reads a policy, anywhere on the line):\n"
         "  -WCODE                      report CODE as a warning\n"
         "  -Wno-CODE                   do not report CODE\n"
         "  -Werror                     make every warning an error\n"
         "  -Werror=CODE, -Wno-error=CODE\n"
         "                              make CODE an error, or not\n"
         "  CODE is one of: " + codes + "\n"
         "Exit status: 0 success, 1 errors in the policy (or a difference), 2 usage or I/O errors.";
}

bool TakeWarningFlags(int& argc, char** argv, Registry& registry) {
  int out = 1;
  DiagnosticControl probe;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {  // everything after is positional
      while (i < argc) argv[out++] = argv[i++];
      break;
    }
    if (a.rfind("-W", 0) == 0 && a.size() > 2) {
      std::string err;
      if (!probe.Apply(a, &err)) {
        std::cerr << "fwc: error: " << err << "\nRun with --help for more information.\n";
        return false;
      }
      registry.warning_flags.push_back(a);
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  return true;
}

void PrintTiming(const Compilation& c, std::size_t first) {
  const auto& t = c.timings();
  if (first >= t.size()) return;
  std::cerr << "fwc: timing:";
  for (std::size_t i = first; i < t.size(); ++i)
    std::cerr << " " << t[i].stage << " " << t[i].ms << " ms, " << (t[i].peak_kb + 512) / 1024 << " MB;";
  std::cerr << "\n";
}

int LoadPolicy(const PolicyArgs& args, const Registry& registry, Compilation& c, bool diagnostics_to_stdout,
               bool writes) {
  FileSystemLoader loader(args.max_policy_bytes);
  std::string err;
  // "-": the policy on standard input, named <stdin> in diagnostics; its
  // includes are relative to the current directory.
  bool from_stdin = args.policy == "-";
  auto text = from_stdin ? loader.ReadStdin(&err) : loader.Read(args.policy, &err);
  if (!text) {
    std::cerr << "fwc: error: cannot read " << (from_stdin ? "standard input" : "'" + args.policy + "'") << ": "
              << err << "\n";
    return kExitUsage;
  }
  for (const auto& path : args.expect_files) {
    auto expectations = loader.Read(path, &err);
    if (!expectations) {
      std::cerr << "fwc: error: cannot read '" << path << "': " << err << "\n";
      return kExitUsage;
    }
    c.add_expectations(path, std::move(*expectations));
  }
  for (const auto& flag : registry.warning_flags) c.diags().control().Apply(flag, &err);
  if (args.no_analysis) c.set_analysis(false);
  c.set_analysis_budget(args.analysis_budget);
  c.set_analysis_threads(args.analysis_threads);
  c.set_firewall(args.firewall);
  bool ok = c.Check(from_stdin ? "<stdin>" : args.policy, std::move(*text), loader, args.define_set());
  if (args.timing) {
    PrintTiming(c, 0);
    const auto& st = c.analysis_stats();
    std::cerr << "fwc: timing: rules " << c.model().rules.size() << ", pieces " << st.units << ", candidate pairs "
              << st.candidates << ", coverage tests " << st.coverage_tests << "\n";
  }
  std::ostream& machine = diagnostics_to_stdout ? std::cout : std::cerr;
  if (args.diagnostics_format == "json") c.diags().RenderJson(machine);
  else if (args.diagnostics_format == "sarif") c.diags().RenderSarif(machine, FWC_VERSION);
  else {
    c.diags().set_color(registry.StderrColor());
    c.diags().Render(std::cerr);
  }
  if (ok) return kExitOk;
  int n = c.diags().error_count();
  std::cerr << "fwc: " << (c.diags().at_cap() ? "too many errors" : std::to_string(n) + (n == 1 ? " error" : " errors"))
            << (writes ? "; nothing was written\n" : "\n");
  return kExitPolicy;
}

namespace {

// Writes all of data to fd, retrying short writes and interruptions.
bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool WriteAtomically(const std::string& path, const std::string& data, unsigned mode, std::string* error) {
  // A device or a pipe (e.g. /dev/null, /dev/stdout) must be written to,
  // not replaced by a renamed regular file.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
    if (fd < 0) {
      *error = "cannot write '" + path + "': " + std::strerror(errno);
      return false;
    }
    bool ok = WriteAll(fd, data);
    if (!ok) *error = "cannot write '" + path + "': " + std::strerror(errno);
    return (close(fd) == 0) && ok;
  }
  std::string tmp = path + ".fwc-XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) {
    *error = "cannot create a temporary file next to '" + path + "': " + std::strerror(errno);
    return false;
  }
  bool ok = WriteAll(fd, data) && fchmod(fd, mode) == 0 && fsync(fd) == 0;
  int saved = errno;
  ok = (close(fd) == 0) && ok;
  if (ok && rename(tmp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  if (!ok) {
    unlink(tmp.c_str());
    *error = "cannot write '" + path + "': " + std::strerror(saved ? saved : errno);
  }
  return ok;
}

int WriteOutput(const std::string& path, const std::string& data, unsigned mode) {
  if (path.empty() || path == "-") {
    std::cout << data;
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "fwc: error: cannot write to standard output\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  std::string err;
  if (!WriteAtomically(path, data, mode, &err)) {
    std::cerr << "fwc: error: " << err << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace fwc::cli
