// The fwc command line. Exit status: 0 success, 1 policy errors, 2 usage or
// I/O errors. Nothing is written unless the whole compile succeeded.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "backends/backend.h"
#include "compiler/compilation.h"
#include "compiler/dump.h"

#ifndef FWC_VERSION
#define FWC_VERSION "0.0.0"
#endif

namespace {

constexpr int kExitOk = 0;
constexpr int kExitPolicy = 1;
constexpr int kExitUsage = 2;

// Writes data to path atomically: a temporary file in the same directory,
// flushed, then renamed over path. On failure path is left untouched.
bool WriteAtomically(const std::string& path, const std::string& data, unsigned mode,
                     std::string* error) {
  std::string tmp = path + ".fwc-XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) {
    *error = "cannot create a temporary file next to '" + path + "': " + std::strerror(errno);
    return false;
  }
  bool ok = true;
  size_t off = 0;
  while (ok && off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false; else off += static_cast<size_t>(n);
  }
  ok = ok && fchmod(fd, mode) == 0 && fsync(fd) == 0;
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

struct Args {
  std::string policy;
  std::string target = "nft";
  std::string output;
  std::vector<std::string> defines;
  std::string dump;
};

int Run(const Args& a, bool emit) {
  fwc::FileSystemLoader loader;
  std::string err;
  auto text = loader.Read(a.policy, &err);
  if (!text) {
    std::cerr << "fwc: error: cannot read '" << a.policy << "': " << err << "\n";
    return kExitUsage;
  }
  auto backend = fwc::MakeBackend(a.target);
  fwc::Compilation c;
  std::set<std::string> defines(a.defines.begin(), a.defines.end());
  bool ok = c.Check(a.policy, std::move(*text), loader, defines);
  std::string out;
  if (ok) {
    fwc::ir::Ruleset rs = c.Lower(backend->caps());
    if (a.dump == "ast") out = fwc::DumpAst(c.unit());
    else if (a.dump == "model") out = fwc::DumpModel(c.model(), c.sources());
    else if (a.dump == "ir") out = fwc::ir::Dump(rs);
    else out = backend->Emit(rs);
  }
  std::cerr << c.diags().Render();
  if (!ok) {
    int n = c.diags().error_count();
    std::cerr << "fwc: " << (c.diags().at_cap() ? "too many errors" : std::to_string(n) + (n == 1 ? " error" : " errors"))
              << "; nothing was written\n";
    return kExitPolicy;
  }
  if (!emit) return kExitOk;
  if (a.output.empty() || a.output == "-") {
    std::cout << out;
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "fwc: error: cannot write to standard output\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  if (!WriteAtomically(a.output, out, a.dump.empty() ? backend->file_mode() : 0644, &err)) {
    std::cerr << "fwc: error: " << err << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fwc - compile a firewall policy into nftables or iptables rules", "fwc"};
  app.set_version_flag("-V,--version", "fwc " FWC_VERSION);
  app.require_subcommand(1);
  Args args;

  auto add_common = [&](CLI::App* sub) {
    sub->add_option("POLICY", args.policy, "policy file")->required();
    sub->add_option("-D,--define", args.defines, "enable rules marked 'if NAME' (repeatable)")
        ->type_name("NAME");
  };
  CLI::App* compile = app.add_subcommand("compile", "compile POLICY and write the rules");
  add_common(compile);
  compile->add_option("-t,--target", args.target, "output format")
      ->check(CLI::IsMember(fwc::BackendNames()))
      ->capture_default_str();
  compile->add_option("-o,--output", args.output, "write to FILE atomically instead of stdout")
      ->type_name("FILE");
  compile->add_option("--dump", args.dump, "print a compiler stage instead of the rules")
      ->check(CLI::IsMember({"ast", "model", "ir"}));
  CLI::App* check = app.add_subcommand("check", "run every check of POLICY; write nothing");
  add_common(check);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (105-109 etc.) are remapped: any usage error is 2.
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return Run(args, compile->parsed());
}
