// The SSH lockout guard: would a policy drop the SSH connection the command
// runs over? It decides the connection's packets with the one packet
// evaluator fwc has (analysis::QueryEngine, the one `fwc query` uses), on
// the interface the kernel will see them on: the one the route to the
// client goes through.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/base/address.h"
#include "compiler/analysis/query.h"

namespace fwc::apply {

// SSH_CONNECTION: "client_addr client_port server_addr server_port".
struct SshConnection {
  Family family = Family::kV4;
  U128 client = 0, server = 0;
  int client_port = 0, server_port = 0;
  std::string text;  // "10.0.0.2 port 50000 -> 10.0.0.1 port 22"
};
std::optional<SshConnection> ParseSshConnection(const std::string& value);

// What the machine knows about its own network: kernel access, behind an
// interface so that the guard can be tested without root.
class HostNetwork {
 public:
  virtual ~HostNetwork() = default;
  // The interface that holds addr on this machine (network namespace), or
  // "" when addr is not one of its addresses.
  virtual std::string InterfaceHolding(Family f, U128 addr) = 0;
  // The interface the kernel routes packets to addr through, or "" when
  // there is no route: packets from addr arrive there.
  virtual std::string RouteDevice(Family f, U128 addr) = 0;
};

// This machine, through getifaddrs() and an rtnetlink route lookup.
std::unique_ptr<HostNetwork> OpenHostNetwork();

struct GuardResult {
  bool applies = false;  // the connection ends on this machine (namespace)
  bool safe = true;
  std::vector<std::string> problems;  // one line per dropped packet
  std::string note;                   // why the guard did not apply, or how it decided
};

// Checks the packets of the SSH connection: the session's own (established,
// both directions) and a new connection from the same client to the same
// port, with the engine of the policy about to be applied (its rules are
// named through sources).
GuardResult CheckSsh(const analysis::QueryEngine& engine, const SourceManager& sources, const SshConnection& c,
                     HostNetwork& host);

}  // namespace fwc::apply
