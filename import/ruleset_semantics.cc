#include "import/ruleset_semantics.h"

#include <algorithm>
#include <set>

#include "compiler/base/protocols.h"
#include "import/ruleset_import.h"

namespace fwc::import {

using analysis::Cube;
using analysis::FieldLimits;
using analysis::RuleList;
using analysis::Unit;

namespace {

using T = SourceRule::Target;

// The rule's matches as cubes; false when a match cannot be modelled.
bool RuleCubes(const SourceRule& r, const FieldLimits& lim, analysis::InterfaceIds& ifaces, std::vector<Cube>& out) {
  if (!r.unsupported.empty()) return false;
  std::array<IntervalSet, analysis::kFieldCount> f;
  for (int i = 0; i < analysis::kFieldCount; ++i) f[i] = IntervalSet::Range(0, lim.max[i]);
  for (auto [field, m] : {std::pair{analysis::kIif, &r.iif}, std::pair{analysis::kOif, &r.oif}}) {
    if (!*m) continue;
    if ((*m)->name == "+") {  // every interface
      if ((*m)->negated) f[field] = IntervalSet();
      continue;
    }
    if (!(*m)->name.empty() && (*m)->name.back() == '+') return false;  // a wildcard: a set of unknown names
    U128 id = static_cast<U128>(ifaces.Find((*m)->name));
    IntervalSet one = IntervalSet::Range(id, id);
    f[field] = (*m)->negated ? one.Complement(lim.max[field]) : one;
  }
  for (auto [field, a] : {std::pair{analysis::kSrc, &r.src}, std::pair{analysis::kDst, &r.dst}})
    if (*a) f[field] = (*a)->negated ? (*a)->set.Complement(lim.max[field]) : (*a)->set;
  if (r.proto >= 0) {
    IntervalSet p = IntervalSet::Range(static_cast<U128>(r.proto), static_cast<U128>(r.proto));
    f[analysis::kProto] = r.proto_negated ? p.Complement(lim.max[analysis::kProto]) : p;
  }
  bool ports = r.proto == kProtoTcp || r.proto == kProtoUdp;
  if ((r.sport || r.dport) && (!ports || r.proto_negated)) return false;
  if (r.sport) f[analysis::kSport] = r.sport->negated ? r.sport->ports.Complement(65535) : r.sport->ports;
  if (r.dport) f[analysis::kDport] = r.dport->negated ? r.dport->ports.Complement(65535) : r.dport->ports;
  if (r.icmp_type >= 0) {
    if (r.proto != kProtoIcmp && r.proto != kProtoIcmpv6) return false;
    U128 base = static_cast<U128>(r.icmp_type) << 8;
    f[analysis::kIcmp] = r.icmp_code >= 0 ? IntervalSet::Range(base | static_cast<U128>(r.icmp_code),
                                                               base | static_cast<U128>(r.icmp_code))
                                          : IntervalSet::Range(base, base | 0xff);
  }
  analysis::AddProduct(f, out);
  return true;
}

// Whether the rule can match the first packet of a connection.
bool MatchesNew(const SourceRule& r) {
  if (r.states.empty()) return true;
  bool has_new = std::find(r.states.begin(), r.states.end(), "new") != r.states.end();
  return has_new != r.states_negated;
}

// iptables targets that change or report a packet and let it go on down
// the chain: to the verdict they are no rule at all.
bool IsNonTerminatingTarget(const std::string& t) {
  static const char* kTargets[] = {"TCPMSS", "MARK",   "CONNMARK", "TOS",       "DSCP",   "TTL",      "HL",
                                   "CLASSIFY", "ULOG", "NFLOG",    "SECMARK",   "CONNSECMARK", "TRACE", "AUDIT",
                                   "CHECKSUM", "IDLETIMER", "LED", "NOTRACK", "CT"};
  for (const char* k : kTargets)
    if (t == k) return true;
  return false;
}

class Builder {
 public:
  Builder(const SourceTable& t, RuleList& list, analysis::InterfaceIds& ifaces, RulesetLists& out, bool stateful)
      : t_(t), list_(list), ifaces_(ifaces), out_(out), stateful_(stateful) {}

  void Walk(const SourceChain& chain, std::vector<Cube> ctx, int depth) {
    for (const auto& r : chain.rules) {
      if (ctx.empty()) return;
      if (r.target == T::kLog || r.target == T::kNone) continue;  // decides nothing
      if (r.target == T::kJump && !t_.Find(r.jump) && IsNonTerminatingTarget(r.jump)) continue;
      // A rate limit is conditional on both sides. So is a state match,
      // unless the ruleset is stateful in fwc's sense: then only new
      // connections reach a rule, and it decides those or none.
      if (!r.limit.empty() || r.not_first_packet) continue;
      if (!r.states.empty() && (!stateful_ || !MatchesNew(r))) continue;
      std::vector<Cube> cubes;
      if (!RuleCubes(r, list_.limits, ifaces_, cubes)) {
        out_.unmodelled.push_back(r.loc);
        continue;
      }
      std::vector<Cube> taken;
      for (const auto& c : cubes)
        for (const auto& x : ctx)
          if (x.Intersects(c)) taken.push_back(x.Intersect(c));
      if (taken.empty()) continue;
      switch (r.target) {
        case T::kAccept:
        case T::kDrop:
        case T::kReject: {
          Unit u;
          u.origin = Origin(r.loc);
          u.action = r.target == T::kAccept ? ast::Action::kAccept
                     : r.target == T::kDrop ? ast::Action::kDrop
                                            : ast::Action::kReject;
          u.set_cubes(std::move(taken));
          list_.units.push_back(std::move(u));
          break;
        }
        case T::kReturn:
          for (const auto& c : cubes) analysis::SubtractAll(ctx, c);
          break;
        case T::kJump:
        case T::kGoto: {
          const SourceChain* callee = t_.Find(r.jump);
          if (!callee || depth > 32) {
            out_.unmodelled.push_back(r.loc);
            break;
          }
          Walk(*callee, taken, depth + 1);
          if (r.target == T::kGoto)
            for (const auto& c : cubes) analysis::SubtractAll(ctx, c);
          break;
        }
        default: out_.unmodelled.push_back(r.loc);  // NAT targets in a filter chain
      }
    }
  }

 private:
  const PolicyRule* Origin(const Loc& loc) {
    auto p = std::make_unique<PolicyRule>();
    p->loc = loc;
    p->span = loc;
    out_.origins.push_back(std::move(p));
    return out_.origins.back().get();
  }

  const SourceTable& t_;
  RuleList& list_;
  analysis::InterfaceIds& ifaces_;
  RulesetLists& out_;
  bool stateful_;
};

}  // namespace

void AddRulesetInterfaces(const SourceRuleset& rs, analysis::InterfaceIds& ifaces) {
  ifaces.Id("lo");  // the kernel treats loopback apart, named or not
  for (const auto& t : rs.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto* m : {&r.iif, &r.oif})
          if (*m && !(*m)->name.empty() && (*m)->name.back() != '+') ifaces.Id((*m)->name);
}

RulesetLists BuildRulesetLists(const SourceRuleset& rs, analysis::InterfaceIds& ifaces, bool policy_stateful) {
  RulesetLists out;
  // The check decides the first packet of each connection. A rule that
  // matches new connections decides those when the ruleset is stateful in
  // fwc's sense, and also when it is compared with a stateful policy, whose
  // built-ins decide the rest (Firewall Builder's scripts accept established
  // connections but do not drop invalid packets first). Compared with a
  // policy that spells its state rules out (option stateful no), a state
  // match is conditional on both sides.
  const bool stateful = policy_stateful || RulesetIsStateful(rs);
  for (const char* chain : {"INPUT", "FORWARD", "OUTPUT"})
    for (Family f : {Family::kV4, Family::kV6}) {
      RuleList l;
      l.hook = chain[0] == 'I' ? ir::Hook::kInput : chain[0] == 'F' ? ir::Hook::kForward : ir::Hook::kOutput;
      l.family = f;
      l.limits = FieldLimits::For(f, ifaces.count());
      l.default_action = ast::Action::kAccept;  // a family without a ruleset: the kernel accepts
      const SourceTable* t = rs.Find(f, "filter");
      if (t) {
        out.family_given[f == Family::kV6] = true;
        if (const SourceChain* c = t->Find(chain)) {
          if (c->policy == "DROP") l.default_action = ast::Action::kDrop;
          Builder(*t, l, ifaces, out, stateful).Walk(*c, {Cube::Full(l.limits)}, 0);
        }
      }
      out.lists.push_back(std::move(l));
    }
  return out;
}

void AddBuiltinUnits(std::vector<RuleList>& lists, analysis::InterfaceIds& ifaces,
                     std::vector<std::unique_ptr<PolicyRule>>& origins) {
  auto origin = [&](const char* what) {
    auto p = std::make_unique<PolicyRule>();
    p->comment = what;
    origins.push_back(std::move(p));
    return origins.back().get();
  };
  const PolicyRule* lo = origin("fwc: loopback");
  const PolicyRule* nd = origin("fwc: IPv6 neighbour discovery");
  U128 lo_id = static_cast<U128>(ifaces.Find("lo"));
  for (auto& l : lists) {
    if (l.hook == ir::Hook::kForward) continue;
    std::vector<Unit> front;
    if (lo_id) {
      Cube c = Cube::Full(l.limits);
      auto field = l.hook == ir::Hook::kInput ? analysis::kIif : analysis::kOif;
      c.set_single(field, lo_id);
      Unit u;
      u.origin = lo;
      u.action = ast::Action::kAccept;
      u.set_cubes({c});
      front.push_back(std::move(u));
    }
    if (l.family == Family::kV6) {
      Cube c = Cube::Full(l.limits);
      c.set_single(analysis::kProto, kProtoIcmpv6);
      c.set(analysis::kIcmp, {U128{133} << 8, (U128{136} << 8) | 0xff});
      Unit u;
      u.origin = nd;
      u.action = ast::Action::kAccept;
      u.set_cubes({c});
      front.push_back(std::move(u));
    }
    l.units.insert(l.units.begin(), front.begin(), front.end());
    for (auto& rt : l.runtime) rt.before += front.size();
  }
}

}  // namespace fwc::import

namespace fwc::import {

void RestrictToObservable(std::vector<RuleList>& a, std::vector<RuleList>& b, const AddressSet& own,
                          const SourceRuleset& rs, analysis::InterfaceIds& ifaces,
                          std::vector<std::unique_ptr<PolicyRule>>& origins, int* translated,
                          bool declared_interfaces_only) {
  auto p = std::make_unique<PolicyRule>();
  p->comment = "not seen by this chain";
  const PolicyRule* unseen = p.get();
  origins.push_back(std::move(p));
  *translated = 0;
  std::vector<std::pair<Family, const SourceRule*>> dnat;
  for (const auto& t : rs.tables)
    if (t.name == "nat")
      if (const SourceChain* c = t.Find("PREROUTING"))
        for (const auto& r : c->rules)
          if (r.target == T::kDnat || r.target == T::kRedirect) {
            dnat.push_back({t.family, &r});
            ++*translated;
          }
  for (auto* side : {&a, &b})
    for (auto& l : *side) {
      Cube full = Cube::Full(l.limits);
      std::vector<Cube> cubes;
      auto add = [&](analysis::Field field, const IntervalSet& s) {
        for (const auto& iv : s.intervals()) {
          Cube c = full;
          c.set(field, iv);
          cubes.push_back(c);
        }
      };
      // Packets with an address of the firewall's own in addr that go by
      // an interface other than loopback.
      auto own_off_loopback = [&](analysis::Field addr, analysis::Field itf_field) {
        U128 lo_id = static_cast<U128>(ifaces.Find("lo"));  // never 0: AddRulesetInterfaces
        for (const auto& iv : own.of(l.family).intervals())
          for (Interval itf : {Interval{0, lo_id - 1}, Interval{lo_id + 1, l.limits.max[itf_field]}}) {
            if (itf.lo > itf.hi) continue;
            Cube c = full;
            c.set(addr, iv);
            c.set(itf_field, itf);
            cubes.push_back(c);
          }
      };
      U128 max = FamilyMax(l.family);
      // A firewall with no address of this family declared (none, or only
      // dynamic ones) may have any: its input and output are all seen.
      bool own_known = !own.of(l.family).empty();
      if (l.hook == ir::Hook::kInput) {
        if (own_known) add(analysis::kDst, own.of(l.family).Complement(max));
        // An IPv4 packet with a source of the firewall's own arrives only
        // on loopback: on any other interface the kernel drops it as a
        // martian before INPUT (fib_validate_source; IPv6 has no such check).
        if (l.family == Family::kV4) own_off_loopback(analysis::kSrc, analysis::kIif);
      } else if (l.hook == ir::Hook::kOutput) {
        if (own_known) add(analysis::kSrc, own.of(l.family).Complement(max));
        // A packet to an address of the firewall's own leaves by loopback
        // (the local routing table), in both families.
        own_off_loopback(analysis::kDst, analysis::kOif);
      }
      else {
        // Routed packets come from and go to other hosts: the kernel drops
        // one that arrives with a source of its own (a martian).
        add(analysis::kDst, own.of(l.family));
        add(analysis::kSrc, own.of(l.family));
        // Nor does a routed packet come in or go out by loopback.
        U128 lo_id = static_cast<U128>(ifaces.Find("lo"));
        for (analysis::Field itf : {analysis::kIif, analysis::kOif}) {
          Cube c = full;
          c.set_single(itf, lo_id);
          cubes.push_back(c);
        }
      }
      if (declared_interfaces_only) {
        // Interface id 0: every name neither side mentions.
        for (analysis::Field itf : {analysis::kIif, analysis::kOif}) {
          if ((itf == analysis::kIif && l.hook == ir::Hook::kOutput) ||
              (itf == analysis::kOif && l.hook == ir::Hook::kInput))
            continue;
          Cube c = full;
          c.set_single(itf, 0);
          cubes.push_back(c);
        }
      }
      if (l.hook != ir::Hook::kOutput)
        for (const auto& [f, r] : dnat)
          if (f == l.family && !RuleCubes(*r, l.limits, ifaces, cubes)) cubes.push_back(full);
      if (cubes.empty()) continue;
      Unit u;
      u.origin = unseen;
      u.action = ast::Action::kAccept;
      u.set_cubes(std::move(cubes));
      l.units.insert(l.units.begin(), std::move(u));
      for (auto& rt : l.runtime) ++rt.before;
    }
}

}  // namespace fwc::import

namespace fwc::import {

std::optional<ast::Action> UniformVerdict(const SourceTable& table, const std::string& chain, const SourceRule& region) {
  SourceRuleset one;
  one.tables.push_back(table);
  analysis::InterfaceIds ifaces;
  AddRulesetInterfaces(one, ifaces);
  for (const auto* m : {&region.iif, &region.oif})
    if (*m) ifaces.Id((*m)->name);
  RulesetLists out;
  RuleList l;
  l.family = table.family;
  l.limits = FieldLimits::For(table.family, ifaces.count());
  const SourceChain* c = table.Find(chain);
  if (!c) return std::nullopt;
  l.default_action = c->policy == "DROP" ? ast::Action::kDrop : ast::Action::kAccept;
  Builder(table, l, ifaces, out, RulesetIsStateful(one)).Walk(*c, {Cube::Full(l.limits)}, 0);
  if (!out.unmodelled.empty()) return std::nullopt;
  std::vector<Cube> pieces;
  if (!RuleCubes(region, l.limits, ifaces, pieces)) return std::nullopt;
  std::optional<ast::Action> verdict;
  for (const auto& u : l.units) {
    if (pieces.empty()) break;
    bool meets = false;
    for (const auto& c2 : u.cubes())
      for (const auto& p : pieces) meets |= p.Intersects(c2);
    if (!meets) continue;
    if (verdict && *verdict != u.action) return std::nullopt;
    verdict = u.action;
    for (const auto& c2 : u.cubes()) analysis::SubtractAll(pieces, c2);
  }
  if (!pieces.empty()) {
    if (verdict && *verdict != l.default_action) return std::nullopt;
    verdict = l.default_action;
  }
  return verdict;
}

}  // namespace fwc::import
