// The apply layer's one interface: what fwc apply, confirm, rollback, show,
// verify, install and uninstall do to this machine, given a compiled policy.
// The command line parses options and compiles; everything that touches the
// kernel, the state of a pending confirmation, the watchdog or systemd is
// here. What the user is told goes to the two streams it is given, so the
// layer is tested with a fake kernel and string streams.
//
// Exit status, as documented in fwc(8):
//   0 done (apply: applied, and confirmed with --confirm; verify: identical)
//   1 verify: the loaded table differs; confirm/rollback: nothing is waiting
//   2 I/O errors, no access to the kernel
//   3 not applied: the kernel refused the ruleset, or the SSH check did;
//     the rules in force are those of before
//   4 applied, then rolled back: the previous rules are in force again
//   5 the rollback failed: the rules in force are not those of before
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "apply/boot_install.h"
#include "apply/safe_apply.h"
#include "apply/ssh_guard.h"
#include "backends/netlink/netlink_backend.h"
#include "backends/netlink/table_image.h"
#include "backends/netlink/transport.h"
#include "apply/forwarding.h"
#include "apply/origin.h"
#include "compiler/compilation.h"

namespace fwc::apply {

enum Status : int {
  kOk = 0,
  kDiffers = 1,  // verify found drift; confirm/rollback found nothing waiting
  kError = 2,
  kNotApplied = 3,
  kRolledBack = 4,
  kRollbackFailed = 5,
};

// A compiled policy, ready to load.
struct Plan {
  std::string policy;  // its path, for messages
  // The checked policy: the SSH guard decides packets with its placed rules.
  const Compilation* compilation = nullptr;
  netlink::TableImage image;  // table inet fwc as the policy has it
  double compile_ms = 0, image_ms = 0;
  ForwardingNeed forwarding;  // set (or checked) after a load
  // What the policy was compiled from (files, options): recorded after an
  // apply so that the next apply of the same inputs need not compile
  // (ApplyUnchanged). Unset for a policy on standard input.
  std::optional<Origin> origin;
};

struct ApplyOptions {
  bool dry_run = false;
  int confirm = 0;  // seconds; 0: no confirmation
  bool no_wait = false;
  bool force = false;  // skip the SSH check
  bool verbose = false;
};

// Everything outside fwc the layer uses, chosen by the caller (the command
// line reads FWC_STATE_DIR, FWC_ROLLBACK_VIA and SSH_CONNECTION).
struct Environment {
  std::function<std::unique_ptr<netlink::NetlinkTransport>()> kernel;
  std::function<std::unique_ptr<HostNetwork>()> host;
  std::string state_dir = "/run/fwc";
  std::string self = "fwc";            // this program, which the watchdog runs
  bool watchdog_process_only = false;  // never a systemd timer
  std::string ssh_connection;          // "" when not over SSH
  std::string proc_sys = "/proc/sys";  // where IP forwarding is set
  // `nft -a list table inet fwc`, for the rules' text in fwc show; unset
  // (or "") when nft is not there: show then prints comments only.
  std::function<std::string()> list_table;
};

// This machine: the real kernel, network and systemd.
Environment SystemEnvironment();

class Applier {
 public:
  Applier(Environment env, std::ostream& out, std::ostream& err) : env_(std::move(env)), out_(out), err_(err) {}

  Status Apply(const Plan& plan, const ApplyOptions& options);
  // Before compiling: when the policy's files and options (`key`,
  // OriginKey) are those the loaded table was compiled from and nothing
  // changed the ruleset since fwc committed it, says so and returns the
  // status of the apply (nothing is sent: the rules in force are the
  // policy's, so the SSH guard has nothing to guard). nullopt: compile and
  // Apply as usual (also for --dry-run and --confirm, which always do).
  std::optional<Status> ApplyUnchanged(const std::string& policy, const std::string& key, size_t max_bytes,
                                       const ApplyOptions& options);
  Status Confirm();
  Status Rollback();
  // The rollback watchdog `fwc apply --confirm` starts.
  Status Watchdog(const std::string& token, bool now);
  // canonical: the exact form verify compares; json: DescribeJson's object
  // (a table that is not loaded is {"loaded": false, ...}, still exit 1).
  Status Show(bool canonical, bool json = false);
  // json: {"policy", "loaded", "exact", "summary", "differences"} (fwc(8)).
  // A table found exact is recorded (plan.origin, at the generation read),
  // so that VerifyUnchanged can answer the next verify.
  Status Verify(const Plan& plan, bool json = false);
  // Before compiling: when a verify found the table exact for these files
  // and options (`key`) and the ruleset is still at that generation (no
  // commit since, so nothing in it changed), says so as Verify would and
  // returns kOk. nullopt: compile and Verify as usual.
  std::optional<Status> VerifyUnchanged(const std::string& policy, const std::string& key, size_t max_bytes,
                                        bool json = false);

 private:
  std::optional<Origin> CurrentOrigin(const std::string& key, size_t max_bytes, bool unless_pending);
  void RecordVerified(const Plan& c, const netlink::Loaded& l, netlink::NetlinkTransport& t);
  bool SshGuard(const Plan& plan, bool verbose);
  Status DryRun(const Plan& plan, netlink::NetlinkTransport& t);
  Status ApplyConfirmed(const Plan& plan, const ApplyOptions& options, netlink::NetlinkTransport& t);
  Status WaitForConfirmation(const StateStore& store, netlink::NetlinkTransport& t, const std::string& token);
  void PrintRejections(const netlink::LoadResult& r);

  Environment env_;
  std::ostream& out_;
  std::ostream& err_;
};

// What fwc install stores, and how the kernel and the boot loader are made
// to accept it before it replaces the installed artifact.
struct InstallPlan {
  std::string policy;  // as given, for messages
  Artifact artifact;
  const ir::Ruleset* rs = nullptr;  // what the artifact was emitted from
  std::string root;                 // "" for the real system
};

// Validates, installs, and says how to load it now. nft_path: nft(8), ""
// when it is not installed.
Status InstallArtifact(const InstallPlan& plan, const Environment& env, const std::string& nft_path,
                       std::ostream& out, std::ostream& err);
Status UninstallArtifacts(const std::string& root, std::ostream& out, std::ostream& err);

// nft(8), or "" when it is not installed.
std::string FindNft();

}  // namespace fwc::apply
