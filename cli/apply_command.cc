// fwc apply / confirm / rollback / show / verify / install / uninstall: the
// commands that talk to the kernel, through the netlink backend
// (backends/netlink/). Exit status, as documented in fwc(8):
//   0 done (apply: applied, and confirmed with --confirm; verify: identical)
//   1 policy errors; verify: the loaded table differs; confirm/rollback:
//     nothing is waiting
//   2 usage or I/O errors, no access to the kernel
//   3 not applied: the kernel refused the ruleset, or the SSH check did;
//     the rules in force are those of before
//   4 applied, then rolled back: the previous rules are in force again
//   5 the rollback failed: the rules in force are not those of before
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>

#include "backends/registry.h"
#include "backends/iptables/iptables_backend.h"
#include "apply/boot_install.h"
#include "backends/netlink/codegen.h"
#include "backends/netlink/netlink_backend.h"
#include "apply/safe_apply.h"
#include "apply/ssh_guard.h"
#include "backends/nft/nft_backend.h"
#include "compiler/analysis/query.h"
#include "cli/cli.h"

namespace fwc::cli {
namespace {

namespace nl = fwc::netlink;

constexpr int kExitNotApplied = 3;
constexpr int kExitRolledBack = 4;
constexpr int kExitRollbackFailed = 5;

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// Where safe apply keeps its state; FWC_STATE_DIR moves it (tests).
std::string StateDir() {
  const char* d = std::getenv("FWC_STATE_DIR");
  return d && *d ? d : "/run/fwc";
}

std::string SelfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "fwc";
  buf[n] = 0;
  return buf;
}

std::string FindNft() {
  for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

struct ApplyArgs {
  PolicyArgs policy;
  bool dry_run = false;
  int confirm = 0;
  bool no_wait = false;
  bool force = false;
  bool verbose = false;
};

struct Compiled {
  // The checked policy: the SSH guard decides packets with its placed rules.
  std::unique_ptr<Compilation> compilation = std::make_unique<Compilation>();
  ir::Ruleset rs;
  nl::TableImage image;
  double image_ms = 0;  // of the compile: turning the IR into libnftnl objects
};

// Compiles POLICY (every check `fwc compile` runs) into the image of table
// inet fwc. Returns kExitOk, or the exit status of the failure.
int Build(const PolicyArgs& args, const Registry& registry, Compiled* out) {
  Compilation& c = *out->compilation;
  if (int rc = LoadPolicy(args, registry, c); rc != kExitOk) return rc;
  out->rs = c.Lower(NftBackend().caps());
  auto start = Clock::now();
  out->image = nl::BuildImage(out->rs);
  out->image_ms = Ms(start, Clock::now());
  return kExitOk;
}

// The kernel reports every message it refused; the first few tell why
// (the rest usually follow from them).
void PrintRejections(const nl::LoadResult& r) {
  std::set<std::string> seen;
  size_t shown = 0, hidden = 0;
  for (const auto& j : r.rejections) {
    std::string line = j.Describe();
    if (!seen.insert(line).second) continue;
    if (shown == 5) {
      ++hidden;
      continue;
    }
    std::cerr << "fwc: " << line;
    if (j.origin == "table inet fwc" && j.error == EPERM)
      std::cerr << " (another program owns table inet fwc: its flags include owner)";
    if (j.error == ERANGE) std::cerr << " (a name or value is too long for the kernel)";
    std::cerr << "\n";
    ++shown;
  }
  if (hidden) std::cerr << "fwc: ... and " << hidden << " more refused messages\n";
  if (r.lost) std::cerr << "fwc: (the kernel reported more errors than fwc could read)\n";
}

// The SSH lockout guard. Returns false (with the reason printed) when the
// new rules would drop the SSH connection fwc runs over, or when that
// connection cannot be told from SSH_CONNECTION.
bool SshGuard(const Compilation& c, bool verbose) {
  const char* env = std::getenv("SSH_CONNECTION");
  if (!env || !*env) return true;
  auto conn = nl::ParseSshConnection(env);
  if (!conn) {
    std::cerr << "fwc: refusing to apply: SSH_CONNECTION='" << PlainText(env)
              << "' is not 'CLIENT PORT SERVER PORT', so fwc cannot check that the new rules keep this SSH "
                 "session\nfwc: nothing was changed; apply with --force to skip the check\n";
    return false;
  }
  auto host = nl::OpenHostNetwork();
  analysis::QueryEngine engine(c.model(), c.placed());
  nl::GuardResult g = nl::CheckSsh(engine, c.sources(), *conn, *host);
  if (verbose) std::cerr << "fwc: " << g.note << "\n";
  if (g.safe) return true;
  std::cerr << "fwc: refusing to apply: the new rules would cut you off:\n";
  for (const auto& p : g.problems) std::cerr << "fwc:   " << p << "\n";
  std::cerr << "fwc: nothing was changed; allow SSH in the policy, or apply with --force "
               "(and better with --confirm SECONDS)\n";
  return false;
}

int DryRun(const Compiled& c, nl::NetlinkTransport& t, const std::string& policy) {
  nl::ReplaceOptions o;
  o.commit = false;
  std::vector<std::string> diff;
  std::string loaded;
  uint32_t genid = 0;
  o.before_send = [&](const nl::Loaded& cur) {
    diff = nl::Differences(cur.image, c.image, 60);
    loaded = nl::Summary(cur.image);
    genid = cur.genid;
    return true;
  };
  nl::LoadResult r = nl::Replace(t, c.image, o);
  std::cout << "fwc: dry run: nothing was changed\n";
  std::cout << "fwc: would send one batch of " << r.messages << " messages (" << r.bytes << " bytes): "
            << nl::Summary(c.image) << "\n";
  if (!r.ok) {
    std::cout << "fwc: the kernel would refuse it:\n";
    PrintRejections(r);
    return kExitNotApplied;
  }
  std::cout << "fwc: the kernel accepts it (checked without committing)\n";
  std::cout << "fwc: loaded now (generation " << genid << "): table inet fwc " << loaded << "\n";
  if (diff.empty()) {
    std::cout << "fwc: no change: the loaded table is exactly what " << policy << " compiles to\n";
  } else {
    std::cout << "fwc: changes:\n";
    for (const auto& l : diff) std::cout << "  " << l << "\n";
  }
  return kExitOk;
}

// SIGINT and SIGTERM, blocked from the moment the rollback is armed: they
// are taken in WaitForConfirmation (and then roll back at once).
sigset_t StopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  return stop;
}

// Waits for `fwc confirm`, the watchdog's rollback, or a signal.
int WaitForConfirmation(const nl::StateStore& store, nl::NetlinkTransport& t, const std::string& token) {
  sigset_t stop = StopSignals();
  for (;;) {
    nl::PendingState s = store.Read();
    if (s.token != token) {
      std::cerr << "fwc: another apply took over the confirmation\n";
      return kExitOk;
    }
    switch (s.status) {
      case nl::PendingStatus::kConfirmed: std::cout << "fwc: confirmed: the new rules stay\n"; return kExitOk;
      case nl::PendingStatus::kRolledBack:
        std::cout << "fwc: rolled back: " << s.message << "\n";
        return kExitRolledBack;
      case nl::PendingStatus::kRollbackFailed:
        std::cerr << "fwc: ROLLBACK FAILED: " << s.message << "\n";
        return kExitRollbackFailed;
      case nl::PendingStatus::kPending: {
        int64_t late = nl::BoottimeMs() - s.deadline_ms;
        bool watcher_gone = s.watchdog > 0 ? kill(s.watchdog, 0) != 0 && errno == ESRCH : late > 30000;
        if (late > 3000 && watcher_gone) nl::RollBackIfPending(store, t, token, "the watchdog did not act");
        break;
      }
      default: std::cerr << "fwc: the confirmation was cancelled\n"; return kExitOk;
    }
    timespec ts = {0, 200 * 1000000};
    if (sigtimedwait(&stop, nullptr, &ts) > 0) nl::RollBackIfPending(store, t, token, "interrupted");
  }
}

int ApplyConfirmed(const ApplyArgs& a, const Compiled& c, nl::NetlinkTransport& t) {
  nl::StateStore store(StateDir());
  sigset_t stop = StopSignals();
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  std::string token = nl::NewToken();
  nl::PendingState s;
  {
    auto lock = store.Acquire();
    nl::PendingState old = store.Read();
    if (old.status == nl::PendingStatus::kPending || old.status == nl::PendingStatus::kArming) {
      std::cerr << "fwc: an earlier `fwc apply --confirm` (" << old.policy
                << ") is waiting for confirmation; run `fwc confirm` or `fwc rollback` first\n";
      return kExitNotApplied;
    }
    s.status = nl::PendingStatus::kArming;
    s.token = token;
    s.deadline_ms = nl::BoottimeMs() + a.confirm * 1000LL;
    s.applied_at = time(nullptr);
    s.policy = a.policy.policy;
    s.applier = getpid();
    store.Write(s);
  }
  // The watchdog exists before the rules change: whatever happens to this
  // process from here on, the previous table comes back.
  std::vector<std::string> argv = {SelfPath(), "watchdog", "--token", token, "--state-dir", StateDir()};
  const char* via = std::getenv("FWC_ROLLBACK_VIA");  // "process" forces the detached process
  std::string err;
  if ((!via || std::string(via) != "process") && nl::SystemdUsable()) {
    std::string unit = "fwc-rollback-" + token;
    argv.push_back("--now");
    if (nl::StartSystemdTimer(unit, a.confirm, argv, &err)) s.timer_unit = unit;
    else std::cerr << "fwc: warning: " << err << "; using a detached watchdog process instead\n";
    argv.pop_back();
  }
  // Until the rules are sent, a failure here cancels the confirmation (the
  // watchdog then has nothing to do).
  auto cancel = [&] {
    auto lock = store.Acquire();
    nl::PendingState cur = store.Read();
    if (cur.token == token && cur.status == nl::PendingStatus::kArming) {
      cur.status = nl::PendingStatus::kCancelled;
      store.Write(cur);
    }
    nl::StopSystemdTimer(s.timer_unit);
  };
  bool sent = false;
  nl::LoadResult r;
  try {
    if (s.timer_unit.empty()) s.watchdog = nl::SpawnDetached(argv, store.log_path());
    {
      auto lock = store.Acquire();
      store.Write(s);
    }
    nl::ReplaceOptions o;
    o.before_send = [&](const nl::Loaded& cur) {
      store.SaveSnapshot(nl::EncodeSnapshot(cur.messages));
      sent = true;  // from here on, the rules may change: the watchdog stays armed
      return true;
    };
    r = nl::Replace(t, c.image, o);
  } catch (...) {
    if (!sent) cancel();
    throw;
  }
  {
    auto lock = store.Acquire();
    nl::PendingState cur = store.Read();
    if (cur.token == token && cur.status == nl::PendingStatus::kArming) {
      // The time to confirm starts now that the rules are in.
      s.status = r.ok ? nl::PendingStatus::kPending : nl::PendingStatus::kCancelled;
      s.deadline_ms = nl::BoottimeMs() + a.confirm * 1000LL;
      store.Write(s);
    } else if (r.ok && cur.token == token && cur.status != nl::PendingStatus::kConfirmed) {
      std::cerr << "fwc: applied, but the watchdog acted first: " << cur.message << "\n";
      return cur.status == nl::PendingStatus::kRolledBack ? kExitRolledBack : kExitRollbackFailed;
    }
  }
  if (!r.ok) {
    nl::StopSystemdTimer(s.timer_unit);
    PrintRejections(r);
    std::cerr << "fwc: nothing was applied; the rules in force are those of before\n";
    return kExitNotApplied;
  }
  std::cout << "fwc: applied " << a.policy.policy << " (" << nl::Summary(c.image) << ")\n";
  for (const auto& n : r.notes) std::cout << "fwc: " << n << "\n";
  std::cout << "fwc: run `fwc confirm` within " << a.confirm
            << " s (from a new SSH session, to prove you can still get in), or the previous rules come back\n";
  std::cout.flush();
  if (a.no_wait) return kExitOk;
  return WaitForConfirmation(store, t, token);
}

int Apply(const ApplyArgs& a, const Registry& registry) {
  auto t0 = Clock::now();
  Compiled c;
  if (int rc = Build(a.policy, registry, &c); rc != kExitOk) return rc;
  auto t1 = Clock::now();
  if (!a.force && !a.dry_run && !SshGuard(*c.compilation, a.verbose)) return kExitNotApplied;
  try {
    auto t = nl::OpenKernelTransport();
    if (a.dry_run) return DryRun(c, *t, a.policy.policy);
    if (!a.confirm) {
      // A rollback that is still armed would undo this apply later.
      nl::PendingState s;
      try {
        s = nl::StateStore(StateDir()).Read();
      } catch (const nl::NetlinkError&) {
        // No state directory: nothing can be pending.
      }
      if (s.status == nl::PendingStatus::kPending || s.status == nl::PendingStatus::kArming) {
        std::cerr << "fwc: `fwc apply --confirm` (" << s.policy
                  << ") is waiting for confirmation; run `fwc confirm` or `fwc rollback` first\n";
        return kExitNotApplied;
      }
    }
    if (a.confirm > 0) return ApplyConfirmed(a, c, *t);
    nl::LoadResult r = nl::Replace(*t, c.image);
    auto t2 = Clock::now();
    if (a.verbose) {
      char line[512];
      snprintf(line, sizeof line,
               "fwc: compile %.0f ms (of which netlink objects %.0f ms); load %.0f ms: batch %.0f ms (%zu messages, "
               "%zu bytes), read %.0f ms, kernel %.0f ms, check %.0f ms; %d attempt%s, generation %u -> %u\n",
               Ms(t0, t1), c.image_ms, Ms(t1, t2), r.build_ms, r.messages, r.bytes, r.read_ms, r.send_ms, r.after_ms,
               r.attempts,
               r.attempts == 1 ? "" : "s", r.genid_before, r.genid_after);
      std::cerr << line;
    }
    if (!r.ok) {
      PrintRejections(r);
      std::cerr << "fwc: nothing was applied; the rules in force are those of before\n";
      return kExitNotApplied;
    }
    std::cout << "fwc: applied " << a.policy.policy << " (" << nl::Summary(c.image) << ")\n";
    for (const auto& n : r.notes) std::cout << "fwc: " << n << "\n";
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "fwc: error: " << e.what() << "\n";
    return kExitUsage;
  }
}

int Confirm() {
  try {
    nl::StateStore store(StateDir());
    nl::PendingState s;
    {
      auto lock = store.Acquire();
      s = store.Read();
      if (s.status == nl::PendingStatus::kPending || s.status == nl::PendingStatus::kArming) {
        s.status = nl::PendingStatus::kConfirmed;
        s.message = "confirmed";
        store.Write(s);
        nl::StopSystemdTimer(s.timer_unit);
        std::cout << "fwc: confirmed: the rules applied from " << s.policy << " stay\n";
        return kExitOk;
      }
    }
    switch (s.status) {
      case nl::PendingStatus::kConfirmed: std::cout << "fwc: already confirmed (" << s.policy << ")\n"; return kExitOk;
      case nl::PendingStatus::kRolledBack:
        std::cerr << "fwc: too late: " << s.message << "\n";
        return kExitRolledBack;
      case nl::PendingStatus::kRollbackFailed:
        std::cerr << "fwc: too late, and the rollback failed: " << s.message << "\n";
        return kExitRollbackFailed;
      default: std::cerr << "fwc: nothing to confirm: no `fwc apply --confirm` is waiting\n"; return kExitPolicy;
    }
  } catch (const std::exception& e) {
    std::cerr << "fwc: error: " << e.what() << "\n";
    return kExitUsage;
  }
}

int Rollback() {
  try {
    nl::StateStore store(StateDir());
    nl::PendingState before = store.Read();
    if (before.status != nl::PendingStatus::kPending && before.status != nl::PendingStatus::kArming) {
      std::cerr << "fwc: nothing to roll back: no `fwc apply --confirm` is waiting\n";
      return kExitPolicy;
    }
    auto t = nl::OpenKernelTransport();
    nl::PendingState s = nl::RollBackIfPending(store, *t, "", "fwc rollback");
    nl::StopSystemdTimer(s.timer_unit);
    if (s.status == nl::PendingStatus::kRolledBack) {
      std::cout << "fwc: rolled back: " << s.message << "\n";
      return kExitOk;
    }
    std::cerr << "fwc: ROLLBACK FAILED: " << s.message << "\n";
    return kExitRollbackFailed;
  } catch (const std::exception& e) {
    std::cerr << "fwc: error: " << e.what() << "\n";
    return kExitUsage;
  }
}

int Watchdog(const std::string& token, const std::string& dir, bool now) {
  try {
    nl::StateStore store(dir);
    return nl::RunWatchdog(store, token, now, [] { return nl::OpenKernelTransport(); });
  } catch (const std::exception& e) {
    std::cerr << "fwc: watchdog: " << e.what() << "\n";
    return kExitUsage;
  }
}

int Show(bool canonical) {
  try {
    auto t = nl::OpenKernelTransport();
    nl::Loaded l = nl::ReadTable(*t);
    if (!l.image.present) {
      std::cout << "fwc: table inet fwc is not loaded (ruleset generation " << l.genid << ")\n";
      return kExitPolicy;
    }
    std::cout << "# table inet fwc: " << nl::Summary(l.image) << " (ruleset generation " << l.genid << ")\n";
    try {
      nl::PendingState s = nl::StateStore(StateDir()).Read();
      if (s.status == nl::PendingStatus::kPending || s.status == nl::PendingStatus::kArming)
        std::cout << "# waiting for `fwc confirm` (" << s.policy << "); rollback in "
                  << std::max<int64_t>(0, (s.deadline_ms - nl::BoottimeMs()) / 1000) << " s\n";
    } catch (const std::exception&) {
    }
    if (canonical) {
      std::cout << nl::Canonical(l.image);
      return kExitOk;
    }
    for (const auto& line : nl::Describe(l.image)) std::cout << line << "\n";
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "fwc: error: " << e.what() << "\n";
    return kExitUsage;
  }
}

int Verify(const PolicyArgs& args, const Registry& registry) {
  Compiled c;
  if (int rc = Build(args, registry, &c); rc != kExitOk) return rc;
  try {
    auto t = nl::OpenKernelTransport();
    nl::Loaded l = nl::ReadTable(*t);
    if (!l.image.present) {
      std::cout << "fwc: table inet fwc is not loaded\n";
      return kExitPolicy;
    }
    auto diff = nl::Differences(l.image, c.image, 60);
    if (diff.empty()) {
      std::cout << "fwc: table inet fwc is exactly what " << args.policy << " compiles to (" << nl::Summary(l.image)
                << ")\n";
      return kExitOk;
    }
    std::cout << "fwc: table inet fwc differs from what " << args.policy << " compiles to ('-' loaded, '+' policy):\n";
    for (const auto& d : diff) std::cout << "  " << d << "\n";
    return kExitPolicy;
  } catch (const std::exception& e) {
    std::cerr << "fwc: error: " << e.what() << "\n";
    return kExitUsage;
  }
}

struct InstallArgs {
  PolicyArgs policy;
  std::string target = "nft";
  std::string root;
};

// The kernel and the boot loader must accept the artifact before it
// replaces the installed one.
int ValidateForBoot(const InstallArgs& a, const ir::Ruleset& rs, const std::string& content, const std::string& nft) {
  if (a.target == "iptables") {
    IptablesBackend b;
    // The rules can be tested only once their ipsets exist.
    for (const auto& argv : IptablesBackend::IpsetCommands(rs)) {
      std::string out;
      if (nl::RunProgram(argv, "", &out) != 0) {
        std::cerr << "fwc: cannot create the ipset " << argv[3] << " of a runtime set:\n" << out;
        return kExitNotApplied;
      }
    }
    for (Family f : {Family::kV4, Family::kV6}) {
      std::string tool = f == Family::kV4 ? "iptables-restore" : "ip6tables-restore", out;
      int rc = nl::RunProgram({tool, "--test"}, b.RestoreFile(rs, f), &out);
      if (rc != 0) {
        std::cerr << "fwc: " << tool << " --test refused the rules (" << rc << "):\n" << out;
        return kExitNotApplied;
      }
    }
    return kExitOk;
  }
  auto t = nl::OpenKernelTransport();
  nl::ReplaceOptions o;
  o.commit = false;
  nl::LoadResult r = nl::Replace(*t, nl::BuildImage(rs), o);
  if (!r.ok) {
    PrintRejections(r);
    return kExitNotApplied;
  }
  char tmp[] = "/tmp/fwc-install-XXXXXX";
  int fd = mkstemp(tmp);
  if (fd < 0) throw std::runtime_error("cannot create a temporary file");
  bool written = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  close(fd);
  std::string out;
  int rc = written ? nl::RunProgram({nft, "-c", "-f", tmp}, "", &out) : -1;
  unlink(tmp);
  if (rc != 0) {
    std::cerr << "fwc: nft -c refused the artifact (" << rc << "):\n" << out;
    return kExitNotApplied;
  }
  return kExitOk;
}

int Install(const InstallArgs& a, const Registry& registry) {
  Compilation c;
  if (int rc = LoadPolicy(a.policy, registry, c); rc != kExitOk) return rc;
  auto backend = MakeBackend(a.target);
  ir::Ruleset rs = c.Lower(backend->caps());
  nl::Artifact art;
  art.target = a.target;
  art.content = backend->Emit(rs);
  char real[4096];
  art.policy = realpath(a.policy.policy.c_str(), real) ? real : a.policy.policy;
  art.defines = a.policy.defines;
  std::string nft = FindNft();
  try {
    if (a.target == "nft" && nft.empty()) {
      std::cerr << "fwc: error: the boot unit loads the artifact with nft(8), which is not installed\n";
      return kExitUsage;
    }
    if (int rc = ValidateForBoot(a, rs, art.content, nft); rc != kExitOk) {
      std::cerr << "fwc: nothing was installed; the installed artifact (if any) is unchanged\n";
      return rc;
    }
    nl::InstallLayout layout{a.root};
    std::vector<std::string> log;
    nl::Install(layout, art, nft, &log);
    for (const auto& l : log) std::cout << "fwc: " << l << "\n";
    std::cout << "fwc: installed: fwc.service loads it at boot, before the network comes up\n";
    log.clear();
    std::unique_ptr<nl::ServiceManager> systemd = a.root.empty() ? nl::OpenSystemd() : nullptr;
    if (systemd) nl::AfterInstall(*systemd, art, a.policy.policy, &log);
    for (const auto& l : log) std::cout << "fwc: " << l << "\n";
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "fwc: error: " << e.what() << "\n";
    return kExitUsage;
  }
}

int Uninstall(const std::string& root) {
  try {
    std::vector<std::string> log;
    std::unique_ptr<nl::ServiceManager> systemd = root.empty() ? nl::OpenSystemd() : nullptr;
    nl::UninstallResult r = nl::Uninstall(nl::InstallLayout{root}, systemd.get(), &log);
    for (const auto& l : log) std::cout << "fwc: " << l << "\n";
    if (!r.removed) {
      std::cerr << "fwc: nothing to uninstall\n";
      return kExitPolicy;
    }
    std::cout << (r.stopped ? "fwc: uninstalled\n"
                            : "fwc: uninstalled; the rules loaded now stay (`nft delete table inet fwc` removes them)\n");
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "fwc: error: " << e.what() << "\n";
    return kExitUsage;
  }
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
  registry.Add(confirm, [] { return Confirm(); });

  CLI::App* rollback = app.add_subcommand("rollback", "restore now the rules a pending `fwc apply --confirm` replaced");
  registry.Add(rollback, [] { return Rollback(); });

  auto canonical = std::make_shared<bool>(false);
  CLI::App* show = app.add_subcommand("show", "show table inet fwc as the kernel has it");
  show->add_flag("--canonical", *canonical, "every set, chain and rule in the exact form `fwc verify` compares");
  registry.Add(show, [canonical] { return Show(*canonical); });

  auto verify = std::make_shared<PolicyArgs>();
  CLI::App* v = app.add_subcommand("verify", "check that table inet fwc is exactly what POLICY compiles to");
  verify->AddTo(v);
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
  registry.Add(u, [uroot] { return Uninstall(*uroot); });

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
  registry.Add(w, [wd] { return Watchdog(wd->token, wd->dir, wd->now); });
}

}  // namespace fwc::cli
