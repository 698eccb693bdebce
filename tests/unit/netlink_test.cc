// The netlink backend against a fake kernel (fake_kernel.h): batches,
// generation guards, read-back, refusals, runtime sets. No root needed.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <sstream>

#include "backends/netlink/codegen.h"
#include "backends/netlink/netlink_backend.h"
#include "fake_kernel.h"

using namespace fwc;
using namespace fwc::netlink;
using namespace fwc::test;

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


TEST_CASE("fwc show: rules by comment, with the counters of counted rules, as text and JSON", "[netlink]") {
  TableImage image = BuildImage(Lowered(Policy(kPolicy,
                                               "  accept http from any to lb in outside counter comment \"web\";\n"
                                               "  accept ssh from clients to ges in outside comment \"admin\";\n")));
  // Traffic: the kernel's counters, as a read-back table holds them.
  size_t counters = 0;
  for (auto& r : image.rules)
    nftnl_expr_foreach(r.get(), [](nftnl_expr* e, void* d) {
      if (std::string(nftnl_expr_get_str(e, NFTNL_EXPR_NAME)) == "counter") {
        nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 3);
        nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 180);
        ++*static_cast<size_t*>(d);
      }
      return 0;
    }, &counters);
  REQUIRE(counters == 2);  // one rule per family

  std::string shown;
  for (const auto& l : Describe(image)) shown += l + "\n";
  INFO(shown);
  CHECK(shown.find("web  [3 packets, 180 bytes]\n") != std::string::npos);
  CHECK(shown.find("admin\n") != std::string::npos);  // no counter, no figures
  CHECK(shown.find("admin  [") == std::string::npos);

  std::string json = DescribeJson(image, 7);
  INFO(json);
  CHECK(json.rfind("{\"table\": \"inet fwc\", \"loaded\": true, \"generation\": 7, ", 0) == 0);
  CHECK(json.find("\"comment\": \"test.fw:12 web\"") != std::string::npos);
  // No listing given: no rule text.
  CHECK(json.find("web\", \"counter\": {\"packets\": 3, \"bytes\": 180}, \"text\": null}") != std::string::npos);
  CHECK(json.find("admin\", \"counter\": null, \"text\": null}") != std::string::npos);
  CHECK(json.find("\"hook\": \"forward\", \"priority\": 0, \"policy\": \"drop\"") != std::string::npos);
  CHECK(std::count(json.begin(), json.end(), '{') == std::count(json.begin(), json.end(), '}'));
  CHECK(std::count(json.begin(), json.end(), '[') == std::count(json.begin(), json.end(), ']'));

  TableImage absent;
  CHECK(DescribeJson(absent, 9) == "{\"table\": \"inet fwc\", \"loaded\": false, \"generation\": 9, \"sets\": [], \"chains\": []}\n");

  // With nft's listing: each rule's text under it, matched by handle.
  for (size_t i = 0; i < image.rules.size(); ++i)
    nftnl_rule_set_u64(image.rules[i].get(), NFTNL_RULE_HANDLE, 100 + i);
  RuleTexts texts;
  for (size_t i = 0; i < image.rules.size(); ++i)
    if (RuleComment(image.rules[i].get()) == "test.fw:12 web" && texts.empty())
      texts[100 + i] = "ip daddr 10.1.2.2 tcp dport 80 counter accept";
  REQUIRE(texts.size() == 1);
  shown.clear();
  for (const auto& l : Describe(image, texts)) shown += l + "\n";
  CHECK(shown.find("web  [3 packets, 180 bytes]\n        ip daddr 10.1.2.2 tcp dport 80 counter accept\n") !=
        std::string::npos);
  CHECK(shown.find("admin\n        ") == std::string::npos);  // no text known: none printed
  json = DescribeJson(image, 7, texts);
  CHECK(json.find("\"bytes\": 180}, \"text\": \"ip daddr 10.1.2.2 tcp dport 80 counter accept\"}") != std::string::npos);
}

TEST_CASE("fwc show: rule texts from nft's listing, by handle", "[netlink]") {
  struct Case {
    const char* what;
    const char* listing;
    RuleTexts want;
  } cases[] = {
      {"a rule with a comment", "\t\tiifname \"lo\" accept comment \"fwc: loopback\" # handle 4\n",
       {{4, "iifname \"lo\" accept"}}},
      {"the counter's figures are left out",
       "\t\tip daddr 10.1.2.2 tcp dport 80 counter packets 12 bytes 840 accept comment \"crm.fw:23 web\" # handle 17\n",
       {{17, "ip daddr 10.1.2.2 tcp dport 80 counter accept"}}},
      {"a rule without a comment", "\t\tct state invalid drop # handle 8\n", {{8, "ct state invalid drop"}}},
      {"table, chain and set lines are not rules",
       "table inet fwc { # handle 2\n\tchain input { # handle 1\n\t\ttype filter hook input priority filter; policy drop;\n"
       "\tset webs_v4 { # handle 3\n\t\ttcp dport 22 accept # handle 9\n",
       {{9, "tcp dport 22 accept"}}},
      {"a handle that is not a number", "\t\ttcp dport 22 accept # handle x9\n", {}},
      {"nft's error text", "Error: No such file or directory\nlist table inet fwc\n", {}},
      {"no listing", "", {}},
      {"control characters never reach the terminal", "\t\tiifname \"a\x1b[2J\r\" accept # handle 6\n",
       {{6, "iifname \"a?[2J?\" accept"}}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(ParseRuleListing(c.listing) == c.want);
  }
}
