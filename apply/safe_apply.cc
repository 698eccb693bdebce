#include "apply/safe_apply.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "backends/netlink/netlink_backend.h"

namespace fwc::apply {

using namespace netlink;
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      out += s[i] == 'n' ? '\n' : s[i];
    } else {
      out += s[i];
    }
  }
  return out;
}

void WriteFileAtomically(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw StateError("cannot write " + tmp + ": " + std::strerror(errno), errno);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      throw StateError("cannot write " + tmp + ": " + std::strerror(e), e);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw StateError("cannot write " + path + ": " + std::strerror(e), e);
  }
}

PendingStatus StatusFrom(const std::string& s) {
  for (auto st : {PendingStatus::kArming, PendingStatus::kPending, PendingStatus::kConfirmed, PendingStatus::kRolledBack,
                  PendingStatus::kRollbackFailed, PendingStatus::kCancelled})
    if (s == StatusName(st)) return st;
  return PendingStatus::kNone;
}

std::string Now() {
  char buf[64];
  time_t t = time(nullptr);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime(&t));
  return buf;
}

}  // namespace

const char* StatusName(PendingStatus s) {
  switch (s) {
    case PendingStatus::kNone: return "none";
    case PendingStatus::kArming: return "arming";
    case PendingStatus::kPending: return "pending";
    case PendingStatus::kConfirmed: return "confirmed";
    case PendingStatus::kRolledBack: return "rolled-back";
    case PendingStatus::kRollbackFailed: return "rollback-failed";
    case PendingStatus::kCancelled: return "cancelled";
  }
  return "none";
}

int64_t BoottimeMs() {
  timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

StateStore::StateStore(std::string dir) : dir_(std::move(dir)) {
  struct stat st;
  if (stat("/proc/self/ns/net", &st) != 0) throw StateError("cannot identify the network namespace", errno);
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    throw StateError("cannot create " + dir_ + ": " + std::strerror(errno), errno);
  prefix_ = dir_ + "/net-" + std::to_string(static_cast<unsigned long long>(st.st_ino));
}

StateStore::Lock::Lock(const std::string& path) {
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw StateError("cannot open " + path + ": " + std::strerror(errno), errno);
  while (flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int e = errno;
      close(fd_);
      throw StateError("cannot lock " + path + ": " + std::strerror(e), e);
    }
  }
}

StateStore::Lock::~Lock() {
  if (fd_ >= 0) close(fd_);
}

PendingState StateStore::Read() const {
  PendingState s;
  std::ifstream in(prefix_ + ".state");
  if (!in) return s;
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = Unescape(line.substr(eq + 1));
  }
  s.status = StatusFrom(kv["status"]);
  s.token = kv["token"];
  s.deadline_ms = std::atoll(kv["deadline_ms"].c_str());
  s.applied_at = std::atoll(kv["applied_at"].c_str());
  s.watchdog = static_cast<pid_t>(std::atol(kv["watchdog"].c_str()));
  s.applier = static_cast<pid_t>(std::atol(kv["applier"].c_str()));
  s.timer_unit = kv["timer_unit"];
  s.policy = kv["policy"];
  s.message = kv["message"];
  return s;
}

void StateStore::Write(const PendingState& s) const {
  std::ostringstream o;
  o << "status=" << StatusName(s.status) << "\n"
    << "token=" << Escape(s.token) << "\n"
    << "deadline_ms=" << s.deadline_ms << "\n"
    << "applied_at=" << s.applied_at << "\n"
    << "watchdog=" << s.watchdog << "\n"
    << "applier=" << s.applier << "\n"
    << "timer_unit=" << Escape(s.timer_unit) << "\n"
    << "policy=" << Escape(s.policy) << "\n"
    << "message=" << Escape(s.message) << "\n";
  WriteFileAtomically(prefix_ + ".state", o.str(), 0600);
}

void StateStore::SaveSnapshot(const std::string& data) const { WriteFileAtomically(prefix_ + ".snapshot", data, 0600); }

void StateStore::SaveOptional(const char* suffix, const std::string& data) const {
  if (data.empty()) {
    unlink((prefix_ + suffix).c_str());
    return;
  }
  WriteFileAtomically(prefix_ + suffix, data, 0600);
}

std::string StateStore::LoadOptional(const char* suffix) const {
  std::ifstream in(prefix_ + suffix, std::ios::binary);
  if (!in) return "";
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

std::string StateStore::LoadSnapshot() const {
  std::ifstream in(prefix_ + ".snapshot", std::ios::binary);
  if (!in) throw StateError("the saved table " + prefix_ + ".snapshot is missing");
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

RestoreOutcome RestoreSnapshot(NetlinkTransport& t, const std::string& snapshot) {
  RestoreOutcome out;
  TableImage saved = DecodeSnapshot(snapshot, kFamily, kTableName);
  std::string want = Canonical(saved);
  bool present = saved.present;
  LoadResult r = Replace(t, PrepareRestore(std::move(saved)));
  if (!r.ok) {
    out.message = "the kernel refused the saved table:";
    for (const auto& j : r.rejections) out.message += " " + j.Describe() + ";";
    return out;
  }
  Loaded now = ReadTable(t);
  if (Canonical(now.image) != want) {
    out.message = "the table read back after the rollback differs from the saved one";
    return out;
  }
  out.ok = true;
  out.message = present ? "restored the previous table inet fwc (" + Summary(now.image) + ")"
                        : "removed table inet fwc (there was none before)";
  return out;
}

PendingState RollBackIfPending(const StateStore& store, NetlinkTransport& t, const std::string& token,
                               const std::string& why) {
  auto lock = store.Acquire();
  PendingState s = store.Read();
  bool live = s.status == PendingStatus::kPending || s.status == PendingStatus::kArming;
  if (!live || (!token.empty() && s.token != token)) return s;
  RestoreOutcome o;
  try {
    o = RestoreSnapshot(t, store.LoadSnapshot());
  } catch (const std::exception& e) {
    o.ok = false;
    o.message = e.what();
  }
  s.status = o.ok ? PendingStatus::kRolledBack : PendingStatus::kRollbackFailed;
  s.message = why + ": " + o.message;
  store.Write(s);
  return s;
}

pid_t SpawnDetached(const std::vector<std::string>& argv, const std::string& log) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw StateError(std::string("pipe: ") + std::strerror(errno), errno);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t child = fork();
  if (child < 0) throw StateError(std::string("fork: ") + std::strerror(errno), errno);
  if (child == 0) {
    // A session of its own: no controlling terminal, so no SIGHUP when the
    // SSH session ends; a second fork so that it is not a session leader.
    setsid();
    pid_t grandchild = fork();
    if (grandchild == 0) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      signal(SIGHUP, SIG_IGN);
      signal(SIGINT, SIG_IGN);
      int in = open("/dev/null", O_RDONLY);
      int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (out < 0) out = open("/dev/null", O_WRONLY);
      dup2(in, 0);
      dup2(out, 1);
      dup2(out, 2);
      for (int fd = 3; fd < 1024; ++fd) close(fd);
      if (chdir("/") != 0) _exit(126);
      execv(args[0], args.data());
      _exit(127);
    }
    ssize_t ignored = write(fds[1], &grandchild, sizeof grandchild);
    (void)ignored;
    _exit(0);
  }
  close(fds[1]);
  pid_t grandchild = -1;
  ssize_t n;
  do n = read(fds[0], &grandchild, sizeof grandchild);
  while (n < 0 && errno == EINTR);
  close(fds[0]);
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof grandchild || grandchild <= 0) throw StateError("cannot start the rollback watchdog");
  return grandchild;
}

namespace {

unsigned long long NetnsInode(const char* path) {
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  return st.st_ino;
}

std::string FindProgram(const std::string& name) {
  for (const char* d : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"}) {
    std::string p = std::string(d) + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

}  // namespace

bool SystemdUsable() {
  if (access("/run/systemd/system", F_OK) != 0) return false;
  unsigned long long mine = NetnsInode("/proc/self/ns/net"), init = NetnsInode("/proc/1/ns/net");
  if (!mine || mine != init) return false;  // a timer would run in PID 1's namespace
  return !FindProgram("systemd-run").empty() && !FindProgram("systemctl").empty();
}

std::vector<std::string> SystemdRunCommand(const std::string& unit, int seconds, const std::vector<std::string>& argv) {
  std::vector<std::string> cmd = {FindProgram("systemd-run").empty() ? "systemd-run" : FindProgram("systemd-run"),
                                  "--quiet",
                                  "--collect",
                                  "--unit=" + unit,
                                  "--description=fwc: restore table inet fwc unless fwc confirm runs",
                                  "--on-active=" + std::to_string(seconds) + "s",
                                  "--timer-property=AccuracySec=100ms",
                                  "--"};
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  return cmd;
}

bool StartSystemdTimer(const std::string& unit, int seconds, const std::vector<std::string>& argv, std::string* error) {
  std::string out;
  int rc = RunProgram(SystemdRunCommand(unit, seconds, argv), "", &out);
  if (rc != 0) {
    *error = "systemd-run failed (" + std::to_string(rc) + "): " + out;
    return false;
  }
  return true;
}

void StopSystemdTimer(const std::string& unit) {
  if (unit.empty()) return;
  std::string out;
  RunProgram({FindProgram("systemctl").empty() ? "systemctl" : FindProgram("systemctl"), "stop", unit + ".timer"}, "",
             &out);
}

int RunWatchdog(const StateStore& store, const std::string& token, bool now,
                const std::function<std::unique_ptr<NetlinkTransport>()>& open) {
  signal(SIGHUP, SIG_IGN);
  // SIGTERM and SIGINT are taken synchronously, as the wait's wake-up.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  std::cout << Now() << " watchdog " << getpid() << " for token " << token << std::endl;
  std::string why = "not confirmed in time";
  while (!now) {
    PendingState s = store.Read();
    bool live = s.status == PendingStatus::kPending || s.status == PendingStatus::kArming;
    if (s.token != token || !live) {
      std::cout << Now() << " nothing to do: " << StatusName(s.status) << std::endl;
      return 0;
    }
    // While arming, the applying fwc is still sending: as long as it lives
    // it gets a minute more.
    bool sending = s.status == PendingStatus::kArming && s.applier > 0 && (kill(s.applier, 0) == 0 || errno == EPERM);
    int64_t left = s.deadline_ms + (sending ? 60000 : 0) - BoottimeMs();
    if (left <= 0) break;
    int64_t wait_ms = std::min<int64_t>(std::max<int64_t>(left, 20), 200);
    timespec ts = {static_cast<time_t>(wait_ms / 1000), static_cast<long>(wait_ms % 1000) * 1000000};
    if (sigtimedwait(&stop, nullptr, &ts) > 0) {
      why = "the watchdog was terminated";
      break;
    }
  }
  try {
    auto t = open();
    PendingState s = RollBackIfPending(store, *t, token, why);
    std::cout << Now() << " " << StatusName(s.status) << ": " << s.message << std::endl;
    return s.status == PendingStatus::kRollbackFailed ? 1 : 0;
  } catch (const std::exception& e) {
    std::cout << Now() << " rollback failed: " << e.what() << std::endl;
    auto lock = store.Acquire();
    PendingState s = store.Read();
    if (s.token == token && (s.status == PendingStatus::kPending || s.status == PendingStatus::kArming)) {
      s.status = PendingStatus::kRollbackFailed;
      s.message = why + ": " + e.what();
      store.Write(s);
    }
    return 1;
  }
}

int RunProgram(const std::vector<std::string>& argv, const std::string& input, std::string* output) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return -1;
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return -1;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  signal(SIGPIPE, SIG_IGN);
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = write(in[1], input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  close(in[1]);
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (output) *output = data;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

std::string NewToken() {
  unsigned char b[8] = {};
  std::ifstream r("/dev/urandom", std::ios::binary);
  r.read(reinterpret_cast<char*>(b), sizeof b);
  if (!r) {
    uint64_t v = static_cast<uint64_t>(BoottimeMs()) ^ (static_cast<uint64_t>(getpid()) << 32);
    std::memcpy(b, &v, sizeof b);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace fwc::apply
