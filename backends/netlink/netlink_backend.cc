#include "backends/netlink/netlink_backend.h"

#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <endian.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <map>
#include <set>

#include "backends/nftables/model.h"
#include "compiler/base/json.h"

namespace fwc::netlink {
namespace {

const char* Str(const char* s) { return s ? s : ""; }

bool IsAnonymous(const nftnl_set* s) {
  return nftnl_set_is_set(s, NFTNL_SET_FLAGS) && (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS);
}

constexpr int kErestart = 85;

}  // namespace

Loaded ReadTable(NetlinkTransport& t) { return ReadParts(t, nullptr); }

Loaded ReadParts(NetlinkTransport& t, const std::vector<std::string>* only_sets) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    Loaded out;
    uint32_t gen = t.Generation();
    uint16_t want = static_cast<uint16_t>(gen & 0xffff);
    bool consistent = true;
    std::vector<std::string> messages;
    auto dump = [&](uint16_t type, const std::string& set) {
      uint16_t seen = want;
      auto got = t.Dump(type, kFamily, kTableName, set, &seen);
      if (seen != want) consistent = false;
      for (auto& m : got) messages.push_back(std::move(m));
    };
    dump(NFT_MSG_GETTABLE, "");
    if (!messages.empty()) {
      if (!only_sets) dump(NFT_MSG_GETCHAIN, "");
      dump(NFT_MSG_GETSET, "");
      TableImage sets_only = ParseImage(messages, kFamily, kTableName);
      for (const auto& s : sets_only.sets) {
        std::string name = Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
        if (!only_sets || std::find(only_sets->begin(), only_sets->end(), name) != only_sets->end())
          dump(NFT_MSG_GETSETELEM, name);
      }
      if (!only_sets) {
        dump(NFT_MSG_GETOBJ, "");
        dump(NFT_MSG_GETFLOWTABLE, "");
        dump(NFT_MSG_GETRULE, "");
      }
    }
    if (!consistent || t.Generation() != gen) continue;
    out.image = ParseImage(messages, kFamily, kTableName);
    out.genid = gen;
    out.messages = std::move(messages);
    return out;
  }
  throw NetlinkError("the ruleset kept changing while fwc read table inet fwc");
}

namespace {

// NEWSET and NEWSETELEM for image.sets[i]; origin "" names it after the
// set (or what the image says it comes from).
void AddSet(Batch& b, MessageWriter& w, const TableImage& image, size_t i, std::string origin) {
  const nftnl_set* s = image.sets[i].get();
  if (origin.empty() && i < image.set_origins.size()) origin = image.set_origins[i];
  if (origin.empty()) origin = std::string("set ") + Str(nftnl_set_get_str(s, NFTNL_SET_NAME));
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_NEWSET, kFamily, NLM_F_CREATE, 0);
  nftnl_set_nlmsg_build_payload(nlh, const_cast<nftnl_set*>(s));
  b.Add(w.Take(nlh), origin);
  for (auto& m : ElementMessages(w, s, kFamily, NLM_F_CREATE)) b.Add(std::move(m), origin);
}

}  // namespace

RuleMessages::RuleMessages(const TableImage& image) : image_(image) {
  // Anonymous sets are found by id (sets fwc builds) or by name (sets read
  // back from the kernel).
  for (size_t i = 0; i < image.sets.size(); ++i) {
    if (!IsAnonymous(image.sets[i].get())) continue;
    if (nftnl_set_is_set(image.sets[i].get(), NFTNL_SET_ID))
      anon_by_id_[nftnl_set_get_u32(image.sets[i].get(), NFTNL_SET_ID)] = i;
    anon_by_name_[Str(nftnl_set_get_str(image.sets[i].get(), NFTNL_SET_NAME))] = i;
  }
}

void RuleMessages::Add(Batch& b, MessageWriter& w, size_t i, uint16_t flags, uint64_t position) {
  const nftnl_rule* r = image_.rules[i].get();
  std::string origin = i < image_.rule_origins.size() && !image_.rule_origins[i].empty()
                           ? image_.rule_origins[i]
                           : std::string("rule in chain ") + Str(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
  // Each anonymous set right before the first rule that uses it: the
  // kernel binds it to that rule.
  nftnl_expr_iter* it = nftnl_expr_iter_create(r);
  if (!it) throw std::bad_alloc();
  for (nftnl_expr* e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it)) {
    std::string name = Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
    uint16_t id_attr = 0, name_attr = 0;
    if (name == "lookup") id_attr = NFTNL_EXPR_LOOKUP_SET_ID, name_attr = NFTNL_EXPR_LOOKUP_SET;
    if (name == "dynset") id_attr = NFTNL_EXPR_DYNSET_SET_ID, name_attr = NFTNL_EXPR_DYNSET_SET_NAME;
    if (name == "objref") id_attr = NFTNL_EXPR_OBJREF_SET_ID, name_attr = NFTNL_EXPR_OBJREF_SET_NAME;
    if (!id_attr) continue;
    size_t index = SIZE_MAX;
    if (nftnl_expr_is_set(e, id_attr)) {
      auto found = anon_by_id_.find(nftnl_expr_get_u32(e, id_attr));
      if (found != anon_by_id_.end()) index = found->second;
    }
    if (index == SIZE_MAX && nftnl_expr_is_set(e, name_attr)) {
      auto found = anon_by_name_.find(Str(nftnl_expr_get_str(e, name_attr)));
      if (found != anon_by_name_.end()) index = found->second;
    }
    // An anonymous set is reported as the rule that uses it.
    if (index != SIZE_MAX && sent_.insert(index).second) AddSet(b, w, image_, index, origin);
  }
  nftnl_expr_iter_destroy(it);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_NEWRULE, kFamily, flags, 0);
  nftnl_rule_nlmsg_build_payload(nlh, const_cast<nftnl_rule*>(r));
  if (position) mnl_attr_put_u64(nlh, NFTA_RULE_POSITION, htobe64(position));
  b.Add(w.Take(nlh), origin);
}

Batch ReplaceBatch(const TableImage& image) {
  Batch b;
  MessageWriter w;
  auto table_msg = [&](uint16_t type, uint16_t flags, const nftnl_table* t) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), type, kFamily, flags, 0);
    nftnl_table_nlmsg_build_payload(nlh, t);
    b.Add(w.Take(nlh), "table inet fwc");
  };
  // Declare (create if missing, no NLM_F_EXCL), delete, declare again: the
  // old table goes whether or not it existed, in the same transaction.
  TablePtr bare = NewTable();
  nftnl_table_set_u32(bare.get(), NFTNL_TABLE_FAMILY, kFamily);
  nftnl_table_set_str(bare.get(), NFTNL_TABLE_NAME, kTableName);
  table_msg(NFT_MSG_NEWTABLE, NLM_F_CREATE, bare.get());
  table_msg(NFT_MSG_DELTABLE, 0, bare.get());
  if (!image.present) return b;
  table_msg(NFT_MSG_NEWTABLE, NLM_F_CREATE, image.table.get());

  for (const auto& c : image.chains) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_NEWCHAIN, kFamily, NLM_F_CREATE, 0);
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    b.Add(w.Take(nlh), std::string("chain ") + Str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME)));
  }
  for (size_t i = 0; i < image.sets.size(); ++i)
    if (!IsAnonymous(image.sets[i].get())) AddSet(b, w, image, i, "");
  for (const auto& o : image.objects) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_NEWOBJ, kFamily, NLM_F_CREATE, 0);
    nftnl_obj_nlmsg_build_payload(nlh, o.get());
    b.Add(w.Take(nlh), std::string("object ") + Str(nftnl_obj_get_str(o.get(), NFTNL_OBJ_NAME)));
  }
  for (const auto& f : image.flowtables) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_NEWFLOWTABLE, kFamily, NLM_F_CREATE, 0);
    nftnl_flowtable_nlmsg_build_payload(nlh, f.get());
    b.Add(w.Take(nlh), std::string("flowtable ") + Str(nftnl_flowtable_get_str(f.get(), NFTNL_FLOWTABLE_NAME)));
  }
  RuleMessages rules(image);
  for (size_t i = 0; i < image.rules.size(); ++i) rules.Add(b, w, i, NLM_F_CREATE | NLM_F_APPEND, 0);
  return b;
}

std::string Rejection::Describe() const {
  std::string out = origin + ": the kernel refused it: " + ErrorText(error);
  if (!kernel_text.empty()) out += " (" + kernel_text + ")";
  return out;
}

namespace {
using Clock = std::chrono::steady_clock;
double Since(Clock::time_point& t) {
  auto now = Clock::now();
  double ms = std::chrono::duration<double, std::milli>(now - t).count();
  t = now;
  return ms;
}
}  // namespace

namespace {

const nftnl_set* FindNamedSet(const TableImage& image, const std::string& name) {
  for (const auto& s : image.sets)
    if (!IsAnonymous(s.get()) && name == Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME))) return s.get();
  return nullptr;
}

// The messages that give each runtime set of `image` the elements it holds
// in the loaded table, when the loaded set has the same key and flags (a
// set that changed type starts empty).
void AddRuntimeElements(const TableImage& image, const TableImage& loaded, Batch& b, LoadResult& result) {
  MessageWriter w;
  for (const auto& name : image.runtime_sets) {
    const nftnl_set* now = FindNamedSet(loaded, name);
    const nftnl_set* next = FindNamedSet(image, name);
    if (!now || !next) continue;
    auto same = [&](uint16_t attr) {
      return nftnl_set_is_set(now, attr) == nftnl_set_is_set(next, attr) &&
             (!nftnl_set_is_set(now, attr) || nftnl_set_get_u32(now, attr) == nftnl_set_get_u32(next, attr));
    };
    size_t n = 0;
    nftnl_set_elem_foreach(const_cast<nftnl_set*>(now), [](nftnl_set_elem*, void* d) {
      ++*static_cast<size_t*>(d);
      return 0;
    }, &n);
    if (n == 0) continue;
    if (!same(NFTNL_SET_KEY_TYPE) || !same(NFTNL_SET_KEY_LEN) || !same(NFTNL_SET_FLAGS)) {
      result.notes.push_back("runtime set " + name + " changed its type: its " + std::to_string(n) +
                             " kernel elements are not kept");
      continue;
    }
    for (auto& m : ElementMessages(w, now, kFamily, NLM_F_CREATE)) b.Add(std::move(m), "the elements of runtime set " + name);
    result.notes.push_back("runtime set " + name + ": kept its " + std::to_string(n) + " kernel elements");
  }
}

}  // namespace

namespace {

LoadResult ReplaceWith(NetlinkTransport& t, const TableImage& image, const Batch& base, const ReplaceOptions& options);

// The kernel's errors for a batch framed from message seq0 on, each traced
// to the message (and so the policy line) it answers.
void AddRejections(const BatchReply& reply, const Batch& b, uint32_t seq0, LoadResult& result) {
  for (const KernelError& e : reply.errors) {
    Rejection r;
    r.error = e.error;
    r.kernel_text = e.text;
    r.origin = e.seq > seq0 && e.seq - seq0 - 1 < b.size() ? b.origin(e.seq - seq0 - 1) : "batch";
    result.rejections.push_back(std::move(r));
  }
}

// After a replacement: whether the rules the index expects at the first,
// middle and last place of each chain have the handles PredictHandles
// gave them (the same chain, comment and number of expressions).
bool CheckHandles(NetlinkTransport& t, const TableImage& image, const TableIndex& index) {
  for (const auto& c : index.chains) {
    if (c.keys.empty()) continue;
    for (size_t p : {size_t{0}, c.keys.size() / 2, c.keys.size() - 1}) {
      std::string m = t.GetRule(kFamily, kTableName, c.name, c.handles[p]);
      if (m.empty()) return false;
      RulePtr got = NewRule();
      if (nftnl_rule_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(m.data()), got.get()) < 0) return false;
      const nftnl_rule* want = image.rules[c.rules[p]].get();
      auto count = [](const nftnl_rule* r) {
        size_t n = 0;
        nftnl_expr_foreach(const_cast<nftnl_rule*>(r), [](nftnl_expr*, void* d) {
          ++*static_cast<size_t*>(d);
          return 0;
        }, &n);
        return n;
      };
      if (c.name != Str(nftnl_rule_get_str(got.get(), NFTNL_RULE_CHAIN)) || RuleComment(got.get()) != RuleComment(want) ||
          count(got.get()) != count(want))
        return false;
    }
  }
  return true;
}

uint64_t HandleOf(const nftnl_table* table) {
  return table && nftnl_table_is_set(table, NFTNL_TABLE_HANDLE) ? nftnl_table_get_u64(table, NFTNL_TABLE_HANDLE) : 0;
}

}  // namespace

uint64_t TableHandle(NetlinkTransport& t) {
  uint16_t gen = 0;
  for (const auto& m : t.Dump(NFT_MSG_GETTABLE, kFamily, kTableName, "", &gen)) {
    TablePtr table = NewTable();
    if (nftnl_table_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(m.data()), table.get()) < 0) continue;
    if (uint64_t handle = HandleOf(table.get())) return handle;
  }
  return 0;
}

uint64_t TableHandle(const TableImage& image) { return HandleOf(image.table.get()); }

LoadResult Update(NetlinkTransport& t, const TableImage& image, const TableIndex* loaded, TableIndex* next) {
  auto clock = Clock::now();
  *next = TableIndex{};
  TableIndex want = IndexImage(image);
  double index_ms = Since(clock);
  std::string why;
  std::string netns = t.Namespace();
  // Without the namespace's name no index is kept (see Namespace()): say
  // so, rather than that there is none.
  if (netns.empty()) why = kNoNamespace;
  else if (!loaded || !loaded->genid) why = "fwc has no index of the loaded table";
  else if (!image.present) why = "the policy has no table";
  else if (loaded->netns.empty() || netns != loaded->netns)
    why = "the index is of another network namespace (or boot)";
  else if (t.Generation() != loaded->genid) why = "the ruleset changed since fwc's last commit";
  // In one namespace a replaced table moves the generation on as well; the
  // handle is compared anyway, a cheap proof that this is the table indexed.
  else if (TableHandle(t) != loaded->table) why = "the loaded table is not the one fwc indexed";
  if (why.empty()) {
    DeltaPlan plan = PlanDelta(*loaded, want, image, MaxEdits(std::max(loaded->RuleCount(), want.RuleCount())));
    index_ms += Since(clock);
    if (!plan.possible) why = plan.reason;
    if (plan.possible) {
      LoadResult result;
      result.delta = true;
      result.index_ms = index_ms;
      result.deleted = plan.deleted;
      result.added = plan.added;
      result.elements_deleted = plan.elements_deleted;
      result.elements_added = plan.elements_added;
      result.messages = plan.batch.size();
      result.bytes = plan.batch.bytes();
      result.attempts = 1;
      result.genid_before = result.genid_after = loaded->genid;
      if (plan.batch.size() == 0) {
        // Nothing to change: no commit, and the index stays true.
        result.ok = true;
        *next = *loaded;
        return result;
      }
      const uint32_t seq0 = 1;
      std::string framed = plan.batch.Frame(seq0, loaded->genid, true);
      result.build_ms = Since(clock);
      BatchReply reply = t.SendBatch(framed, plan.batch.size());
      result.send_ms = Since(clock);
      bool restart = std::any_of(reply.errors.begin(), reply.errors.end(),
                                 [&](const KernelError& e) { return e.error == kErestart && e.seq == seq0; });
      if (!restart) {
        result.lost = reply.lost;
        AddRejections(reply, plan.batch, seq0, result);
        result.genid_after = t.Generation();
        if (result.rejections.empty() && !result.lost && result.genid_after == loaded->genid) {
          Rejection r;
          r.origin = "batch";
          r.error = EIO;
          r.kernel_text = "the kernel reported no error but did not commit";
          result.rejections.push_back(std::move(r));
        }
        result.ok = result.rejections.empty() && !result.lost;
        if (result.ok && result.genid_after == loaded->genid + 1 && TakeEchoes(plan, reply.echoes)) {
          *next = std::move(plan.after);
          next->genid = result.genid_after;
          next->table = loaded->table;
          next->netns = loaded->netns;
        }
        result.after_ms = Since(clock);
        if (result.ok) return result;
        // Nothing was committed. The replacement reports the kernel's
        // objections to the policy's rules if it has any; an index that
        // did not describe the table does not stop the apply.
        why = "the kernel refused the changes (" + result.rejections.front().Describe() + ")";
      } else {
        why = "the ruleset changed while fwc sent its changes";
      }
    }
  }
  clock = Clock::now();
  const Batch base = ReplaceBatch(image);
  double build_ms = Since(clock);
  LoadResult result = ReplaceWith(t, image, base, {});
  result.build_ms += build_ms;
  result.replaced_because = why;
  result.index_ms = index_ms;
  if (result.ok && image.present && result.genid_after == result.genid_before + 1) {
    clock = Clock::now();
    PredictHandles(base, want);
    want.table = TableHandle(t);
    want.netns = netns;
    if (want.table && !want.netns.empty() && CheckHandles(t, image, want)) {
      *next = std::move(want);
      next->genid = result.genid_after;
    }
    result.index_ms += Since(clock);
  }
  return result;
}

LoadResult Replace(NetlinkTransport& t, const TableImage& image, const ReplaceOptions& options) {
  auto clock = Clock::now();
  const Batch base = ReplaceBatch(image);
  double build_ms = Since(clock);
  LoadResult result = ReplaceWith(t, image, base, options);
  result.build_ms += build_ms;
  return result;
}

namespace {

LoadResult ReplaceWith(NetlinkTransport& t, const TableImage& image, const Batch& base, const ReplaceOptions& options) {
  LoadResult result;
  auto clock = Clock::now();
  result.messages = base.size();
  result.bytes = base.bytes();
  result.build_ms = Since(clock);
  const uint32_t seq0 = 1;
  for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
    result.attempts = attempt;
    // The batch only needs the generation it replaces; what is loaded is
    // read (consistently with that generation) only when someone asks, or
    // when runtime sets keep what the loaded table holds in them.
    Loaded current;
    bool runtime = !image.runtime_sets.empty();
    if (options.before_send) {
      current = ReadTable(t);
      if (!options.before_send(current)) return result;
    } else if (runtime) {
      // The runtime sets only: reading a large table's rules back takes
      // seconds.
      current = ReadParts(t, &image.runtime_sets);
    } else {
      current.genid = t.Generation();
    }
    result.genid_before = current.genid;
    result.read_ms += Since(clock);
    Batch with_elements;
    if (runtime) {
      with_elements = base;
      result.notes.clear();
      AddRuntimeElements(image, current.image, with_elements, result);
      result.messages = with_elements.size();
      result.bytes = with_elements.bytes();
    }
    const Batch& b = runtime ? with_elements : base;
    std::string framed = b.Frame(seq0, current.genid, options.commit);
    result.build_ms += Since(clock);
    BatchReply reply = t.SendBatch(framed, b.size());
    result.send_ms += Since(clock);
    bool restart = std::any_of(reply.errors.begin(), reply.errors.end(),
                               [&](const KernelError& e) { return e.error == kErestart && e.seq == seq0; });
    if (restart) continue;
    result.lost = reply.lost;
    AddRejections(reply, b, seq0, result);
    result.genid_after = t.Generation();
    result.after_ms = Since(clock);
    if (!result.rejections.empty() || result.lost) return result;
    if (options.commit && result.genid_after == current.genid) {
      Rejection r;
      r.origin = "batch";
      r.error = EIO;
      r.kernel_text = "the kernel reported no error but did not commit";
      result.rejections.push_back(std::move(r));
      return result;
    }
    result.ok = true;
    return result;
  }
  Rejection r;
  r.origin = "batch";
  r.error = kErestart;
  r.kernel_text = "the ruleset kept changing; gave up after " + std::to_string(options.max_attempts) + " attempts";
  result.rejections.push_back(std::move(r));
  return result;
}

}  // namespace

TableImage PrepareRestore(TableImage saved) {
  if (!saved.present) return saved;
  nftnl_table_unset(saved.table.get(), NFTNL_TABLE_HANDLE);
  nftnl_table_unset(saved.table.get(), NFTNL_TABLE_USE);
  nftnl_table_unset(saved.table.get(), NFTNL_TABLE_OWNER);
  if (nftnl_table_is_set(saved.table.get(), NFTNL_TABLE_FLAGS))
    nftnl_table_set_u32(saved.table.get(), NFTNL_TABLE_FLAGS,
                        nftnl_table_get_u32(saved.table.get(), NFTNL_TABLE_FLAGS) & ~uint32_t{NFT_TABLE_F_OWNER});
  for (auto& c : saved.chains) {
    nftnl_chain_unset(c.get(), NFTNL_CHAIN_HANDLE);
    nftnl_chain_unset(c.get(), NFTNL_CHAIN_USE);
    if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_FLAGS) && nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FLAGS) == NFT_CHAIN_BASE)
      nftnl_chain_unset(c.get(), NFTNL_CHAIN_FLAGS);
  }
  // Objects keep their handle attribute: NEWOBJ ignores it.
  for (auto& f : saved.flowtables) {
    nftnl_flowtable_unset(f.get(), NFTNL_FLOWTABLE_HANDLE);
    nftnl_flowtable_unset(f.get(), NFTNL_FLOWTABLE_USE);
  }
  // Anonymous sets keep the names the kernel gave them (the table is new in
  // the batch, so they are free): the rules refer to them unchanged.
  uint32_t id = 0;
  for (auto& s : saved.sets) {
    nftnl_set_unset(s.get(), NFTNL_SET_HANDLE);
    nftnl_set_set_u32(s.get(), NFTNL_SET_ID, ++id);  // NEWSET requires one
  }
  for (auto& r : saved.rules) {
    nftnl_rule_unset(r.get(), NFTNL_RULE_HANDLE);
    nftnl_rule_unset(r.get(), NFTNL_RULE_POSITION);
    nftnl_rule_unset(r.get(), NFTNL_RULE_POSITION_ID);
  }
  return saved;
}

namespace {

// A canonical line as a person reads it: rules by chain and comment.
std::string Display(const std::string& line) {
  if (line.rfind("rule ", 0) == 0) {
    size_t colon = line.find(':');
    std::string chain = line.substr(5, colon - 5);
    size_t c = line.rfind(" comment \"");
    if (c != std::string::npos && line.back() == '"')
      return "rule in " + chain + ": " + line.substr(c + 10, line.size() - c - 11);
    // Not one of fwc's (someone's by hand): what it does is all there is to show.
    std::string body = line.substr(std::min(line.size(), colon + 1));
    while (!body.empty() && body.front() == ' ') body.erase(0, 1);
    if (body.size() > 140) body = body.substr(0, 137) + "...";
    return "rule in " + chain + " (no comment): " + body;
  }
  if (line.size() > 160) return line.substr(0, 157) + "...";
  return line;
}

}  // namespace

std::vector<std::string> Differences(const TableImage& from, const TableImage& to, size_t max_lines) {
  std::vector<std::string> a = CanonicalLines(from, to.runtime_sets), b = CanonicalLines(to, to.runtime_sets), out;
  if (a == b) return out;
  if (!from.present) return {"+ table inet fwc (" + Summary(to) + ")"};
  if (!to.present) return {"- table inet fwc (" + Summary(from) + ")"};
  std::multiset<std::string> ma(a.begin(), a.end()), mb(b.begin(), b.end());
  size_t shown = 0, total = 0;
  auto emit = [&](char sign, const std::string& l) {
    ++total;
    if (shown < max_lines) {
      out.push_back(std::string(1, sign) + " " + Display(l));
      ++shown;
    }
  };
  for (const auto& l : a) {
    auto it = mb.find(l);
    if (it != mb.end()) mb.erase(it);
    else emit('-', l);
  }
  for (const auto& l : b) {
    auto it = ma.find(l);
    if (it != ma.end()) ma.erase(it);
    else emit('+', l);
  }
  if (total == 0) out.push_back("~ the same rules in a different order");
  else if (total > shown) out.push_back("  ... and " + std::to_string(total - shown) + " more differences");
  return out;
}

std::string Summary(const TableImage& image) {
  if (!image.present) return "absent";
  size_t named = 0, elems = 0;
  for (const auto& s : image.sets) {
    if (IsAnonymous(s.get())) continue;
    ++named;
    nftnl_set_elem_foreach(s.get(), [](nftnl_set_elem*, void* d) {
      ++*static_cast<size_t*>(d);
      return 0;
    }, &elems);
  }
  std::string out = std::to_string(image.chains.size()) + " chains, " + std::to_string(image.rules.size()) + " rules";
  if (named) out += ", " + std::to_string(named) + " sets with " + std::to_string(elems) + " elements";
  return out;
}

namespace {

std::string TypeName(uint32_t t) {
  switch (t) {
    case 7: return "ipv4_addr";
    case 8: return "ipv6_addr";
    case 12: return "inet_proto";
    case 13: return "inet_service";
    case 14: return "icmp_type";
    case 29: return "icmpv6_type";
    case 32: return "icmp_code";
    case 33: return "icmpv6_code";
    case 41: return "ifname";
  }
  return "type " + std::to_string(t);
}

// A concatenated type is six bits per field, the first field highest.
std::string KeyTypeName(uint32_t t) {
  std::vector<std::string> parts;
  while (t >= 64) {
    parts.insert(parts.begin(), TypeName(t & 63));
    t >>= 6;
  }
  parts.insert(parts.begin(), TypeName(t));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? " . " : "") + parts[i];
  return out;
}

// The addresses of a set of IPv4 or IPv6 addresses as the kernel holds
// them: interval sets as boundaries (a start, then an end flagged
// INTERVAL_END one past the last address), plain sets as single keys.
std::vector<std::string> AddressElements(const nftnl_set* s) {
  uint32_t len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
  if (len != 4 && len != 16) return {};
  Family f = len == 4 ? Family::kV4 : Family::kV6;
  std::vector<std::pair<U128, bool>> keys;  // value, is an end
  nftnl_set_elem_foreach(const_cast<nftnl_set*>(s), [](nftnl_set_elem* e, void* d) {
    uint32_t n = 0;
    const auto* k = static_cast<const unsigned char*>(nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &n));
    U128 v = 0;
    for (uint32_t i = 0; k && i < n; ++i) v = (v << 8) | k[i];
    bool end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
               (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
    static_cast<std::vector<std::pair<U128, bool>>*>(d)->emplace_back(v, end);
    return 0;
  }, &keys);
  // At one value, an end (of the interval before) comes before a start.
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  bool interval = nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL;
  IntervalSet set;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].second) continue;
    if (!interval) {
      set.Add(keys[i].first, keys[i].first);
      continue;
    }
    U128 hi = FamilyMax(f);  // an open interval reaches the top
    if (i + 1 < keys.size() && keys[i + 1].second) hi = keys[i + 1].first - 1;
    set.Add(keys[i].first, hi);
  }
  std::vector<std::string> out;
  for (const auto& iv : set.intervals()) out.push_back(FormatInterval(f, iv));
  return out;
}

const char* HookName(uint32_t h) {
  switch (h) {
    case NF_INET_PRE_ROUTING: return "prerouting";
    case NF_INET_LOCAL_IN: return "input";
    case NF_INET_FORWARD: return "forward";
    case NF_INET_LOCAL_OUT: return "output";
    case NF_INET_POST_ROUTING: return "postrouting";
  }
  return "?";
}

}  // namespace

RuleTexts ParseRuleListing(const std::string& listing) {
  RuleTexts out;
  size_t pos = 0;
  while (pos < listing.size()) {
    size_t end = listing.find('\n', pos);
    if (end == std::string::npos) end = listing.size();
    std::string line = listing.substr(pos, end - pos);
    pos = end + 1;
    size_t h = line.rfind(" # handle ");
    if (h == std::string::npos) continue;
    std::string number = line.substr(h + 10);
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos || number.size() > 19) continue;
    std::string text = line.substr(0, h);
    size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    text.erase(0, first);
    if (text.back() == '{') continue;  // a table, chain or set: not a rule
    // The comment is last: fwc show prints the one the table holds.
    if (size_t c = text.find(" comment \""); c != std::string::npos && text.back() == '"') text.erase(c);
    else if (text.rfind("comment \"", 0) == 0) text.clear();
    // The figures change with every packet; fwc show prints them apart.
    if (size_t c = text.find("counter packets "); c != std::string::npos) {
      size_t b = text.find(" bytes ", c);
      size_t after = b == std::string::npos ? std::string::npos : text.find(' ', b + 7);
      text.replace(c, after == std::string::npos ? std::string::npos : after - c, "counter");
    }
    // It goes to a terminal: no control character reaches it.
    for (char& ch : text)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
    out[std::stoull(number)] = text;
  }
  return out;
}

TableView View(const TableImage& image, const RuleTexts& texts) {
  TableView v;
  v.present = image.present;
  if (!image.present) return v;
  for (const auto& s : image.sets) {
    if (IsAnonymous(s.get())) continue;
    SetView sv;
    sv.name = Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
    nftnl_set_elem_foreach(s.get(), [](nftnl_set_elem*, void* d) {
      ++*static_cast<size_t*>(d);
      return 0;
    }, &sv.elements);
    uint32_t flags = nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS);
    sv.map = flags & NFT_SET_MAP;
    sv.intervals = flags & NFT_SET_INTERVAL;
    sv.key_type = KeyTypeName(nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE));
    sv.runtime = SetComment(s.get()) == nftables::kRuntimeSetComment;
    if (sv.runtime) sv.addresses = AddressElements(s.get());
    v.sets.push_back(std::move(sv));
  }
  for (const auto& c : image.chains) {
    ChainView cv;
    cv.name = Str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME));
    cv.base = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM);
    if (cv.base) {
      cv.type = Str(nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TYPE) ? nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE) : "");
      cv.hook = HookName(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
      cv.priority = static_cast<int32_t>(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_PRIO));
      if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY))
        cv.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_ACCEPT ? "accept" : "drop";
    }
    for (const auto& r : image.rules) {
      if (cv.name != Str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN))) continue;
      RuleView rv;
      rv.comment = RuleComment(r.get());
      if (nftnl_rule_is_set(r.get(), NFTNL_RULE_HANDLE))
        if (auto t = texts.find(nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE)); t != texts.end()) rv.text = t->second;
      // The counter of a rule written with 'counter': its traffic so far.
      nftnl_expr_foreach(r.get(), [](nftnl_expr* e, void* d) {
        auto* rv = static_cast<RuleView*>(d);
        if (Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)) == std::string("counter")) {
          rv->counter = true;
          rv->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
          rv->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
        }
        return 0;
      }, &rv);
      cv.rules.push_back(std::move(rv));
    }
    v.chains.push_back(std::move(cv));
  }
  return v;
}

std::vector<std::string> Describe(const TableImage& image, const RuleTexts& texts) {
  std::vector<std::string> out;
  TableView v = View(image, texts);
  for (const auto& s : v.sets) {
    out.push_back(std::string(s.map ? "map " : "set ") + s.name + ": " + s.key_type + (s.map ? " : verdict" : "") +
                  (s.intervals ? ", intervals" : "") + ", " + std::to_string(s.elements) + " kernel elements" +
                  (s.runtime ? " (runtime set: owned by whoever fills it)" : ""));
    for (size_t i = 0; i < s.addresses.size(); i += 8) {
      std::string line = "      ";
      for (size_t j = i; j < s.addresses.size() && j < i + 8; ++j)
        line += s.addresses[j] + (j + 1 < s.addresses.size() ? ", " : "");
      out.push_back(line);
    }
  }
  for (const auto& c : v.chains) {
    std::string line = "chain " + c.name;
    if (c.base) {
      line += ": type " + c.type + ", hook " + c.hook + ", priority " + std::to_string(c.priority);
      if (!c.policy.empty()) line += ", policy " + c.policy;
    }
    out.push_back(line);
    for (size_t i = 0; i < c.rules.size(); ++i) {
      const RuleView& r = c.rules[i];
      std::string num = std::to_string(i + 1);
      line = std::string(num.size() < 4 ? 4 - num.size() : 0, ' ') + num + "  " + (r.comment.empty() ? std::string("(no comment)") : r.comment);
      if (r.counter)
        line += "  [" + std::to_string(r.packets) + (r.packets == 1 ? " packet, " : " packets, ") +
                std::to_string(r.bytes) + (r.bytes == 1 ? " byte]" : " bytes]");
      out.push_back(line);
      if (!r.text.empty()) out.push_back("        " + r.text);
    }
  }
  return out;
}

std::string DescribeJson(const TableImage& image, uint32_t genid, const RuleTexts& texts) {
  TableView v = View(image, texts);
  std::string out = "{\"table\": \"inet fwc\", \"loaded\": " + std::string(v.present ? "true" : "false") +
                    ", \"generation\": " + std::to_string(genid) + ", \"sets\": [";
  for (size_t i = 0; i < v.sets.size(); ++i) {
    const SetView& s = v.sets[i];
    out += std::string(i ? ",\n  " : "\n  ") + "{\"name\": " + JsonString(s.name) +
           ", \"kind\": " + (s.map ? "\"map\"" : "\"set\"") + ", \"key\": " + JsonString(s.key_type) +
           ", \"intervals\": " + (s.intervals ? "true" : "false") + ", \"elements\": " + std::to_string(s.elements) +
           ", \"runtime\": " + (s.runtime ? "true" : "false");
    if (s.runtime) {
      out += ", \"addresses\": [";
      for (size_t j = 0; j < s.addresses.size(); ++j) out += (j ? ", " : "") + JsonString(s.addresses[j]);
      out += "]";
    }
    out += "}";
  }
  out += "], \"chains\": [";
  for (size_t i = 0; i < v.chains.size(); ++i) {
    const ChainView& c = v.chains[i];
    out += std::string(i ? ",\n  " : "\n  ") + "{\"name\": " + JsonString(c.name);
    if (c.base)
      out += ", \"type\": " + JsonString(c.type) + ", \"hook\": " + JsonString(c.hook) +
             ", \"priority\": " + std::to_string(c.priority) +
             ", \"policy\": " + (c.policy.empty() ? "null" : JsonString(c.policy));
    out += ", \"rules\": [";
    for (size_t j = 0; j < c.rules.size(); ++j) {
      const RuleView& r = c.rules[j];
      out += std::string(j ? ",\n    " : "\n    ") + "{\"number\": " + std::to_string(j + 1) +
             ", \"comment\": " + JsonString(r.comment) + ", \"counter\": ";
      out += r.counter ? "{\"packets\": " + std::to_string(r.packets) + ", \"bytes\": " + std::to_string(r.bytes) + "}"
                       : std::string("null");
      out += ", \"text\": " + (r.text.empty() ? std::string("null") : JsonString(r.text)) + "}";
    }
    out += "]}";
  }
  return out + "]}\n";
}

}  // namespace fwc::netlink
