// IP forwarding, which no nft table or iptables rule can turn on: a policy
// that says `option forwarding yes|no` has fwc apply (and the boot unit) set
// net.ipv4.ip_forward and net.ipv6.conf.all.forwarding after the rules are
// loaded; one that translates and forwards without saying so gets a warning
// when forwarding is off.
#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace fwc::apply {

// What the policy says and does.
struct ForwardingNeed {
  std::optional<bool> set;  // option forwarding
  bool forwards = false;    // the rules pass (and translate) traffic through
};

// Sets forwarding as the policy says, under proc_sys ("/proc/sys", or a
// directory of the tests), or warns when it forwards and forwarding is off.
// Returns false when setting failed (said on err).
bool ApplyForwarding(const ForwardingNeed& need, const std::string& proc_sys, std::ostream& out, std::ostream& err);

// The shell command the boot unit runs after loading the rules: "" when
// the policy says nothing.
std::string ForwardingCommand(const std::optional<bool>& set);

}  // namespace fwc::apply
