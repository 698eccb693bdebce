// The netlink backend against a fake kernel that records every batch and
// keeps a model of table inet fwc: no root needed.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "apply/boot_install.h"
#include "backends/netlink/codegen.h"
#include "backends/netlink/netlink_backend.h"
#include "apply/safe_apply.h"
#include "apply/ssh_guard.h"
#include "support.h"

using namespace fwc;
using namespace fwc::netlink;
using namespace fwc::test;

namespace {

const char* Str(const char* s) { return s ? s : ""; }

// The top-level attributes of an nfnetlink message, by type.
std::map<uint16_t, const nlattr*> Attrs(const nlmsghdr* nlh) {
  std::map<uint16_t, const nlattr*> out;
  mnl_attr_parse(nlh, sizeof(nfgenmsg), [](const nlattr* a, void* data) {
    (*static_cast<std::map<uint16_t, const nlattr*>*>(data))[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
  }, &out);
  return out;
}

uint32_t BatchGenid(const nlmsghdr* begin) {
  auto a = Attrs(begin);
  return a.count(NFNL_BATCH_GENID) ? ntohl(mnl_attr_get_u32(a[NFNL_BATCH_GENID])) : 0;
}

// One message of a recorded batch.
struct Msg {
  uint16_t type = 0;   // NFT_MSG_* (or NFNL_MSG_BATCH_*)
  uint16_t flags = 0;
  uint32_t seq = 0;
  std::string bytes;
  const nlmsghdr* nlh() const { return reinterpret_cast<const nlmsghdr*>(bytes.data()); }
};

std::vector<Msg> Split(const std::string& batch) {
  std::vector<Msg> out;
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(batch.data());
  int len = static_cast<int>(batch.size());
  for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    Msg m;
    m.type = nlh->nlmsg_type >> 8 == NFNL_SUBSYS_NFTABLES ? nlh->nlmsg_type & 0xff : nlh->nlmsg_type;
    m.flags = nlh->nlmsg_flags;
    m.seq = nlh->nlmsg_seq;
    m.bytes.assign(reinterpret_cast<const char*>(nlh), nlh->nlmsg_len);
    out.push_back(std::move(m));
  }
  return out;
}

// A kernel that understands what fwc sends: one table, its chains, sets
// (anonymous ones named on creation) and rules; transactions with the
// generation-id guard; errors per message.
class FakeKernel : public NetlinkTransport {
 public:
  uint32_t genid = 1;
  std::vector<std::vector<Msg>> batches;
  // Returns an errno to refuse a message (index in the batch, message).
  std::function<int(const Msg&)> refuse;
  int changes_underneath = 0;  // batches before which "someone else" commits

  uint32_t Generation() override { return genid; }

  BatchReply SendBatch(const std::string& batch, size_t) override {
    std::vector<Msg> msgs = Split(batch);
    batches.push_back(msgs);
    BatchReply reply;
    if (changes_underneath > 0) {
      --changes_underneath;
      ++genid;
    }
    REQUIRE(!msgs.empty());
    REQUIRE(msgs.front().type == NFNL_MSG_BATCH_BEGIN);
    uint32_t want = BatchGenid(msgs.front().nlh());
    if (want && want != genid) {
      reply.errors.push_back({msgs.front().seq, 85, ""});  // ERESTART
      return reply;
    }
    bool commit = msgs.back().type == NFNL_MSG_BATCH_END;
    Model work = Copy(state_);
    for (size_t i = 1; i < msgs.size() - (commit ? 1 : 0); ++i) {
      int err = refuse ? refuse(msgs[i]) : 0;
      if (!err) err = Apply(work, msgs[i]);
      if (err) reply.errors.push_back({msgs[i].seq, err, ""});
    }
    if (commit && reply.errors.empty()) {
      state_ = std::move(work);
      ++genid;
    }
    return reply;
  }

  std::vector<std::string> Dump(uint16_t type, uint16_t family, const std::string& table, const std::string& set,
                                uint16_t* genid16) override {
    *genid16 = static_cast<uint16_t>(genid & 0xffff);
    std::vector<std::string> out;
    if (!state_.present || family != kFamily || table != kTableName) return out;
    TableImage image = Copy(state_);
    for (auto& m : ImageMessages(image, kFamily)) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
      int t = nlh->nlmsg_type & 0xff;
      bool want = (type == NFT_MSG_GETTABLE && t == NFT_MSG_NEWTABLE) ||
                  (type == NFT_MSG_GETCHAIN && t == NFT_MSG_NEWCHAIN) || (type == NFT_MSG_GETSET && t == NFT_MSG_NEWSET) ||
                  (type == NFT_MSG_GETRULE && t == NFT_MSG_NEWRULE);
      if (type == NFT_MSG_GETSETELEM && t == NFT_MSG_NEWSETELEM) {
        SetPtr probe = NewSet();
        REQUIRE(nftnl_set_elems_nlmsg_parse(nlh, probe.get()) == 0);
        want = set == Str(nftnl_set_get_str(probe.get(), NFTNL_SET_NAME));
      }
      if (want) out.push_back(m);
    }
    return out;
  }

  bool present() const { return state_.present; }
  const TableImage& state() const { return state_; }

  // What a script does to a runtime set (nft add element inet fwc SET {
  // ADDR }): an interval set's start and end, committed at once.
  void AddAddress(const std::string& set, Family f, U128 addr) {
    SetPtr s = NewSet();
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.c_str());
    size_t len = f == Family::kV4 ? 4 : 16;
    for (U128 v : {addr, addr + 1}) {
      std::string key(len, '\0');
      for (size_t i = 0; i < len; ++i) key[len - 1 - i] = static_cast<char>(static_cast<unsigned>(v >> (8 * i)) & 0xff);
      nftnl_set_elem* e = nftnl_set_elem_alloc();
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(len));
      if (v != addr) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
      nftnl_set_elem_add(s.get(), e);
    }
    MessageWriter w;
    for (auto& m : ElementMessages(w, s.get(), kFamily, NLM_F_CREATE)) {
      Msg msg;
      msg.type = NFT_MSG_NEWSETELEM;
      msg.bytes = m;
      REQUIRE(Apply(state_, msg) == 0);
    }
    ++genid;
  }

 private:
  using Model = TableImage;

  static Model Copy(const Model& m) {
    if (!m.present) return Model{};
    return ParseImage(ImageMessages(m, kFamily), kFamily, kTableName);
  }

  static std::string NameOf(const nlmsghdr* nlh, uint16_t attr) {
    auto a = Attrs(nlh);
    return a.count(attr) ? mnl_attr_get_str(a[attr]) : "";
  }

  int Apply(Model& m, const Msg& msg) {
    const nlmsghdr* nlh = msg.nlh();
    switch (msg.type) {
      case NFT_MSG_NEWTABLE: {
        if (NameOf(nlh, NFTA_TABLE_NAME) != kTableName) return EINVAL;
        if (m.present) return (msg.flags & NLM_F_EXCL) ? EEXIST : 0;
        m.present = true;
        m.table = NewTable();
        REQUIRE(nftnl_table_nlmsg_parse(nlh, m.table.get()) == 0);
        ids_.clear();
        return 0;
      }
      case NFT_MSG_DELTABLE:
        if (NameOf(nlh, NFTA_TABLE_NAME) != kTableName) return EINVAL;  // never anyone else's
        if (!m.present) return ENOENT;
        m = Model{};
        return 0;
      case NFT_MSG_NEWCHAIN: {
        if (!m.present) return ENOENT;
        ChainPtr c = NewChain();
        REQUIRE(nftnl_chain_nlmsg_parse(nlh, c.get()) == 0);
        m.chains.push_back(std::move(c));
        return 0;
      }
      case NFT_MSG_NEWSET: {
        if (!m.present) return ENOENT;
        SetPtr s = NewSet();
        REQUIRE(nftnl_set_nlmsg_parse(nlh, s.get()) == 0);
        if (!nftnl_set_is_set(s.get(), NFTNL_SET_ID)) return EINVAL;  // as the kernel
        std::string name = Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
        if (name.size() > 255) return ERANGE;
        if (name.find("%d") != std::string::npos) {
          // As long as the template, so that rules can be patched in place.
          static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
          int k = anon_++;
          std::string real = name.substr(0, name.find("%d")) + digits[(k / 36) % 36] + digits[k % 36];
          nftnl_set_set_str(s.get(), NFTNL_SET_NAME, real.c_str());
          name = real;
        }
        if (nftnl_set_is_set(s.get(), NFTNL_SET_ID)) ids_[nftnl_set_get_u32(s.get(), NFTNL_SET_ID)] = name;
        nftnl_set_unset(s.get(), NFTNL_SET_ID);
        m.sets.push_back(std::move(s));
        return 0;
      }
      case NFT_MSG_NEWSETELEM: {
        SetPtr probe = NewSet();
        REQUIRE(nftnl_set_elems_nlmsg_parse(nlh, probe.get()) == 0);
        std::string name = Str(nftnl_set_get_str(probe.get(), NFTNL_SET_NAME));
        if (nftnl_set_is_set(probe.get(), NFTNL_SET_ID) && ids_.count(nftnl_set_get_u32(probe.get(), NFTNL_SET_ID)))
          name = ids_[nftnl_set_get_u32(probe.get(), NFTNL_SET_ID)];
        for (auto& s : m.sets) {
          if (name != Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME))) continue;
          nftnl_set_unset(s.get(), NFTNL_SET_TABLE);
          nftnl_set_unset(s.get(), NFTNL_SET_NAME);
          REQUIRE(nftnl_set_elems_nlmsg_parse(nlh, s.get()) == 0);
          nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
          nftnl_set_unset(s.get(), NFTNL_SET_ID);
          return 0;
        }
        return ENOENT;
      }
      case NFT_MSG_NEWRULE: {
        if (!m.present) return ENOENT;
        // The kernel resolves a lookup's set by id; the fake writes the name
        // it gave the set into the message (libnftnl cannot rename without
        // leaking).
        std::string bytes = msg.bytes;
        ResolveLookups(reinterpret_cast<nlmsghdr*>(bytes.data()));
        RulePtr r = NewRule();
        REQUIRE(nftnl_rule_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(bytes.data()), r.get()) == 0);
        nftnl_expr_iter* it = nftnl_expr_iter_create(r.get());
        for (nftnl_expr* e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it)) {
          if (std::string(Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME))) != "lookup") continue;
          std::string set = Str(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
          if (!m.FindSet(set, nullptr)) {
            nftnl_expr_iter_destroy(it);
            return ENOENT;
          }
        }
        nftnl_expr_iter_destroy(it);
        m.rules.push_back(std::move(r));
        return 0;
      }
      default: return EOPNOTSUPP;
    }
  }

  // Children of a nested attribute.
  static std::vector<nlattr*> Nested(nlattr* nest) {
    std::vector<nlattr*> out;
    char* end = reinterpret_cast<char*>(nest) + nest->nla_len;
    for (auto* a = static_cast<nlattr*>(mnl_attr_get_payload(nest));
         mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<char*>(a))); a = mnl_attr_next(a))
      out.push_back(a);
    return out;
  }

  void ResolveLookups(nlmsghdr* nlh) {
    char* end = reinterpret_cast<char*>(nlh) + nlh->nlmsg_len;
    for (auto* a = static_cast<nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
         mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<char*>(a))); a = mnl_attr_next(a)) {
      if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS) continue;
      for (nlattr* elem : Nested(a)) {
        std::string name;
        nlattr* data = nullptr;
        for (nlattr* x : Nested(elem)) {
          if (mnl_attr_get_type(x) == NFTA_EXPR_NAME) name = mnl_attr_get_str(x);
          if (mnl_attr_get_type(x) == NFTA_EXPR_DATA) data = x;
        }
        if (name != "lookup" || !data) continue;
        nlattr* set = nullptr;
        uint32_t id = 0;
        for (nlattr* x : Nested(data)) {
          if (mnl_attr_get_type(x) == NFTA_LOOKUP_SET) set = x;
          if (mnl_attr_get_type(x) == NFTA_LOOKUP_SET_ID) id = ntohl(mnl_attr_get_u32(x));
        }
        auto found = ids_.find(id);
        if (!set || found == ids_.end()) continue;
        REQUIRE(found->second.size() + 1 == mnl_attr_get_payload_len(set));
        std::memcpy(mnl_attr_get_payload(set), found->second.c_str(), found->second.size() + 1);
      }
    }
  }

  Model state_;
  std::map<uint32_t, std::string> ids_;
  int anon_ = 0;
};

ir::Ruleset Lowered(const std::string& text, const std::set<std::string>& defines = {}) {
  Result r = Compile(text, "nft", defines);
  INFO(r.Rendered());
  REQUIRE(r.ok);
  return std::move(r.rs);
}

const char* kPolicy =
    "host lb 10.1.2.2, 2001:db8:2::2;\n"
    "host ges 10.1.2.10, 2001:db8:2::10;\n"
    "network clients 10.1.1.0/24, 2001:db8:1::/64;\n"
    "service http tcp 80;\n"
    "service ssh tcp 22;\n";
const char* kRules =
    "  accept icmp echo-request from any to lb comment \"VIP answers ping\";\n"
    "  accept http from any to lb in outside comment \"web\";\n"
    "  accept ssh from clients to ges in outside if mgmt;\n";

std::vector<std::string> RuleComments(const TableImage& image) {
  std::vector<std::string> out;
  for (const auto& r : image.rules) out.push_back(RuleComment(r.get()));
  return out;
}

}  // namespace

TEST_CASE("one batch replaces table inet fwc and nothing else", "[netlink]") {
  FakeKernel k;
  TableImage image = BuildImage(Lowered(Policy(kPolicy, kRules)));
  LoadResult r = Replace(k, image);
  REQUIRE(r.ok);
  REQUIRE(k.batches.size() == 1);
  const auto& b = k.batches[0];
  CHECK(b.front().type == NFNL_MSG_BATCH_BEGIN);
  CHECK(b.back().type == NFNL_MSG_BATCH_END);
  // Declare (no NLM_F_EXCL), delete, declare: the old table goes whether
  // it existed or not.
  CHECK(b[1].type == NFT_MSG_NEWTABLE);
  CHECK_FALSE(b[1].flags & NLM_F_EXCL);
  CHECK(b[2].type == NFT_MSG_DELTABLE);
  CHECK(b[3].type == NFT_MSG_NEWTABLE);
  size_t rules = 0;
  for (const Msg& m : b) {
    CHECK_FALSE(m.flags & NLM_F_ACK);  // errors only: no ack per message
    if (m.type == NFT_MSG_DELTABLE || m.type == NFT_MSG_NEWTABLE) {
      TablePtr t = NewTable();
      REQUIRE(nftnl_table_nlmsg_parse(m.nlh(), t.get()) == 0);
      CHECK(std::string(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME)) == "fwc");
      CHECK(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY) == kFamily);
    }
    if (m.type == NFT_MSG_NEWRULE) {
      ++rules;
      CHECK(m.flags & NLM_F_APPEND);
    }
  }
  CHECK(rules == image.rules.size());
  // Sequence numbers run through the batch.
  for (size_t i = 1; i < b.size(); ++i) CHECK(b[i].seq == b[i - 1].seq + 1);
}

TEST_CASE("the batch is guarded by the generation id and retried when it changed", "[netlink]") {
  FakeKernel k;
  k.genid = 41;
  k.changes_underneath = 1;
  TableImage image = BuildImage(Lowered(Policy(kPolicy, kRules)));
  LoadResult r = Replace(k, image);
  REQUIRE(r.ok);
  CHECK(r.attempts == 2);
  REQUIRE(k.batches.size() == 2);
  auto genid_of = [](const Msg& begin) { return BatchGenid(begin.nlh()); };
  CHECK(genid_of(k.batches[0].front()) == 41);
  CHECK(genid_of(k.batches[1].front()) == 42);
  CHECK(r.genid_before == 42);
  CHECK(r.genid_after == 43);
}

TEST_CASE("what is read back is exactly what was sent (verify)", "[netlink]") {
  FakeKernel k;
  ir::Ruleset rs = Lowered(Policy(kPolicy, kRules));
  TableImage image = BuildImage(rs);
  REQUIRE(Replace(k, image).ok);
  Loaded l = ReadTable(k);
  REQUIRE(l.image.present);
  CHECK(Canonical(l.image) == Canonical(image));
  CHECK(Differences(l.image, image).empty());
  // A second apply of the same policy changes nothing (idempotent).
  REQUIRE(Replace(k, BuildImage(rs)).ok);
  CHECK(Canonical(ReadTable(k).image) == Canonical(image));
}

TEST_CASE("verify sees drift and names the rules", "[netlink]") {
  FakeKernel k;
  REQUIRE(Replace(k, BuildImage(Lowered(Policy(kPolicy, kRules)))).ok);
  TableImage with_mgmt = BuildImage(Lowered(Policy(kPolicy, kRules), {"mgmt"}));
  auto diff = Differences(ReadTable(k).image, with_mgmt);
  REQUIRE_FALSE(diff.empty());
  bool named = false;
  for (const auto& d : diff) named = named || (d.rfind("+ rule in forward: test.fw:14", 0) == 0);
  CHECK(named);
}

TEST_CASE("a refused message is traced to its policy line and changes nothing", "[netlink]") {
  FakeKernel k;
  ir::Ruleset before = Lowered(Policy(kPolicy, kRules));
  REQUIRE(Replace(k, BuildImage(before)).ok);
  std::string old = Canonical(ReadTable(k).image);
  uint32_t genid = k.genid;
  k.refuse = [](const Msg& m) {
    if (m.type != NFT_MSG_NEWRULE) return 0;
    RulePtr r = NewRule();
    nftnl_rule_nlmsg_parse(m.nlh(), r.get());
    return RuleComment(r.get()).rfind("test.fw:14", 0) == 0 ? EINVAL : 0;
  };
  LoadResult r = Replace(k, BuildImage(Lowered(Policy(kPolicy, kRules), {"mgmt"})));
  CHECK_FALSE(r.ok);
  REQUIRE(r.rejections.size() >= 1);
  CHECK(r.rejections[0].origin.rfind("test.fw:14 (rule in chain forward)", 0) == 0);
  CHECK(r.rejections[0].error == EINVAL);
  CHECK(r.rejections[0].Describe().find("Invalid argument") != std::string::npos);
  CHECK(k.genid == genid);
  CHECK(Canonical(ReadTable(k).image) == old);
}

TEST_CASE("a dry run sends the batch without BATCH_END: checked, not committed", "[netlink]") {
  FakeKernel k;
  ReplaceOptions o;
  o.commit = false;
  LoadResult r = Replace(k, BuildImage(Lowered(Policy(kPolicy, kRules))), o);
  CHECK(r.ok);
  CHECK(k.batches.back().back().type != NFNL_MSG_BATCH_END);
  CHECK_FALSE(k.present());
  CHECK(k.genid == 1);
}

TEST_CASE("rules match interface names, comments are capped and kept as rule userdata", "[netlink]") {
  std::string longc(300, 'c');
  TableImage image =
      BuildImage(Lowered(Policy(kPolicy, "  accept http from any to lb in outside comment \"" + longc + "\";\n")));
  bool iifname = false;
  for (const auto& r : image.rules) {
    std::string c = RuleComment(r.get());
    CHECK(c.size() <= 128);
    nftnl_expr_iter* it = nftnl_expr_iter_create(r.get());
    for (nftnl_expr* e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it)) {
      if (std::string(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)) != "meta") continue;
      uint32_t key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
      CHECK(key != NFT_META_IIF);
      CHECK(key != NFT_META_OIF);
      iifname = iifname || key == NFT_META_IIFNAME;
    }
    nftnl_expr_iter_destroy(it);
  }
  CHECK(iifname);
  auto comments = RuleComments(image);
  CHECK(std::find(comments.begin(), comments.end(), PlainText("test.fw:12 " + longc, 128)) != comments.end());
}

TEST_CASE("adjacent constant header fields load together, as nft does", "[netlink]") {
  TableImage image = BuildImage(Lowered(Policy("", "  accept tcp 80 sport 53 from any to 10.1.2.2;\n")));
  std::string all = Canonical(image);
  CHECK(all.find("[ payload load 4b @ transport header + 0 => reg 1 ] [ cmp eq reg 1 0x50003500 ]") !=
        std::string::npos);
}

TEST_CASE("big sets are split over several messages, and every element arrives", "[netlink]") {
  std::string hosts, members;
  for (int i = 0; i < 20000; ++i) {
    hosts += "host h" + std::to_string(i) + " 10." + std::to_string(100 + i / 65536) + "." +
             std::to_string((i / 256) % 256) + "." + std::to_string(i % 256) + ";\n";
    members += std::string(i ? ", " : "") + "h" + std::to_string(i);
  }
  // Every other address: no two adjacent, so nothing merges.
  std::string sparse;
  for (int i = 0; i < 20000; i += 2) sparse += std::string(i ? ", " : "") + "h" + std::to_string(i);
  ir::Ruleset rs = Lowered(Policy(hosts + "group many { " + sparse + " }\n", "  accept tcp 22 from many to any;\n"));
  TableImage image = BuildImage(rs);
  Batch b = ReplaceBatch(image);
  size_t elem_msgs = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    std::string m = b.message(i);
    if ((reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM) ++elem_msgs;
  }
  CHECK(elem_msgs > 1);
  FakeKernel k;
  REQUIRE(Replace(k, image).ok);
  size_t elements = 0;
  for (const auto& s : ReadTable(k).image.sets)
    if (std::string(nftnl_set_get_str(s.get(), NFTNL_SET_NAME)) == "many_v4")
      nftnl_set_elem_foreach(s.get(), [](nftnl_set_elem*, void* d) {
        ++*static_cast<size_t*>(d);
        return 0;
      }, &elements);
  CHECK(elements == 1 + 2 * 10000);  // an end at 0.0.0.0, then each address a start and an end
}

TEST_CASE("a saved table is restored exactly, and an absent one stays absent", "[netlink]") {
  FakeKernel k;
  ir::Ruleset rs = Lowered(Policy(std::string(kPolicy) + "group both { lb, ges }\n",
                                  std::string(kRules) + "  drop tcp { 1, 5-9 } from both to not clients;\n"));
  REQUIRE(Replace(k, BuildImage(rs)).ok);
  Loaded saved = ReadTable(k);
  std::string snapshot = EncodeSnapshot(saved.messages);
  REQUIRE(Replace(k, BuildImage(Lowered(Policy("", "  accept from any to any;\n")))).ok);
  REQUIRE(Canonical(ReadTable(k).image) != Canonical(saved.image));
  RestoreOutcome o = RestoreSnapshot(k, snapshot);
  INFO(o.message);
  CHECK(o.ok);
  CHECK(Canonical(ReadTable(k).image) == Canonical(saved.image));

  FakeKernel empty;
  std::string none = EncodeSnapshot(ReadTable(empty).messages);
  REQUIRE(Replace(empty, BuildImage(rs)).ok);
  o = RestoreSnapshot(empty, none);
  CHECK(o.ok);
  CHECK_FALSE(empty.present());
  CHECK_THROWS_AS(DecodeSnapshot("garbage", kFamily, kTableName), NetlinkError);
}

TEST_CASE("a pending apply is rolled back once, under its token", "[netlink]") {
  char tmpl[] = "/tmp/fwc-state-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  StateStore store(tmpl);
  FakeKernel k;
  REQUIRE(Replace(k, BuildImage(Lowered(Policy(kPolicy, kRules)))).ok);
  Loaded before = ReadTable(k);
  store.SaveSnapshot(EncodeSnapshot(before.messages));
  PendingState s;
  s.status = PendingStatus::kPending;
  s.token = "abc";
  s.policy = "crm.fw";
  s.message = "line one\nline two";
  store.Write(s);
  PendingState back = store.Read();
  CHECK(back.status == PendingStatus::kPending);
  CHECK(back.message == "line one\nline two");
  REQUIRE(Replace(k, BuildImage(Lowered(Policy(kPolicy, kRules), {"mgmt"}))).ok);
  // Another token: nothing happens.
  CHECK(RollBackIfPending(store, k, "other", "test").status == PendingStatus::kPending);
  PendingState after = RollBackIfPending(store, k, "abc", "not confirmed in time");
  CHECK(after.status == PendingStatus::kRolledBack);
  CHECK(after.message.rfind("not confirmed in time: restored", 0) == 0);
  CHECK(Canonical(ReadTable(k).image) == Canonical(before.image));
  // Once rolled back, never again.
  size_t batches = k.batches.size();
  CHECK(RollBackIfPending(store, k, "abc", "again").status == PendingStatus::kRolledBack);
  CHECK(k.batches.size() == batches);
  std::string cleanup = std::string("rm -rf ") + tmpl;
  CHECK(system(cleanup.c_str()) == 0);
}

// The machine as the guard sees it: addresses held by interfaces, and the
// interface of the route to each client.
class FakeHost : public HostNetwork {
 public:
  std::map<std::string, std::string> local;   // address -> interface
  std::map<std::string, std::string> routes;  // address -> interface
  std::string InterfaceHolding(Family f, U128 addr) override { return Lookup(local, f, addr); }
  std::string RouteDevice(Family f, U128 addr) override { return Lookup(routes, f, addr); }

 private:
  static std::string Lookup(const std::map<std::string, std::string>& m, Family f, U128 addr) {
    auto it = m.find(FormatAddress(f, addr));
    return it == m.end() ? "" : it->second;
  }
};

// The guard's verdict on a policy: compiled, then checked against the
// connection with the query engine.
GuardResult Guard(const std::string& policy, const SshConnection& c, HostNetwork& host) {
  Result r = Compile(policy);
  INFO(r.Rendered());
  REQUIRE(r.ok);
  analysis::QueryEngine engine(r.c->model(), r.c->placed());
  return CheckSsh(engine, r.c->sources(), c, host);
}

TEST_CASE("the SSH guard finds the rule that drops the session", "[netlink]") {
  auto c = ParseSshConnection("10.1.1.50 50000 10.1.1.1 22");
  REQUIRE(c);
  CHECK(c->client_port == 50000);
  CHECK(c->text == "10.1.1.50 port 50000 -> 10.1.1.1 port 22");
  auto mapped = ParseSshConnection("::ffff:10.1.1.50 50000 ::ffff:10.1.1.1 22");
  REQUIRE(mapped);
  CHECK(mapped->family == Family::kV4);
  CHECK_FALSE(ParseSshConnection("nonsense"));
  CHECK_FALSE(ParseSshConnection("10.1.1.50 50000 2001:db8::1 22"));
  CHECK_FALSE(ParseSshConnection("10.1.1.50 50000 10.1.1.1 22 extra"));
  CHECK_FALSE(ParseSshConnection("10.1.1.50 50000 10.1.1.1 0"));

  FakeHost host;
  host.local = {{"10.1.1.1", "eth1"}, {"10.1.2.1", "eth2"}};
  host.routes = {{"10.1.1.50", "eth1"}};

  // No rule for SSH: the default drops a new connection (the stateful
  // rules keep the current one).
  GuardResult g = Guard(Policy(kPolicy, kRules), *c, host);
  CHECK(g.applies);
  CHECK_FALSE(g.safe);
  REQUIRE(g.problems.size() == 1);
  CHECK(g.problems[0].find("a new SSH connection") != std::string::npos);
  CHECK(g.problems[0].find("the policy default (drop) of chain input") != std::string::npos);

  // An explicit rule is named.
  g = Guard(Policy(kPolicy, "  drop ssh from any to fw in outside comment \"no ssh\";\n"), *c, host);
  CHECK_FALSE(g.safe);
  CHECK(g.problems[0].find("rule test.fw:12 \"no ssh\"") != std::string::npos);

  // Allowed: safe.
  g = Guard(Policy(kPolicy, "  accept ssh from clients to fw in outside;\n"), *c, host);
  CHECK(g.safe);
  // Allowed on another interface only: not safe.
  g = Guard(Policy(kPolicy, "  accept ssh from clients to fw in dmz;\n"), *c, host);
  CHECK_FALSE(g.safe);
  // Stateless: the session's own replies need a rule too.
  g = Guard(Policy(kPolicy, "  option stateful no;\n  accept ssh from clients to fw;\n"), *c, host);
  CHECK_FALSE(g.safe);
  // Not an address of this machine: the guard does not apply.
  host.local.clear();
  g = Guard(Policy(kPolicy, kRules), *c, host);
  CHECK_FALSE(g.applies);
  CHECK(g.safe);
}

TEST_CASE("the SSH guard sees the packets on the interface of the route to the client", "[netlink]") {
  // Issue 12's reproducer: the client 10.1.1.50 connects to the dmz
  // address 10.1.2.1; its packets arrive on eth1 (the route back to it),
  // not on eth2, which holds the address. A rule for SSH "in dmz" does not
  // let them in, and the guard must say so, as fwc query does.
  auto c = ParseSshConnection("10.1.1.50 40000 10.1.2.1 22");
  REQUIRE(c);
  FakeHost host;
  host.local = {{"10.1.1.1", "eth1"}, {"10.1.2.1", "eth2"}};
  host.routes = {{"10.1.1.50", "eth1"}};
  std::string dmz_only = Policy(kPolicy, "  accept ssh from clients to fw in dmz;\n");
  GuardResult g = Guard(dmz_only, *c, host);
  CHECK(g.applies);
  CHECK_FALSE(g.safe);
  REQUIRE_FALSE(g.problems.empty());
  CHECK(g.problems[0].find("via eth1") != std::string::npos);

  Result r = Compile(dmz_only);
  REQUIRE(r.ok);
  std::string err;
  auto packet = analysis::ParsePacket("tcp 10.1.1.50:40000 -> 10.1.2.1:22", &err);
  REQUIRE(packet);
  auto q = analysis::Query(r.c->model(), r.c->placed(), *packet, &err);
  REQUIRE(q);
  CHECK(q->iif == "eth1");
  CHECK(q->verdict == ast::Action::kDrop);

  // Allowed where the packets do arrive: safe.
  CHECK(Guard(Policy(kPolicy, "  accept ssh from clients to fw in outside;\n"), *c, host).safe);
  // A route through an interface the policy does not declare: its rules
  // for declared interfaces cannot match there.
  host.routes = {{"10.1.1.50", "wg0"}};
  CHECK_FALSE(Guard(Policy(kPolicy, "  accept ssh from clients to fw in outside;\n"), *c, host).safe);
  CHECK(Guard(Policy(kPolicy, "  accept ssh from clients to fw;\n"), *c, host).safe);
}

TEST_CASE("a runtime set keeps what the kernel holds in it across applies, and verify leaves it out", "[netlink]") {
  FakeKernel k;
  std::string first = Policy(std::string(kPolicy) + "set blocklist runtime;\n", "  drop from blocklist to any;\n");
  std::string second = Policy(std::string(kPolicy) + "set blocklist runtime;\n",
                              "  drop from blocklist to any;\n  accept http from any to lb;\n");
  TableImage image = BuildImage(Lowered(first));
  CHECK(image.runtime_sets == std::vector<std::string>{"blocklist_v4", "blocklist_v6"});
  REQUIRE(Replace(k, image).ok);
  // A script (fail2ban) adds addresses; the next apply keeps them.
  k.AddAddress("blocklist_v4", Family::kV4, 0xc0000207);  // 192.0.2.7
  k.AddAddress("blocklist_v6", Family::kV6, (U128{0x20010db8} << 96) | 0x99);
  LoadResult r = Replace(k, BuildImage(Lowered(second)));
  REQUIRE(r.ok);
  CHECK(std::find(r.notes.begin(), r.notes.end(), "runtime set blocklist_v4: kept its 2 kernel elements") != r.notes.end());
  std::string shown;
  for (const auto& l : Describe(k.state())) shown += l + "\n";
  INFO(shown);
  CHECK(shown.find("set blocklist_v4: ipv4_addr, intervals, 2 kernel elements (runtime set") != std::string::npos);
  CHECK(shown.find("      192.0.2.7\n") != std::string::npos);
  CHECK(shown.find("      2001:db8::99\n") != std::string::npos);
  // verify: the loaded table is exactly the policy, whatever the set holds.
  CHECK(Differences(ReadTable(k).image, BuildImage(Lowered(second))).empty());
  // Without the runtime sets left out, the elements would be a difference.
  CHECK(CanonicalLines(ReadTable(k).image) != CanonicalLines(BuildImage(Lowered(second))));
  // A policy without the set: the set goes, with its elements.
  REQUIRE(Replace(k, BuildImage(Lowered(Policy(kPolicy, kRules)))).ok);
  CHECK(Canonical(k.state()).find("blocklist") == std::string::npos);
}

TEST_CASE("install stores the artifact, keeps the previous one and enables a boot unit", "[netlink]") {
  char tmpl[] = "/tmp/fwc-root-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  InstallLayout layout{tmpl};
  Artifact a{"nft", "table inet fwc {}\n", "/etc/fwc/crm.fw", {"mgmt"}};
  std::vector<std::string> log;
  Install(layout, a, "/usr/sbin/nft", &log);
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  std::string lib = layout.Path("/var/lib/fwc");
  CHECK(read(lib + "/ruleset.nft") == a.content);
  std::string unit = read(layout.Path("/etc/systemd/system/fwc.service"));
  for (const char* line : {"DefaultDependencies=no\n", "Before=network-pre.target", "Wants=network-pre.target\n",
                           "WantedBy=sysinit.target\n", "ExecStart=/usr/sbin/nft -f /var/lib/fwc/ruleset.nft\n",
                           "ExecStop=-/usr/sbin/nft delete table inet fwc\n", "Type=oneshot\n", "RemainAfterExit=yes\n"})
    CHECK(unit.find(line) != std::string::npos);
  char link[4096] = {};
  REQUIRE(readlink(layout.Path("/etc/systemd/system/sysinit.target.wants/fwc.service").c_str(), link, sizeof link - 1) > 0);
  CHECK(std::string(link) == "/etc/systemd/system/fwc.service");

  Artifact b{"nft", "table inet fwc { }\n# v2\n", "/etc/fwc/crm.fw", {}};
  Install(layout, b, "/usr/sbin/nft", &log);
  CHECK(read(lib + "/ruleset.nft") == b.content);
  CHECK(read(lib + "/previous.nft") == a.content);

  Artifact c{"iptables", "#!/bin/sh\n", "/etc/fwc/crm.fw", {}};
  Install(layout, c, "/usr/sbin/nft", &log);
  CHECK(read(lib + "/ruleset.sh") == c.content);
  CHECK(read(lib + "/previous.nft") == b.content);
  struct stat st;
  CHECK(stat((lib + "/ruleset.nft").c_str(), &st) != 0);
  unit = read(layout.Path("/etc/systemd/system/fwc.service"));
  CHECK(unit.find("ExecStart=/bin/sh /var/lib/fwc/ruleset.sh\n") != std::string::npos);

  log.clear();
  CHECK(Uninstall(layout, nullptr, &log).removed);
  CHECK(stat(layout.Path("/etc/systemd/system/fwc.service").c_str(), &st) != 0);
  CHECK(stat(lib.c_str(), &st) != 0);
  CHECK_FALSE(Uninstall(layout, nullptr, &log).removed);
  std::string cleanup = std::string("rm -rf ") + tmpl;
  CHECK(system(cleanup.c_str()) == 0);
}

// systemd as install and uninstall see it: whether fwc.service is active,
// and every systemctl call, in order.
class FakeSystemd : public ServiceManager {
 public:
  bool active = false;
  std::vector<std::string> calls;
  bool IsActive(const std::string& unit) override {
    calls.push_back("is-active " + unit);
    return active;
  }
  bool Systemctl(const std::vector<std::string>& args, std::string*) override {
    std::string call;
    for (const auto& a : args) call += (call.empty() ? "" : " ") + a;
    calls.push_back(call);
    if (call == "stop fwc.service") active = false;
    return true;
  }
};

TEST_CASE("install says how to load the new rules, and uninstall stops the unit", "[netlink]") {
  std::vector<std::string> log;
  FakeSystemd systemd;
  Artifact nft{"nft", "", "/etc/fwc/crm.fw", {}};
  Artifact ipt{"iptables", "", "/etc/fwc/crm.fw", {}};

  // Not active yet: start loads it.
  AfterInstall(systemd, nft, "crm.fw", &log);
  REQUIRE(log.size() == 1);
  CHECK(log[0] == "`systemctl start fwc.service` (or `fwc apply crm.fw`) loads it now");
  CHECK(systemd.calls.front() == "daemon-reload");
  // Active: start would do nothing; restart is the verb.
  systemd.active = true;
  log.clear();
  AfterInstall(systemd, nft, "crm.fw", &log);
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("`systemctl restart fwc.service` (or `fwc apply crm.fw`) loads the new ones now") !=
        std::string::npos);
  CHECK(log[0].find("systemctl start") == std::string::npos);
  // iptables: fwc apply would load an nft table on top; not suggested.
  log.clear();
  AfterInstall(systemd, ipt, "crm.fw", &log);
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("fwc apply") == std::string::npos);
  CHECK(log[0].find("`systemctl restart fwc.service`") != std::string::npos);

  // Uninstall stops the active unit before removing it, then reloads.
  char tmpl[] = "/tmp/fwc-root-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  InstallLayout layout{tmpl};
  Install(layout, nft, "/usr/sbin/nft", &log);
  systemd.calls.clear();
  log.clear();
  UninstallResult r = Uninstall(layout, &systemd, &log);
  CHECK(r.removed);
  CHECK(r.stopped);
  REQUIRE(systemd.calls.size() >= 3);
  CHECK(systemd.calls[0] == "is-active fwc.service");
  CHECK(systemd.calls[1] == "stop fwc.service");
  CHECK(std::find(systemd.calls.begin(), systemd.calls.end(), "daemon-reload") != systemd.calls.end());
  CHECK_FALSE(systemd.active);
  // Installed but not running: nothing to stop.
  Install(layout, nft, "/usr/sbin/nft", &log);
  systemd.calls.clear();
  r = Uninstall(layout, &systemd, &log);
  CHECK(r.removed);
  CHECK_FALSE(r.stopped);
  CHECK(std::find(systemd.calls.begin(), systemd.calls.end(), "stop fwc.service") == systemd.calls.end());
  std::string cleanup = std::string("rm -rf ") + tmpl;
  CHECK(system(cleanup.c_str()) == 0);
}

TEST_CASE("the systemd watchdog is a transient timer that runs fwc at the deadline", "[netlink]") {
  auto cmd = SystemdRunCommand("fwc-rollback-abc", 30, {"/usr/sbin/fwc", "watchdog", "--token", "abc", "--now"});
  std::string all;
  for (const auto& a : cmd) all += a + " ";
  CHECK(all.find("--on-active=30s") != std::string::npos);
  CHECK(all.find("--unit=fwc-rollback-abc") != std::string::npos);
  CHECK(all.find("-- /usr/sbin/fwc watchdog --token abc --now") != std::string::npos);
}
