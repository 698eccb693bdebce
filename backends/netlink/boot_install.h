// fwc install / uninstall: a compiled, validated artifact under
// /var/lib/fwc and a systemd unit that loads it early at boot. Nothing is
// compiled at boot; the previous artifact is kept next to the current one.
#pragma once

#include <string>
#include <vector>

namespace fwc::netlink {

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
};

// "ruleset.nft" / "ruleset.sh".
std::string ArtifactName(const std::string& target, bool previous = false);

// The unit file for an installed artifact of this target.
std::string UnitText(const Artifact& a, const std::string& nft_path);

// Writes the artifact (the one it replaces becomes the previous one), the
// unit and the link that enables it. Appends what it did to *log. Throws
// std::runtime_error on I/O errors (before the unit is touched, the
// current artifact stays as it was).
void Install(const InstallLayout& layout, const Artifact& a, const std::string& nft_path, std::vector<std::string>* log);

// Removes everything Install wrote. Returns false when nothing was
// installed.
bool Uninstall(const InstallLayout& layout, std::vector<std::string>* log);

}  // namespace fwc::netlink
