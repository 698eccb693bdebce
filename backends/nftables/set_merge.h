// Set and verdict-map compilation for the nftables backend.
//
// A linear chain costs every packet a few nanoseconds per rule it passes; an
// nftables set or verdict map costs one lookup whatever its size. This pass
// turns runs of rules that share a shape into one rule over a set
// ("ip daddr . tcp dport @forward_set1 accept") or, when their verdicts
// differ, over a verdict map ("ip saddr . meta l4proto . th dport vmap
// @forward_map1").
//
// It never needs to know what the policy means, only that the result is the
// same first match for every packet:
//  - Only a run of CONSECUTIVE rules of one chain is merged. Rules of one
//    family never match a packet of the other, so IPv4 and IPv6 rules
//    between two rules for both families may be taken in either order; no
//    other reordering happens.
//  - The rules of a run share everything but the values of their keyed
//    dimensions (interfaces, addresses, protocol, ports, ICMP type/code), so
//    each rule is a product of interval sets and becomes the elements of
//    that product.
//  - The rules a run keeps are pairwise disjoint: every packet matches at
//    most one of them, so their order inside the run does not matter and a
//    verdict map gives each packet exactly the verdict of the rule it
//    matched. A rule contained in an earlier rule of the run whose verdict
//    is final (not a jump, which comes back) can never match and is
//    dropped; any other overlap ends the run. This also keeps
//    nftables' interval sets free of overlapping elements.
// Rules that carry state of their own (a rate limit, a log-only rule) and
// fwc's built-in rules are never merged.
//
// In the kernel, a set of single values is a hash lookup; with prefixes or
// ranges it is an interval tree (one dimension) or nftables' pipapo (a
// concatenation), whose cost grows with the set, so a large exact-match run
// is not turned into an interval one (MergeOptions::settle_after). Counters
// stay per policy rule: on the elements of an inline set, or on every
// element of a named set or map. A verdict-map element whose rule logs or
// rejects jumps to a chain holding that one rule.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"

namespace fwc::nftables {

// What a merged rule can key on. Interfaces are interned: the value of an
// interface dimension is an index into MergedRuleset::ifnames.
enum class Dim { kIif, kOif, kSrc, kDst, kProto, kSport, kDport, kIcmpType, kIcmpCode };
constexpr int kNumDims = 9;

// What a packet that matches an element gets: the IR rule's verdict and log.
struct Action {
  ir::Verdict verdict = ir::Verdict::kAccept;
  std::string target;  // kJump
  bool log = false;
  std::string log_prefix;
  // In a verdict map, a verdict nft cannot put in a map (reject) or one that
  // comes with a log statement goes through a chain of its own; "goto" for a
  // return, so that it returns from the calling chain.
  std::string chain;
  bool go_to = false;

  bool operator==(const Action& o) const {
    return verdict == o.verdict && target == o.target && log == o.log && log_prefix == o.log_prefix;
  }
};

struct Element {
  std::vector<Interval> key;  // one per MergedRule::key dimension
  size_t action = 0;          // into MergedRule::actions
  bool counter = false;       // the IR rule it comes from counts
  size_t origin = 0;          // index of that IR rule in its chain
};

struct MergedRule {
  // Without a key: an IR rule emitted as it is (possibly standing for a run
  // whose other rules it shadows). With a key: the part every element shares;
  // its keyed dimensions, verdict, log and counter are not used.
  ir::Rule base;
  std::vector<Dim> key;
  std::vector<Element> elements;
  std::vector<Action> actions;  // one: a set; several: a verdict map
  std::vector<size_t> origins;  // the IR rules (chain indices) it stands for
  std::string name;             // a named set or map; "" for an anonymous one
  bool interval = false;        // some element is a range or prefix
  bool counters = false;        // a named set/map whose elements all count

  bool is_map() const { return actions.size() > 1; }
  // For a set (one action): the base rule carrying that action's verdict
  // and log, which is what both nft encoders emit after the lookup.
  ir::Rule WithSingleAction() const {
    ir::Rule r = base;
    const Action& a = actions.front();
    r.verdict = a.verdict;
    r.target = a.target;
    r.log.enabled = a.log;
    r.log.prefix = a.log_prefix;
    r.log.rate = 0;
    return r;
  }
  // Element i's values, one per key dimension (elements[i].key).
  const Interval* key_of(size_t i) const { return elements[i].key.data(); }
};

struct MergedChain {
  std::string name;
  ir::Hook hook = ir::Hook::kNone;
  ir::Verdict policy = ir::Verdict::kAccept;
  std::vector<MergedRule> rules;
};

struct MergedRuleset {
  const ir::Ruleset* ir = nullptr;  // named address sets, source, policy name
  std::vector<MergedChain> chains;  // parallel to ir->chains
  std::vector<MergedChain> action_chains;
  std::vector<std::string> ifnames;
};

struct MergeOptions {
  bool enabled = true;  // false: every rule stays as it is
  // Sets of more elements are named (declared in the table) instead of
  // written inline.
  size_t inline_max = 16;
  // A rule whose keyed dimensions would expand it into more elements than
  // this stays out of the run.
  size_t max_elements_per_rule = 64;
  // A run keyed on several dimensions (a concatenation) is merged only when
  // it has at least this many rules; shorter ones read better as they are.
  size_t min_concat_rules = 3;
  // A table with more sets and maps than this keeps only those that are
  // named anyway (more than inline_max elements); smaller runs are emitted as
  // their rules. The kernel charges every set of a transaction a walk over
  // the table's sets (named) or over the whole transaction (anonymous, when
  // its lookup binds it), so thousands of small sets make a load quadratic:
  // 8,000 rules with a two-element set each take seconds to load, the same
  // 16,000 rules plain a tenth of that. A small set spares a packet little
  // (a concatenation's lookup costs about what a few rules do), so in such
  // a table the rules are the better encoding.
  size_t max_sets = 512;
  // Once a run has this many rules, its shape is settled: a rule that would
  // key it on another dimension, or turn its exact-match concatenation
  // (a hash lookup) into one over intervals (a lookup whose cost grows with
  // the set), starts a new run instead.
  size_t settle_after = 8;
  // Rules an overlap check may compare one rule with before it gives up and
  // ends the run (bounds the work per rule; ending a run is always exact).
  size_t max_candidates = 32;
};

MergedRuleset MergeSets(const ir::Ruleset& rs, const MergeOptions& options = {});

// "crm.fw:22-31": the comment of a merged rule, from the comments of the IR
// rules it stands for ("file:line text"). The comment itself when they all
// carry the same one.
std::string MergedComment(const std::vector<const ir::Rule*>& rules);

// The set of values an IR rule matches in dimension d, with an absent match
// as the dimension's whole range (addresses of the rule's family; ports of a
// tcp/udp rule). ifname_index is used for interface dimensions.
IntervalSet DimValues(const ir::Rule& r, Dim d, int ifname_index);
U128 DimMax(const ir::Rule& r, Dim d);

}  // namespace fwc::nftables
