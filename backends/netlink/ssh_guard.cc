#include "backends/netlink/ssh_guard.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "compiler/protocols.h"

namespace fwc::netlink {
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

bool InSet(const IntervalSet& s, U128 v) {
  for (const auto& iv : s.intervals())
    if (iv.lo <= v && v <= iv.hi) return true;
  return false;
}

class Evaluator {
 public:
  Evaluator(const ir::Ruleset& rs, const Packet& p) : rs_(rs), p_(p) {}

  // nullopt: the chain ended without a verdict (return to the caller).
  std::optional<Verdict> Chain(const ir::Chain& c, int depth) {
    if (depth > 16) return Verdict{false, "a jump loop"};
    for (const auto& r : c.rules) {
      if (!Matches(r)) continue;
      switch (r.verdict) {
        case ir::Verdict::kContinue: continue;
        case ir::Verdict::kAccept: return Verdict{true, r.comment};
        case ir::Verdict::kDrop:
        case ir::Verdict::kRejectTcpReset:
        case ir::Verdict::kRejectIcmp: return Verdict{false, r.comment};
        case ir::Verdict::kReturn: return std::nullopt;
        case ir::Verdict::kJump: {
          for (const auto& target : rs_.chains)
            if (target.name == r.target)
              if (auto v = Chain(target, depth + 1)) return v;
          continue;
        }
      }
    }
    return std::nullopt;
  }

 private:
  bool Address(const ir::AddrMatch& a, U128 v) const {
    if (!a.present) return true;
    bool in = false;
    if (!a.set_name.empty()) {
      for (const auto& s : rs_.sets)
        if (s.name == a.set_name) in = InSet(s.elements, v);
    } else {
      in = InSet(a.set, v);
    }
    return in != a.negated;
  }

  bool Matches(const ir::Rule& r) const {
    if (r.family == ir::RuleFamily::kV4 && p_.family != Family::kV4) return false;
    if (r.family == ir::RuleFamily::kV6 && p_.family != Family::kV6) return false;
    if (!r.iif.empty() && r.iif != p_.iif) return false;
    if (!r.oif.empty() && r.oif != p_.oif) return false;
    if (!Address(r.src, p_.saddr) || !Address(r.dst, p_.daddr)) return false;
    if (r.has_service) {
      const ir::ServiceMatch& s = r.service;
      if (s.proto != p_.proto) return false;
      if (!s.sports.empty() && !InSet(s.sports, static_cast<U128>(p_.sport))) return false;
      if (!s.dports.empty() && !InSet(s.dports, static_cast<U128>(p_.dport))) return false;
      if (!s.icmp_types.empty()) return false;  // the guard only looks at TCP
    }
    if (r.ct == ir::CtState::kEstablishedRelated && !p_.established) return false;
    if (r.ct == ir::CtState::kInvalid) return false;
    return true;
  }

  const ir::Ruleset& rs_;
  const Packet& p_;
};

const char* HookName(ir::Hook h) {
  return h == ir::Hook::kInput ? "input" : h == ir::Hook::kOutput ? "output" : "forward";
}

}  // namespace

std::optional<SshConnection> ParseSshConnection(const std::string& value) {
  std::istringstream in(value);
  std::string client, server;
  int cport = -1, sport = -1;
  if (!(in >> client >> cport >> server >> sport)) return std::nullopt;
  auto c = ParseIp(client), s = ParseIp(server);
  if (!c || !s || c->first != s->first || cport < 0 || cport > 65535 || sport < 0 || sport > 65535)
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

Verdict Evaluate(const ir::Ruleset& rs, ir::Hook hook, const Packet& p) {
  for (const auto& c : rs.chains) {
    if (c.hook != hook) continue;
    Evaluator e(rs, p);
    if (auto v = e.Chain(c, 0)) return *v;
    bool accept = c.policy == ir::Verdict::kAccept;
    return Verdict{accept, std::string("the policy of chain ") + HookName(hook) + " (" + (accept ? "accept" : "drop") +
                               ": no rule accepts it)"};
  }
  return Verdict{true, "no " + std::string(HookName(hook)) + " chain"};
}

GuardResult CheckSsh(const ir::Ruleset& rs, const SshConnection& c, const std::string& local_iface) {
  GuardResult g;
  if (local_iface.empty()) {
    g.note = "the SSH server address " + FormatAddress(c.family, c.server) +
             " is not an address of this machine (network namespace); the SSH check does not apply";
    return g;
  }
  g.applies = true;
  Packet in;
  in.family = c.family;
  in.iif = local_iface;
  in.saddr = c.client;
  in.daddr = c.server;
  in.sport = c.client_port;
  in.dport = c.server_port;
  Packet out = in;
  out.iif.clear();
  out.oif = local_iface;
  std::swap(out.saddr, out.daddr);
  std::swap(out.sport, out.dport);
  struct Case {
    const char* what;
    ir::Hook hook;
    Packet p;
    bool established;
  };
  Case cases[] = {
      {"this session's packets to the server", ir::Hook::kInput, in, true},
      {"this session's packets from the server", ir::Hook::kOutput, out, true},
      {"a new SSH connection from this client", ir::Hook::kInput, in, false},
      {"the server's answers to a new SSH connection", ir::Hook::kOutput, out, true},
  };
  for (auto& k : cases) {
    k.p.established = k.established;
    Verdict v = Evaluate(rs, k.hook, k.p);
    if (v.accepted) continue;
    g.safe = false;
    g.problems.push_back(std::string(k.what) + " (" + c.text + " via " + local_iface + ") would be dropped by " +
                         (v.by.rfind("the policy", 0) == 0 ? v.by : "rule \"" + v.by + "\""));
  }
  return g;
}

std::string InterfaceOf(Family f, U128 addr) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (f == Family::kV4 && i->ifa_addr->sa_family == AF_INET) {
      U128 v = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
      if (v == addr) found = i->ifa_name;
    } else if (f == Family::kV6 && i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr.s6_addr;
      U128 v = 0;
      for (int k = 0; k < 16; ++k) v = (v << 8) | a[k];
      if (v == addr) found = i->ifa_name;
    }
  }
  freeifaddrs(list);
  return found;
}

}  // namespace fwc::netlink
