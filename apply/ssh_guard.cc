#include "apply/ssh_guard.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>

#include "compiler/base/protocols.h"

namespace fwc::apply {
namespace {

std::optional<std::pair<Family, U128>> ParseIp(std::string s) {
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // fe80::1%eth0
  in_addr a4;
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) return std::make_pair(Family::kV4, U128{ntohl(a4.s_addr)});
  in6_addr a6;
  if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return std::nullopt;
  U128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | a6.s6_addr[i];
  // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d).
  if ((v >> 32) == 0xffff) return std::make_pair(Family::kV4, v & 0xffffffffu);
  return std::make_pair(Family::kV6, v);
}

std::string Bytes(Family f, U128 addr) {
  size_t n = f == Family::kV4 ? 4 : 16;
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[n - 1 - i] = static_cast<char>(static_cast<unsigned>(addr >> (8 * i)) & 0xff);
  return out;
}

class KernelHostNetwork : public HostNetwork {
 public:
  std::string InterfaceHolding(Family f, U128 addr) override {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return "";
    std::string want = Bytes(f, addr), found;
    for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
      if (!i->ifa_addr) continue;
      if (f == Family::kV4 && i->ifa_addr->sa_family == AF_INET) {
        const auto* a = &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr;
        if (std::memcmp(a, want.data(), 4) == 0) found = i->ifa_name;
      } else if (f == Family::kV6 && i->ifa_addr->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr.s6_addr;
        if (std::memcmp(a, want.data(), 16) == 0) found = i->ifa_name;
      }
    }
    freeifaddrs(list);
    return found;
  }

  // RTM_GETROUTE for addr: what `ip route get ADDR` asks.
  std::string RouteDevice(Family f, U128 addr) override {
    mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
    if (!nl) return "";
    std::string dev;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0) {
      char buf[MNL_SOCKET_BUFFER_SIZE];
      nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
      nlh->nlmsg_type = RTM_GETROUTE;
      nlh->nlmsg_flags = NLM_F_REQUEST;
      nlh->nlmsg_seq = static_cast<uint32_t>(time(nullptr));
      auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
      rtm->rtm_family = f == Family::kV4 ? AF_INET : AF_INET6;
      rtm->rtm_dst_len = f == Family::kV4 ? 32 : 128;
      std::string dst = Bytes(f, addr);
      mnl_attr_put(nlh, RTA_DST, dst.size(), dst.data());
      if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (n > 0) {
          uint32_t oif = 0;
          mnl_cb_run(buf, static_cast<size_t>(n), nlh->nlmsg_seq, mnl_socket_get_portid(nl), RouteReply, &oif);
          char name[IF_NAMESIZE];
          if (oif && if_indextoname(oif, name)) dev = name;
        }
      }
    }
    mnl_socket_close(nl);
    return dev;
  }

 private:
  static int RouteReply(const nlmsghdr* nlh, void* data) {
    if (nlh->nlmsg_type != RTM_NEWROUTE) return MNL_CB_OK;
    mnl_attr_parse(nlh, sizeof(rtmsg), [](const nlattr* a, void* d) {
      if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
        *static_cast<uint32_t*>(d) = mnl_attr_get_u32(a);
      return MNL_CB_OK;
    }, data);
    return MNL_CB_OK;
  }
};

// "rule crm.fw:23" or "the policy default (drop)": what decided.
std::string Decider(const analysis::QueryResult& r, const SourceManager& sources) {
  if (r.rule) {
    std::string out = "rule " + sources.display_name(r.rule->loc.file) + ":" + std::to_string(r.rule->loc.line);
    if (!r.rule->comment.empty()) out += " \"" + r.rule->comment + "\"";
    return out;
  }
  if (!r.builtin.empty()) return "fwc's built-in " + r.builtin + " rule";
  return std::string("the policy default (") + ast::ActionName(r.verdict) + ") of chain " + ir::HookName(r.chain);
}

}  // namespace

std::optional<SshConnection> ParseSshConnection(const std::string& value) {
  std::istringstream in(value);
  std::string client, server, rest;
  int cport = -1, sport = -1;
  if (!(in >> client >> cport >> server >> sport) || (in >> rest)) return std::nullopt;
  auto c = ParseIp(client), s = ParseIp(server);
  if (!c || !s || c->first != s->first || cport < 0 || cport > 65535 || sport < 1 || sport > 65535)
    return std::nullopt;
  SshConnection out;
  out.family = c->first;
  out.client = c->second;
  out.server = s->second;
  out.client_port = cport;
  out.server_port = sport;
  out.text = FormatAddress(out.family, out.client) + " port " + std::to_string(cport) + " -> " +
             FormatAddress(out.family, out.server) + " port " + std::to_string(sport);
  return out;
}

std::unique_ptr<HostNetwork> OpenHostNetwork() { return std::make_unique<KernelHostNetwork>(); }

GuardResult CheckSsh(const analysis::QueryEngine& engine, const SourceManager& sources, const SshConnection& c,
                     HostNetwork& host) {
  GuardResult g;
  if (host.InterfaceHolding(c.family, c.server).empty()) {
    g.note = "the SSH server address " + FormatAddress(c.family, c.server) +
             " is not an address of this machine (network namespace); the SSH check does not apply";
    return g;
  }
  g.applies = true;
  // The client's packets arrive where the route back to it leaves, as
  // reverse-path filtering expects; that is the interface the rules see.
  std::string dev = host.RouteDevice(c.family, c.client);
  g.note = "SSH check: " + c.text + (dev.empty() ? ", no route to the client" : " via " + dev);
  analysis::PacketSpec in;
  in.family = c.family;
  in.proto = kProtoTcp;
  in.src = c.client;
  in.dst = c.server;
  in.sport = static_cast<unsigned>(c.client_port);
  in.dport = static_cast<unsigned>(c.server_port);
  in.iif = dev;
  in.chain = ir::Hook::kInput;  // the server address is this machine's, declared in the policy or not
  in.kernel_devices = true;
  analysis::PacketSpec out = in;
  out.iif.clear();
  out.oif = dev;
  out.chain = ir::Hook::kOutput;
  std::swap(out.src, out.dst);
  std::swap(out.sport, out.dport);
  struct Case {
    const char* what;
    analysis::PacketSpec p;
    bool established;
  };
  Case cases[] = {
      {"this session's packets to the server", in, true},
      {"this session's packets from the server", out, true},
      {"a new SSH connection from this client", in, false},
      {"the server's answers to a new SSH connection", out, true},
  };
  for (auto& k : cases) {
    k.p.established = k.established;
    std::string err;
    auto r = engine.Query(k.p, &err);
    if (!r) {
      g.safe = false;
      g.problems.push_back(std::string(k.what) + ": " + err);
      continue;
    }
    if (r->verdict == ast::Action::kAccept) continue;
    g.safe = false;
    g.problems.push_back(std::string(k.what) + " (" + c.text + (dev.empty() ? "" : " via " + dev) + ") would be " +
                         (r->verdict == ast::Action::kReject ? "rejected" : "dropped") + " by " +
                         Decider(*r, sources));
  }
  return g;
}

}  // namespace fwc::apply
