// Netlink messages and batches: a scratch buffer for building one message,
// set elements split over as many messages as they need, and a batch that
// remembers which policy rule each of its messages comes from.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/netlink/nl_objects.h"

namespace fwc::netlink {

// One message at a time: Begin() gives a buffer large enough for any single
// message libnftnl builds (an attribute nest is at most 64 KiB), Take()
// copies the finished message out.
class MessageWriter {
 public:
  MessageWriter() : buf_(kSize) {}
  char* Begin() { return buf_.data(); }
  std::string Take(const nlmsghdr* nlh) const { return std::string(buf_.data(), nlh->nlmsg_len); }

 private:
  static constexpr size_t kSize = 256 * 1024;
  std::vector<char> buf_;
};

// NEWSETELEM messages carrying every element of s (none if it has none);
// DELSETELEM ones with type NFT_MSG_DELSETELEM.
std::vector<std::string> ElementMessages(MessageWriter& w, const nftnl_set* s, uint16_t family, uint16_t flags,
                                         uint16_t type = 12 /* NFT_MSG_NEWSETELEM */);

// The messages of one transaction, without its BEGIN and END.
class Batch {
 public:
  void Add(std::string message, std::string origin);
  size_t size() const { return offsets_.size(); }
  size_t bytes() const { return body_.size(); }
  const std::string& origin(size_t i) const { return origins_[i]; }
  // The message at index i (nlmsghdr first).
  std::string message(size_t i) const;
  // Its nlmsg_type.
  uint16_t type(size_t i) const;

  // The framed batch: BATCH_BEGIN (carrying the generation id the batch is
  // meant for, when genid != 0), the messages, and BATCH_END unless commit
  // is false (then the kernel checks everything and commits nothing).
  // Message i gets sequence number first_seq + 1 + i.
  std::string Frame(uint32_t first_seq, uint32_t genid, bool commit) const;

 private:
  std::string body_;
  std::vector<size_t> offsets_;
  std::vector<std::string> origins_;
};

// Human text for a kernel error number ("No such file or directory").
std::string ErrorText(int error);

}  // namespace fwc::netlink
