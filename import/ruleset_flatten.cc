#include "import/ruleset_flatten.h"

#include <algorithm>
#include <set>

namespace fwc::import {

namespace {

// The set an address match stands for, complement taken.
IntervalSet Effective(const AddressMatch& a, U128 max) { return a.negated ? a.set.Complement(max) : a.set; }

AddressMatch FromSet(Family f, const IntervalSet& s) {
  AddressMatch a;
  a.set = s;
  for (const auto& iv : s.intervals()) {
    if (auto p = IntervalPrefix(f, iv)) a.text.push_back(FormatInterval(f, iv));
    else a.text.push_back(FormatAddress(f, iv.lo) + " - " + FormatAddress(f, iv.hi));
  }
  return a;
}

bool FoldAddress(Family f, const std::optional<AddressMatch>& a, const std::optional<AddressMatch>& b,
                 std::optional<AddressMatch>& out) {
  if (!a || !b) {
    out = a ? a : b;
    return true;
  }
  if (a->negated && b->negated) {
    AddressMatch u = *a;
    u.set.AddAll(b->set);
    u.text.insert(u.text.end(), b->text.begin(), b->text.end());
    out = u;
    return true;
  }
  IntervalSet s = Effective(*a, FamilyMax(f)).Intersect(Effective(*b, FamilyMax(f)));
  if (s.empty()) return false;
  out = FromSet(f, s);
  return true;
}

bool FoldPorts(const std::optional<PortMatch>& a, const std::optional<PortMatch>& b, std::optional<PortMatch>& out) {
  if (!a || !b) {
    out = a ? a : b;
    return true;
  }
  auto eff = [](const PortMatch& p) { return p.negated ? p.ports.Complement(65535) : p.ports; };
  PortMatch p;
  p.ports = eff(*a).Intersect(eff(*b));
  if (p.ports.empty()) return false;
  out = p;
  return true;
}

}  // namespace

int MatchFieldCount(const SourceRule& r) {
  return !!r.src + !!r.dst + !!r.iif + !!r.oif + (r.proto >= 0) + !!r.sport + !!r.dport + (r.icmp_type >= 0) +
         !r.states.empty() + !r.limit.empty() + r.not_first_packet;
}

std::string MatchKey(const SourceRule& r) {
  std::string k;
  auto addr = [&](const std::optional<AddressMatch>& a) {
    if (!a) {
      k += "-|";
      return;
    }
    k += a->negated ? "!" : "";
    for (const auto& iv : a->set.intervals()) k += FormatInterval(r.family, iv) + ",";
    k += "|";
  };
  auto ports = [&](const std::optional<PortMatch>& p) {
    if (!p) {
      k += "-|";
      return;
    }
    k += p->negated ? "!" : "";
    for (const auto& iv : p->ports.intervals())
      k += std::to_string(static_cast<unsigned>(iv.lo)) + ":" + std::to_string(static_cast<unsigned>(iv.hi)) + ",";
    k += "|";
  };
  addr(r.src);
  addr(r.dst);
  for (const auto* i : {&r.iif, &r.oif}) k += *i ? ((*i)->negated ? "!" : "") + (*i)->name + "|" : "-|";
  k += std::to_string(r.proto) + (r.proto_negated ? "!" : "") + "|";
  ports(r.sport);
  ports(r.dport);
  k += std::to_string(r.icmp_type) + "/" + std::to_string(r.icmp_code) + "|";
  for (const auto& s : r.states) k += s + ",";
  k += (r.states_negated ? "!" : "") + std::string("|") + r.limit;
  for (const auto& u : r.unsupported) k += "|" + u;
  if (r.not_first_packet) k += "|!syn";
  return k;
}

bool FoldMatches(const SourceRule& outer, const SourceRule& inner, SourceRule* out) {
  SourceRule r = inner;
  Family f = inner.family;
  if (!FoldAddress(f, outer.src, inner.src, r.src) || !FoldAddress(f, outer.dst, inner.dst, r.dst)) return false;
  for (auto [o, i, res] : {std::tuple{&outer.iif, &inner.iif, &r.iif}, std::tuple{&outer.oif, &inner.oif, &r.oif}}) {
    if (!*o) continue;
    if (!*i) *res = *o;
    else if ((*o)->name == (*i)->name && (*o)->negated == (*i)->negated) *res = *o;
    else if ((*o)->negated == (*i)->negated && !(*o)->negated) return false;  // two different devices
    else r.unsupported.push_back("two interface matches, one of them in the jump to this chain");
  }
  if (outer.proto >= 0) {
    if (inner.proto < 0) {
      r.proto = outer.proto;
      r.proto_negated = outer.proto_negated;
    } else if (inner.proto != outer.proto || inner.proto_negated != outer.proto_negated) {
      if (!inner.proto_negated && !outer.proto_negated) return false;
      r.unsupported.push_back("two protocol matches, one of them in the jump to this chain");
    }
  }
  if (!FoldPorts(outer.sport, inner.sport, r.sport) || !FoldPorts(outer.dport, inner.dport, r.dport)) return false;
  if (outer.icmp_type >= 0) {
    if (inner.icmp_type < 0) {
      r.icmp_type = outer.icmp_type;
      r.icmp_code = outer.icmp_code;
    } else if (inner.icmp_type != outer.icmp_type || (outer.icmp_code >= 0 && inner.icmp_code >= 0 &&
                                                        inner.icmp_code != outer.icmp_code)) {
      return false;
    } else if (inner.icmp_code < 0) {
      r.icmp_code = outer.icmp_code;
    }
  }
  if (!outer.states.empty()) {
    if (inner.states.empty()) {
      r.states = outer.states;
      r.states_negated = outer.states_negated;
    } else if (inner.states != outer.states || inner.states_negated != outer.states_negated) {
      r.unsupported.push_back("two connection state matches, one of them in the jump to this chain");
    }
  }
  if (!outer.limit.empty()) {
    if (inner.limit.empty()) r.limit = outer.limit;
    else r.unsupported.push_back("two rate limits, one of them in the jump to this chain");
  }
  for (const auto& u : outer.unsupported) r.unsupported.push_back(u);
  *out = std::move(r);
  return true;
}

namespace {

// The negation of a rule's only condition, as a match: what the rules
// after a conditional RETURN are folded with.
bool Negate(const SourceRule& ret, SourceRule* out) {
  if (MatchFieldCount(ret) != 1 || !ret.unsupported.empty()) return false;
  SourceRule n;
  n.family = ret.family;
  if (ret.src) n.src = AddressMatch{!ret.src->negated, ret.src->set, ret.src->text};
  else if (ret.dst) n.dst = AddressMatch{!ret.dst->negated, ret.dst->set, ret.dst->text};
  else if (ret.iif) n.iif = InterfaceMatch{!ret.iif->negated, ret.iif->name};
  else if (ret.oif) n.oif = InterfaceMatch{!ret.oif->negated, ret.oif->name};
  else if (ret.proto >= 0) n.proto = ret.proto, n.proto_negated = !ret.proto_negated;
  else return false;
  *out = n;
  return true;
}

// What is left of a RETURN's (or goto's) conditions at a later rule: those
// the rule has itself, identically, hold anyway and drop out. False when
// the two cannot both hold (two different devices, say): then the RETURN
// takes none of that rule's packets.
bool Residual(const SourceRule& ret, const SourceRule& rule, SourceRule* left) {
  SourceRule l;
  l.family = ret.family;
  auto same_addr = [](const std::optional<AddressMatch>& a, const std::optional<AddressMatch>& b) {
    return a && b && a->negated == b->negated && a->set == b->set;
  };
  if (ret.src && !same_addr(ret.src, rule.src)) l.src = ret.src;
  if (ret.dst && !same_addr(ret.dst, rule.dst)) l.dst = ret.dst;
  for (auto [a, b, res] : {std::tuple{&ret.iif, &rule.iif, &l.iif}, std::tuple{&ret.oif, &rule.oif, &l.oif}}) {
    if (!*a) continue;
    if (*b && (*a)->name == (*b)->name && (*a)->negated == (*b)->negated) continue;
    if (*b && !(*a)->negated && !(*b)->negated) return false;  // two devices
    *res = *a;
  }
  if (ret.proto >= 0 && !(rule.proto == ret.proto && rule.proto_negated == ret.proto_negated)) {
    if (rule.proto >= 0 && !rule.proto_negated && !ret.proto_negated) return false;  // two protocols
    l.proto = ret.proto;
    l.proto_negated = ret.proto_negated;
  }
  // Ports, types, states and limits are not dropped: they stay conditions.
  l.sport = ret.sport;
  l.dport = ret.dport;
  l.icmp_type = ret.icmp_type;
  l.icmp_code = ret.icmp_code;
  l.states = ret.states;
  l.states_negated = ret.states_negated;
  l.limit = ret.limit;
  l.unsupported = ret.unsupported;
  *left = std::move(l);
  return true;
}

void Walk(const SourceTable& table, const SourceChain& chain, const SourceRule& context, std::vector<Loc>& via,
          std::set<std::string>& active, std::vector<FlatRule>& out) {
  SourceRule ctx = context;
  // RETURNs and gotos of several conditions: each later rule gets the
  // negation of what is left of them after its own matches (Residual).
  std::vector<const SourceRule*> pending;
  auto cannot = [](const SourceRule& p) {
    return std::string(p.target == SourceRule::Target::kReturn ? "a RETURN" : "a conditional goto") + " at line " +
           std::to_string(p.loc.line) + " on a condition fwc cannot negate (only one address, interface or protocol)";
  };
  for (const auto& r : chain.rules) {
    SourceRule folded;
    if (!FoldMatches(ctx, r, &folded)) continue;  // no packet reaches it this way
    bool reached = true;
    for (const SourceRule* p : pending) {
      SourceRule left, neg;
      if (!Residual(*p, folded, &left)) continue;  // p takes none of its packets
      if (MatchFieldCount(left) == 0 && left.unsupported.empty()) {
        reached = false;  // p takes every one
        break;
      }
      if (Negate(left, &neg)) {
        SourceRule both;
        if (!FoldMatches(neg, folded, &both)) {
          reached = false;  // the rule matches only what p takes
          break;
        }
        folded = std::move(both);
      } else {
        folded.unsupported.push_back(cannot(*p));
      }
    }
    if (!reached) continue;
    using T = SourceRule::Target;
    if (r.target == T::kReturn) {
      SourceRule neg;
      if (MatchFieldCount(r) == 0 && r.unsupported.empty()) return;  // the rest is unreachable from here
      if (Negate(r, &neg) && FoldMatches(ctx, neg, &neg)) {
        ctx = neg;
        continue;
      }
      if (r.unsupported.empty()) pending.push_back(&r);
      else ctx.unsupported.push_back(cannot(r));
      continue;
    }
    if (r.target == T::kJump || r.target == T::kGoto) {
      const SourceChain* callee = table.Find(r.jump);
      if (!callee || active.count(r.jump)) {
        FlatRule f{folded, via};
        f.rule.unsupported.push_back(callee ? "a loop of jumps through chain " + r.jump
                                            : "a jump to '" + r.jump + "', which is not a chain nor a target fwc knows");
        out.push_back(std::move(f));
        continue;
      }
      active.insert(r.jump);
      via.push_back(r.loc);
      SourceRule jump = folded;
      jump.target = T::kNone;
      Walk(table, *callee, jump, via, active, out);
      via.pop_back();
      active.erase(r.jump);
      if (r.target == T::kGoto) {
        // What falls off the end of a goto's chain returns from this one.
        SourceRule neg;
        if (MatchFieldCount(r) == 0) return;
        if (Negate(r, &neg) && FoldMatches(ctx, neg, &neg)) ctx = neg;
        else if (r.unsupported.empty()) pending.push_back(&r);
        else ctx.unsupported.push_back(cannot(r));
      }
      continue;
    }
    out.push_back({folded, via});
  }
}

}  // namespace

std::vector<FlatRule> FlattenChain(const SourceTable& table, const std::string& chain) {
  std::vector<FlatRule> out;
  const SourceChain* c = table.Find(chain);
  if (!c) return out;
  SourceRule any;
  any.family = table.family;
  std::vector<Loc> via;
  std::set<std::string> active{chain};
  Walk(table, *c, any, via, active, out);
  return out;
}

}  // namespace fwc::import
