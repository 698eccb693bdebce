// The one nftables model of a ruleset: table inet fwc as statements over
// the fields of fields.h, built once from the IR (after set merging), and
// read by both nftables backends: the text printer (backends/nft/) writes
// it in nft's syntax, the netlink linearizer (backends/netlink/) turns it
// into libnftnl expressions. Every decision about what the table holds (the
// order of statements and declarations, protocol matches, which values go
// into sets, comments and their limit) is made here, so that `nft -f` of
// the text and `fwc apply` load the same table.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "backends/nftables/fields.h"
#include "backends/nftables/set_merge.h"
#include "compiler/ir/ir.h"

namespace fwc::nftables {

// nft rejects longer rule comments.
constexpr size_t kMaxComment = 128;
// The comment of a runtime set in the kernel: what tells `fwc show` that its
// elements are not the policy's.
constexpr const char* kRuntimeSetComment = "fwc runtime set: fwc apply keeps its elements";

// Every string that comes from outside fwc (file and policy names, comments,
// log prefixes, interface names) as nft stores it: plain text, which a
// double-quoted nft string holds as it is, so the text backend writes
// exactly these bytes in quotes and the netlink backend sends them.
inline std::string KernelString(std::string_view s, size_t max_bytes = SIZE_MAX) { return PlainText(s, max_bytes); }

// A verdict, in a rule or as a verdict map's element.
struct Verdict {
  enum class Kind { kNone, kAccept, kDrop, kReturn, kJump, kGoto } kind = Kind::kNone;
  std::string chain;  // kJump, kGoto
};
// The verdict of a merged rule's action (a chain of its own for a reject
// or a logged verdict, which a map cannot hold).
Verdict ActionVerdict(const Action& a);

// The values of an anonymous set, without copying them from where they are:
// the IR's interval sets, a merged rule's elements, or a few of its own.
struct Elements {
  const IntervalSet* values = nullptr;  // one field: these intervals
  const MergedRule* merged = nullptr;   // a merged rule's elements (and actions, for a map)
  // One field: ICMP types, held here, each its own element (an interval
  // set would join 133 and 134 into one range).
  std::vector<Interval> own;
  const std::vector<Interval>& Intervals() const { return values ? values->intervals() : own; }
};

struct Stmt {
  enum class Kind {
    kMatch,    // fields[0] (op) value
    kLookup,   // fields (a concatenation when several) in a set or a verdict map
    kCt,       // ct state
    kLimit,    // limit rate
    kCounter,  //
    kLog,      // log [prefix]
    kVerdict,  //
    kReject,   // reject with ...
    kCtStates, // ct state new,established (states: a StateBit mask)
    kSetMark,  // meta mark set N / ct mark set N (fields[0]: kMetaMark or kCtMark)
    kNat,      // snat, dnat, masquerade, redirect (xlate)
    kConnlimit, // ct count N (rate: N)
    kClampMss, // tcp flags syn tcp option maxseg size set rt mtu
    kSetHelper, // ct helper set "NAME" (name)
  };
  Kind kind = Kind::kMatch;
  std::vector<Field> fields;
  bool negated = false;  // kMatch, kLookup: !=
  Interval value;        // kMatch (not interface fields)
  std::string name;      // kMatch of an interface field: its name; kLookup: a named set or map
  Elements elements;     // kLookup into an anonymous set or map
  bool interval = false;  // kLookup, anonymous: some element is a range
  bool map = false;       // kLookup: a verdict map
  ir::CtState ct = ir::CtState::kNone;  // kCt
  uint64_t rate = 0;                    // kLimit
  std::string unit;                     // kLimit: second, minute, hour, day
  std::string prefix;                   // kLog ("" for none), as nft stores it
  Verdict verdict;                      // kVerdict
  ir::Verdict reject = ir::Verdict::kRejectIcmp;  // kReject: kRejectTcpReset or kRejectIcmp
  ir::RuleFamily family = ir::RuleFamily::kAny;   // kReject: icmp, icmpv6 or icmpx; kNat: the address family
  uint8_t states = 0;                             // kCtStates
  uint32_t mark = 0;                              // kSetMark
  const Translation* xlate = nullptr;             // kNat (the IR's)
};

struct Rule {
  std::vector<Stmt> stmts;
  std::string comment;  // as nft stores it, at most kMaxComment bytes
  std::string ir_comment;  // the IR rule's, whole: where it comes from, for messages
};

struct Set {
  std::string name;
  std::vector<Field> key;
  bool interval = false;
  bool map = false;
  bool counters = false;  // every element counts
  bool runtime = false;   // declared without elements; they are owned at runtime
  std::string comment;    // "" for none
  Elements elements;
  std::string origin;     // for messages: "set webs_v4", "set forward_set1 (crm.fw:22-31)"
};

struct Chain {
  std::string name;
  ir::Hook hook = ir::Hook::kNone;
  ir::Verdict policy = ir::Verdict::kAccept;  // base chains
  std::vector<Rule> rules;
};

// A ct helper object: ct helper NAME { type "KIND" protocol PROTO; l3proto inet; }
struct Helper {
  std::string name, kind;
  int proto = 0;
};

struct Table {
  std::string source, policy_name;  // for the text's header, as nft stores them
  std::vector<Helper> helpers;      // declared before the chains that assign them
  std::vector<Set> sets;            // named sets and maps, in declaration order
  std::vector<Chain> chains;        // in declaration order: regular, action, base
  std::vector<std::string> ifnames;  // interface names of interface elements, by index
};

// The model of table inet fwc. The IR and the merged ruleset must outlive
// it (elements are not copied).
Table BuildTable(const ir::Ruleset& rs, const MergedRuleset& merged);

}  // namespace fwc::nftables
