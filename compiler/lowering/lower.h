// Lowering: placed rules -> IR, as a chain of small named rule processors in
// the manner of Firewall Builder's compilers. Each processor takes one rule
// and passes on what it makes of it, so rules stream through the chain one
// at a time; each can be tested alone (RunProcessor). Lower() builds the
// chain for a target's capabilities and runs the placed rules through it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/caps.h"
#include "compiler/ir/ir.h"
#include "compiler/placement/place.h"

namespace fwc {

class SourceManager;

// A rule in the lowering: an IR rule plus what is not yet lowered.
struct LoweringRule {
  ir::Hook hook = ir::Hook::kNone;
  std::string chain;  // a regular chain (hook kNone): a jump target
  ir::Hook from = ir::Hook::kNone;  // a regular chain's: the hook that jumps to it
  ir::Rule rule;
  // Negated services still to be moved to a chain.
  std::vector<ir::ServiceMatch> services;
  bool services_negated = false;
  bool reject = false;  // verdict is reject; SplitReject picks the kind
  int line = 0;         // policy line, for chain names
};

// One step of the lowering. Process() gets each rule in order and calls
// Pass() for every rule it makes of it; Finish() follows the last one.
class RuleProcessor {
 public:
  explicit RuleProcessor(const char* name) : name_(name) {}
  virtual ~RuleProcessor() = default;
  RuleProcessor(const RuleProcessor&) = delete;
  RuleProcessor& operator=(const RuleProcessor&) = delete;

  const char* name() const { return name_; }
  void set_next(RuleProcessor* next) { next_ = next; }
  virtual void Process(LoweringRule r) = 0;
  virtual void Finish() {
    if (next_) next_->Finish();
  }

 protected:
  void Pass(LoweringRule r) { next_->Process(std::move(r)); }

 private:
  const char* name_;
  RuleProcessor* next_ = nullptr;
};

// Gives a placed rule its origin's verdict, log, counter and comment
// ("crm.fw:14 the CRM web service"): the first step, from placed rules to
// lowering rules.
class TakeActions {
 public:
  explicit TakeActions(const SourceManager& sources) : sources_(sources) {}
  LoweringRule operator()(PlacedRule placed);

 private:
  const SourceManager& sources_;
  std::map<int, std::string> files_;  // display names, made once
};

// Negated services, and negated address sets the target cannot negate
// (iptables: one prefix or range), move to a chain of their own whose
// RETURNs take out what the negation excludes.
class LowerNegation : public RuleProcessor {
 public:
  explicit LowerNegation(const LoweringCaps& caps) : RuleProcessor("LowerNegation"), caps_(caps) {}
  void Process(LoweringRule r) override;

 private:
  LoweringCaps caps_;
  std::map<std::string, int> used_;  // chain names given out
};

// A log with a rate limit becomes a limited log-only rule before the
// verdict rule: a limit in the verdict rule would let the packets over the
// rate fall through to later rules.
class SplitRateLimitedLog : public RuleProcessor {
 public:
  SplitRateLimitedLog() : RuleProcessor("SplitRateLimitedLog") {}
  void Process(LoweringRule r) override;
};

// Reject picks its answer: a TCP reset for TCP, ICMP port-unreachable for
// everything else (two rules when the rule matches both).
class SplitReject : public RuleProcessor {
 public:
  SplitReject() : RuleProcessor("SplitReject") {}
  void Process(LoweringRule r) override;
};

// The last step: rules into chains (regular chains in order of first
// appearance, then input, forward and output, each after fwc's own rules),
// the default action, and the named sets.
class BuildRuleset : public RuleProcessor {
 public:
  // Rules are reserved per hook: at 100,000 rules the chains' vectors are
  // the largest allocations of a compile, and growing them by doubling
  // would hold one and a half of them at once.
  BuildRuleset(const Model& m, const SourceManager& sources, const std::map<ir::Hook, size_t>& expected = {});
  void Process(LoweringRule r) override;
  void Finish() override;
  ir::Ruleset Take() { return std::move(rs_); }

 private:
  const Model& m_;
  ir::Ruleset rs_;
  std::map<ir::Hook, std::vector<ir::Rule>> base_;
  std::vector<std::string> order_;  // regular chains, as they appear
  std::map<std::string, std::vector<ir::Rule>> regular_;
  std::map<std::string, ir::Hook> from_;  // regular chains: the hook that jumps to them
};

// Collects what reaches it: the end of a chain under test.
class CollectRules : public RuleProcessor {
 public:
  CollectRules() : RuleProcessor("CollectRules") {}
  void Process(LoweringRule r) override { rules.push_back(std::move(r)); }
  std::vector<LoweringRule> rules;
};

// Runs rules through one processor and returns what it passed on.
std::vector<LoweringRule> RunProcessor(RuleProcessor& p, std::vector<LoweringRule> rules);

// The whole lowering for a target: TakeActions, LowerNegation,
// SplitRateLimitedLog, SplitReject, BuildRuleset. sections: the placed
// rules of the marks and nat sections (PlaceSectionRules).
ir::Ruleset Lower(const Model& m, std::vector<PlacedRule> placed, const LoweringCaps& caps,
                  const SourceManager& sources, const std::vector<PlacedRule>& sections = {});

}  // namespace fwc
