// The IR every backend consumes: chains of fully lowered rules. Each rule
// is one kernel rule in spirit: a conjunction of matches and one verdict.
// Nothing here refers to the AST or to a particular backend's syntax.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/base/address.h"
#include "compiler/base/translation.h"

namespace fwc::ir {

// kAny: the rule matches nothing family-specific and applies to both.
enum class RuleFamily { kAny, kV4, kV6 };

// Whether a rule of family rf applies to packets of family f.
inline bool InFamily(RuleFamily rf, Family f) {
  return rf == RuleFamily::kAny || (rf == RuleFamily::kV4) == (f == Family::kV4);
}

enum class Verdict {
  kContinue,        // no verdict: a log-only rule
  kAccept,
  kDrop,
  kRejectTcpReset,  // only on rules that match tcp
  kRejectIcmp,      // ICMP/ICMPv6 port-unreachable
  kJump,
  kReturn,
  kNat,  // the rule's translation (snat, dnat, masquerade, redirect), which ends its chain
};

enum class CtState { kNone, kEstablishedRelated, kInvalid };

struct AddrMatch {
  bool present = false;  // false: any address
  bool negated = false;
  // set_name is a runtime set: its elements are unknown here (set is empty)
  // and are not fwc's to change.
  bool runtime = false;
  IntervalSet set;       // of the rule's family
  std::string set_name;  // a named set holding exactly `set`, if any
};

// A protocol match; ports empty = any, icmp_type -1 = any.
struct ServiceMatch {
  int proto = 0;
  IntervalSet dports, sports;
  std::vector<int> icmp_types;  // several types, any code
  int icmp_code = -1;           // with exactly one type
};

struct LogAction {
  bool enabled = false;
  std::string prefix;
  uint64_t rate = 0;  // 0: unlimited
  std::string rate_unit;
};

// What a rule matches: the conjunction, each part optional.
struct Match {
  RuleFamily family = RuleFamily::kAny;
  CtState ct = CtState::kNone;
  bool has_service = false;
  // The destination address and port are the connection's original ones,
  // before DNAT (ct original): filter rules of a policy that translates
  // destinations name what the client addressed.
  bool original_dst = false;
  MatchExtras extras;
  std::string iif, oif;
  AddrMatch src, dst;
  ServiceMatch service;
};

// A rule: its matches, then what it does.
struct Rule : Match {
  LogAction log;
  bool counter = false;
  Verdict verdict = Verdict::kAccept;
  std::string target;   // kJump
  std::string comment;  // "crm.fw:14 the CRM web service"
  // A rule of the nat or marks section: a mark or connmark is set before the
  // verdict (kAccept); snat, dnat, masquerade and redirect are the verdict
  // kNat; no nat is kAccept.
  std::shared_ptr<const Translation> xlate;
  // Sets the MSS option of TCP SYNs to what the route's MTU allows (option
  // clamp-mss): the rule's statement, before its verdict (kContinue).
  bool clamp_mss = false;
  std::string helper;  // assigns this conntrack helper object (before its verdict, kContinue)
};

// The hooks fwc's chains are attached to. Besides the filter chains, the
// marks section runs in prerouting at mangle priority (-150), DNAT at
// dstnat (-100) before routing, SNAT at srcnat (100) after it.
// kMss: forward at mangle priority, where option clamp-mss rewrites the MSS
// of TCP SYNs to the route's MTU.
// kHelpers: prerouting, where the traffic of conntrack helpers gets them.
enum class Hook { kNone, kInput, kForward, kOutput, kMarks, kDnat, kSnat, kMss, kHelpers };

// What the kernel calls a hook and its chain's type and priority.
struct HookInfo {
  const char* kernel_hook;  // "prerouting", "input", ...
  const char* type;         // "filter" or "nat"
  int priority;
  const char* priority_name;  // nft's name for it: "filter", "mangle", "dstnat", "srcnat"
  const char* iptables_table; // "filter", "mangle", "nat"
  const char* iptables_chain; // "INPUT", "PREROUTING", ...
};
const HookInfo& Info(Hook h);

struct Chain {
  std::string name;
  Hook hook = Hook::kNone;       // kNone: a regular chain reached by jumps
  Verdict policy = Verdict::kAccept;  // base chains only: kAccept or kDrop
  std::vector<Rule> rules;
  Hook from = Hook::kNone;  // a regular chain: the base chain that jumps to it (its table)
};

struct NamedSet {
  std::string name;
  Family family = Family::kV4;
  // Elements owned at runtime: declared empty, loaded as they are in the
  // kernel (fwc apply), not compared (fwc verify).
  bool runtime = false;
  IntervalSet elements;
};

struct Ruleset {
  std::string source;       // policy file name, for the output header
  std::string policy_name;
  std::vector<NamedSet> sets;
  // Regular chains first, then marks, dstnat, input, forward, output,
  // srcnat (those with rules): a chain is declared before any rule jumps to it.
  std::vector<Chain> chains;
  // Which table families fwc owns besides filter: it replaces the nat or
  // mangle table only when the policy has that section (iptables).
  bool owns_nat = false, owns_marks = false;
  // option forwarding, and whether any rule passes traffic through.
  std::optional<bool> forwarding;
  bool forwards = false;
  bool clamp_mss = false;  // option clamp-mss: fwc owns the mangle table (iptables)
  std::vector<HelperSpec> helpers;  // conntrack helper objects (nft), the raw table (iptables)
};

// A readable dump of the IR (fwc compile --dump ir), and of its parts.
std::string Dump(const Ruleset& rs);
std::string DumpMatch(const Match& m);
std::string DumpService(const ServiceMatch& s);
const char* VerdictName(Verdict v);
const char* HookName(Hook h);  // "input", "forward", "output", "marks", "dstnat", "srcnat"; "" for kNone
std::string DumpTranslation(const Translation& t, RuleFamily family);
std::string DumpExtras(const MatchExtras& x);

}  // namespace fwc::ir
