#include "apply/applier.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <set>

#include "apply/safe_apply.h"
#include "backends/iptables/iptables_backend.h"
#include "backends/netlink/codegen.h"
#include "backends/netlink/netlink_backend.h"
#include "compiler/analysis/query.h"
#include "compiler/base/json.h"

namespace fwc::apply {

using namespace netlink;

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// The kernel reports every message it refused; the first few tell why
// (the rest usually follow from them).
void PrintRejections(const LoadResult& r, std::ostream& err_) {
  std::set<std::string> seen;
  size_t shown = 0, hidden = 0;
  for (const auto& j : r.rejections) {
    std::string line = j.Describe();
    if (!seen.insert(line).second) continue;
    if (shown == 5) {
      ++hidden;
      continue;
    }
    err_ << "fwc: " << line;
    if (j.origin == "table inet fwc" && j.error == EPERM)
      err_ << " (another program owns table inet fwc: its flags include owner)";
    if (j.error == ERANGE) err_ << " (a name or value is too long for the kernel)";
    err_ << "\n";
    ++shown;
  }
  if (hidden) err_ << "fwc: ... and " << hidden << " more refused messages\n";
  if (r.lost) err_ << "fwc: (the kernel reported more errors than fwc could read)\n";
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

}  // namespace

std::string FindNft() {
  for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

Environment SystemEnvironment() {
  Environment env;
  env.kernel = [] { return OpenKernelTransport(); };
  env.host = [] { return OpenHostNetwork(); };
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) env.self.assign(buf, static_cast<size_t>(n));
  env.list_table = [] {
    std::string out;
    return RunProgram({"nft", "-a", "list", "table", "inet", "fwc"}, "", &out) == 0 ? out : std::string();
  };
  return env;
}

void Applier::PrintRejections(const LoadResult& r) { apply::PrintRejections(r, err_); }

// The SSH lockout guard. Returns false (with the reason printed) when the
// new rules would drop the SSH connection fwc runs over, or when that
// connection cannot be told from SSH_CONNECTION.
bool Applier::SshGuard(const Plan& plan, bool verbose) {
  const std::string& env = env_.ssh_connection;
  if (env.empty()) return true;
  const Compilation& c = *plan.compilation;
  auto conn = ParseSshConnection(env);
  if (!conn) {
    err_ << "fwc: refusing to apply: SSH_CONNECTION='" << PlainText(env)
              << "' is not 'CLIENT PORT SERVER PORT', so fwc cannot check that the new rules keep this SSH "
                 "session\nfwc: nothing was changed; apply with --force to skip the check\n";
    return false;
  }
  auto host = env_.host();
  analysis::QueryEngine engine(c.model(), c.placed(), c.sections());
  GuardResult g = CheckSsh(engine, c.sources(), *conn, *host);
  if (verbose) err_ << "fwc: " << g.note << "\n";
  if (g.safe) return true;
  err_ << "fwc: refusing to apply: the new rules would cut you off:\n";
  for (const auto& p : g.problems) err_ << "fwc:   " << p << "\n";
  err_ << "fwc: nothing was changed; allow SSH in the policy, or apply with --force "
               "(and better with --confirm SECONDS)\n";
  return false;
}

Status Applier::DryRun(const Plan& c, NetlinkTransport& t) {
  ReplaceOptions o;
  o.commit = false;
  std::vector<std::string> diff;
  std::string loaded;
  uint32_t genid = 0;
  o.before_send = [&](const Loaded& cur) {
    diff = Differences(cur.image, c.image, 60);
    loaded = Summary(cur.image);
    genid = cur.genid;
    return true;
  };
  LoadResult r = Replace(t, c.image, o);
  out_ << "fwc: dry run: nothing was changed\n";
  out_ << "fwc: would send one batch of " << r.messages << " messages (" << r.bytes << " bytes): "
            << Summary(c.image) << "\n";
  if (!r.ok) {
    out_ << "fwc: the kernel would refuse it:\n";
    PrintRejections(r);
    return kNotApplied;
  }
  out_ << "fwc: the kernel accepts it (checked without committing)\n";
  out_ << "fwc: loaded now (generation " << genid << "): table inet fwc " << loaded << "\n";
  if (diff.empty()) {
    out_ << "fwc: no change: the loaded table is exactly what " << c.policy << " compiles to\n";
  } else {
    out_ << "fwc: changes:\n";
    for (const auto& l : diff) out_ << "  " << l << "\n";
  }
  return kOk;
}

// Waits for `fwc confirm`, the watchdog's rollback, or a signal.
Status Applier::WaitForConfirmation(const StateStore& store, NetlinkTransport& t, const std::string& token) {
  sigset_t stop = StopSignals();
  for (;;) {
    PendingState s = store.Read();
    if (s.token != token) {
      err_ << "fwc: another apply took over the confirmation\n";
      return kOk;
    }
    switch (s.status) {
      case PendingStatus::kConfirmed: out_ << "fwc: confirmed: the new rules stay\n"; return kOk;
      case PendingStatus::kRolledBack:
        out_ << "fwc: rolled back: " << s.message << "\n";
        return kRolledBack;
      case PendingStatus::kRollbackFailed:
        err_ << "fwc: ROLLBACK FAILED: " << s.message << "\n";
        return kRollbackFailed;
      case PendingStatus::kPending: {
        int64_t late = BoottimeMs() - s.deadline_ms;
        bool watcher_gone = s.watchdog > 0 ? kill(s.watchdog, 0) != 0 && errno == ESRCH : late > 30000;
        if (late > 3000 && watcher_gone) RollBackIfPending(store, t, token, "the watchdog did not act");
        break;
      }
      default: err_ << "fwc: the confirmation was cancelled\n"; return kOk;
    }
    timespec ts = {0, 200 * 1000000};
    if (sigtimedwait(&stop, nullptr, &ts) > 0) RollBackIfPending(store, t, token, "interrupted");
  }
}

Status Applier::ApplyConfirmed(const Plan& c, const ApplyOptions& a, NetlinkTransport& t) {
  StateStore store(env_.state_dir);
  sigset_t stop = StopSignals();
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  std::string token = NewToken();
  PendingState s;
  {
    auto lock = store.Acquire();
    PendingState old = store.Read();
    if (old.status == PendingStatus::kPending || old.status == PendingStatus::kArming) {
      err_ << "fwc: an earlier `fwc apply --confirm` (" << old.policy
                << ") is waiting for confirmation; run `fwc confirm` or `fwc rollback` first\n";
      return kNotApplied;
    }
    s.status = PendingStatus::kArming;
    s.token = token;
    s.deadline_ms = BoottimeMs() + a.confirm * 1000LL;
    s.applied_at = time(nullptr);
    s.policy = c.policy;
    s.applier = getpid();
    store.Write(s);
  }
  // The watchdog exists before the rules change: whatever happens to this
  // process from here on, the previous table comes back.
  std::vector<std::string> argv = {env_.self, "watchdog", "--token", token, "--state-dir", env_.state_dir};
  std::string err;
  if (!env_.watchdog_process_only && SystemdUsable()) {
    std::string unit = "fwc-rollback-" + token;
    argv.push_back("--now");
    if (StartSystemdTimer(unit, a.confirm, argv, &err)) s.timer_unit = unit;
    else err_ << "fwc: warning: " << err << "; using a detached watchdog process instead\n";
    argv.pop_back();
  }
  // Until the rules are sent, a failure here cancels the confirmation (the
  // watchdog then has nothing to do).
  auto cancel = [&] {
    auto lock = store.Acquire();
    PendingState cur = store.Read();
    if (cur.token == token && cur.status == PendingStatus::kArming) {
      cur.status = PendingStatus::kCancelled;
      store.Write(cur);
    }
    StopSystemdTimer(s.timer_unit);
  };
  bool sent = false;
  LoadResult r;
  try {
    if (s.timer_unit.empty()) s.watchdog = SpawnDetached(argv, store.log_path());
    {
      auto lock = store.Acquire();
      store.Write(s);
    }
    ReplaceOptions o;
    o.before_send = [&](const Loaded& cur) {
      store.SaveSnapshot(EncodeSnapshot(cur.messages));
      sent = true;  // from here on, the rules may change: the watchdog stays armed
      return true;
    };
    r = Replace(t, c.image, o);
  } catch (...) {
    if (!sent) cancel();
    throw;
  }
  {
    auto lock = store.Acquire();
    PendingState cur = store.Read();
    if (cur.token == token && cur.status == PendingStatus::kArming) {
      // The time to confirm starts now that the rules are in.
      s.status = r.ok ? PendingStatus::kPending : PendingStatus::kCancelled;
      s.deadline_ms = BoottimeMs() + a.confirm * 1000LL;
      store.Write(s);
    } else if (r.ok && cur.token == token && cur.status != PendingStatus::kConfirmed) {
      err_ << "fwc: applied, but the watchdog acted first: " << cur.message << "\n";
      return cur.status == PendingStatus::kRolledBack ? kRolledBack : kRollbackFailed;
    }
  }
  if (!r.ok) {
    StopSystemdTimer(s.timer_unit);
    PrintRejections(r);
    err_ << "fwc: nothing was applied; the rules in force are those of before\n";
    return kNotApplied;
  }
  out_ << "fwc: applied " << c.policy << " (" << Summary(c.image) << ")\n";
  for (const auto& n : r.notes) out_ << "fwc: " << n << "\n";
  out_ << "fwc: run `fwc confirm` within " << a.confirm
            << " s (from a new SSH session, to prove you can still get in), or the previous rules come back\n";
  out_.flush();
  if (a.no_wait) return kOk;
  return WaitForConfirmation(store, t, token);
}

// The recorded origin, when it is that of these files and options (key)
// and the kernel is still at the namespace, generation and table handle it
// records. nullopt on any doubt: the caller compiles and reports as usual.
std::optional<Origin> Applier::CurrentOrigin(const std::string& key, size_t max_bytes, bool unless_pending) {
  if (key.empty()) return std::nullopt;
  std::optional<Origin> o;
  try {
    StateStore store(env_.state_dir);
    if (unless_pending) {
      PendingState s = store.Read();
      if (s.status == PendingStatus::kPending || s.status == PendingStatus::kArming) return std::nullopt;
    }
    o = Origin::Decode(store.LoadOrigin());
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!o || o->key != key || !FilesUnchanged(*o, max_bytes)) return std::nullopt;
  try {
    auto t = env_.kernel();
    if (t->Namespace() != o->netns || t->Generation() != o->genid || netlink::TableHandle(*t) != o->table)
      return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;  // the caller reports what the kernel says
  }
  return o;
}

std::optional<Status> Applier::ApplyUnchanged(const std::string& policy, const std::string& key, size_t max_bytes,
                                              const ApplyOptions& a) {
  if (a.dry_run || a.confirm) return std::nullopt;
  // The guard has nothing to check when the rules stay, but a session it
  // cannot read is refused by Apply (unless --force) whatever the rules:
  // the same policy must not pass here and fail there.
  if (!a.force && !env_.ssh_connection.empty() && !ParseSshConnection(env_.ssh_connection)) return std::nullopt;
  auto t1 = Clock::now();
  // A pending confirmation is Apply's to report.
  std::optional<Origin> o = CurrentOrigin(key, max_bytes, true);
  if (!o) return std::nullopt;
  err_ << o->said;  // where the compile would have said it: first
  if (a.verbose)
    err_ << "fwc: nothing to compile or send: the loaded table is what fwc committed for these files and options "
            "(generation " << o->genid << ", unchanged since); checked in " << static_cast<long>(Ms(t1, Clock::now()) + 0.5)
         << " ms\n";
  out_ << "fwc: applied " << policy << " (" << o->summary << ")\n";
  if (!ApplyForwarding(o->forwarding, env_.proc_sys, out_, err_)) return kError;
  return kOk;
}

Status Applier::Apply(const Plan& c, const ApplyOptions& a) {
  if (!a.force && !a.dry_run && !SshGuard(c, a.verbose)) return kNotApplied;
  try {
    auto t1 = Clock::now();
    auto t = env_.kernel();
    if (a.dry_run) return DryRun(c, *t);
    if (!a.confirm) {
      // A rollback that is still armed would undo this apply later.
      PendingState s;
      try {
        s = StateStore(env_.state_dir).Read();
      } catch (const StateError&) {
        // No state directory: nothing can be pending.
      }
      if (s.status == PendingStatus::kPending || s.status == PendingStatus::kArming) {
        err_ << "fwc: `fwc apply --confirm` (" << s.policy
                  << ") is waiting for confirmation; run `fwc confirm` or `fwc rollback` first\n";
        return kNotApplied;
      }
    }
    if (a.confirm > 0) return ApplyConfirmed(c, a, *t);
    // What fwc committed last, to send only what changed; without a state
    // directory or a readable index the table is replaced whole.
    std::unique_ptr<StateStore> store;
    netlink::TableIndex loaded, next;
    bool indexed = false;
    try {
      store = std::make_unique<StateStore>(env_.state_dir);
      std::string text = store->LoadIndex();
      if (!text.empty()) {
        loaded = netlink::TableIndex::Decode(text);
        indexed = true;
      }
    } catch (const std::exception&) {
      indexed = false;
    }
    LoadResult r = Update(*t, c.image, indexed ? &loaded : nullptr, &next);
    if (r.ok && store) {
      try {
        // The origin after the index: an origin is trusted only with the
        // namespace, generation and table handle of the commit it records.
        store->SaveOrigin("");
        store->SaveIndex(next.genid ? next.Encode() : "");
        if (next.genid && c.origin) {
          Origin o = *c.origin;
          o.netns = next.netns;
          o.genid = next.genid;
          o.table = next.table;
          o.forwarding = c.forwarding;
          o.summary = Summary(c.image);
          store->SaveOrigin(o.Encode());
        }
      } catch (const StateError&) {
        // The next apply replaces the table.
      }
    }
    auto t2 = Clock::now();
    if (a.verbose) {
      char line[512];
      snprintf(line, sizeof line,
               "fwc: compile %.0f ms (of which netlink objects %.0f ms); load %.0f ms: batch %.0f ms (%zu messages, "
               "%zu bytes), read %.0f ms, kernel %.0f ms, check %.0f ms, index %.0f ms; %d attempt%s, generation %u -> %u\n",
               c.compile_ms, c.image_ms, Ms(t1, t2), r.build_ms, r.messages, r.bytes, r.read_ms, r.send_ms, r.after_ms,
               r.index_ms, r.attempts, r.attempts == 1 ? "" : "s", r.genid_before, r.genid_after);
      err_ << line;
      if (r.delta) {
        err_ << "fwc: changed the loaded table in place: " << r.deleted << " rule" << (r.deleted == 1 ? "" : "s")
             << " deleted, " << r.added << " added";
        if (r.elements_deleted || r.elements_added)
          err_ << "; " << r.elements_deleted << " set element" << (r.elements_deleted == 1 ? "" : "s") << " deleted, "
               << r.elements_added << " added";
        err_ << "\n";
      }
      else
        err_ << "fwc: replaced the whole table: " << r.replaced_because << "\n";
    }
    if (!r.ok) {
      PrintRejections(r);
      err_ << "fwc: nothing was applied; the rules in force are those of before\n";
      return kNotApplied;
    }
    out_ << "fwc: applied " << c.policy << " (" << Summary(c.image) << ")\n";
    for (const auto& n : r.notes) out_ << "fwc: " << n << "\n";
    if (!ApplyForwarding(c.forwarding, env_.proc_sys, out_, err_)) return kError;
    return kOk;
  } catch (const std::exception& e) {
    err_ << "fwc: error: " << e.what() << "\n";
    return kError;
  }
}

Status Applier::Confirm() {
  try {
    StateStore store(env_.state_dir);
    PendingState s;
    {
      auto lock = store.Acquire();
      s = store.Read();
      if (s.status == PendingStatus::kPending || s.status == PendingStatus::kArming) {
        s.status = PendingStatus::kConfirmed;
        s.message = "confirmed";
        store.Write(s);
        StopSystemdTimer(s.timer_unit);
        out_ << "fwc: confirmed: the rules applied from " << s.policy << " stay\n";
        return kOk;
      }
    }
    switch (s.status) {
      case PendingStatus::kConfirmed: out_ << "fwc: already confirmed (" << s.policy << ")\n"; return kOk;
      case PendingStatus::kRolledBack:
        err_ << "fwc: too late: " << s.message << "\n";
        return kRolledBack;
      case PendingStatus::kRollbackFailed:
        err_ << "fwc: too late, and the rollback failed: " << s.message << "\n";
        return kRollbackFailed;
      default: err_ << "fwc: nothing to confirm: no `fwc apply --confirm` is waiting\n"; return kDiffers;
    }
  } catch (const std::exception& e) {
    err_ << "fwc: error: " << e.what() << "\n";
    return kError;
  }
}

Status Applier::Rollback() {
  try {
    StateStore store(env_.state_dir);
    PendingState before = store.Read();
    if (before.status != PendingStatus::kPending && before.status != PendingStatus::kArming) {
      err_ << "fwc: nothing to roll back: no `fwc apply --confirm` is waiting\n";
      return kDiffers;
    }
    auto t = env_.kernel();
    PendingState s = RollBackIfPending(store, *t, "", "fwc rollback");
    StopSystemdTimer(s.timer_unit);
    if (s.status == PendingStatus::kRolledBack) {
      out_ << "fwc: rolled back: " << s.message << "\n";
      return kOk;
    }
    err_ << "fwc: ROLLBACK FAILED: " << s.message << "\n";
    return kRollbackFailed;
  } catch (const std::exception& e) {
    err_ << "fwc: error: " << e.what() << "\n";
    return kError;
  }
}

Status Applier::Watchdog(const std::string& token, bool now) {
  try {
    StateStore store(env_.state_dir);
    return static_cast<Status>(RunWatchdog(store, token, now, env_.kernel));
  } catch (const std::exception& e) {
    err_ << "fwc: watchdog: " << e.what() << "\n";
    return kError;
  }
}

Status Applier::Show(bool canonical, bool json) {
  try {
    auto t = env_.kernel();
    Loaded l = ReadTable(*t);
    // The rules' text comes from a second read (nft's listing), matched to
    // this one by rule handle: it counts only when the ruleset did not
    // change in between (a replaced table reuses handles).
    RuleTexts texts;
    if (env_.list_table && l.image.present)
      for (int attempt = 0; attempt < 3; ++attempt) {
        texts = ParseRuleListing(env_.list_table());
        Loaded again = ReadTable(*t);
        if (again.genid == l.genid) break;
        l = std::move(again);
        texts.clear();
      }
    if (json) {
      out_ << DescribeJson(l.image, l.genid, texts);
      return l.image.present ? kOk : kDiffers;
    }
    if (!l.image.present) {
      out_ << "fwc: table inet fwc is not loaded (ruleset generation " << l.genid << ")\n";
      return kDiffers;
    }
    out_ << "# table inet fwc: " << Summary(l.image) << " (ruleset generation " << l.genid << ")\n";
    try {
      PendingState s = StateStore(env_.state_dir).Read();
      if (s.status == PendingStatus::kPending || s.status == PendingStatus::kArming)
        out_ << "# waiting for `fwc confirm` (" << s.policy << "); rollback in "
                  << std::max<int64_t>(0, (s.deadline_ms - BoottimeMs()) / 1000) << " s\n";
    } catch (const std::exception&) {
    }
    if (canonical) {
      out_ << Canonical(l.image);
      return kOk;
    }
    for (const auto& line : Describe(l.image, texts)) out_ << line << "\n";
    return kOk;
  } catch (const std::exception& e) {
    err_ << "fwc: error: " << e.what() << "\n";
    return kError;
  }
}

namespace {

// What verify prints of a table that is exactly the policy's.
void SayExact(std::ostream& out, const std::string& policy, const std::string& summary, bool json) {
  if (json)
    out << "{\"policy\": " << JsonString(policy) << ", \"loaded\": true, \"exact\": true, \"summary\": "
        << JsonString(summary) << ", \"differences\": []}\n";
  else
    out << "fwc: table inet fwc is exactly what " << policy << " compiles to (" << summary << ")\n";
}

}  // namespace

Status Applier::Verify(const Plan& c, bool json) {
  try {
    auto t = env_.kernel();
    Loaded l = ReadTable(*t);
    // A program reads the JSON: every difference, up to a bound that only a
    // wholly different table of 100k rules reaches.
    auto diff = l.image.present ? Differences(l.image, c.image, json ? 100000 : 60) : std::vector<std::string>{};
    if (l.image.present && diff.empty()) {
      RecordVerified(c, l, *t);
      SayExact(out_, c.policy, Summary(l.image), json);
      return kOk;
    }
    if (json) {
      out_ << "{\"policy\": " << JsonString(c.policy) << ", \"loaded\": " << (l.image.present ? "true" : "false")
           << ", \"exact\": false, \"summary\": " << JsonString(Summary(l.image)) << ", \"differences\": [";
      for (size_t i = 0; i < diff.size(); ++i) out_ << (i ? ",\n  " : "\n  ") << JsonString(diff[i]);
      out_ << "]}\n";
      return kDiffers;
    }
    if (!l.image.present) {
      out_ << "fwc: table inet fwc is not loaded\n";
      return kDiffers;
    }
    out_ << "fwc: table inet fwc differs from what " << c.policy << " compiles to ('-' loaded, '+' policy):\n";
    for (const auto& d : diff) out_ << "  " << d << "\n";
    return kDiffers;
  } catch (const std::exception& e) {
    err_ << "fwc: error: " << e.what() << "\n";
    return kError;
  }
}

// The table read at l.genid is exactly the plan's: until the next commit
// (which moves the generation on) it stays so, and the next verify of the
// same files and options (or apply) need not compile or read it.
void Applier::RecordVerified(const Plan& c, const Loaded& l, NetlinkTransport& t) {
  if (!c.origin) return;
  try {
    Origin o = *c.origin;
    o.netns = t.Namespace();
    o.genid = l.genid;
    o.table = netlink::TableHandle(l.image);
    if (o.netns.empty() || !o.genid || !o.table) return;
    o.forwarding = c.forwarding;
    o.summary = Summary(c.image);
    o.verified = Summary(l.image);
    StateStore(env_.state_dir).SaveOrigin(o.Encode());
  } catch (const std::exception&) {
    // Not recorded: the next verify reads the table again.
  }
}

std::optional<Status> Applier::VerifyUnchanged(const std::string& policy, const std::string& key, size_t max_bytes,
                                               bool json) {
  // A pending confirmation does not matter: verify says what is loaded.
  std::optional<Origin> o = CurrentOrigin(key, max_bytes, false);
  if (!o || o->verified.empty()) return std::nullopt;
  err_ << o->said;
  SayExact(out_, policy, o->verified, json);
  return kOk;
}

namespace {

// The kernel and the boot loader must accept the artifact before it
// replaces the installed one.
Status ValidateForBoot(const InstallPlan& a, const Environment& env, const std::string& nft, std::ostream& err_) {
  const ir::Ruleset& rs = *a.rs;
  const std::string& content = a.artifact.content;
  if (a.artifact.target == "iptables") {
    IptablesBackend b;
    // The rules can be tested only once their ipsets exist.
    for (const auto& argv : IptablesBackend::IpsetCommands(rs)) {
      std::string out;
      if (RunProgram(argv, "", &out) != 0) {
        err_ << "fwc: cannot create the ipset " << argv[3] << " of a runtime set:\n" << out;
        return kNotApplied;
      }
    }
    for (Family f : {Family::kV4, Family::kV6}) {
      std::string tool = f == Family::kV4 ? "iptables-restore" : "ip6tables-restore", out;
      int rc = RunProgram({tool, "--test"}, b.RestoreFile(rs, f), &out);
      if (rc != 0) {
        err_ << "fwc: " << tool << " --test refused the rules (" << rc << "):\n" << out;
        return kNotApplied;
      }
    }
    return kOk;
  }
  auto t = env.kernel();
  ReplaceOptions o;
  o.commit = false;
  LoadResult r = Replace(*t, BuildImage(rs), o);
  if (!r.ok) {
    PrintRejections(r, err_);
    return kNotApplied;
  }
  char tmp[] = "/tmp/fwc-install-XXXXXX";
  int fd = mkstemp(tmp);
  if (fd < 0) throw std::runtime_error("cannot create a temporary file");
  bool written = write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  close(fd);
  std::string out;
  int rc = written ? RunProgram({nft, "-c", "-f", tmp}, "", &out) : -1;
  unlink(tmp);
  if (rc != 0) {
    err_ << "fwc: nft -c refused the artifact (" << rc << "):\n" << out;
    return kNotApplied;
  }
  return kOk;
}

}  // namespace

Status InstallArtifact(const InstallPlan& a, const Environment& env, const std::string& nft, std::ostream& out_,
                       std::ostream& err_) {
  const Artifact& art = a.artifact;
  try {
    if (art.target == "nft" && nft.empty()) {
      err_ << "fwc: error: the boot unit loads the artifact with nft(8), which is not installed\n";
      return kError;
    }
    if (Status rc = ValidateForBoot(a, env, nft, err_); rc != kOk) {
      err_ << "fwc: nothing was installed; the installed artifact (if any) is unchanged\n";
      return rc;
    }
    InstallLayout layout{a.root};
    std::vector<std::string> log;
    Install(layout, art, nft, &log);
    for (const auto& l : log) out_ << "fwc: " << l << "\n";
    out_ << "fwc: installed: fwc.service loads it at boot, before the network comes up\n";
    log.clear();
    std::unique_ptr<ServiceManager> systemd = a.root.empty() ? OpenSystemd() : nullptr;
    if (systemd) AfterInstall(*systemd, art, a.policy, &log);
    for (const auto& l : log) out_ << "fwc: " << l << "\n";
    return kOk;
  } catch (const std::exception& e) {
    err_ << "fwc: error: " << e.what() << "\n";
    return kError;
  }
}

Status UninstallArtifacts(const std::string& root, std::ostream& out_, std::ostream& err_) {
  try {
    std::vector<std::string> log;
    std::unique_ptr<ServiceManager> systemd = root.empty() ? OpenSystemd() : nullptr;
    UninstallResult r = Uninstall(InstallLayout{root}, systemd.get(), &log);
    for (const auto& l : log) out_ << "fwc: " << l << "\n";
    if (!r.removed) {
      err_ << "fwc: nothing to uninstall\n";
      return kDiffers;
    }
    out_ << (r.stopped ? "fwc: uninstalled\n"
                            : "fwc: uninstalled; the rules loaded now stay (`nft delete table inet fwc` removes them)\n");
    return kOk;
  } catch (const std::exception& e) {
    err_ << "fwc: error: " << e.what() << "\n";
    return kError;
  }
}

}  // namespace fwc::apply
