// NetlinkTransport over a libmnl NETLINK_NETFILTER socket.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <endian.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "backends/netlink/nl_message.h"
#include "backends/netlink/nl_objects.h"
#include "backends/netlink/transport.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

namespace fwc::netlink {
namespace {

std::string Permission(int error) {
  if (error == EPERM || error == EACCES)
    return " (fwc needs root, or CAP_NET_ADMIN, to read or change the kernel's rules)";
  return "";
}

class MnlTransport : public NetlinkTransport {
 public:
  MnlTransport() {
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl_) throw NetlinkError(std::string("cannot open a netfilter netlink socket: ") + std::strerror(errno), errno);
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
      int e = errno;
      mnl_socket_close(nl_);
      throw NetlinkError(std::string("cannot bind the netlink socket: ") + std::strerror(e), e);
    }
    portid_ = mnl_socket_get_portid(nl_);
    int one = 1;
    // Errors carry only the failing message's header, and the kernel's
    // explanation when it has one.
    mnl_socket_setsockopt(nl_, NETLINK_CAP_ACK, &one, sizeof one);
    mnl_socket_setsockopt(nl_, NETLINK_EXT_ACK, &one, sizeof one);
    seq_ = static_cast<uint32_t>(time(nullptr));
  }
  ~MnlTransport() override { mnl_socket_close(nl_); }
  MnlTransport(const MnlTransport&) = delete;
  MnlTransport& operator=(const MnlTransport&) = delete;

  std::string Namespace() override {
#ifndef SO_NETNS_COOKIE
    return "";  // headers older than Linux 5.14: nothing recorded of a table is trusted
#else
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    // ENOPROTOOPT before Linux 5.14: "" (nothing recorded of a table is trusted).
    if (getsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0 || !cookie) return "";
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string boot;
    if (!std::getline(in, boot) || boot.empty()) return "";
    return boot + "/" + std::to_string(cookie);
#endif
  }

  uint32_t Generation() override {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++seq_);
    std::vector<std::string> replies = Talk(nlh, false, nullptr);
    for (const auto& m : replies) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(m.data());
      if ((h->nlmsg_type & 0xff) != NFT_MSG_NEWGEN) continue;
      nftnl_gen* gen = nftnl_gen_alloc();
      if (!gen) throw std::bad_alloc();
      int rc = nftnl_gen_nlmsg_parse(h, gen);
      uint32_t id = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
      nftnl_gen_free(gen);
      if (rc < 0) throw NetlinkError("cannot parse the generation message");
      return id;
    }
    throw NetlinkError("the kernel sent no generation id");
  }

  BatchReply SendBatch(const std::string& batch, size_t messages) override {
    // The whole batch goes in one sendmsg: the socket's send buffer must
    // hold it (the default holds a few hundred rules).
    Grow(SO_SNDBUF, SO_SNDBUFFORCE, batch.size() + 65536);
    // Errors come back only for failing messages (no per-message ack), each
    // without the message it answers (NETLINK_CAP_ACK), and the rules that
    // asked for an echo (NLM_F_ECHO) come back whole: room for one buffer
    // of about 2 KiB per message (a limit, not an allocation).
    size_t rcv = messages * 2048 + 1024 * 1024;
    Grow(SO_RCVBUF, SO_RCVBUFFORCE, std::min<size_t>(rcv, 256u * 1024 * 1024));
    sockaddr_nl snl = {};
    snl.nl_family = AF_NETLINK;
    iovec iov = {const_cast<char*>(batch.data()), batch.size()};
    msghdr msg = {};
    msg.msg_name = &snl;
    msg.msg_namelen = sizeof snl;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n;
    do n = sendmsg(mnl_socket_get_fd(nl_), &msg, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      int e = errno;
      throw NetlinkError(std::string("cannot send the batch to the kernel (") + std::to_string(batch.size()) +
                             " bytes): " + std::strerror(e) + Permission(e),
                         e);
    }
    // The kernel handles a batch within sendmsg(): every error it has to
    // report is queued by now.
    BatchReply reply;
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t r = recv(mnl_socket_get_fd(nl_), buf.data(), buf.size(), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == ENOBUFS) {
          reply.lost = true;
          continue;
        }
        throw NetlinkError(std::string("cannot read the kernel's answer: ") + std::strerror(errno), errno);
      }
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
      int len = static_cast<int>(r);
      for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWRULE)) {
          reply.echoes.emplace_back(reinterpret_cast<const char*>(nlh), nlh->nlmsg_len);
          continue;
        }
        if (nlh->nlmsg_type != NLMSG_ERROR) continue;
        KernelError ke;
        if (ParseError(nlh, &ke)) reply.errors.push_back(std::move(ke));
      }
    }
    return reply;
  }

  std::string GetRule(uint16_t family, const std::string& table, const std::string& chain, uint64_t handle) override {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, family, NLM_F_ACK, ++seq_);
    mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
    mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain.c_str());
    mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(handle));
    try {
      for (auto& m : Talk(nlh, false, nullptr)) {
        const auto* h = reinterpret_cast<const nlmsghdr*>(m.data());
        if ((h->nlmsg_type & 0xff) == NFT_MSG_NEWRULE) return m;
      }
    } catch (const NetlinkError& e) {
      if (e.error() != ENOENT) throw;
    }
    return "";
  }

  std::vector<std::string> Dump(uint16_t type, uint16_t family, const std::string& table, const std::string& set,
                                uint16_t* genid16) override {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    bool dump = type != NFT_MSG_GETTABLE;
    uint16_t flags = dump ? NLM_F_DUMP : NLM_F_ACK;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, family, flags, ++seq_);
    switch (type) {
      case NFT_MSG_GETTABLE: mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table.c_str()); break;
      case NFT_MSG_GETCHAIN: mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table.c_str()); break;
      case NFT_MSG_GETSET: mnl_attr_put_strz(nlh, NFTA_SET_TABLE, table.c_str()); break;
      case NFT_MSG_GETSETELEM:
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set.c_str());
        break;
      case NFT_MSG_GETRULE: mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str()); break;
      case NFT_MSG_GETOBJ: mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, table.c_str()); break;
      case NFT_MSG_GETFLOWTABLE: mnl_attr_put_strz(nlh, NFTA_FLOWTABLE_TABLE, table.c_str()); break;
      default: throw NetlinkError("unsupported dump request");
    }
    for (int attempt = 0;; ++attempt) {
      bool interrupted = false;
      try {
        std::vector<std::string> out = Talk(nlh, dump, &interrupted, genid16);
        if (!interrupted) return out;
      } catch (const NetlinkError& e) {
        if (e.error() == ENOENT) return {};
        if (e.error() != EINTR) throw;
      }
      if (attempt == 10) throw NetlinkError("the ruleset kept changing while fwc read it");
      nlh->nlmsg_seq = ++seq_;
    }
  }

 private:
  void Grow(int opt, int force_opt, size_t want) {
    int cur = 0;
    socklen_t len = sizeof cur;
    getsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, opt, &cur, &len);
    if (static_cast<size_t>(cur) >= want) return;
    int v = static_cast<int>(std::min<size_t>(want, 1u << 30));
    if (setsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, force_opt, &v, sizeof v) < 0)
      setsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, opt, &v, sizeof v);
  }

  // One NLMSG_ERROR: false for an acknowledgement.
  static bool ParseError(const nlmsghdr* nlh, KernelError* out) {
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return false;
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    if (err->error == 0) return false;
    out->error = err->error < 0 ? -err->error : err->error;
    out->seq = err->msg.nlmsg_seq;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
      unsigned hlen = sizeof(nlmsgerr);
      if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) hlen += mnl_nlmsg_get_payload_len(&err->msg);
      const nlattr* attr;
      for (attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, hlen));
           mnl_attr_ok(attr, static_cast<int>(static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh)) -
                                              reinterpret_cast<const char*>(attr)));
           attr = mnl_attr_next(attr)) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
          out->text = mnl_attr_get_str(attr);
      }
    }
    return true;
  }

  // Sends one request and collects its answers: until NLMSG_DONE for a
  // dump, until the ack otherwise. Throws NetlinkError with the kernel's
  // error.
  std::vector<std::string> Talk(nlmsghdr* nlh, bool dump, bool* interrupted, uint16_t* genid16 = nullptr) {
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
      int e = errno;
      throw NetlinkError(std::string("cannot send a request to the kernel: ") + std::strerror(e) + Permission(e), e);
    }
    uint32_t seq = nlh->nlmsg_seq;
    std::vector<std::string> out;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 16);
    for (;;) {
      ssize_t r = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        throw NetlinkError(std::string("cannot read from the kernel: ") + std::strerror(e) + Permission(e), e);
      }
      const auto* m = reinterpret_cast<const nlmsghdr*>(buf.data());
      int len = static_cast<int>(r);
      for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
        if (m->nlmsg_seq != seq || m->nlmsg_pid != portid_) continue;
        if (m->nlmsg_type == NLMSG_DONE) return out;
        if (m->nlmsg_type == NLMSG_ERROR) {
          KernelError ke;
          if (!ParseError(m, &ke)) return out;  // the ack
          throw NetlinkError(std::string("the kernel refused a request: ") + ErrorText(ke.error) + Permission(ke.error),
                             ke.error);
        }
        if (interrupted && (m->nlmsg_flags & NLM_F_DUMP_INTR)) *interrupted = true;
        if (genid16 && m->nlmsg_len >= NLMSG_HDRLEN + sizeof(nfgenmsg)) {
          const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(m));
          *genid16 = ntohs(nfg->res_id);
        }
        out.emplace_back(reinterpret_cast<const char*>(m), m->nlmsg_len);
        if (!dump && !(nlh->nlmsg_flags & NLM_F_ACK)) return out;
      }
    }
  }

  mnl_socket* nl_ = nullptr;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace

std::unique_ptr<NetlinkTransport> OpenKernelTransport() { return std::make_unique<MnlTransport>(); }

}  // namespace fwc::netlink
