#include "apply/forwarding.h"

#include <fstream>

namespace fwc::apply {
namespace {

constexpr const char* kKeys[] = {"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"};

bool Write(const std::string& path, const char* value) {
  std::ofstream f(path);
  if (!f) return false;
  f << value << "\n";
  f.flush();
  return static_cast<bool>(f);
}

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::string v;
  f >> v;
  return v;
}

}  // namespace

bool ApplyForwarding(const ForwardingNeed& need, const std::string& proc_sys, std::ostream& out, std::ostream& err) {
  if (need.set) {
    const char* v = *need.set ? "1" : "0";
    bool ok = true;
    for (const char* key : kKeys) {
      std::string path = proc_sys + "/" + key;
      if (Read(path) == v) continue;
      if (!Write(path, v)) {
        err << "fwc: error: the rules are loaded, but " << path << " could not be set to " << v << "\n";
        ok = false;
        continue;
      }
      out << "fwc: set " << path << " = " << v << " (option forwarding " << (*need.set ? "yes" : "no") << ")\n";
    }
    return ok;
  }
  if (need.forwards && Read(proc_sys + "/" + kKeys[0]) == "0")
    err << "fwc: warning: the policy passes traffic through the firewall, but IP forwarding is off ("
        << proc_sys << "/" << kKeys[0] << " = 0); say 'option forwarding yes;' to have fwc turn it on\n";
  return true;
}

std::string ForwardingCommand(const std::optional<bool>& set) {
  if (!set) return "";
  const char* v = *set ? "1" : "0";
  std::string cmd = "/bin/sh -c 'echo ";
  cmd += v;
  cmd += " > /proc/sys/net/ipv4/ip_forward && echo ";
  cmd += v;
  cmd += " > /proc/sys/net/ipv6/conf/all/forwarding'";
  return cmd;
}

}  // namespace fwc::apply
