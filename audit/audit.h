// fwc audit: the probes that decide a policy, what the policy says of each,
// and whether the real firewall agrees. The plan and the judgement are pure
// (tested without a network); the probes are sent by a Scanner
// (nmap_scanner.h), which tests replace with a fake.
//
// From one vantage point (the machine fwc audit runs on) the probes are:
// TCP, UDP and ping, both families, to every host the policy names, the
// firewall's own addresses and the boundaries of every rule's destination
// networks and ranges (their first and last addresses and the ones just
// outside), on every port the policy opens, the ports next to them and a
// few well-known ones. Each is decided by the one packet evaluator
// (analysis::QueryEngine), as fwc query decides it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/analysis/query.h"
#include "compiler/semantics/model.h"

namespace fwc::audit {

enum class ProbeKind { kTcp, kUdp, kPing };
const char* ProbeKindName(ProbeKind k);  // "tcp", "udp", "ping"

struct Probe {
  Family family = Family::kV4;
  ProbeKind kind = ProbeKind::kTcp;
  U128 src = 0, dst = 0;
  unsigned port = 0;   // tcp and udp
  unsigned sport = 0;  // tcp and udp: the source port (nmap -g)
};

// "tcp 10.1.1.11 -> 10.1.2.2:80", "ping [2001:db8:1::11] -> 2001:db8:2::2":
// the probe as fwc query reads it (a ping as icmp echo-request).
std::string ProbeText(const Probe& p);
std::string QueryText(const Probe& p);


// What came back for a probe, as nmap reports it.
enum class Seen {
  kOpen,         // tcp syn-ack, udp reply, ping echo-reply: the target answered
  kReset,        // tcp reset: the target (nothing listening) or a reject rule
  kPortUnreach,  // icmp port unreachable: udp with nothing listening, or a reject rule
  kNoHost,       // icmp host/net unreachable: routed, but no host there
  kProhibited,   // another icmp error (admin-prohibited, ...): someone else's reject
  kSilent,       // nothing: dropped (or, for udp, accepted by a silent service)
  kNotProbed,    // the scanner did not report it
};
const char* SeenName(Seen s);

struct Observation {
  Seen seen = Seen::kNotProbed;
  std::string reason;  // nmap's word ("syn-ack", "no-response", ...)
};

// Where the audit stands and what it probes.
struct AuditOptions {
  // The vantage point's address per family (0: none in that family, so
  // that family is not probed).
  U128 src_v4 = 0, src_v6 = 0;
  bool has_v4 = false, has_v6 = false;
  // The source port of every TCP and UDP probe (nmap -g), so that rules
  // that match source ports decide the probes as the evaluator does. fwc
  // audit picks one at random per run: a port of an earlier run would meet
  // that run's conntrack entries, whose replies pass whatever the rules say.
  unsigned source_port = 40000;
  // More ports to probe, besides those the policy names.
  std::vector<unsigned> extra_tcp, extra_udp;
  // Upper bounds, so that a policy of thousands of rules gets a bounded
  // audit (the boundaries of the first rules are kept).
  size_t max_targets = 256;
  size_t max_ports = 512;
};

// The named hosts a plan probes besides the rules' boundaries (fwc audit
// passes every host object of the policy).
struct NamedTarget {
  std::string name;
  AddressSet addresses;
};

struct PlannedProbe {
  Probe probe;
  analysis::QueryResult expected;  // the policy's answer
};

struct AuditPlan {
  std::vector<PlannedProbe> probes;
  std::vector<std::string> notes;  // what was left out and why
};

// The probes of a policy seen from the options' vantage point. Probes that
// never cross the firewall (to a neighbour of the vantage point on its own
// network) are left out.
AuditPlan PlanAudit(const Model& m, const analysis::QueryEngine& engine, const std::vector<NamedTarget>& named,
                    const AuditOptions& o);

// Whether an observation agrees with the policy's verdict for a probe.
enum class Agreement {
  kAgrees,       // what the verdict implies was seen
  kUnconfirmed,  // consistent, but it does not prove the verdict (no host, a silent udp service)
  kDiffers,
};
Agreement Judge(ProbeKind kind, ast::Action verdict, Seen seen);

// "the target answered (syn-ack)" : the observation in words.
std::string SeenText(ProbeKind kind, const Observation& o);
// What the policy's verdict leads one to expect, in words: "an answer or a reset".
std::string ExpectedText(ProbeKind kind, ast::Action verdict);

struct AuditRow {
  PlannedProbe planned;
  Observation observed;
  Agreement agreement = Agreement::kAgrees;
};

// Per deciding rule (null: the policy default or a built-in rule, told
// apart by builtin), how many probes it decided and how many agreed.
struct RuleTally {
  const PolicyRule* rule = nullptr;
  std::string builtin;
  ast::Action verdict = ast::Action::kDrop;
  size_t probes = 0, agree = 0, unconfirmed = 0, differ = 0;
};

struct AuditReport {
  std::vector<AuditRow> rows;
  std::vector<RuleTally> tallies;  // in policy order, the default last
  size_t agree = 0, unconfirmed = 0, differ = 0;
};

// Joins the plan with what the scanner saw (observed[i] is probes[i]'s).
AuditReport Compare(const AuditPlan& plan, const std::vector<Observation>& observed);

}  // namespace fwc::audit
