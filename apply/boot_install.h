// fwc install / uninstall: a compiled, validated artifact under
// /var/lib/fwc and a systemd unit that loads it early at boot. Nothing is
// compiled at boot; the previous artifact is kept next to the current one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fwc::apply {

struct InstallLayout {
  std::string root;  // "" for the real system; else an image of it (tests)
  std::string Path(const std::string& p) const { return root + p; }
  static constexpr const char* kLibDir = "/var/lib/fwc";
  static constexpr const char* kUnit = "/etc/systemd/system/fwc.service";
  static constexpr const char* kWantsDir = "/etc/systemd/system/sysinit.target.wants";
  static constexpr const char* kWantsLink = "/etc/systemd/system/sysinit.target.wants/fwc.service";
};

struct Artifact {
  std::string target;   // "nft" or "iptables"
  std::string content;  // the compiled file
  std::string policy;   // the policy it comes from
  std::vector<std::string> defines;
  std::optional<bool> forwarding;  // option forwarding: the nft unit sets it after loading
  std::string firewall;  // --firewall, for a policy of several firewalls
};

// "ruleset.nft" / "ruleset.sh".
std::string ArtifactName(const std::string& target, bool previous = false);

// The unit file for an installed artifact of this target.
std::string UnitText(const Artifact& a, const std::string& nft_path);

// The unit the Debian package ships (lib/systemd/system/fwc.service): the
// nft unit above for whatever artifact is stored, skipped while there is
// none. fwc install's unit in /etc takes its place; uninstall removes that
// one (and the artifact), which leaves this one inactive.
std::string PackagedUnitText(const std::string& nft_path);

// systemd, as install and uninstall need it: behind an interface so that
// what they do to a running unit is tested without one.
class ServiceManager {
 public:
  virtual ~ServiceManager() = default;
  virtual bool IsActive(const std::string& unit) = 0;
  // systemctl ARGS; returns whether it succeeded, its output in *output.
  virtual bool Systemctl(const std::vector<std::string>& args, std::string* output) = 0;
};

// The system's systemd, or nullptr where systemd is not PID 1.
std::unique_ptr<ServiceManager> OpenSystemd();

// Writes the artifact (the one it replaces becomes the previous one), the
// unit and the link that enables it. Appends what it did to *log. Throws
// std::runtime_error on I/O errors (before the unit is touched, the
// current artifact stays as it was).
void Install(const InstallLayout& layout, const Artifact& a, const std::string& nft_path, std::vector<std::string>* log);

// After Install, with systemd running: has it read the new unit, and says
// (in *log) how the new artifact gets loaded now. A unit that is already
// active keeps the rules it loaded until it is restarted; `start` would do
// nothing.
void AfterInstall(ServiceManager& systemd, const Artifact& a, const std::string& policy, std::vector<std::string>* log);

// Removes everything Install wrote. With systemd (non-null), an active
// unit is stopped first, which removes the rules it loaded (its ExecStop),
// and systemd forgets it afterwards, instead of keeping a unit that is
// "not-found" but "active".
struct UninstallResult {
  bool removed = false;  // false: nothing was installed
  bool stopped = false;  // the unit was active and has been stopped
};
UninstallResult Uninstall(const InstallLayout& layout, ServiceManager* systemd, std::vector<std::string>* log);

}  // namespace fwc::apply
