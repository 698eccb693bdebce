// The fwc command line: registers the commands and dispatches. Exit status:
// 0 success, 1 policy errors, 2 usage or I/O errors; nothing is written
// unless the whole command succeeded.
#include <algorithm>
#include <iostream>
#include <new>

#include "cli/cli.h"

int main(int argc, char** argv) {
  using namespace fwc::cli;
  CLI::App app{"fwc - compile a firewall policy into nftables or iptables rules", "fwc"};
  app.set_version_flag("-V,--version", "fwc " FWC_VERSION);
  app.require_subcommand(1);
  // Options of fwc itself, given before or after the command.
  app.fallthrough();
  Registry registry;
  app.add_option("--color", registry.color,
                 "colour in diagnostics: auto (on a terminal unless NO_COLOR is set), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  app.footer(WarningFlagsHelp());
  AddCompileCommands(app, registry);
  AddAnalysisCommands(app, registry);
  AddApplyCommands(app, registry);
  AddImportCommands(app, registry);
  AddFormatCommands(app, registry);
  AddAuditCommands(app, registry);
  AddCompletionCommands(app, registry);
  if (!TakeWarningFlags(argc, argv, registry)) return kExitUsage;
  // A misspelt command: CLI11 would only say that one is required.
  if (argc >= 2 && argv[1][0] != '-') {
    std::vector<std::string> names;  // the commands --help lists (hidden ones have no group)
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      known = known || sub->get_name() == argv[1];
      if (!sub->get_group().empty()) names.push_back(sub->get_name());
    }
    if (!known) {
      std::string near = fwc::ClosestName(argv[1], names);
      std::cerr << "fwc: error: unknown command '" << argv[1] << "'"
                << (near.empty() ? "" : "; did you mean '" + near + "'?") << "\nThe commands are:";
      for (const auto& n : names) std::cerr << " " << n;
      std::cerr << ". Run with --help for more information.\n";
      return kExitUsage;
    }
  }

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
