#include "backends/nftables/model.h"

#include <linux/netfilter.h>

#include "compiler/base/protocols.h"

namespace fwc::nftables {
namespace {

bool Keyed(unsigned keyed, Dim d) { return (keyed >> static_cast<int>(d)) & 1; }

unsigned KeyMask(const MergedRule& m) {
  unsigned mask = 0;
  for (Dim d : m.key) mask |= 1u << static_cast<int>(d);
  return mask;
}

bool V6(const ir::Rule& r) { return r.family == ir::RuleFamily::kV6; }

Field AddressField(bool v6, bool src) {
  if (v6) return src ? Field::kIp6Saddr : Field::kIp6Daddr;
  return src ? Field::kIpSaddr : Field::kIpDaddr;
}

// tcp/udp sport/dport, or th when the protocol is itself a key.
Field PortField(int proto, bool src, bool th) {
  if (th) return src ? Field::kThSport : Field::kThDport;
  if (proto == kProtoTcp) return src ? Field::kTcpSport : Field::kTcpDport;
  return src ? Field::kUdpSport : Field::kUdpDport;
}

Field IcmpField(int proto, bool code) {
  if (proto == kProtoIcmp) return code ? Field::kIcmpCode : Field::kIcmpType;
  return code ? Field::kIcmpv6Code : Field::kIcmpv6Type;
}

// The field of each key dimension of a merged rule.
std::vector<Field> KeyFields(const MergedRule& m) {
  const ir::Rule& r = m.base;
  bool th = Keyed(KeyMask(m), Dim::kProto);
  std::vector<Field> out;
  for (Dim d : m.key) {
    switch (d) {
      case Dim::kIif: out.push_back(Field::kIifname); break;
      case Dim::kOif: out.push_back(Field::kOifname); break;
      case Dim::kSrc: out.push_back(AddressField(V6(r), true)); break;
      case Dim::kDst: out.push_back(AddressField(V6(r), false)); break;
      case Dim::kProto: out.push_back(Field::kL4proto); break;
      case Dim::kSport: out.push_back(PortField(r.service.proto, true, th)); break;
      case Dim::kDport: out.push_back(PortField(r.service.proto, false, th)); break;
      case Dim::kIcmpType: out.push_back(IcmpField(r.service.proto, false)); break;
      case Dim::kIcmpCode: out.push_back(IcmpField(r.service.proto, true)); break;
    }
  }
  return out;
}

Stmt Match(Field f, U128 v, bool negated = false) {
  Stmt s;
  s.kind = Stmt::Kind::kMatch;
  s.fields = {f};
  s.value = Interval{v, v};
  s.negated = negated;
  return s;
}

// "FIELD X" for one interval, "FIELD { ... }" for several.
Stmt Values(Field f, const IntervalSet* set, bool negated) {
  if (set->intervals().size() == 1) {
    Stmt s = Match(f, 0, negated);
    s.value = set->intervals()[0];
    return s;
  }
  Stmt s;
  s.kind = Stmt::Kind::kLookup;
  s.fields = {f};
  s.negated = negated;
  s.elements.values = set;
  for (const auto& iv : set->intervals()) s.interval |= iv.lo != iv.hi;
  return s;
}

class Builder {
 public:
  Builder(const ir::Ruleset& rs, const MergedRuleset& ms) : rs_(rs), ms_(ms) {}

  Table Build() {
    Table t;
    t.source = KernelString(rs_.source);
    t.policy_name = KernelString(rs_.policy_name);
    for (const auto& n : ms_.ifnames) t.ifnames.push_back(KernelString(n));
    for (const auto& s : rs_.sets) t.sets.push_back(GroupSet(s));
    for (const auto& h : rs_.helpers) t.helpers.push_back({KernelString(h.name), KernelString(h.kind), h.proto});
    for (const auto& c : ms_.chains)
      for (const auto& m : c.rules)
        if (!m.name.empty()) t.sets.push_back(MergedSet(m));
    // Regular chains, then the chains of verdict-map actions, then the base
    // chains: a chain is declared before a rule jumps to it.
    std::vector<const MergedChain*> chains;
    for (const auto& c : ms_.chains)
      if (c.hook == ir::Hook::kNone) chains.push_back(&c);
    for (const auto& c : ms_.action_chains) chains.push_back(&c);
    for (const auto& c : ms_.chains)
      if (c.hook != ir::Hook::kNone) chains.push_back(&c);
    for (const MergedChain* c : chains) {
      Chain out{c->name, c->hook, c->policy, {}};
      out.rules.reserve(c->rules.size());
      for (const auto& m : c->rules) out.rules.push_back(RuleOf(m));
      t.chains.push_back(std::move(out));
    }
    return t;
  }

 private:
  static Set GroupSet(const ir::NamedSet& g) {
    Set s;
    s.name = g.name;
    s.key = {AddressField(g.family == Family::kV6, true)};
    s.interval = true;
    s.runtime = g.runtime;
    if (g.runtime) s.comment = kRuntimeSetComment;
    else s.elements.values = &g.elements;
    s.origin = "set " + g.name;
    return s;
  }

  static Set MergedSet(const MergedRule& m) {
    Set s;
    s.name = m.name;
    s.key = KeyFields(m);
    s.interval = m.interval;
    s.map = m.is_map();
    s.counters = m.counters;
    s.elements.merged = &m;
    s.origin = "set " + m.name + " (" + m.base.comment + ")";
    return s;
  }

  // Everything a rule matches, except the dimensions a merged rule keys
  // on; the lookup of those goes where its first dimension would be.
  void Matches(std::vector<Stmt>& out, const ir::Rule& r, unsigned keyed, const Stmt* lookup = nullptr,
               Dim lookup_at = Dim::kIif) {
    bool addresses = r.src.present || r.dst.present || Keyed(keyed, Dim::kSrc) || Keyed(keyed, Dim::kDst);
    bool icmp_family = r.has_service && !Keyed(keyed, Dim::kProto) &&
                       (r.service.proto == kProtoIcmp || r.service.proto == kProtoIcmpv6);
    // A rule of one family that no address or ICMP match confines to it.
    if (r.family != ir::RuleFamily::kAny && !addresses && !icmp_family)
      out.push_back(Match(Field::kNfproto, U128{V6(r) ? NFPROTO_IPV6 : NFPROTO_IPV4}));
    auto at = [&](Dim d) {
      if (lookup && d == lookup_at) out.push_back(*lookup);
    };
    at(Dim::kIif);
    if (!r.iif.empty() && !Keyed(keyed, Dim::kIif)) out.push_back(Ifname(Field::kIifname, r.iif));
    at(Dim::kOif);
    if (!r.oif.empty() && !Keyed(keyed, Dim::kOif)) out.push_back(Ifname(Field::kOifname, r.oif));
    at(Dim::kSrc);
    if (!Keyed(keyed, Dim::kSrc)) Address(out, r.src, AddressField(V6(r), true));
    at(Dim::kDst);
    if (!Keyed(keyed, Dim::kDst))
      Address(out, r.dst, r.original_dst ? OriginalField(V6(r)) : AddressField(V6(r), false));
    for (Dim d : {Dim::kProto, Dim::kSport, Dim::kDport, Dim::kIcmpType, Dim::kIcmpCode}) at(d);
    if (r.has_service) Service(out, r.service, keyed, r.original_dst);
    if (r.extras.has_mark) out.push_back(Match(Field::kMetaMark, r.extras.mark));
    if (r.extras.has_ctmark) out.push_back(Match(Field::kCtMark, r.extras.ctmark));
  }

  static Field OriginalField(bool v6) { return v6 ? Field::kCtOriginalIp6Daddr : Field::kCtOriginalIpDaddr; }

  static Stmt Ifname(Field f, const std::string& name) {
    Stmt s = Match(f, 0);
    s.name = KernelString(name);
    return s;
  }

  static void Address(std::vector<Stmt>& out, const ir::AddrMatch& a, Field f) {
    if (!a.present) return;
    if (!a.set_name.empty()) {
      Stmt s;
      s.kind = Stmt::Kind::kLookup;
      s.fields = {f};
      s.negated = a.negated;
      s.name = a.set_name;
      out.push_back(std::move(s));
      return;
    }
    out.push_back(Values(f, &a.set, a.negated));
  }

  // The protocol match, without the dimensions a merged rule keys on.
  void Service(std::vector<Stmt>& out, const ir::ServiceMatch& s, unsigned keyed, bool original = false) {
    if (original && (s.proto == kProtoTcp || s.proto == kProtoUdp) && !s.dports.empty()) {
      // The port the client addressed: conntrack's, which needs the
      // protocol named first (a transport header match names it too).
      if (!s.sports.empty()) out.push_back(Values(PortField(s.proto, true, false), &s.sports, false));
      else out.push_back(Match(Field::kL4proto, static_cast<U128>(s.proto)));
      out.push_back(Values(Field::kCtOriginalProtoDst, &s.dports, false));
      return;
    }
    if ((s.proto == kProtoTcp || s.proto == kProtoUdp) && (!s.sports.empty() || !s.dports.empty())) {
      bool th = Keyed(keyed, Dim::kProto);
      bool any = th || Keyed(keyed, Dim::kSport) || Keyed(keyed, Dim::kDport);
      if (!s.sports.empty() && !Keyed(keyed, Dim::kSport)) {
        out.push_back(Values(PortField(s.proto, true, th), &s.sports, false));
        any = true;
      }
      if (!s.dports.empty() && !Keyed(keyed, Dim::kDport)) {
        out.push_back(Values(PortField(s.proto, false, th), &s.dports, false));
        any = true;
      }
      if (!any) out.push_back(Match(Field::kL4proto, static_cast<U128>(s.proto)));
      return;
    }
    if ((s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) && !s.icmp_types.empty()) {
      if (!Keyed(keyed, Dim::kIcmpType)) {
        Field type = IcmpField(s.proto, false);
        if (s.icmp_types.size() == 1) {
          out.push_back(Match(type, static_cast<U128>(s.icmp_types[0])));
        } else {
          Stmt l;
          l.kind = Stmt::Kind::kLookup;
          l.fields = {type};
          for (int t : s.icmp_types) l.elements.own.push_back({static_cast<U128>(t), static_cast<U128>(t)});
          out.push_back(std::move(l));
        }
      }
      if (s.icmp_code >= 0 && !Keyed(keyed, Dim::kIcmpCode))
        out.push_back(Match(IcmpField(s.proto, true), static_cast<U128>(s.icmp_code)));
      return;
    }
    if (!Keyed(keyed, Dim::kProto)) out.push_back(Match(Field::kL4proto, static_cast<U128>(s.proto)));
  }

  static void Ct(std::vector<Stmt>& out, const ir::Rule& r) {
    if (r.ct != ir::CtState::kNone) {
      Stmt s;
      s.kind = Stmt::Kind::kCt;
      s.ct = r.ct;
      out.push_back(std::move(s));
    }
    if (r.extras.states) {
      Stmt s;
      s.kind = Stmt::Kind::kCtStates;
      s.states = r.extras.states;
      out.push_back(std::move(s));
    }
    if (r.extras.connlimit) {
      Stmt s;
      s.kind = Stmt::Kind::kConnlimit;
      s.rate = r.extras.connlimit;
      out.push_back(std::move(s));
    }
    if (r.extras.limit_rate) {
      Stmt s;
      s.kind = Stmt::Kind::kLimit;
      s.rate = r.extras.limit_rate;
      s.unit = kRateUnits[r.extras.limit_unit];
      out.push_back(std::move(s));
    }
  }

  // What follows the matches: limit, counter, log, mark or NAT, verdict.
  static void Statements(std::vector<Stmt>& out, const ir::Rule& r, bool counter) {
    if (r.log.enabled && r.log.rate) {
      Stmt s;
      s.kind = Stmt::Kind::kLimit;
      s.rate = r.log.rate;
      s.unit = r.log.rate_unit;
      out.push_back(std::move(s));
    }
    if (counter) {
      Stmt s;
      s.kind = Stmt::Kind::kCounter;
      out.push_back(std::move(s));
    }
    if (r.log.enabled) {
      Stmt s;
      s.kind = Stmt::Kind::kLog;
      s.prefix = KernelString(r.log.prefix);
      out.push_back(std::move(s));
    }
    if (r.clamp_mss) {
      Stmt s;
      s.kind = Stmt::Kind::kClampMss;
      out.push_back(std::move(s));
    }
    if (!r.helper.empty()) {
      Stmt s;
      s.kind = Stmt::Kind::kSetHelper;
      s.name = KernelString(r.helper);
      out.push_back(std::move(s));
    }
    if (const Translation* x = r.xlate.get()) {
      Stmt s;
      if (x->kind == Translation::Kind::kMark || x->kind == Translation::Kind::kConnmark) {
        s.kind = Stmt::Kind::kSetMark;
        s.fields = {x->kind == Translation::Kind::kMark ? Field::kMetaMark : Field::kCtMark};
        s.mark = x->mark;
        out.push_back(std::move(s));
      } else if (r.verdict == ir::Verdict::kNat) {
        s.kind = Stmt::Kind::kNat;
        s.xlate = x;
        s.family = r.family;
        out.push_back(std::move(s));
        return;  // a NAT statement is the verdict
      }
    }
    Stmt v;
    v.kind = Stmt::Kind::kVerdict;
    switch (r.verdict) {
      case ir::Verdict::kContinue: return;
      case ir::Verdict::kAccept: v.verdict.kind = Verdict::Kind::kAccept; break;
      case ir::Verdict::kDrop: v.verdict.kind = Verdict::Kind::kDrop; break;
      case ir::Verdict::kReturn: v.verdict.kind = Verdict::Kind::kReturn; break;
      case ir::Verdict::kJump:
        v.verdict.kind = Verdict::Kind::kJump;
        v.verdict.chain = r.target;
        break;
      case ir::Verdict::kRejectTcpReset:
      case ir::Verdict::kRejectIcmp:
        v.kind = Stmt::Kind::kReject;
        v.reject = r.verdict;
        v.family = r.family;
        break;
      case ir::Verdict::kNat: return;  // without a translation: none (not made by the lowering)
    }
    out.push_back(std::move(v));
  }

  Rule RuleOf(const MergedRule& m) {
    Rule out;
    out.ir_comment = m.base.comment;
    out.comment = KernelString(m.base.comment, kMaxComment);
    if (m.key.empty()) {
      Matches(out.stmts, m.base, 0);
      Ct(out.stmts, m.base);
      Statements(out.stmts, m.base, m.base.counter);
      return out;
    }
    Stmt lookup;
    lookup.kind = Stmt::Kind::kLookup;
    lookup.fields = KeyFields(m);
    lookup.map = m.is_map();
    if (!m.name.empty()) {
      lookup.name = m.name;
    } else {
      lookup.elements.merged = &m;
      lookup.interval = m.interval;
    }
    unsigned keyed = KeyMask(m);
    if (m.is_map()) {
      // A verdict map decides: everything else comes before it.
      Matches(out.stmts, m.base, keyed);
      Ct(out.stmts, m.base);
      out.stmts.push_back(std::move(lookup));
    } else {
      Matches(out.stmts, m.base, keyed, &lookup, m.key.front());
      Ct(out.stmts, m.base);
      Statements(out.stmts, m.WithSingleAction(), false);
    }
    return out;
  }

  const ir::Ruleset& rs_;
  const MergedRuleset& ms_;
};

}  // namespace

Verdict ActionVerdict(const Action& a) {
  Verdict v;
  if (!a.chain.empty()) {
    v.kind = a.go_to ? Verdict::Kind::kGoto : Verdict::Kind::kJump;
    v.chain = a.chain;
    return v;
  }
  switch (a.verdict) {
    case ir::Verdict::kAccept: v.kind = Verdict::Kind::kAccept; break;
    case ir::Verdict::kDrop: v.kind = Verdict::Kind::kDrop; break;
    case ir::Verdict::kReturn: v.kind = Verdict::Kind::kReturn; break;
    case ir::Verdict::kJump:
      v.kind = Verdict::Kind::kJump;
      v.chain = a.target;
      break;
    default: break;  // a map holds no other verdict (set_merge gives it a chain)
  }
  return v;
}

Table BuildTable(const ir::Ruleset& rs, const MergedRuleset& merged) { return Builder(rs, merged).Build(); }

}  // namespace fwc::nftables
