#include "audit/audit.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "compiler/base/protocols.h"

namespace fwc::audit {
namespace {

// Probed on every target besides the policy's own ports: the services an
// extra rule most often opens by mistake.
constexpr unsigned kWellKnownTcp[] = {21, 22, 23, 25, 53, 80, 110, 143, 443, 445, 3306, 3389, 5432, 8080, 8443};
constexpr unsigned kWellKnownUdp[] = {53, 123, 161, 500};

std::string Address(Family f, U128 a, bool bracket) {
  std::string s = FormatAddress(f, a);
  return f == Family::kV6 && bracket ? "[" + s + "]" : s;
}

// The interface whose attached networks hold a, or nullptr.
const FirewallInterface* AttachedInterface(const Model& m, Family f, U128 a) {
  for (const auto& i : m.interfaces)
    if (i.networks.of(f).Intersects(IntervalSet::Range(a, a))) return &i;
  return nullptr;
}

bool Contains(const IntervalSet& s, U128 a) { return s.Intersects(IntervalSet::Range(a, a)); }

// Adds a port and its neighbours, which tell whether the rule's range ends
// where the policy says.
void PortBoundaries(const IntervalSet& ports, std::set<unsigned>& out) {
  for (const auto& iv : ports.intervals()) {
    unsigned lo = static_cast<unsigned>(iv.lo), hi = static_cast<unsigned>(iv.hi);
    for (unsigned p : {lo, hi}) out.insert(p);
    if (lo > 1) out.insert(lo - 1);
    if (hi < 65535) out.insert(hi + 1);
  }
}

}  // namespace

const char* ProbeKindName(ProbeKind k) {
  switch (k) {
    case ProbeKind::kTcp: return "tcp";
    case ProbeKind::kUdp: return "udp";
    case ProbeKind::kPing: return "ping";
  }
  return "?";
}

const char* SeenName(Seen s) {
  switch (s) {
    case Seen::kOpen: return "answered";
    case Seen::kReset: return "reset";
    case Seen::kPortUnreach: return "port-unreachable";
    case Seen::kNoHost: return "no-host";
    case Seen::kProhibited: return "prohibited";
    case Seen::kSilent: return "silent";
    case Seen::kNotProbed: return "not-reported";
  }
  return "?";
}

std::string ProbeText(const Probe& p) {
  bool ports = p.kind != ProbeKind::kPing;
  return std::string(ProbeKindName(p.kind)) + " " + Address(p.family, p.src, false) + " -> " +
         Address(p.family, p.dst, ports) + (ports ? ":" + std::to_string(p.port) : "");
}

std::string QueryText(const Probe& p) {
  if (p.kind == ProbeKind::kPing)
    return std::string(p.family == Family::kV4 ? "icmp " : "icmpv6 ") + Address(p.family, p.src, false) + " -> " +
           Address(p.family, p.dst, false) + " type echo-request";
  return std::string(ProbeKindName(p.kind)) + " " + Address(p.family, p.src, true) + ":" +
         std::to_string(p.sport) + " -> " + Address(p.family, p.dst, true) + ":" + std::to_string(p.port);
}

AuditPlan PlanAudit(const Model& m, const analysis::QueryEngine& engine, const std::vector<NamedTarget>& named,
                    const AuditOptions& o) {
  AuditPlan plan;
  std::set<unsigned> tcp(std::begin(kWellKnownTcp), std::end(kWellKnownTcp));
  std::set<unsigned> udp(std::begin(kWellKnownUdp), std::end(kWellKnownUdp));
  tcp.insert(o.extra_tcp.begin(), o.extra_tcp.end());
  udp.insert(o.extra_udp.begin(), o.extra_udp.end());
  for (const auto& r : m.rules) {
    if (r.disabled || r.services.any) continue;
    for (const auto& a : r.services.atoms) {
      if (a.proto == kProtoTcp) PortBoundaries(a.dports, tcp);
      if (a.proto == kProtoUdp) PortBoundaries(a.dports, udp);
    }
  }
  auto cap_ports = [&](std::set<unsigned>& s, const char* what) {
    if (s.size() <= o.max_ports) return;
    plan.notes.push_back(std::to_string(s.size()) + " " + what + " ports to probe: only the lowest " +
                         std::to_string(o.max_ports) + " are");
    s.erase(std::next(s.begin(), static_cast<long>(o.max_ports)), s.end());
  };
  cap_ports(tcp, "TCP");
  cap_ports(udp, "UDP");

  for (Family f : {Family::kV4, Family::kV6}) {
    if (!(f == Family::kV4 ? o.has_v4 : o.has_v6)) continue;
    U128 src = f == Family::kV4 ? o.src_v4 : o.src_v6;
    const FirewallInterface* home = AttachedInterface(m, f, src);
    // Targets in a stable order: the firewall, the named hosts, then the
    // rules' boundaries, each kept once.
    std::vector<U128> targets;
    std::set<U128> seen;
    auto add = [&](U128 a) {
      if (a == src || !seen.insert(a).second) return;
      bool firewall = Contains(m.firewall_addresses.of(f), a);
      // Broadcast and multicast reach the firewall but answer nothing useful.
      if (!firewall && Contains(m.local_destinations.of(f), a)) return;
      // A neighbour on the vantage point's own network is reached without
      // crossing the firewall.
      if (!firewall && home && AttachedInterface(m, f, a) == home) return;
      targets.push_back(a);
    };
    for (const auto& i : m.interfaces)
      for (const auto& iv : i.addresses.of(f).intervals()) add(iv.lo);
    for (const auto& n : named)
      for (const auto& iv : n.addresses.of(f).intervals())
        if (iv.lo == iv.hi) add(iv.lo);
    U128 max = FamilyMax(f);
    for (const auto& r : m.rules) {
      if (r.disabled || r.dst.any || r.dst.runtime()) continue;
      for (const auto& iv : r.dst.set.of(f).intervals()) {
        if (iv.lo == iv.hi) {
          add(iv.lo);
          continue;
        }
        // A network's first and last addresses are not hosts: probe the
        // first and last hosts instead, and the addresses just outside.
        bool block = IntervalPrefix(f, iv) && iv.hi - iv.lo >= 3;
        add(block ? iv.lo + 1 : iv.lo);
        add(block ? iv.hi - 1 : iv.hi);
        if (iv.lo > 0) add(iv.lo - 1);
        if (iv.hi < max) add(iv.hi + 1);
      }
    }
    if (targets.size() > o.max_targets) {
      plan.notes.push_back(std::to_string(targets.size()) + std::string(f == Family::kV4 ? " IPv4" : " IPv6") +
                           " targets: only the first " + std::to_string(o.max_targets) + " are probed");
      targets.resize(o.max_targets);
    }

    auto decide = [&](const Probe& p) {
      analysis::PacketSpec spec;
      spec.family = f;
      spec.src = p.src;
      spec.dst = p.dst;
      spec.sport = p.sport;
      spec.dport = p.port;
      if (p.kind == ProbeKind::kTcp) spec.proto = kProtoTcp;
      if (p.kind == ProbeKind::kUdp) spec.proto = kProtoUdp;
      if (p.kind == ProbeKind::kPing) {
        spec.proto = f == Family::kV4 ? kProtoIcmp : kProtoIcmpv6;
        spec.icmp_type = f == Family::kV4 ? 8 : 128;
      }
      std::string error;
      if (auto r = engine.Query(spec, &error)) plan.probes.push_back({p, std::move(*r)});
      else plan.notes.push_back(ProbeText(p) + ": " + error);
    };
    for (U128 t : targets) {
      decide({f, ProbeKind::kPing, src, t, 0, 0});
      for (unsigned port : tcp) decide({f, ProbeKind::kTcp, src, t, port, o.source_port});
      for (unsigned port : udp) decide({f, ProbeKind::kUdp, src, t, port, o.source_port});
    }
  }
  return plan;
}

Agreement Judge(ProbeKind kind, ast::Action verdict, Seen seen) {
  using A = Agreement;
  if (seen == Seen::kNotProbed) return A::kUnconfirmed;
  switch (verdict) {
    case ast::Action::kDrop:
      return seen == Seen::kSilent ? A::kAgrees : A::kDiffers;
    case ast::Action::kAccept:
      if (seen == Seen::kNoHost) return A::kUnconfirmed;
      switch (kind) {
        case ProbeKind::kTcp: return seen == Seen::kOpen || seen == Seen::kReset ? A::kAgrees : A::kDiffers;
        case ProbeKind::kUdp:
          if (seen == Seen::kSilent) return A::kUnconfirmed;  // a service that does not answer junk
          return seen == Seen::kOpen || seen == Seen::kPortUnreach ? A::kAgrees : A::kDiffers;
        case ProbeKind::kPing: return seen == Seen::kOpen ? A::kAgrees : A::kDiffers;
      }
      break;
    case ast::Action::kReject:
      // fwc rejects TCP with a reset and everything else with port unreachable.
      switch (kind) {
        case ProbeKind::kTcp: return seen == Seen::kReset ? A::kAgrees : A::kDiffers;
        case ProbeKind::kUdp: return seen == Seen::kPortUnreach ? A::kAgrees : A::kDiffers;
        case ProbeKind::kPing:
          if (seen == Seen::kSilent) return A::kUnconfirmed;  // nmap need not report the error
          return seen == Seen::kPortUnreach ? A::kAgrees : A::kDiffers;
      }
      break;
  }
  return A::kDiffers;
}

std::string SeenText(ProbeKind kind, const Observation& o) {
  std::string why = o.reason.empty() ? "" : " (" + o.reason + ")";
  switch (o.seen) {
    case Seen::kOpen:
      return kind == ProbeKind::kPing ? "an echo reply" : kind == ProbeKind::kTcp ? "an answer" + why : "a reply" + why;
    case Seen::kReset: return "a reset";
    case Seen::kPortUnreach: return "port unreachable";
    case Seen::kNoHost: return "no host there" + why;
    case Seen::kProhibited: return "an ICMP error" + why;
    case Seen::kSilent: return "no answer";
    case Seen::kNotProbed: return "nothing reported";
  }
  return "?";
}

std::string ExpectedText(ProbeKind kind, ast::Action verdict) {
  switch (verdict) {
    case ast::Action::kDrop: return "no answer";
    case ast::Action::kAccept:
      return kind == ProbeKind::kPing ? "an echo reply"
             : kind == ProbeKind::kTcp ? "an answer or a reset"
                                       : "a reply, port unreachable or no answer";
    case ast::Action::kReject: return kind == ProbeKind::kTcp ? "a reset" : "port unreachable";
  }
  return "?";
}

AuditReport Compare(const AuditPlan& plan, const std::vector<Observation>& observed) {
  AuditReport report;
  // Keyed by where the deciding rule is, so the tallies come in policy order.
  std::map<std::tuple<int, int, int, const PolicyRule*, std::string>, RuleTally> tallies;
  for (size_t i = 0; i < plan.probes.size(); ++i) {
    AuditRow row{plan.probes[i], i < observed.size() ? observed[i] : Observation{}, Agreement::kAgrees};
    const analysis::QueryResult& e = row.planned.expected;
    row.agreement = Judge(row.planned.probe.kind, e.verdict, row.observed.seen);
    int last = e.rule ? 0 : e.builtin.empty() ? 2 : 1;  // rules, built-in rules, the default
    auto key = std::make_tuple(last, e.rule ? e.rule->loc.file : 0, e.rule ? e.rule->loc.line : 0, e.rule, e.builtin);
    RuleTally& t = tallies[key];
    t.rule = e.rule;
    t.builtin = e.builtin;
    t.verdict = e.verdict;
    ++t.probes;
    switch (row.agreement) {
      case Agreement::kAgrees: ++t.agree, ++report.agree; break;
      case Agreement::kUnconfirmed: ++t.unconfirmed, ++report.unconfirmed; break;
      case Agreement::kDiffers: ++t.differ, ++report.differ; break;
    }
    report.rows.push_back(std::move(row));
  }
  for (auto& [_, t] : tallies) report.tallies.push_back(t);
  return report;
}

}  // namespace fwc::audit
