// The kernel, as the netlink backend sees it. MnlTransport talks to the real
// one over a libmnl socket; the unit tests use a fake that records every
// message and keeps a table model of its own, so that most of the backend
// runs without root.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fwc::netlink {

// One error the kernel reported for a batch.
struct KernelError {
  uint32_t seq = 0;   // of the failing message (the BATCH_BEGIN's for ERESTART)
  int error = 0;      // positive errno
  std::string text;   // the kernel's extended ack message, if any
};

struct BatchReply {
  std::vector<KernelError> errors;  // empty: the kernel accepted every message
  bool lost = false;                // some error reports were lost (ENOBUFS)
  // What the kernel sent back for the messages that asked for it
  // (NLM_F_ECHO): each created rule, with its handle, in batch order.
  std::vector<std::string> echoes;
};

class NetlinkTransport {
 public:
  virtual ~NetlinkTransport() = default;

  // The ruleset generation id (NFT_MSG_GETGEN).
  virtual uint32_t Generation() = 0;

  // Which kernel ruleset this is: the boot and the network namespace's
  // cookie (never given to another namespace during a boot, unlike its
  // inode number, its generations and its table handles, which a namespace
  // made after another one was deleted starts over with). "" when unknown:
  // then nothing fwc recorded of a table is trusted.
  virtual std::string Namespace() = 0;

  // Sends a framed batch (BATCH_BEGIN ... BATCH_END) in one go and returns
  // the errors the kernel reported. `messages` is how many messages it holds,
  // to size the receive buffer.
  virtual BatchReply SendBatch(const std::string& batch, size_t messages) = 0;

  // The NEW* messages of a GET request of the given type (NFT_MSG_GETTABLE,
  // GETCHAIN, GETSET, GETSETELEM, GETRULE, GETOBJ, GETFLOWTABLE) for one
  // table of one family; `set` names the set for GETSETELEM. A table that
  // does not exist gives no message. `genid16` receives the low 16 bits of
  // the generation the dump was taken in.
  // The NEWRULE message of one rule, found by its handle; "" when the
  // chain has no such rule.
  virtual std::string GetRule(uint16_t family, const std::string& table, const std::string& chain,
                              uint64_t handle) = 0;

  virtual std::vector<std::string> Dump(uint16_t type, uint16_t family, const std::string& table,
                                        const std::string& set, uint16_t* genid16) = 0;
};

// The real kernel. Throws NetlinkError when the socket cannot be opened.
std::unique_ptr<NetlinkTransport> OpenKernelTransport();

}  // namespace fwc::netlink
