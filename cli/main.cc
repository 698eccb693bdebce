// The fwc command line: registers the commands and dispatches. Exit status:
// 0 success, 1 policy errors, 2 usage or I/O errors; nothing is written
// unless the whole command succeeded.
#include <iostream>
#include <new>

#include "cli/cli.h"

int main(int argc, char** argv) {
  using namespace fwc::cli;
  CLI::App app{"fwc - compile a firewall policy into nftables or iptables rules", "fwc"};
  app.set_version_flag("-V,--version", "fwc " FWC_VERSION);
  app.require_subcommand(1);
  Registry registry;
  AddCompileCommands(app, registry);
  AddAnalysisCommands(app, registry);
  AddApplyCommands(app, registry);
  AddImportCommands(app, registry);
  if (!TakeWarningFlags(argc, argv, registry)) return kExitUsage;

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 exits with its own codes (105-109 ...); any usage error is 2.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  try {
    for (auto& [sub, run] : registry.commands)
      if (sub->parsed()) return run();
  } catch (const std::bad_alloc&) {
    // A policy near the size limit can need more memory than the machine
    // allows; say so instead of aborting.
    std::cerr << "fwc: error: out of memory\n";
  }
  return kExitUsage;
}
