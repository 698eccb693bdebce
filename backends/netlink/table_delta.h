// Changing a loaded table in place: the few messages that turn the table
// fwc committed last into the one the policy compiles to now, instead of
// replacing all of it.
//
// Reading a large table back is no way to learn what is loaded: the kernel
// restarts a rule dump from the head of the chain for every buffer it
// fills, so reading 100k rules takes seconds. fwc keeps instead, beside its
// other state, a TableIndex of the table it committed: a digest of each
// rule's canonical line and the handle the kernel gave it. The index is
// trusted only while the ruleset generation is the one fwc's commit
// created (any change by anyone moves it on), and the batch made from it is
// guarded by that generation; otherwise the table is replaced whole.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backends/netlink/nl_message.h"
#include "backends/netlink/table_image.h"

namespace fwc::netlink {

struct TableIndex {
  std::string netns;   // the kernel's NetlinkTransport::Namespace() ("" : unknown)
  uint32_t genid = 0;  // the generation fwc's commit created
  uint64_t table = 0;  // the table's kernel handle
  uint64_t head = 0;   // digest of everything but the rules (CanonicalSplit's head)
  struct Chain {
    std::string name;
    std::vector<uint64_t> keys;     // digest of each rule's canonical line, in chain order
    std::vector<uint64_t> handles;  // parallel to keys (kernel handles); empty until known
    std::vector<size_t> rules;      // parallel to keys: the index in image.rules (IndexImage only, not saved)
  };
  std::vector<Chain> chains;
  // The elements of each named set the policy fills (a runtime set's are
  // the kernel's), in units added and deleted together: an element, or an
  // interval's start and end.
  struct Set {
    std::string name;
    std::vector<uint64_t> keys;      // digest of each unit: its keys, flags and data
    std::vector<std::string> units;  // parallel: what a DELSETELEM needs ("FLAGS:KEY[:KEY_END]" per element)
    std::vector<std::vector<nftnl_set_elem*>> elements;  // parallel: the image's elements (IndexImage only, not saved)
  };
  std::vector<Set> sets;

  size_t RuleCount() const;
  bool HasHandles() const;  // every rule's handle is known
  // A text file: a version line, the namespace, the generation, the table handle, the
  // head, then per chain its name and rule count and one "key handle" line
  // per rule, then per set its name and unit count and one "key unit" line
  // per unit.
  std::string Encode() const;
  // Throws NetlinkError when the text is not an index this fwc wrote.
  static TableIndex Decode(const std::string& text);
};

// The digests of an image (handles left empty). The runtime sets' elements
// are not part of the head: the kernel owns them.
TableIndex IndexImage(const TableImage& image);

// The handles the kernel gives the table that `replace` (ReplaceBatch of
// the image `index` was made from) creates: the table is new, and the
// kernel numbers its chains, sets, objects, flowtables and rules from 1 in
// the order the batch creates them. Checked after the commit (CheckHandles).
void PredictHandles(const Batch& replace, TableIndex& index);

// What a chain's rules become: which old rules stay (as pairs of old and
// new positions, increasing), the others are deleted and the new ones
// inserted. False when more than max_edits deletions and insertions are
// needed (Myers' O((N+M)D) difference, after the common prefix and suffix).
bool MatchRules(const std::vector<uint64_t>& from, const std::vector<uint64_t>& to, size_t max_edits,
                std::vector<std::pair<size_t, size_t>>& kept);

// The batch that turns the table `loaded` describes into `image` (whose
// index is `next`), when the two have the same head and at most max_edits
// rules change: deleted set elements, deleted rules, added elements, added
// rules.
struct DeltaPlan {
  bool possible = false;
  std::string reason;  // why not
  Batch batch;
  size_t deleted = 0, added = 0;                    // rules
  size_t elements_deleted = 0, elements_added = 0;  // units of named sets
  // Where each rule the batch adds goes in `next`, in the order of its
  // NEWRULE messages (which ask for an echo): (chain, position).
  std::vector<std::pair<size_t, size_t>> added_at;
  // `next` with the handles of the rules that stay; those of the added
  // rules are filled in from the kernel's echo (TakeEchoes).
  TableIndex after;
};
DeltaPlan PlanDelta(const TableIndex& loaded, const TableIndex& next, const TableImage& image, size_t max_edits);

// Fills in the handles of the added rules from the NEWRULE messages the
// kernel echoed, in order. False when they do not match the plan (the
// index is then not to be trusted).
bool TakeEchoes(DeltaPlan& plan, const std::vector<std::string>& echoes);

// How many rule changes a delta may have for a table of `rules` rules
// before replacing the whole table costs less: the kernel finds each
// deleted rule and each insertion point by walking the chain.
size_t MaxEdits(size_t rules);

}  // namespace fwc::netlink
