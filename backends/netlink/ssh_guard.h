// The SSH lockout guard: would a ruleset drop the packets of the SSH
// connection the command runs over? Evaluates the IR (first match wins,
// jumps and returns, chain policies) for the packets of that connection.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/address.h"
#include "compiler/ir.h"

namespace fwc::netlink {

// SSH_CONNECTION: "client_addr client_port server_addr server_port".
struct SshConnection {
  Family family = Family::kV4;
  U128 client = 0, server = 0;
  int client_port = 0, server_port = 0;
  std::string text;  // "10.0.0.2:50000 -> 10.0.0.1:22"
};
std::optional<SshConnection> ParseSshConnection(const std::string& value);

// One packet as the rules see it.
struct Packet {
  Family family = Family::kV4;
  std::string iif, oif;  // interface names, "" if none
  U128 saddr = 0, daddr = 0;
  int proto = 6;
  int sport = 0, dport = 0;
  bool established = false;  // conntrack: part of a known connection
};

struct Verdict {
  bool accepted = false;
  std::string by;  // the rule's comment, or "the policy of chain input"
};

// The fate of p in the base chain of `hook`. No base chain: accepted.
Verdict Evaluate(const ir::Ruleset& rs, ir::Hook hook, const Packet& p);

struct GuardResult {
  bool applies = false;  // the connection ends on this machine (namespace)
  bool safe = true;
  std::vector<std::string> problems;  // one line per dropped packet
  std::string note;                   // why the guard did not apply
};

// Checks the packets of the SSH connection: the session's own (established,
// both directions) and a new connection from the same client to the same
// port. `local_iface` is the interface holding the server address, "" when
// it is not an address of this machine (then nothing is checked).
GuardResult CheckSsh(const ir::Ruleset& rs, const SshConnection& c, const std::string& local_iface);

// The interface that holds addr in this network namespace, or "".
std::string InterfaceOf(Family f, U128 addr);

}  // namespace fwc::netlink
