// The resolved policy: every name replaced by the exact set of addresses or
// services it stands for, every check passed. Produced by the Resolver
// (resolver.h), consumed by placement (compiler/placement/place.h).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/base/address.h"
#include "compiler/base/translation.h"
#include "compiler/syntax/ast.h"

namespace fwc {

// One protocol-level match: "tcp dport 80,443", "icmp echo-request",
// "proto gre". Empty port sets mean any port.
struct ServiceAtom {
  int proto = 0;
  IntervalSet dports, sports;
  int icmp_type = -1;  // -1: any type
  int icmp_code = -1;  // -1: any code
  Loc loc;

  // icmp belongs to IPv4 only and icmpv6 to IPv6 only; everything else to
  // both.
  std::optional<Family> family() const;
  bool operator==(const ServiceAtom& o) const {
    return proto == o.proto && dports == o.dports && sports == o.sports &&
           icmp_type == o.icmp_type && icmp_code == o.icmp_code;
  }
};

// The per-rule structs below list their small members first, so that they
// pack: a policy of 100k rules holds 100k of each.
struct AddressSlot {
  bool any = true;
  bool negated = false;
  bool firewall = false;  // the slot is exactly the firewall object
  // The slot is exactly a runtime set (runtime_set), of these families.
  bool runtime_v4 = false, runtime_v6 = false;
  Loc loc;
  AddressSet set;     // when !any; empty for a runtime set, whose elements are unknown
  std::string group;  // the slot is exactly this named group (becomes a set)
  std::string runtime_set;

  bool runtime() const { return !runtime_set.empty(); }
  // Whether the slot can match a packet of family f at all.
  bool Allows(Family f) const {
    if (runtime()) return f == Family::kV4 ? runtime_v4 : runtime_v6;
    return any || negated || !set.of(f).empty();
  }
};

struct ServiceSlot {
  bool any = true;
  bool negated = false;
  std::vector<ServiceAtom> atoms;  // when !any
  Loc loc;

  bool Allows(Family f) const;
};

// A rule's logging as checked; the locations for messages stay in the AST.
struct RuleLog {
  bool enabled = false;
  std::string prefix;
  uint64_t rate = 0;  // 0: no limit
  std::string rate_unit;
};

struct PolicyRule {
  ast::Action action = ast::Action::kAccept;
  bool counter = false;
  bool disabled = false;
  bool condition_negated = false;
  Loc loc;
  Loc span;  // the whole rule on its first line, for carets
  AddressSlot src, dst;
  ServiceSlot services;
  std::string iif, oif;  // device names
  RuleLog log;
  std::string comment;
  std::string condition;
  std::vector<std::string> nowarn;  // silenced diagnostic codes
  MatchExtras extras;               // mark, connmark, state, limit
  // A rule of the nat or marks section: what it does (its action is then
  // meaningless). Shared: placement copies it into every rule made of this.
  std::shared_ptr<const Translation> translation;
};

// set NAME runtime: its kernel sets NAME_v4 and NAME_v6 (as declared) hold
// what a script or fail2ban puts there; fwc apply keeps their elements.
struct RuntimeSet {
  std::string name;
  bool v4 = true, v6 = true;
  Loc loc;
};

struct FirewallInterface {
  std::string name;
  std::string device;
  AddressSet addresses;  // the firewall's own addresses on it
  AddressSet networks;   // the attached networks
  Loc loc;
};

struct Model {
  std::string firewall_name;
  std::string cluster_name;  // "" unless the firewall is a cluster member
  // A cluster's virtual addresses, also in firewall_addresses and on their
  // interface: delivered to whichever member holds them.
  AddressSet virtual_addresses;
  std::vector<FirewallInterface> interfaces;
  AddressSet firewall_addresses;
  // Destinations delivered to the firewall itself: its addresses, broadcast
  // and multicast.
  AddressSet local_destinations;
  std::vector<RuntimeSet> runtime_sets;

  std::string policy_name;
  Loc policy_loc;
  ast::Action default_action = ast::Action::kDrop;
  bool any_includes_firewall = true;
  bool stateful = true;
  std::vector<PolicyRule> rules;
  // The nat and marks sections, in order; their rules have a translation.
  std::vector<PolicyRule> nat_rules, mark_rules;
  bool has_nat = false, has_marks = false;
  // option forwarding: yes (turn it on), no (off), unset (leave it).
  std::optional<bool> forwarding;
  bool clamp_mss = false;  // option clamp-mss
  std::vector<HelperSpec> helpers;
  // expect statements: each names one packet (one address per family at
  // each end, one service with one port or ICMP type) and its verdict is
  // the one expected (span: the whole statement's first line).
  std::vector<PolicyRule> expectations;
  // Every condition name rules test, for "-D foo is never used" warnings.
  std::vector<std::string> conditions;
};

}  // namespace fwc
