// A kernel for the tests of the netlink backend and the apply layer: it
// understands what fwc sends (one table, its chains, sets and rules;
// transactions with the generation-id guard; errors per message), records
// every batch, and keeps a model of table inet fwc. No root needed.
#pragma once

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backends/netlink/netlink_backend.h"
#include "backends/netlink/nl_message.h"
#include "support.h"

namespace fwc::test {

using namespace fwc::netlink;

inline const char* Str(const char* s) { return s ? s : ""; }

// The top-level attributes of an nfnetlink message, by type.
inline std::map<uint16_t, const nlattr*> Attrs(const nlmsghdr* nlh) {
  std::map<uint16_t, const nlattr*> out;
  mnl_attr_parse(nlh, sizeof(nfgenmsg), [](const nlattr* a, void* data) {
    (*static_cast<std::map<uint16_t, const nlattr*>*>(data))[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
  }, &out);
  return out;
}

inline uint32_t BatchGenid(const nlmsghdr* begin) {
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

inline std::vector<Msg> Split(const std::string& batch) {
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
// (anonymous ones named on creation) and rules; rules deleted by handle and
// inserted at a position; handles numbered per table as the kernel does;
// echoes of created rules; transactions with the generation-id guard;
// errors per message.
class FakeKernel : public NetlinkTransport {
 public:
  uint32_t genid = 1;
  std::vector<std::vector<Msg>> batches;
  // Returns an errno to refuse a message (index in the batch, message).
  std::function<int(const Msg&)> refuse;
  int changes_underneath = 0;  // batches before which "someone else" commits
  int rule_dumps = 0;          // reads of the rules (what a verify reads)

  uint32_t Generation() override { return genid; }
  // A namespace made anew after another was deleted gets another name.
  std::string ns = "boot/1";
  std::string Namespace() override { return ns; }

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
    echoes_.clear();
    for (size_t i = 1; i < msgs.size() - (commit ? 1 : 0); ++i) {
      int err = refuse ? refuse(msgs[i]) : 0;
      if (!err) err = Apply(work, msgs[i]);
      if (err) reply.errors.push_back({msgs[i].seq, err, ""});
    }
    if (commit && reply.errors.empty()) {
      state_ = std::move(work);
      ++genid;
      reply.echoes = std::move(echoes_);
    }
    return reply;
  }

  std::string GetRule(uint16_t family, const std::string& table, const std::string& chain, uint64_t handle) override {
    if (!state_.present || family != kFamily || table != kTableName) return "";
    for (const auto& r : state_.rules) {
      if (chain == Str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)) && nftnl_rule_is_set(r.get(), NFTNL_RULE_HANDLE) &&
          nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE) == handle)
        return RuleMessage(r.get());
    }
    return "";
  }

  // Rules the kernel found by handle (DELRULE, positioned NEWRULE) in the
  // batches so far: a replacement sends none.
  size_t handle_lookups = 0;

  std::vector<std::string> Dump(uint16_t type, uint16_t family, const std::string& table, const std::string& set,
                                uint16_t* genid16) override {
    if (type == NFT_MSG_GETRULE) ++rule_dumps;
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
        // Tables are numbered across namespaces, their contents per table.
        nftnl_table_set_u64(m.table.get(), NFTNL_TABLE_HANDLE, ++tables_);
        handles_ = 0;
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
        nftnl_chain_set_u64(c.get(), NFTNL_CHAIN_HANDLE, ++handles_);
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
        nftnl_set_set_u64(s.get(), NFTNL_SET_HANDLE, ++handles_);
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
      case NFT_MSG_DELSETELEM: {
        SetPtr probe = NewSet();
        REQUIRE(nftnl_set_elems_nlmsg_parse(nlh, probe.get()) == 0);
        std::string name = Str(nftnl_set_get_str(probe.get(), NFTNL_SET_NAME));
        for (auto& s : m.sets) {
          if (name != Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME))) continue;
          // Each element named goes (found by key, end key and whether it
          // ends an interval); the set is rebuilt without them.
          auto id = [](nftnl_set_elem* e) {
            std::string out;
            for (uint16_t attr : {NFTNL_SET_ELEM_KEY, NFTNL_SET_ELEM_KEY_END}) {
              uint32_t len = 0;
              if (nftnl_set_elem_is_set(e, attr)) {
                const char* d = static_cast<const char*>(nftnl_set_elem_get(e, attr, &len));
                out += std::string(d, len);
              }
              out += '|';
            }
            uint32_t f = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ? nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) : 0;
            return out + ((f & NFT_SET_ELEM_INTERVAL_END) ? "end" : "");
          };
          std::multiset<std::string> gone;
          nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(probe.get());
          for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) gone.insert(id(e));
          nftnl_set_elems_iter_destroy(it);
          MessageWriter w;
          nlmsghdr* h = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_NEWSET, kFamily, 0, 0);
          nftnl_set_nlmsg_build_payload(h, s.get());
          SetPtr kept = NewSet();
          REQUIRE(nftnl_set_nlmsg_parse(h, kept.get()) == 0);
          std::vector<std::string> keep_msgs;  // the elements that stay
          it = nftnl_set_elems_iter_create(s.get());
          for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
            auto found = gone.find(id(e));
            if (found != gone.end()) {
              gone.erase(found);
              continue;
            }
            SetPtr one = NewSet();
            nftnl_set_set_str(one.get(), NFTNL_SET_TABLE, kTableName);
            nftnl_set_set_str(one.get(), NFTNL_SET_NAME, name.c_str());
            nftnl_set_elem* copy = nftnl_set_elem_alloc();
            for (uint16_t attr : {NFTNL_SET_ELEM_KEY, NFTNL_SET_ELEM_KEY_END, NFTNL_SET_ELEM_DATA, NFTNL_SET_ELEM_FLAGS,
                                  NFTNL_SET_ELEM_VERDICT, NFTNL_SET_ELEM_USERDATA}) {
              if (!nftnl_set_elem_is_set(e, attr)) continue;
              uint32_t len = 0;
              const void* d = nftnl_set_elem_get(e, attr, &len);
              nftnl_set_elem_set(copy, attr, d, len);
            }
            nftnl_set_elem_add(one.get(), copy);
            for (auto& msg : ElementMessages(w, one.get(), kFamily, 0)) keep_msgs.push_back(msg);
          }
          nftnl_set_elems_iter_destroy(it);
          if (!gone.empty()) return ENOENT;
          for (const auto& msg : keep_msgs) {
            nftnl_set_unset(kept.get(), NFTNL_SET_TABLE);
            nftnl_set_unset(kept.get(), NFTNL_SET_NAME);
            REQUIRE(nftnl_set_elems_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(msg.data()), kept.get()) == 0);
          }
          nftnl_set_set_str(kept.get(), NFTNL_SET_TABLE, kTableName);
          nftnl_set_set_str(kept.get(), NFTNL_SET_NAME, name.c_str());
          s = std::move(kept);
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
        std::string chain = Str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN));
        if (!HasChain(m, chain)) return ENOENT;
        // Where it goes: before (or with NLM_F_APPEND after) the rule of
        // the handle NFTA_RULE_POSITION names; without one, at the chain's
        // end (NLM_F_APPEND) or head.
        size_t at = m.rules.size();
        if (nftnl_rule_is_set(r.get(), NFTNL_RULE_POSITION)) {
          ++handle_lookups;
          size_t found = Find(m, chain, nftnl_rule_get_u64(r.get(), NFTNL_RULE_POSITION));
          if (found == SIZE_MAX) return ENOENT;
          at = (msg.flags & NLM_F_APPEND) ? found + 1 : found;
          nftnl_rule_unset(r.get(), NFTNL_RULE_POSITION);
        } else if (!(msg.flags & NLM_F_APPEND)) {
          for (at = 0; at < m.rules.size(); ++at)
            if (chain == Str(nftnl_rule_get_str(m.rules[at].get(), NFTNL_RULE_CHAIN))) break;
        }
        nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, ++handles_);
        if (msg.flags & NLM_F_ECHO) echoes_.push_back(RuleMessage(r.get()));
        m.rules.insert(m.rules.begin() + static_cast<long>(at), std::move(r));
        return 0;
      }
      case NFT_MSG_DELRULE: {
        if (!m.present) return ENOENT;
        RulePtr r = NewRule();
        REQUIRE(nftnl_rule_nlmsg_parse(nlh, r.get()) == 0);
        if (!nftnl_rule_is_set(r.get(), NFTNL_RULE_HANDLE)) return EOPNOTSUPP;  // fwc never flushes
        ++handle_lookups;
        size_t found = Find(m, Str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)), nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE));
        if (found == SIZE_MAX) return ENOENT;
        // Its anonymous sets go with it.
        nftnl_expr_iter* it = nftnl_expr_iter_create(m.rules[found].get());
        for (nftnl_expr* e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it)) {
          if (std::string(Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME))) != "lookup") continue;
          std::string set = Str(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
          for (size_t i = 0; i < m.sets.size(); ++i) {
            const nftnl_set* s = m.sets[i].get();
            if (set == Str(nftnl_set_get_str(s, NFTNL_SET_NAME)) && (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS)) {
              m.sets.erase(m.sets.begin() + static_cast<long>(i));
              break;
            }
          }
        }
        nftnl_expr_iter_destroy(it);
        m.rules.erase(m.rules.begin() + static_cast<long>(found));
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

  static bool HasChain(const Model& m, const std::string& chain) {
    for (const auto& c : m.chains)
      if (chain == Str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME))) return true;
    return false;
  }

  static size_t Find(const Model& m, const std::string& chain, uint64_t handle) {
    for (size_t i = 0; i < m.rules.size(); ++i) {
      const nftnl_rule* r = m.rules[i].get();
      if (chain == Str(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)) && nftnl_rule_is_set(r, NFTNL_RULE_HANDLE) &&
          nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE) == handle)
        return i;
    }
    return SIZE_MAX;
  }

  static std::string RuleMessage(const nftnl_rule* r) {
    MessageWriter w;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_NEWRULE, kFamily, 0, 0);
    nftnl_rule_nlmsg_build_payload(nlh, const_cast<nftnl_rule*>(r));
    return w.Take(nlh);
  }

  Model state_;
  std::map<uint32_t, std::string> ids_;
  int anon_ = 0;
  uint64_t tables_ = 0, handles_ = 0;
  std::vector<std::string> echoes_;
};

inline ir::Ruleset Lowered(const std::string& text, const std::set<std::string>& defines = {}) {
  Result r = Compile(text, "nft", defines);
  INFO(r.Rendered());
  REQUIRE(r.ok);
  return std::move(r.rs);
}

inline const char* kPolicy =
    "host lb 10.1.2.2, 2001:db8:2::2;\n"
    "host ges 10.1.2.10, 2001:db8:2::10;\n"
    "network clients 10.1.1.0/24, 2001:db8:1::/64;\n"
    "service http tcp 80;\n"
    "service ssh tcp 22;\n";
inline const char* kRules =
    "  accept icmp echo-request from any to lb comment \"VIP answers ping\";\n"
    "  accept http from any to lb in outside comment \"web\";\n"
    "  accept ssh from clients to ges in outside if mgmt;\n";

inline std::vector<std::string> RuleComments(const TableImage& image) {
  std::vector<std::string> out;
  for (const auto& r : image.rules) out.push_back(RuleComment(r.get()));
  return out;
}


}  // namespace fwc::test
