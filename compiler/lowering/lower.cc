#include "compiler/lowering/lower.h"

#include <algorithm>

#include "compiler/base/protocols.h"
#include "compiler/base/source.h"

namespace fwc {

LoweringRule TakeActions::operator()(PlacedRule w) {
  LoweringRule l;
  l.hook = w.hook;
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
    if (r->translation) {
      // Marks are set, then accepted (first match wins in the section);
      // no nat accepts untranslated.
      l.rule.xlate = r->translation;
      bool translates = r->translation->nat() && r->translation->kind != Translation::Kind::kNoNat;
      l.rule.verdict = translates ? ir::Verdict::kNat : ir::Verdict::kAccept;
    }
    auto [file, fresh] = files_.emplace(r->loc.file, std::string());
    if (fresh) file->second = sources_.display_name(r->loc.file);
    l.rule.comment = file->second + ":" + std::to_string(r->loc.line);
    if (!r->comment.empty()) l.rule.comment += " " + r->comment;
    l.reject = r->action == ast::Action::kReject && !r->translation;
    l.line = r->loc.line;
  }
  return l;
}

void LowerNegation::Process(LoweringRule w) {
  auto lower_addr = [&](const ir::AddrMatch& a, bool one_prefix) {
    if (!a.present || !a.negated || caps_.negated_address_sets || a.runtime) return false;
    if (a.set.intervals().size() > 1) return true;
    // A match of one prefix only (iptables' conntrack --ctorigdst) cannot
    // negate a range that is not one.
    Family f = w.rule.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4;
    return one_prefix && a.set.intervals().size() == 1 && !IntervalPrefix(f, a.set.intervals()[0]);
  };
  bool neg_svc = w.services_negated && !w.services.empty();
  bool neg_src = lower_addr(w.rule.src, false), neg_dst = lower_addr(w.rule.dst, w.rule.original_dst);
  if (!neg_svc && !neg_src && !neg_dst) return Pass(std::move(w));
  // Packets the negation excludes RETURN from a chain of their own; the
  // rest reach the verdict at its end.
  std::string name = "neg_" + std::to_string(w.line);
  int n = ++used_[name];
  if (n > 1) name += "_" + std::to_string(n);

  std::vector<LoweringRule> chain;
  auto exclusion = [&](auto fill) {
    LoweringRule x;
    x.chain = name;
    x.from = w.hook;
    x.line = w.line;
    x.rule.family = w.rule.family;
    x.rule.original_dst = w.rule.original_dst;
    x.rule.verdict = ir::Verdict::kReturn;
    x.rule.comment = w.rule.comment;
    fill(x.rule);
    chain.push_back(std::move(x));
  };
  if (neg_src) exclusion([&](ir::Rule& r) { r.src = w.rule.src; r.src.negated = false; });
  if (neg_dst) exclusion([&](ir::Rule& r) { r.dst = w.rule.dst; r.dst.negated = false; });
  if (neg_svc)
    for (const auto& s : w.services)
      exclusion([&](ir::Rule& r) { r.has_service = true; r.service = s; });

  LoweringRule final_rule;
  final_rule.chain = name;
  final_rule.from = w.hook;
  final_rule.rule.xlate = w.rule.xlate;
  // A port translation needs its protocol named in the rule (iptables).
  if (w.rule.xlate && w.rule.xlate->port_lo && w.rule.has_service && !neg_svc) {
    final_rule.rule.has_service = true;
    final_rule.rule.service = w.rule.service;
  }
  final_rule.line = w.line;
  final_rule.rule.family = w.rule.family;
  final_rule.rule.log = w.rule.log;
  final_rule.rule.counter = w.rule.counter;
  final_rule.rule.verdict = w.rule.verdict;
  final_rule.rule.comment = w.rule.comment;
  final_rule.reject = w.reject;
  chain.push_back(std::move(final_rule));

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
  jump.rule.xlate = nullptr;
  Pass(std::move(jump));
  // The chain's rules follow: chains are built by name, so only the order
  // of the rules inside each one matters.
  for (auto& r : chain) Pass(std::move(r));
}

void SplitRateLimitedLog::Process(LoweringRule w) {
  if (!w.rule.log.enabled || w.rule.log.rate == 0) return Pass(std::move(w));
  LoweringRule log = w;
  log.rule.verdict = ir::Verdict::kContinue;
  log.rule.counter = false;
  log.reject = false;
  w.rule.log = {};
  Pass(std::move(log));
  Pass(std::move(w));
}

void SplitReject::Process(LoweringRule w) {
  if (!w.reject) return Pass(std::move(w));
  w.reject = false;
  if (w.rule.has_service) {
    w.rule.verdict = w.rule.service.proto == kProtoTcp ? ir::Verdict::kRejectTcpReset : ir::Verdict::kRejectIcmp;
    return Pass(std::move(w));
  }
  // TCP gets a reset, everything else an ICMP error.
  LoweringRule tcp = w;
  tcp.rule.has_service = true;
  tcp.rule.service = ir::ServiceMatch{};
  tcp.rule.service.proto = kProtoTcp;
  tcp.rule.verdict = ir::Verdict::kRejectTcpReset;
  w.rule.verdict = ir::Verdict::kRejectIcmp;
  Pass(std::move(tcp));
  Pass(std::move(w));
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

constexpr ir::Hook kBaseHooks[] = {ir::Hook::kInput, ir::Hook::kForward, ir::Hook::kOutput};

}  // namespace

BuildRuleset::BuildRuleset(const Model& m, const SourceManager& sources, const std::map<ir::Hook, size_t>& expected)
    : RuleProcessor("BuildRuleset"), m_(m) {
  rs_.source = m.policy_loc.valid() ? sources.display_name(m.policy_loc.file) : "";
  rs_.policy_name = m.policy_name;
  for (ir::Hook h : kBaseHooks) {
    std::vector<ir::Rule>& rules = base_[h];
    rules = Preamble(m, h);
    auto n = expected.find(h);
    // The default of a reject policy adds two rules.
    if (n != expected.end()) rules.reserve(rules.size() + n->second + 2);
  }
}

void BuildRuleset::Process(LoweringRule w) {
  if (w.hook != ir::Hook::kNone) {
    base_[w.hook].push_back(std::move(w.rule));
    return;
  }
  auto [it, fresh] = regular_.emplace(w.chain, std::vector<ir::Rule>());
  if (fresh) {
    order_.push_back(w.chain);
    from_[w.chain] = w.from;
  }
  it->second.push_back(std::move(w.rule));
}

void BuildRuleset::Finish() {
  for (const auto& name : order_)
    rs_.chains.push_back({name, ir::Hook::kNone, ir::Verdict::kAccept, std::move(regular_[name]), from_[name]});
  regular_.clear();
  rs_.owns_marks = m_.has_marks;
  rs_.owns_nat = m_.has_nat;
  rs_.forwarding = m_.forwarding;
  rs_.clamp_mss = m_.clamp_mss;
  rs_.helpers = m_.helpers;
  for (const auto& h : m_.helpers) {
    ir::Rule r = Builtin("fwc: conntrack helper " + h.kind + " (" + h.name + ")", ir::Verdict::kContinue);
    r.has_service = true;
    r.service.proto = h.proto;
    r.service.dports = h.ports;
    r.helper = h.name;
    base_[ir::Hook::kHelpers].push_back(std::move(r));
  }
  if (m_.clamp_mss) {
    // One rule, before the filter sees the SYN: MTU problems of tunnels and
    // PPPoE links otherwise stall TCP connections through the firewall.
    ir::Rule r = Builtin("fwc: clamp the MSS of TCP SYNs to the route's MTU (option clamp-mss)", ir::Verdict::kContinue);
    r.clamp_mss = true;
    base_[ir::Hook::kMss].push_back(std::move(r));
  }
  auto section = [&](ir::Hook hook) {
    auto it = base_.find(hook);
    if (it == base_.end() || it->second.empty()) return;
    ir::Chain c;
    c.name = ir::HookName(hook);
    c.hook = hook;
    c.policy = ir::Verdict::kAccept;
    c.rules = std::move(it->second);
    rs_.chains.push_back(std::move(c));
  };
  section(ir::Hook::kMarks);
  section(ir::Hook::kDnat);

  std::string default_comment = rs_.source + ":" + std::to_string(m_.policy_loc.line) + " default " +
                                ast::ActionName(m_.default_action);
  for (ir::Hook hook : kBaseHooks) {
    ir::Chain c;
    c.name = ir::HookName(hook);
    c.hook = hook;
    c.policy = m_.default_action == ast::Action::kAccept ? ir::Verdict::kAccept : ir::Verdict::kDrop;
    c.rules = std::move(base_[hook]);  // the preamble, then the policy's rules
    if (m_.default_action == ast::Action::kReject) {
      // A chain policy cannot reject; the last rules do it instead.
      LoweringRule w;
      w.reject = true;
      w.rule.comment = default_comment;
      SplitReject reject;
      for (auto& r : RunProcessor(reject, {std::move(w)})) c.rules.push_back(std::move(r.rule));
    }
    rs_.chains.push_back(std::move(c));
  }
  section(ir::Hook::kSnat);
  section(ir::Hook::kMss);
  section(ir::Hook::kHelpers);
  // The policy passes traffic through when its forward chain has a rule
  // of its own that can accept.
  for (const auto& c : rs_.chains)
    if (c.hook == ir::Hook::kForward || c.from == ir::Hook::kForward)
      for (const auto& r : c.rules)
        rs_.forwards |= r.verdict == ir::Verdict::kAccept && r.comment.rfind("fwc:", 0) != 0;
  if (m_.default_action == ast::Action::kAccept) rs_.forwards = true;

  // Named sets for groups, in name order, and every runtime set the policy
  // declares, used or not: a script may fill it before a rule uses it.
  std::map<std::string, ir::NamedSet> sets;
  for (const auto& c : rs_.chains)
    for (const auto& r : c.rules)
      for (const ir::AddrMatch* a : {&r.src, &r.dst})
        if (a->present && !a->set_name.empty() && !a->runtime)
          sets[a->set_name] = {a->set_name, r.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4, false, a->set};
  for (const auto& r : m_.runtime_sets)
    for (Family f : {Family::kV4, Family::kV6})
      if (f == Family::kV4 ? r.v4 : r.v6) sets[KernelSetName(r.name, f)] = {KernelSetName(r.name, f), f, true, {}};
  for (auto& [_, s] : sets) rs_.sets.push_back(std::move(s));
}

std::vector<LoweringRule> RunProcessor(RuleProcessor& p, std::vector<LoweringRule> rules) {
  CollectRules out;
  p.set_next(&out);
  for (auto& r : rules) p.Process(std::move(r));
  p.Finish();
  return std::move(out.rules);
}

ir::Ruleset Lower(const Model& m, std::vector<PlacedRule> placed, const LoweringCaps& caps,
                  const SourceManager& sources, const std::vector<PlacedRule>& sections) {
  std::map<ir::Hook, size_t> expected;
  for (const auto& w : placed) ++expected[w.hook];
  TakeActions take(sources);
  LowerNegation negation(caps);
  SplitRateLimitedLog rate_limited;
  SplitReject reject;
  BuildRuleset build(m, sources, expected);
  RuleProcessor* chain[] = {&negation, &rate_limited, &reject, &build};
  for (size_t i = 0; i + 1 < std::size(chain); ++i) chain[i]->set_next(chain[i + 1]);
  for (const auto& w : sections) chain[0]->Process(take(w));
  // Each placed rule is freed as soon as it has gone through the chain.
  for (auto& w : placed) {
    chain[0]->Process(take(std::move(w)));
    w = PlacedRule{};
  }
  placed = {};
  chain[0]->Finish();
  return build.Take();
}

}  // namespace fwc
