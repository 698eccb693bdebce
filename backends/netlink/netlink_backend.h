// The netlink backend: loads fwc's table into the kernel as one batch,
// reads it back, compares, and restores a saved copy. Kernel access goes
// through NetlinkTransport only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backends/netlink/nl_message.h"
#include "backends/netlink/table_delta.h"
#include "backends/netlink/table_image.h"
#include "backends/netlink/transport.h"
#include "compiler/ir/ir.h"

namespace fwc::netlink {

inline constexpr uint16_t kFamily = 1;  // NFPROTO_INET

// fwc's table as the kernel has it now, read consistently (every dump of
// one generation).
struct Loaded {
  TableImage image;
  uint32_t genid = 0;
  std::vector<std::string> messages;  // the dump, as the kernel sent it
};
Loaded ReadTable(NetlinkTransport& t);
// The same, of the table and some named sets only (with their elements):
// no chains, rules, other sets' elements, objects or flowtables.
Loaded ReadParts(NetlinkTransport& t, const std::vector<std::string>* only_sets);

// The batch that replaces fwc's table by `image` (or removes it when the
// image is absent): NEWTABLE (creates it if missing), DELTABLE, then the new
// table, its chains, sets and rules. Nothing else is touched.
Batch ReplaceBatch(const TableImage& image);

// The NEWRULE messages of an image's rules, each preceded by the anonymous
// sets it uses that were not sent yet (with their elements).
class RuleMessages {
 public:
  explicit RuleMessages(const TableImage& image);
  // Rule i with these netlink flags; position != 0 places it before (or,
  // with NLM_F_APPEND, after) the rule of that handle.
  void Add(Batch& b, MessageWriter& w, size_t i, uint16_t flags, uint64_t position);

 private:
  const TableImage& image_;
  std::map<uint32_t, size_t> anon_by_id_;
  std::map<std::string, size_t> anon_by_name_;
  std::set<size_t> sent_;
};

// One message the kernel refused, traced to where it came from.
struct Rejection {
  std::string origin;  // "crm.fw:23", "set webs_v4", "table", ...
  int error = 0;
  std::string kernel_text;
  std::string Describe() const;
};

struct LoadResult {
  bool ok = false;             // committed (or, for a check, accepted)
  std::vector<Rejection> rejections;
  bool lost = false;           // some rejections were not reported
  uint32_t genid_before = 0;   // the generation the batch replaced
  uint32_t genid_after = 0;
  int attempts = 0;            // 1 unless the ruleset changed underneath
  std::vector<std::string> notes;  // what became of the runtime sets' elements
  size_t messages = 0, bytes = 0;  // the batch
  // Milliseconds: serializing the batch, reading what is loaded, the
  // kernel's handling of the batch (sendmsg), and the checks after it.
  double build_ms = 0, read_ms = 0, send_ms = 0, after_ms = 0;
  // Update only: whether the batch changed the loaded table in place (and
  // how many rules it deleted and added), else why it replaced the table;
  // the time spent on the indexes.
  bool delta = false;
  size_t deleted = 0, added = 0;                    // rules
  size_t elements_deleted = 0, elements_added = 0;  // of named sets (an interval counts once)
  std::string replaced_because;
  double index_ms = 0;
};

struct ReplaceOptions {
  bool commit = true;   // false: the kernel checks the batch, commits nothing
  int max_attempts = 8;
  // Called with what is loaded right before each attempt is sent (the batch
  // is guarded by that generation, so it is exactly what gets replaced).
  // Returning false stops without sending (result: not ok, no rejection).
  std::function<bool(const Loaded& current)> before_send;
};

// Sends the batch guarded by the current generation id (read first, with
// the table itself when before_send wants it, or when the image has runtime
// sets: their elements in the loaded table go into the batch, so a script's
// additions survive), and retries when the kernel answers that the ruleset
// changed in between.
LoadResult Replace(NetlinkTransport& t, const TableImage& image, const ReplaceOptions& options = {});

// Apply cost proportional to the change (table_delta.h): when `loaded`
// describes what the kernel holds now (its generation is the current one),
// only the rules that differ are deleted and inserted, in one batch guarded
// by that generation; otherwise, or when much differs, the table is
// replaced as by Replace. `*next` receives the index of what was committed
// when fwc knows its handles for sure (genid 0 otherwise: the next update
// then replaces the table).
LoadResult Update(NetlinkTransport& t, const TableImage& image, const TableIndex* loaded, TableIndex* next);
// Update's reason to replace when the kernel cannot name the namespace.
inline constexpr const char kNoNamespace[] =
    "this kernel does not say which network namespace it is (SO_NETNS_COOKIE, Linux 5.14 and later), "
    "so fwc keeps no index of its table";

// The handle of table inet fwc, 0 when there is none: a table that was
// replaced has another. Handles are numbered per network namespace (a
// namespace made anew starts over), so only with NetlinkTransport::
// Namespace() does a handle name one table.
uint64_t TableHandle(NetlinkTransport& t);
// The same, of an image read from the kernel (ReadTable: the handle at the
// generation it was read at); 0 for an image fwc built.
uint64_t TableHandle(const TableImage& image);

// A saved image made ready to be sent again: handles dropped (anonymous
// sets keep their names; the table they are created in is new).
TableImage PrepareRestore(TableImage saved);

// What would change: one line per difference between two canonical forms
// (empty when they are equal), with the rules' comments. The elements of
// the runtime sets of `to` are not compared.
std::vector<std::string> Differences(const TableImage& from, const TableImage& to, size_t max_lines = 40);

// Counts for a summary ("3 chains, 41 rules, 4 sets with 120 elements").
std::string Summary(const TableImage& image);

// The table for people, as fwc show prints it: named sets with their type
// and size, then each chain (hook, policy) with its rules' comments and,
// for a rule with a counter, its packets and bytes.
struct RuleView {
  std::string comment;  // the policy line it comes from ("crm.fw:23 ...")
  std::string text;     // what it matches and does, in nft's words ("" if unknown)
  bool counter = false;
  uint64_t packets = 0, bytes = 0;
};
struct ChainView {
  std::string name;
  bool base = false;  // hooked: the next four are set
  std::string type, hook, policy;
  int32_t priority = 0;
  std::vector<RuleView> rules;
};
struct SetView {
  std::string name, key_type;
  bool map = false, intervals = false, runtime = false;
  size_t elements = 0;                 // kernel elements (an interval counts twice)
  std::vector<std::string> addresses;  // a runtime set's, as the kernel holds them
};
struct TableView {
  bool present = false;
  std::vector<SetView> sets;
  std::vector<ChainView> chains;
};
// Rule texts by rule handle, read from `nft -a list table inet fwc`: nft's
// own rendering of the kernel's expressions, which fwc does not reimplement.
// Each rule line ends in "# handle N"; its counter and comment are left out
// (fwc show prints them from the table itself).
using RuleTexts = std::map<uint64_t, std::string>;
RuleTexts ParseRuleListing(const std::string& listing);

TableView View(const TableImage& image, const RuleTexts& texts = {});
// As text lines, and as the JSON object fwc show --format json prints.
std::vector<std::string> Describe(const TableImage& image, const RuleTexts& texts = {});
std::string DescribeJson(const TableImage& image, uint32_t genid, const RuleTexts& texts = {});

}  // namespace fwc::netlink
