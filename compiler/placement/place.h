// Placement: the policy's rules as the kernel's chains see them. Where a
// rule's traffic can be is decided as Firewall Builder decides it: to the
// firewall (input), from it (output), through it (forward); then each rule
// is cut into one rule per family, chain and protocol. What the analysis
// reasons about, and what the lowering turns into the IR.
//
// The passes are small named rule processors that take one rule and append
// what they make of it, so that PlaceRules runs a policy through them one
// rule at a time (at 100k rules, whole vectors handed from pass to pass
// would hold two of 70 MB at once) and each can be tested alone.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/semantics/model.h"

namespace fwc {

class Diagnostics;
class SourceManager;

// A placed rule: one family, chain and service match of a policy rule.
// What it does (verdict, log, counter, comment) stays its origin's, taken
// only by the lowering: at 100k rules these are 130k rules, kept alive
// through the analysis, so they hold no more than they must.
struct PlacedRule {
  ir::Hook hook = ir::Hook::kNone;  // kNone until PlaceInChains
  ir::Match rule;
  // Services still to be split (positive) or, negated, to be lowered.
  std::vector<ir::ServiceMatch> services;
  bool services_negated = false;
  // The slot names the firewall itself: in input (dst) or output (src) the
  // chain already says so, and the address match would only miss the
  // firewall's undeclared addresses (link-local, DHCP).
  bool src_is_firewall = false, dst_is_firewall = false;
  const PolicyRule* origin = nullptr;
};

// The named set of a group or runtime set in one family: "blocklist_v4".
std::string KernelSetName(const std::string& object, Family f);

// The rules that take part: not disabled, and their `if` condition holds
// for the defines (-D).
std::vector<const PolicyRule*> SelectActiveRules(const Model& m, const std::set<std::string>& defines);

// One rule per address family the rule can match (one for both when it
// names nothing family-specific), with its addresses and services of that
// family.
void SplitByFamily(const PolicyRule& r, std::vector<PlacedRule>& out);

// Where the nat section's active rules translate destinations, which
// decides where filter rules land: a filter rule names the destination the
// client addressed, so one naming a port-forwarded address of the firewall
// also lands in forward (DNAT), one naming a remote address also in input
// (redirect).
struct NatView {
  bool active = false;        // some active dnat or redirect rule
  AddressSet dnat, redirect;  // their destinations (as the client addressed them)
  // Every address a translated connection has before or after DNAT: a
  // filter rule whose destination misses them all matches the same with
  // the packet's own destination, which (unlike conntrack's original one)
  // untracked packets such as ICMP errors and MLD have too.
  AddressSet touched;
  bool ports_only = true;  // every translation is of TCP or UDP traffic only
};
NatView BuildNatView(const Model& m, const std::set<std::string>& defines);

// A copy of w in each chain its traffic can reach. With destination NAT,
// rules in input and forward match the original destination.
void PlaceInChains(const Model& m, PlacedRule w, std::vector<PlacedRule>& out, const NatView& nat = {});

// A rule of the nat or marks section in its hook: marks before routing,
// dnat and redirect in dstnat, snat and masquerade in srcnat, no nat in
// each of the two its interfaces allow.
void PlaceSectionRule(PlacedRule w, std::vector<PlacedRule>& out);

// One rule per service match of w (negated services stay together).
void SplitServices(PlacedRule w, std::vector<PlacedRule>& out);

// Groups a service slot's atoms of one family into as few matches as
// possible without changing what they match (tcp 80 + tcp 443 -> tcp
// {80,443}).
std::vector<ir::ServiceMatch> GroupServices(const std::vector<ServiceAtom>& atoms, std::optional<Family> family);

// Every active rule through the three passes, into one vector allocated
// once. A rule that lands in no chain is a warning (never-matches).
std::vector<PlacedRule> PlaceRules(const Model& m, const std::set<std::string>& defines, Diagnostics& diags);

// The marks section's, then the nat section's active rules, placed.
std::vector<PlacedRule> PlaceSectionRules(const Model& m, const std::set<std::string>& defines);

// The active rules of one section (m.rules, m.nat_rules or m.mark_rules).
std::vector<const PolicyRule*> SelectActive(const std::vector<PolicyRule>& rules,
                                            const std::set<std::string>& defines);

// The placed rules, one a line (fwc compile --dump placed).
std::string DumpPlaced(const std::vector<PlacedRule>& placed, const SourceManager& sources);

}  // namespace fwc
