// fwc apply / confirm / rollback / show / verify / install / uninstall: the
// commands that change this machine. They parse their options, compile the
// policy, and hand it to the apply layer (apply/applier.h), which does the
// rest and decides the exit status (documented there and in fwc(8)).
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "apply/applier.h"
#include "backends/netlink/codegen.h"
#include "backends/nft/nft_backend.h"
#include "backends/registry.h"
#include "cli/cli.h"

namespace fwc::cli {
namespace {

// The machine, with what the environment changes: FWC_STATE_DIR (where
// safe apply keeps its state; tests move it), FWC_ROLLBACK_VIA=process (no
// systemd timer), SSH_CONNECTION (the session the SSH check protects).
apply::Environment Environment() {
  apply::Environment env = apply::SystemEnvironment();
  if (const char* d = std::getenv("FWC_STATE_DIR"); d && *d) env.state_dir = d;
  if (const char* v = std::getenv("FWC_ROLLBACK_VIA"); v && std::string(v) == "process") env.watchdog_process_only = true;
  if (const char* s = std::getenv("SSH_CONNECTION")) env.ssh_connection = s;
  return env;
}

apply::Applier Layer() { return apply::Applier(Environment(), std::cout, std::cerr); }

struct ApplyArgs {
  PolicyArgs policy;
  bool dry_run = false;
  int confirm = 0;
  bool no_wait = false;
  bool force = false;
  bool verbose = false;
};

// A compiled policy, and the compilation the plan points into.
struct Compiled {
  std::unique_ptr<Compilation> compilation = std::make_unique<Compilation>();
  apply::Plan plan;
};

// Compiles POLICY (every check `fwc compile` runs) into the image of table
// inet fwc. Returns kExitOk, or the exit status of the failure.
int Build(const PolicyArgs& args, const Registry& registry, Compiled* out) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  auto start = Clock::now();
  Compilation& c = *out->compilation;
  if (int rc = LoadPolicy(args, registry, c, false, true); rc != kExitOk) return rc;
  ir::Ruleset rs = c.Lower(NftBackend().caps());
  auto lowered = Clock::now();
  out->plan.policy = args.policy;
  out->plan.compilation = &c;
  out->plan.image = netlink::BuildImage(rs);
  out->plan.forwarding = {rs.forwarding, rs.forwards};
  out->plan.image_ms = ms(lowered, Clock::now());
  out->plan.compile_ms = ms(start, Clock::now());
  return kExitOk;
}

// Everything on the command line that decides what a compile prints and
// produces, as one text for OriginKey; apply and verify share it, so that
// what either recorded serves the other. "" when the command should compile
// whatever was recorded: the policy on standard input (nothing to read
// again), --timing (the stages' times are wanted), JSON or SARIF
// diagnostics (a document is printed even when empty).
std::string OptionsText(const PolicyArgs& p, const Registry& registry) {
  if (p.policy == "-" || p.timing || p.diagnostics_format != "text") return "";
  std::string text;
  auto add = [&](const std::string& name, const std::string& value) {
    text += name + " " + std::to_string(value.size()) + ":" + value + "\n";
  };
  add("policy", p.policy);
  for (const auto& d : p.defines) add("define", d);
  add("firewall", p.firewall);
  add("analysis", p.no_analysis ? "no" : "yes");
  add("budget", std::to_string(p.analysis_budget));
  add("threads", std::to_string(p.analysis_threads));
  add("max-size", std::to_string(p.max_policy_bytes));
  for (const auto& e : p.expect_files) add("expect", e);
  for (const auto& w : registry.warning_flags) add("warning", w);
  add("color", registry.StderrColor() ? "yes" : "no");  // of the warnings said again
  return text;
}

// The key of what apply and verify record (apply/origin.h); "" for none.
std::string KeyOf(const PolicyArgs& p, const Registry& registry) {
  std::string options = OptionsText(p, registry);
  return options.empty() ? "" : apply::OriginKey(options);
}

int Apply(const ApplyArgs& a, const Registry& registry) {
  apply::ApplyOptions o;
  o.dry_run = a.dry_run;
  o.confirm = a.confirm;
  o.no_wait = a.no_wait;
  o.force = a.force;
  o.verbose = a.verbose;
  std::string key = KeyOf(a.policy, registry);
  if (auto done = Layer().ApplyUnchanged(a.policy.policy, key, a.policy.max_policy_bytes, o)) return *done;
  Compiled c;
  if (int rc = Build(a.policy, registry, &c); rc != kExitOk) return rc;
  // What the compile said (its warnings) is said again when the same
  // policy is applied again.
  c.plan.origin = apply::OriginOf(key, c.compilation->sources(), c.compilation->diags());
  return Layer().Apply(c.plan, o);
}

struct VerifyArgs {
  PolicyArgs policy;
  std::string format = "text";
};

int Verify(const VerifyArgs& args, const Registry& registry) {
  bool json = args.format == "json";
  std::string key = KeyOf(args.policy, registry);
  if (auto done = Layer().VerifyUnchanged(args.policy.policy, key, args.policy.max_policy_bytes, json)) return *done;
  Compiled c;
  if (int rc = Build(args.policy, registry, &c); rc != kExitOk) return rc;
  c.plan.origin = apply::OriginOf(key, c.compilation->sources(), c.compilation->diags());
  return Layer().Verify(c.plan, json);
}

struct InstallArgs {
  PolicyArgs policy;
  std::string target = "nft";
  std::string root;
};

int Install(const InstallArgs& a, const Registry& registry) {
  Compilation c;
  if (int rc = LoadPolicy(a.policy, registry, c, false, true); rc != kExitOk) return rc;
  auto backend = MakeBackend(a.target);
  ir::Ruleset rs = c.Lower(backend->caps());
  apply::InstallPlan plan;
  plan.policy = a.policy.policy;
  plan.artifact.target = a.target;
  plan.artifact.content = backend->Emit(rs);
  char real[4096];
  plan.artifact.policy = realpath(a.policy.policy.c_str(), real) ? real : a.policy.policy;
  plan.artifact.defines = a.policy.defines;
  plan.artifact.firewall = a.policy.firewall;
  plan.artifact.forwarding = rs.forwarding;
  plan.rs = &rs;
  plan.root = a.root;
  return apply::InstallArtifact(plan, Environment(), apply::FindNft(), std::cout, std::cerr);
}

}  // namespace

void AddApplyCommands(CLI::App& app, Registry& registry) {
  auto apply = std::make_shared<ApplyArgs>();
  CLI::App* a = app.add_subcommand("apply", "load POLICY into the kernel (table inet fwc, one netlink batch)");
  apply->policy.AddTo(a);
  a->add_flag("--dry-run", apply->dry_run, "build and check everything, show what would change, change nothing");
  a->add_option("--confirm", apply->confirm, "restore the previous rules unless `fwc confirm` runs within SECONDS")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 86400));
  a->add_flag("--no-wait", apply->no_wait, "with --confirm: return once applied instead of waiting");
  a->add_flag("--force", apply->force, "apply even if the rules would drop this SSH connection");
  a->add_flag("-v,--verbose", apply->verbose, "say how long compiling and loading took");
  registry.Add(a, [apply, &registry] { return Apply(*apply, registry); });

  CLI::App* confirm = app.add_subcommand("confirm", "keep the rules of a pending `fwc apply --confirm`");
  registry.Add(confirm, [] { return Layer().Confirm(); });

  CLI::App* rollback = app.add_subcommand("rollback", "restore now the rules a pending `fwc apply --confirm` replaced");
  registry.Add(rollback, [] { return Layer().Rollback(); });

  struct ShowArgs {
    bool canonical = false;
    std::string format = "text";
  };
  auto sa = std::make_shared<ShowArgs>();
  CLI::App* show = app.add_subcommand("show", "show table inet fwc as the kernel has it, with the rules' counters");
  show->add_flag("--canonical", sa->canonical, "every set, chain and rule in the exact form `fwc verify` compares");
  show->add_option("--format", sa->format, "text, or json: sets, chains, rules and counters (documented in fwc(8))")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  registry.Add(show, [sa]() -> int {
    if (sa->canonical && sa->format == "json") {
      std::cerr << "fwc: error: --canonical has no JSON form\nRun with --help for more information.\n";
      return kExitUsage;
    }
    return Layer().Show(sa->canonical, sa->format == "json");
  });

  auto verify = std::make_shared<VerifyArgs>();
  CLI::App* v = app.add_subcommand("verify", "check that table inet fwc is exactly what POLICY compiles to");
  verify->policy.AddTo(v);
  v->add_option("--format", verify->format, "text, or json: loaded, exact and every difference (documented in fwc(8))")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  registry.Add(v, [verify, &registry] { return Verify(*verify, registry); });

  auto install = std::make_shared<InstallArgs>();
  CLI::App* i = app.add_subcommand("install", "compile and check POLICY, store it and load it at boot (systemd)");
  install->policy.AddTo(i);
  i->add_option("-t,--target", install->target, "nft (loaded with nft -f) or iptables (the boot script)")
      ->check(CLI::IsMember(BackendNames()))
      ->capture_default_str();
  i->add_option("--root", install->root, "install into an image of the file system rooted at DIR")->type_name("DIR");
  registry.Add(i, [install, &registry] { return Install(*install, registry); });

  auto uroot = std::make_shared<std::string>();
  CLI::App* u = app.add_subcommand("uninstall", "remove what `fwc install` installed");
  u->add_option("--root", *uroot, "the image of the file system fwc was installed into")->type_name("DIR");
  registry.Add(u, [uroot] { return apply::UninstallArtifacts(*uroot, std::cout, std::cerr); });

  // The rollback watchdog (started by `fwc apply --confirm`), not for users.
  struct WatchdogArgs {
    std::string token, dir = "/run/fwc";
    bool now = false;
  };
  auto wd = std::make_shared<WatchdogArgs>();
  CLI::App* w = app.add_subcommand("watchdog", "");
  w->group("");
  w->add_option("--token", wd->token)->required();
  w->add_option("--state-dir", wd->dir);
  w->add_flag("--now", wd->now);
  registry.Add(w, [wd] {
    apply::Environment env = Environment();
    env.state_dir = wd->dir;
    return apply::Applier(env, std::cout, std::cerr).Watchdog(wd->token, wd->now);
  });
}

}  // namespace fwc::cli
