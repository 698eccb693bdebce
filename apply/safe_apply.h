// Safe apply: what `fwc apply --confirm` leaves behind so that the previous
// table comes back unless `fwc confirm` runs in time, whatever happens to
// the shell or to fwc itself.
//
// Per network namespace, in a state directory (/run/fwc by default):
//   net-<inode>.state     status, token, deadline, who watches (key=value)
//   net-<inode>.snapshot  the table as it was before (a netlink dump)
//   net-<inode>.lock      flock()ed around every change of status
//   net-<inode>.log       what the watchdog did
//   net-<inode>.index     the table fwc committed last, rule by rule (for
//                         an apply that sends only what changed)
//   net-<inode>.origin    what that table was compiled from (for an apply
//                         of the same policy, which has nothing to do)
// The watchdog is a transient systemd timer where systemd runs (and fwc is
// in its network namespace), else a detached process (double fork, setsid,
// exec of fwc itself) that survives the session's hangup and the applying
// fwc's SIGKILL.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/netlink/transport.h"

namespace fwc::apply {

using netlink::NetlinkTransport;

// A failure of the state store or of starting the watchdog (files, locks,
// processes). Kernel failures stay netlink::NetlinkError.
class StateError : public std::runtime_error {
 public:
  StateError(const std::string& what, int error = 0) : std::runtime_error(what), error_(error) {}
  int error() const { return error_; }  // errno, 0 if none

 private:
  int error_;
};

enum class PendingStatus { kNone, kArming, kPending, kConfirmed, kRolledBack, kRollbackFailed, kCancelled };
const char* StatusName(PendingStatus s);

struct PendingState {
  PendingStatus status = PendingStatus::kNone;
  std::string token;
  int64_t deadline_ms = 0;  // CLOCK_BOOTTIME
  int64_t applied_at = 0;   // wall clock, seconds
  pid_t watchdog = 0;       // 0: a systemd timer
  pid_t applier = 0;        // the fwc that applies (while arming)
  std::string timer_unit;   // the systemd timer, if any
  std::string policy;       // what was applied
  std::string message;      // the rollback's outcome
};

int64_t BoottimeMs();

class StateStore {
 public:
  // Files are named after the current network namespace.
  explicit StateStore(std::string dir);
  const std::string& prefix() const { return prefix_; }
  std::string dir() const { return dir_; }

  // An exclusive flock() for as long as the object lives.
  class Lock {
   public:
    explicit Lock(const std::string& path);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    int fd_ = -1;
  };
  Lock Acquire() const { return Lock(prefix_ + ".lock"); }

  PendingState Read() const;                // kNone when there is no state
  void Write(const PendingState& s) const;  // atomically; throws on failure
  void SaveSnapshot(const std::string& data) const;
  std::string LoadSnapshot() const;
  std::string log_path() const { return prefix_ + ".log"; }
  // The index of the table fwc committed last (netlink::TableIndex, text),
  // "" when there is none; writing "" removes it.
  void SaveIndex(const std::string& data) const { SaveOptional(".index", data); }
  std::string LoadIndex() const { return LoadOptional(".index"); }
  // What that table was compiled from (apply/origin.h), "" when unknown;
  // writing "" removes it.
  void SaveOrigin(const std::string& data) const { SaveOptional(".origin", data); }
  std::string LoadOrigin() const { return LoadOptional(".origin"); }

 private:
  void SaveOptional(const char* suffix, const std::string& data) const;
  std::string LoadOptional(const char* suffix) const;

  std::string dir_, prefix_;
};

// Restores a snapshot (a netlink dump of the table, or of its absence) and
// checks that the kernel now holds exactly it.
struct RestoreOutcome {
  bool ok = false;
  std::string message;
};
RestoreOutcome RestoreSnapshot(NetlinkTransport& t, const std::string& snapshot);

// Restores the pending apply's snapshot if the state is still pending with
// this token (any token when empty), under the lock, and records the
// outcome. Returns the state afterwards.
PendingState RollBackIfPending(const StateStore& store, NetlinkTransport& t, const std::string& token,
                               const std::string& why);

// The detached watchdog: runs `argv` (fwc itself, "watchdog", ...) as a
// grandchild in a session of its own with stdio on `log`. Returns its pid.
pid_t SpawnDetached(const std::vector<std::string>& argv, const std::string& log);

// Where systemd is PID 1 and shares this network namespace, a transient
// timer (systemd-run --on-active) runs `argv` at the deadline. Returns the
// timer's unit name, or "" when systemd cannot be used.
bool SystemdUsable();
std::vector<std::string> SystemdRunCommand(const std::string& unit, int seconds, const std::vector<std::string>& argv);
bool StartSystemdTimer(const std::string& unit, int seconds, const std::vector<std::string>& argv, std::string* error);
void StopSystemdTimer(const std::string& unit);

// The watchdog's loop: waits for the deadline, then rolls back unless the
// state moved on (confirmed, cancelled, replaced). SIGTERM rolls back at
// once; SIGHUP is ignored. `now` skips the wait (the systemd timer fired).
int RunWatchdog(const StateStore& store, const std::string& token, bool now,
                const std::function<std::unique_ptr<NetlinkTransport>()>& open);

// Runs a program and waits; returns its exit status (-1 if it could not run).
int RunProgram(const std::vector<std::string>& argv, const std::string& input = "", std::string* output = nullptr);

// A random token (hex).
std::string NewToken();

}  // namespace fwc::apply
