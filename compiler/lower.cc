#include "compiler/lower.h"

#include <algorithm>
#include <map>
#include <set>

#include "compiler/diagnostics.h"
#include "compiler/protocols.h"

namespace fwc {

namespace {

ir::RuleFamily ToRuleFamily(Family f) {
  return f == Family::kV4 ? ir::RuleFamily::kV4 : ir::RuleFamily::kV6;
}

// The kernel sets of a runtime set, one per family.
std::string RuntimeSetName(const std::string& set, Family f) { return set + (f == Family::kV4 ? "_v4" : "_v6"); }

ir::AddrMatch ToAddrMatch(const AddressSlot& slot, Family f) {
  ir::AddrMatch m;
  if (slot.any) return m;
  if (slot.runtime()) {
    m.present = true;
    m.negated = slot.negated;
    m.runtime = true;
    m.set_name = RuntimeSetName(slot.runtime_set, f);
    return m;
  }
  const IntervalSet& set = slot.set.of(f);
  if (slot.negated && set.empty()) return m;  // excludes nothing of f
  m.present = true;
  m.negated = slot.negated;
  m.set = set;
  if (!slot.group.empty())
    m.set_name = slot.group + (f == Family::kV4 ? "_v4" : "_v6");
  return m;
}

// "crm.fw:14 the CRM web service"; file is the display name of r's file.
std::string Comment(const PolicyRule& r, const std::string& file) {
  std::string c = file + ":" + std::to_string(r.loc.line);
  if (!r.comment.empty()) c += " " + r.comment;
  return c;
}

bool HasFamilySpecificAtom(const ServiceSlot& s) {
  for (const auto& a : s.atoms)
    if (a.family()) return true;
  return false;
}

// Nothing family-specific: one rule serves both families.
bool ForBothFamilies(const PolicyRule& r) {
  return r.src.any && r.dst.any && !HasFamilySpecificAtom(r.services);
}

bool InFamily(const PolicyRule& r, Family f) {
  return r.src.Allows(f) && r.dst.Allows(f) && r.services.Allows(f);
}

// How many rules SplitByFamily makes of r.
size_t FamilyRules(const PolicyRule& r) {
  return ForBothFamilies(r) ? 1 : size_t{InFamily(r, Family::kV4)} + size_t{InFamily(r, Family::kV6)};
}

}  // namespace

std::vector<const PolicyRule*> SelectActiveRules(const Model& m,
                                                 const std::set<std::string>& defines) {
  std::vector<const PolicyRule*> out;
  out.reserve(m.rules.size());
  for (const auto& r : m.rules) {
    if (r.disabled) continue;
    if (!r.condition.empty() && (defines.count(r.condition) > 0) == r.condition_negated) continue;
    out.push_back(&r);
  }
  return out;
}

std::vector<ir::ServiceMatch> GroupServices(const std::vector<ServiceAtom>& atoms,
                                            std::optional<Family> family) {
  std::vector<ir::ServiceMatch> out;
  // Index of the match an atom merges into, by (proto, sports) for ports
  // and by proto for ICMP types.
  std::map<std::pair<int, std::vector<Interval>>, size_t> port_groups;
  std::map<int, size_t> icmp_groups;
  std::vector<bool> any_ports;  // parallel to out: dports are "any"
  for (const auto& a : atoms) {
    if (family && a.family() && *a.family() != *family) continue;
    if (a.proto == kProtoTcp || a.proto == kProtoUdp) {
      auto key = std::make_pair(a.proto, a.sports.intervals());
      auto it = port_groups.find(key);
      if (it == port_groups.end()) {
        port_groups.emplace(key, out.size());
        ir::ServiceMatch m;
        m.proto = a.proto;
        m.sports = a.sports;
        m.dports = a.dports;
        out.push_back(m);
        any_ports.push_back(a.dports.empty());
      } else if (!any_ports[it->second]) {
        if (a.dports.empty()) {
          out[it->second].dports = {};
          any_ports[it->second] = true;
        } else {
          out[it->second].dports.AddAll(a.dports);
        }
      }
    } else if (a.proto == kProtoIcmp || a.proto == kProtoIcmpv6) {
      if (a.icmp_code >= 0) {  // a type with a code stands alone
        ir::ServiceMatch m;
        m.proto = a.proto;
        m.icmp_types = {a.icmp_type};
        m.icmp_code = a.icmp_code;
        if (std::none_of(out.begin(), out.end(), [&](const ir::ServiceMatch& o) {
              return o.proto == m.proto && o.icmp_types == m.icmp_types && o.icmp_code == m.icmp_code;
            })) {
          out.push_back(m);
          any_ports.push_back(false);
        }
        continue;
      }
      auto it = icmp_groups.find(a.proto);
      if (it == icmp_groups.end()) {
        icmp_groups.emplace(a.proto, out.size());
        ir::ServiceMatch m;
        m.proto = a.proto;
        if (a.icmp_type >= 0) m.icmp_types = {a.icmp_type};
        out.push_back(m);
        any_ports.push_back(a.icmp_type < 0);
      } else if (!any_ports[it->second]) {
        auto& types = out[it->second].icmp_types;
        if (a.icmp_type < 0) {
          types.clear();
          any_ports[it->second] = true;
        } else if (std::find(types.begin(), types.end(), a.icmp_type) == types.end()) {
          types.push_back(a.icmp_type);
          std::sort(types.begin(), types.end());
        }
      }
    } else if (std::none_of(out.begin(), out.end(),
                            [&](const ir::ServiceMatch& o) { return o.proto == a.proto; })) {
      ir::ServiceMatch m;
      m.proto = a.proto;
      out.push_back(m);
      any_ports.push_back(true);
    }
  }
  return out;
}

namespace {

// SplitByFamily for one rule.
void AddFamilyRules(const PolicyRule& r, std::vector<WorkRule>& out) {
  WorkRule base;
  base.rule.iif = r.iif;
  base.rule.oif = r.oif;
  base.services_negated = r.services.negated;
  base.origin = &r;
  base.src_is_firewall = r.src.firewall;
  base.dst_is_firewall = r.dst.firewall;

  if (ForBothFamilies(r)) {
    WorkRule w = std::move(base);
    w.rule.family = ir::RuleFamily::kAny;
    if (!r.services.any) w.services = GroupServices(r.services.atoms, std::nullopt);
    out.push_back(std::move(w));
    return;
  }
  for (Family f : {Family::kV4, Family::kV6}) {
    if (!InFamily(r, f)) continue;
    WorkRule w = base;
    w.rule.family = ToRuleFamily(f);
    w.rule.src = ToAddrMatch(r.src, f);
    w.rule.dst = ToAddrMatch(r.dst, f);
    if (!r.services.any) w.services = GroupServices(r.services.atoms, f);
    // A negated list with nothing of this family excludes nothing.
    if (w.services_negated && w.services.empty()) w.services_negated = false;
    out.push_back(std::move(w));
  }
}

}  // namespace

std::vector<WorkRule> SplitByFamily(const Model& m, const std::vector<const PolicyRule*>& rules) {
  (void)m;
  size_t size = 0;
  for (const PolicyRule* r : rules) size += FamilyRules(*r);
  std::vector<WorkRule> out;
  out.reserve(size);
  for (const PolicyRule* r : rules) AddFamilyRules(*r, out);
  return out;
}

namespace {

// Where a rule's traffic can be, as Firewall Builder decides it: to the
// firewall (input), from it (output), through it (forward).
struct Placement {
  bool input = false, forward = false, output = false;
};

IntervalSet SlotSet(const ir::AddrMatch& a, Family f) {
  // A runtime set may hold any address, the firewall's included.
  if (!a.present || a.runtime) return IntervalSet::Range(0, FamilyMax(f));
  return a.negated ? a.set.Complement(FamilyMax(f)) : a.set;
}

Placement Place(const Model& m, const ir::Match& r, Family f) {
  IntervalSet src = SlotSet(r.src, f), dst = SlotSet(r.dst, f);
  const IntervalSet& own = m.firewall_addresses.of(f);
  const IntervalSet& local = m.local_destinations.of(f);
  // With "any includes firewall" off, an open slot (any or a negation)
  // means "anything but the firewall".
  bool src_open = !r.src.present || r.src.negated;
  bool dst_open = !r.dst.present || r.dst.negated;
  bool from_fw = (src_open && !m.any_includes_firewall) ? false : src.Intersects(own);
  bool to_fw = (dst_open && !m.any_includes_firewall) ? false : dst.Intersects(local);
  bool src_only_fw = !src_open && own.Contains(src);
  bool dst_only_fw = !dst_open && own.Contains(dst);
  bool dst_only_local = !dst_open && local.Contains(dst);
  Placement p;
  p.input = to_fw && !src_only_fw && r.oif.empty();
  p.output = from_fw && !dst_only_fw && r.iif.empty();
  p.forward = !src_only_fw && !dst_only_local;
  return p;
}

// The chains a rule's traffic can reach, over the families it has.
Placement PlaceRule(const Model& m, const ir::Match& r) {
  Placement p;
  for (Family f : {Family::kV4, Family::kV6}) {
    if (r.family == ir::RuleFamily::kV4 && f != Family::kV4) continue;
    if (r.family == ir::RuleFamily::kV6 && f != Family::kV6) continue;
    Placement q = Place(m, r, f);
    p.input |= q.input;
    p.forward |= q.forward;
    p.output |= q.output;
  }
  return p;
}

size_t ChainCount(const Placement& p) { return size_t{p.input} + size_t{p.forward} + size_t{p.output}; }

// PlaceInChains for one rule: a copy of it in each chain it reaches, the
// last copy being the rule itself.
void AddChainRules(const Model& m, WorkRule w, std::vector<WorkRule>& out) {
  Placement p = PlaceRule(m, w.rule);
  size_t left = ChainCount(p);
  for (auto [on, chain] : {std::pair{p.input, "input"}, {p.forward, "forward"}, {p.output, "output"}}) {
    if (!on) continue;
    WorkRule c = --left == 0 ? std::move(w) : w;
    c.chain = chain;
    if (c.chain == "input" && c.dst_is_firewall) c.rule.dst = {};
    if (c.chain == "output" && c.src_is_firewall) c.rule.src = {};
    out.push_back(std::move(c));
  }
}

// SplitServices for one rule.
void AddServiceRules(WorkRule w, std::vector<WorkRule>& out) {
  if (w.services_negated || w.services.empty()) {
    out.push_back(std::move(w));
    return;
  }
  std::vector<ir::ServiceMatch> services = std::move(w.services);
  w.services.clear();
  for (size_t i = 0; i < services.size(); ++i) {
    WorkRule c = i + 1 == services.size() ? std::move(w) : w;
    c.rule.has_service = true;
    c.rule.service = std::move(services[i]);
    out.push_back(std::move(c));
  }
}

}  // namespace

std::vector<WorkRule> PlaceInChains(const Model& m, std::vector<WorkRule> rules) {
  std::vector<WorkRule> out;
  out.reserve(rules.size());
  for (auto& w : rules) AddChainRules(m, std::move(w), out);
  return out;
}

std::vector<WorkRule> SplitServices(std::vector<WorkRule> rules) {
  std::vector<WorkRule> out;
  out.reserve(rules.size());
  for (auto& w : rules) AddServiceRules(std::move(w), out);
  return out;
}

std::vector<LoweringRule> TakeActions(std::vector<WorkRule> placed, const SourceManager& sources) {
  std::vector<LoweringRule> out;
  out.reserve(placed.size());
  std::vector<std::string> files(sources.size());  // display names, made once
  for (auto& w : placed) {
    LoweringRule& l = out.emplace_back();
    l.chain = std::move(w.chain);
    static_cast<ir::Match&>(l.rule) = std::move(w.rule);
    l.services = std::move(w.services);
    l.services_negated = w.services_negated;
    if (const PolicyRule* r = w.origin) {
      l.rule.log.enabled = r->log.enabled;
      l.rule.log.prefix = r->log.prefix;
      l.rule.log.rate = r->log.rate;
      l.rule.log.rate_unit = r->log.rate_unit;
      l.rule.counter = r->counter;
      l.rule.verdict = r->action == ast::Action::kAccept ? ir::Verdict::kAccept : ir::Verdict::kDrop;
      std::string& file = files[r->loc.file];
      if (file.empty()) file = sources.display_name(r->loc.file);
      l.rule.comment = Comment(*r, file);
      l.reject = r->action == ast::Action::kReject;
      l.line = r->loc.line;
    }
  }
  return out;
}

std::vector<LoweringRule> LowerNegation(std::vector<LoweringRule> rules, const LoweringCaps& caps) {
  auto lower_addr = [&](const ir::AddrMatch& a) {
    return a.present && a.negated && !caps.negated_address_sets && a.set.intervals().size() > 1;
  };
  // The rules of a negation's chain (none when w needs none).
  auto chain_rules = [&](const LoweringRule& w) -> size_t {
    size_t n = size_t{lower_addr(w.rule.src)} + size_t{lower_addr(w.rule.dst)} +
               (w.services_negated ? w.services.size() : 0);
    return n == 0 ? 0 : n + 1;
  };
  size_t size = rules.size();
  for (const auto& w : rules) size += chain_rules(w);
  if (size == rules.size()) return rules;  // nothing to lower
  std::vector<LoweringRule> main, chains;
  main.reserve(size);  // the chains are appended at the end
  std::map<std::string, int> used;
  for (auto& w : rules) {
    bool neg_svc = w.services_negated && !w.services.empty();
    bool neg_src = lower_addr(w.rule.src), neg_dst = lower_addr(w.rule.dst);
    if (!neg_svc && !neg_src && !neg_dst) {
      main.push_back(std::move(w));
      continue;
    }
    // Packets the negation excludes RETURN from a chain of their own; the
    // rest reach the verdict at its end.
    std::string name = "neg_" + std::to_string(w.line);
    int n = ++used[name];
    if (n > 1) name += "_" + std::to_string(n);

    auto exclusion = [&](auto fill) {
      LoweringRule x;
      x.chain = name;
      x.line = w.line;
      x.rule.family = w.rule.family;
      x.rule.verdict = ir::Verdict::kReturn;
      x.rule.comment = w.rule.comment;
      fill(x.rule);
      chains.push_back(std::move(x));
    };
    if (neg_src) exclusion([&](ir::Rule& r) { r.src = w.rule.src; r.src.negated = false; });
    if (neg_dst) exclusion([&](ir::Rule& r) { r.dst = w.rule.dst; r.dst.negated = false; });
    if (neg_svc)
      for (const auto& s : w.services)
        exclusion([&](ir::Rule& r) { r.has_service = true; r.service = s; });

    LoweringRule final_rule;
    final_rule.chain = name;
    final_rule.line = w.line;
    final_rule.rule.family = w.rule.family;
    final_rule.rule.log = w.rule.log;
    final_rule.rule.counter = w.rule.counter;
    final_rule.rule.verdict = w.rule.verdict;
    final_rule.rule.comment = w.rule.comment;
    final_rule.reject = w.reject;
    chains.push_back(std::move(final_rule));

    LoweringRule jump = std::move(w);
    if (neg_src) jump.rule.src = {};
    if (neg_dst) jump.rule.dst = {};
    jump.services.clear();
    jump.services_negated = false;
    jump.rule.log = {};
    jump.rule.counter = false;
    jump.reject = false;
    jump.rule.verdict = ir::Verdict::kJump;
    jump.rule.target = name;
    main.push_back(std::move(jump));
  }
  main.insert(main.end(), std::make_move_iterator(chains.begin()), std::make_move_iterator(chains.end()));
  return main;
}

std::vector<LoweringRule> SplitRateLimitedLog(std::vector<LoweringRule> rules) {
  auto limited = [](const LoweringRule& w) { return w.rule.log.enabled && w.rule.log.rate != 0; };
  size_t splits = static_cast<size_t>(std::count_if(rules.begin(), rules.end(), limited));
  if (splits == 0) return rules;
  std::vector<LoweringRule> out;
  out.reserve(rules.size() + splits);
  for (auto& w : rules) {
    if (!limited(w)) {
      out.push_back(std::move(w));
      continue;
    }
    // A limit in the verdict rule would let packets over the rate fall
    // through to later rules; the limit must throttle only the logging.
    LoweringRule log = w;
    log.rule.verdict = ir::Verdict::kContinue;
    log.rule.counter = false;
    log.reject = false;
    w.rule.log = {};
    out.push_back(std::move(log));
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<LoweringRule> SplitReject(std::vector<LoweringRule> rules) {
  auto split = [](const LoweringRule& w) { return w.reject && !w.rule.has_service; };
  size_t splits = static_cast<size_t>(std::count_if(rules.begin(), rules.end(), split));
  if (splits == 0) {
    // Each reject gets its kind in place; no rule is added.
    for (auto& w : rules)
      if (w.reject) {
        w.reject = false;
        w.rule.verdict = w.rule.service.proto == kProtoTcp ? ir::Verdict::kRejectTcpReset
                                                           : ir::Verdict::kRejectIcmp;
      }
    return rules;
  }
  std::vector<LoweringRule> out;
  out.reserve(rules.size() + splits);
  for (auto& w : rules) {
    if (!w.reject) {
      out.push_back(std::move(w));
      continue;
    }
    w.reject = false;
    if (w.rule.has_service) {
      w.rule.verdict = w.rule.service.proto == kProtoTcp ? ir::Verdict::kRejectTcpReset
                                                         : ir::Verdict::kRejectIcmp;
      out.push_back(std::move(w));
      continue;
    }
    // TCP gets a reset, everything else an ICMP error.
    LoweringRule tcp = w;
    tcp.rule.has_service = true;
    tcp.rule.service = ir::ServiceMatch{};
    tcp.rule.service.proto = kProtoTcp;
    tcp.rule.verdict = ir::Verdict::kRejectTcpReset;
    w.rule.verdict = ir::Verdict::kRejectIcmp;
    out.push_back(std::move(tcp));
    out.push_back(std::move(w));
  }
  return out;
}

namespace {

ir::Rule Builtin(std::string comment, ir::Verdict v) {
  ir::Rule r;
  r.comment = std::move(comment);
  r.verdict = v;
  return r;
}

// The rules every base chain starts with: loopback, connection tracking,
// and IPv6 neighbour discovery (without which IPv6 stops working under a
// drop policy).
std::vector<ir::Rule> Preamble(const Model& m, ir::Hook hook) {
  std::vector<ir::Rule> out;
  if (hook == ir::Hook::kInput || hook == ir::Hook::kOutput) {
    ir::Rule lo = Builtin("fwc: loopback", ir::Verdict::kAccept);
    (hook == ir::Hook::kInput ? lo.iif : lo.oif) = "lo";
    out.push_back(lo);
  }
  if (m.stateful) {
    ir::Rule est = Builtin("fwc: replies and related traffic", ir::Verdict::kAccept);
    est.ct = ir::CtState::kEstablishedRelated;
    out.push_back(est);
  }
  if (hook == ir::Hook::kInput || hook == ir::Hook::kOutput) {
    ir::Rule nd = Builtin("fwc: IPv6 neighbour discovery", ir::Verdict::kAccept);
    nd.family = ir::RuleFamily::kV6;
    nd.has_service = true;
    nd.service.proto = kProtoIcmpv6;
    nd.service.icmp_types = {133, 134, 135, 136};
    out.push_back(nd);
  }
  if (m.stateful) {
    ir::Rule inv = Builtin("fwc: invalid packets", ir::Verdict::kDrop);
    inv.ct = ir::CtState::kInvalid;
    out.push_back(inv);
  }
  return out;
}

}  // namespace

ir::Ruleset BuildRuleset(const Model& m, std::vector<LoweringRule> rules,
                         const SourceManager& sources) {
  ir::Ruleset rs;
  rs.source = m.policy_loc.valid() ? sources.display_name(m.policy_loc.file) : "";
  rs.policy_name = m.policy_name;

  // Regular chains in order of first appearance, then the base chains.
  // The rules are counted first, so that each chain's rules are allocated
  // once and moved there, not copied: at 100,000 rules these vectors are
  // the largest allocations of a compile.
  std::map<std::string, size_t> counts;
  std::vector<std::string> order;
  for (const auto& w : rules)
    if (counts[w.chain]++ == 0 && w.chain != "input" && w.chain != "forward" && w.chain != "output")
      order.push_back(w.chain);
  const std::pair<const char*, ir::Hook> base_chains[] = {
      {"input", ir::Hook::kInput}, {"forward", ir::Hook::kForward}, {"output", ir::Hook::kOutput}};
  std::map<std::string, std::vector<ir::Rule>> by_chain;
  for (auto [name, hook] : base_chains) by_chain[name] = Preamble(m, hook);
  for (const auto& [name, n] : counts) by_chain[name].reserve(by_chain[name].size() + n + 2);
  for (auto& w : rules) by_chain[w.chain].push_back(std::move(w.rule));
  rules = {};  // moved from
  for (const auto& name : order)
    rs.chains.push_back({name, ir::Hook::kNone, ir::Verdict::kAccept, std::move(by_chain[name])});

  std::string default_comment = rs.source + ":" + std::to_string(m.policy_loc.line) + " default " +
                                ast::ActionName(m.default_action);
  for (auto [name, hook] : base_chains) {
    ir::Chain c;
    c.name = name;
    c.hook = hook;
    c.policy = m.default_action == ast::Action::kAccept ? ir::Verdict::kAccept : ir::Verdict::kDrop;
    c.rules = std::move(by_chain[name]);  // the preamble, then the policy's rules
    if (m.default_action == ast::Action::kReject) {
      // A chain policy cannot reject; the last rules do it instead.
      LoweringRule w;
      w.reject = true;
      w.rule.comment = default_comment;
      for (auto& r : SplitReject({w})) c.rules.push_back(r.rule);
    }
    rs.chains.push_back(std::move(c));
  }

  // Named sets for groups, in name order, and every runtime set the policy
  // declares, used or not: a script may fill it before a rule uses it.
  std::map<std::string, ir::NamedSet> sets;
  for (const auto& c : rs.chains)
    for (const auto& r : c.rules)
      for (const ir::AddrMatch* a : {&r.src, &r.dst})
        if (a->present && !a->set_name.empty() && !a->runtime)
          sets[a->set_name] = {a->set_name, r.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4, false, a->set};
  for (const auto& r : m.runtime_sets)
    for (Family f : {Family::kV4, Family::kV6})
      if (f == Family::kV4 ? r.v4 : r.v6)
        sets[RuntimeSetName(r.name, f)] = {RuntimeSetName(r.name, f), f, true, {}};
  for (auto& [_, s] : sets) rs.sets.push_back(std::move(s));
  return rs;
}

namespace {

// How many rules SplitServices makes of a rule of r in family f (nullopt:
// both): one per service match, or one when no positive services are left
// to split.
size_t ServiceRules(const PolicyRule& r, std::optional<Family> f) {
  // One atom makes at most one match: no grouping needed to count.
  if (r.services.any || r.services.negated || r.services.atoms.size() == 1) return 1;
  return std::max<size_t>(1, GroupServices(r.services.atoms, f).size());
}

// How many rules PlaceRules makes of r, counted without making them: the
// chains of each of its family rules times their service matches.
size_t PlacedRules(const Model& m, const PolicyRule& r) {
  ir::Match probe;  // what placement looks at
  probe.iif = r.iif;
  probe.oif = r.oif;
  if (ForBothFamilies(r)) return ChainCount(PlaceRule(m, probe)) * ServiceRules(r, std::nullopt);
  size_t n = 0;
  for (Family f : {Family::kV4, Family::kV6}) {
    if (!InFamily(r, f)) continue;
    probe.family = ToRuleFamily(f);
    probe.src = ToAddrMatch(r.src, f);
    probe.dst = ToAddrMatch(r.dst, f);
    n += ChainCount(PlaceRule(m, probe)) * ServiceRules(r, f);
  }
  return n;
}

}  // namespace

std::vector<WorkRule> PlaceRules(const Model& m, const std::set<std::string>& defines, Diagnostics& diags) {
  // The passes run one policy rule at a time, straight into a vector counted
  // beforehand: at 100,000 rules the placed rules take 70 MB, and whole
  // vectors handed from pass to pass held two such at once.
  auto active = SelectActiveRules(m, defines);
  size_t size = 0;
  for (const PolicyRule* r : active) size += PlacedRules(m, *r);
  std::vector<WorkRule> placed;
  placed.reserve(size);
  std::vector<WorkRule> family, chained;  // one rule's, reused
  for (const PolicyRule* r : active) {
    family.clear();
    AddFamilyRules(*r, family);
    chained.clear();
    for (auto& w : family) AddChainRules(m, std::move(w), chained);
    // A rule that lands in no chain can never match; say so.
    if (chained.empty())
      diags.Warning("never-matches", r->loc,
                    "this rule matches no traffic to, from or through the firewall",
                    "check its interfaces and addresses: e.g. 'out' cannot match traffic to the firewall itself");
    for (auto& w : chained) AddServiceRules(std::move(w), placed);
  }
  return placed;
}

ir::Ruleset Lower(const Model& m, std::vector<WorkRule> placed, const LoweringCaps& caps,
                  const SourceManager& sources) {
  auto rules = LowerNegation(TakeActions(std::move(placed), sources), caps);
  rules = SplitRateLimitedLog(std::move(rules));
  rules = SplitReject(std::move(rules));
  return BuildRuleset(m, std::move(rules), sources);
}

}  // namespace fwc
