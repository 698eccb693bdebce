// A table as libnftnl objects: what fwc builds from the IR, what it reads
// back from the kernel, and what it saves before an apply so that a rollback
// can restore it. One type for all three, so that the same code renders each
// of them to a canonical text and turns each of them into a batch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/netlink/nl_objects.h"

namespace fwc::netlink {

struct TableImage {
  bool present = false;  // false: the table does not exist
  TablePtr table;
  std::vector<ChainPtr> chains;  // in kernel (creation) order
  // Named and anonymous sets, each holding its elements. Anonymous sets of
  // an image fwc builds are named "__set%d"/"__map%d" and found by
  // NFTNL_SET_ID; those read from the kernel have their real names.
  std::vector<SetPtr> sets;
  std::vector<RulePtr> rules;  // chain by chain, in order
  std::vector<ObjPtr> objects;
  std::vector<FlowtablePtr> flowtables;
  // Where each rule / set comes from, for error messages ("crm.fw:23",
  // "set webs_v4"); parallel to rules / sets, empty for kernel images.
  std::vector<std::string> rule_origins;
  std::vector<std::string> set_origins;
  // The named sets whose elements are owned at runtime: an apply carries
  // over what the kernel holds in them, a comparison leaves them out. Known
  // for images fwc builds; for kernel images, IsRuntimeSet tells.
  std::vector<std::string> runtime_sets;

  size_t RuleCount() const { return rules.size(); }
  // The set a lookup or dynset expression refers to: by id when the
  // expression carries one (images fwc builds), else by name.
  const nftnl_set* FindSet(const std::string& name, const uint32_t* id) const;
};

// --- kernel messages <-> images ---------------------------------------------

// Parses NEWTABLE/NEWCHAIN/NEWSET/NEWSETELEM/NEWRULE/NEWOBJ/NEWFLOWTABLE
// messages (a dump, or a saved snapshot) into an image. Messages of other
// tables are ignored. Throws NetlinkError on malformed input.
TableImage ParseImage(const std::vector<std::string>& messages, uint16_t family, const std::string& table);

// The image as the messages a dump would return, for a snapshot file (and
// for the fake kernel of the tests).
std::vector<std::string> ImageMessages(const TableImage& image, uint16_t family);

// Snapshot files: a magic line, then the messages of a dump, as the kernel
// sent them. An absent table is a file with no message.
std::string EncodeSnapshot(const std::vector<std::string>& dump);
TableImage DecodeSnapshot(const std::string& data, uint16_t family, const std::string& table);

// --- canonical text -----------------------------------------------------------

// One line per table, set (with its elements), chain and rule, in a form
// that depends only on what the kernel enforces: no handles, no counter
// values, no generated names of anonymous sets (their content is written
// where they are used). Two images with equal lines are the same ruleset.
// The elements of the sets named in `without_elements` are left out (the
// runtime sets of a policy, when a loaded table is compared with it).
std::vector<std::string> CanonicalLines(const TableImage& image, const std::vector<std::string>& without_elements = {});
// The same lines in two parts: everything but the rules (table, named sets,
// objects, flowtables, chains), and one line per rule parallel to
// image.rules (not sorted by chain).
struct CanonicalParts {
  std::vector<std::string> head;
  std::vector<std::string> rules;
};
// (with_rules false: the head only).
CanonicalParts CanonicalSplit(const TableImage& image, const std::vector<std::string>& without_elements = {},
                              bool with_rules = true);

// FNV-1a: a fixed function, so that digests one run saves mean the same
// to the next.
uint64_t Digest(const void* data, size_t len, uint64_t seed = 14695981039346656037ull);

// One digest per rule, parallel to image.rules, for telling which rules of
// two images fwc built differ: the bytes libnftnl sends for each
// expression, except that a lookup in an anonymous set counts the set's
// content, not the number it got in this build. Much cheaper than the
// canonical lines, and only for images built alike (not kernel images).
std::vector<uint64_t> RuleDigests(const TableImage& image);
std::string Canonical(const TableImage& image);

// The comment of a rule (NFTNL_UDATA_RULE_COMMENT), "" if none.
std::string RuleComment(const nftnl_rule* rule);
// The comment of a set (NFTNL_UDATA_SET_COMMENT), "" if none.
std::string SetComment(const nftnl_set* set);

}  // namespace fwc::netlink
