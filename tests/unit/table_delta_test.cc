// Changing a loaded table in place (table_delta.h): the rule matching, the
// saved index, and Update against the fake kernel, which numbers handles,
// deletes by handle and inserts at positions as the kernel does.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "backends/netlink/codegen.h"
#include "backends/netlink/netlink_backend.h"
#include "backends/netlink/table_delta.h"
#include "fake_kernel.h"

using namespace fwc;
using namespace fwc::netlink;
using namespace fwc::test;

namespace {

// The length of a longest common subsequence, by the textbook table.
size_t LcsLength(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  std::vector<std::vector<size_t>> t(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j)
      t[i][j] = a[i - 1] == b[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
  return t[a.size()][b.size()];
}

// A matching is valid when both sides increase and each pair is equal.
bool Valid(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b,
           const std::vector<std::pair<size_t, size_t>>& kept) {
  for (size_t k = 0; k < kept.size(); ++k) {
    auto [i, j] = kept[k];
    if (i >= a.size() || j >= b.size() || a[i] != b[j]) return false;
    if (k && (i <= kept[k - 1].first || j <= kept[k - 1].second)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("rule matching keeps a longest common subsequence", "[delta]") {
  struct Case {
    std::vector<uint64_t> from, to;
    size_t kept;
  };
  const std::vector<Case> cases = {
      {{}, {}, 0},
      {{1, 2, 3}, {1, 2, 3}, 3},
      {{1, 2, 3}, {1, 9, 3}, 2},        // one rule edited
      {{1, 2, 3}, {1, 2, 3, 4}, 3},     // appended
      {{1, 2, 3}, {0, 1, 2, 3}, 3},     // prepended
      {{1, 2, 3}, {1, 3}, 2},           // deleted
      {{1, 2, 3, 4}, {1, 3, 2, 4}, 3},  // two swapped
      {{1, 2}, {3, 4}, 0},
      {{5, 5, 5}, {5, 5}, 2},           // equal rules
  };
  for (const auto& c : cases) {
    std::vector<std::pair<size_t, size_t>> kept;
    REQUIRE(MatchRules(c.from, c.to, 100, kept));
    CHECK(kept.size() == c.kept);
    CHECK(Valid(c.from, c.to, kept));
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<uint64_t> a(rng() % 30), b;
    for (auto& x : a) x = rng() % 6;
    b = a;
    for (int e = static_cast<int>(rng() % 6); e > 0; --e) {
      size_t at = b.empty() ? 0 : rng() % (b.size() + 1);
      switch (rng() % 3) {
        case 0: b.insert(b.begin() + static_cast<long>(at), rng() % 6); break;
        case 1: if (at < b.size()) b.erase(b.begin() + static_cast<long>(at)); break;
        default: if (at < b.size()) b[at] = rng() % 6; break;
      }
    }
    std::vector<std::pair<size_t, size_t>> kept;
    REQUIRE(MatchRules(a, b, 1000, kept));
    INFO("round " << round);
    CHECK(Valid(a, b, kept));
    CHECK(kept.size() == LcsLength(a, b));
  }
  // More edits than allowed: no matching.
  std::vector<std::pair<size_t, size_t>> kept;
  CHECK_FALSE(MatchRules({1, 2, 3, 4}, {5, 6, 7, 8}, 7, kept));
  CHECK(MatchRules({1, 2, 3, 4}, {5, 6, 7, 8}, 8, kept));
}

TEST_CASE("the table index survives its file and refuses anything else", "[delta]") {
  TableIndex index;
  index.netns = "0a1b-c2/4096";
  index.genid = 77;
  index.table = 12;
  index.head = 0xfeedfacecafebeefull;
  index.chains.push_back({"input", {1, 2, 0xffffffffffffffffull}, {4, 5, 9}, {}});
  index.chains.push_back({"forward", {}, {}, {}});
  TableIndex back = TableIndex::Decode(index.Encode());
  CHECK(back.netns == index.netns);
  CHECK(back.genid == 77);
  CHECK(back.table == 12);
  CHECK(back.head == index.head);
  REQUIRE(back.chains.size() == 2);
  CHECK(back.chains[0].name == "input");
  CHECK(back.chains[0].keys == index.chains[0].keys);
  CHECK(back.chains[0].handles == index.chains[0].handles);
  CHECK(back.chains[1].keys.empty());
  CHECK(back.HasHandles());

  std::string good = index.Encode();
  const std::vector<std::string> bad = {
      "",
      "fwc-table-index 2\n",
      good.substr(0, good.size() - 1),                        // cut short
      good.substr(0, good.find("chain forward")),             // fine: one chain fewer
      good + "chain extra 2\n0000000000000001 7\n",           // rule lines missing
      std::string(good).replace(good.find(" 5\n"), 3, " 0\n"),  // a handle of 0
      std::string(good).replace(good.find("head "), 5, "hed  "),
      std::string(good).replace(good.find("netns 0a1b"), 10, "netns 0 1b"),
      "fwc-table-index 1\n" + good.substr(good.find("genid")),  // an index of an older fwc
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    INFO("case " << i);
    if (i == 3) {
      CHECK(TableIndex::Decode(bad[i]).chains.size() == 1);
      continue;
    }
    CHECK_THROWS_AS(TableIndex::Decode(bad[i]), NetlinkError);
  }
}

namespace {

const char* kHosts =
    "host h1 10.0.1.1;\nhost h2 10.0.1.2;\nhost h3 10.0.1.3;\nhost h4 10.0.1.4;\n";

TableImage Image(const std::vector<std::string>& rules) {
  std::string text;
  for (const auto& r : rules) text += "  " + r + "\n";
  return BuildImage(Lowered(Policy(kHosts, text)));
}

// The handles of the fake's rules, chain by chain, as an index lists them.
std::vector<std::vector<uint64_t>> KernelHandles(const FakeKernel& k, const TableIndex& index) {
  std::vector<std::vector<uint64_t>> out;
  for (const auto& c : index.chains) {
    out.emplace_back();
    for (const auto& r : k.state().rules)
      if (c.name == Str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)))
        out.back().push_back(nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE));
  }
  return out;
}

std::vector<std::vector<uint64_t>> IndexHandles(const TableIndex& index) {
  std::vector<std::vector<uint64_t>> out;
  for (const auto& c : index.chains) out.push_back(c.handles);
  return out;
}

size_t Count(const std::vector<Msg>& batch, uint16_t type) {
  size_t n = 0;
  for (const auto& m : batch) n += m.type == type;
  return n;
}

}  // namespace

TEST_CASE("a replacement predicts the handles the kernel gives", "[delta]") {
  FakeKernel k;
  TableImage image = Image({"accept tcp 22 from any to h1;", "accept udp 53 from any to h2;"});
  TableIndex next;
  LoadResult r = Update(k, image, nullptr, &next);
  REQUIRE(r.ok);
  CHECK_FALSE(r.delta);
  CHECK(r.replaced_because == "fwc has no index of the loaded table");
  REQUIRE(next.genid == k.genid);
  CHECK(next.table != 0);
  CHECK(next.HasHandles());
  CHECK(IndexHandles(next) == KernelHandles(k, next));
}

TEST_CASE("a one-rule edit deletes and inserts one rule, in place", "[delta]") {
  FakeKernel k;
  std::vector<std::string> rules = {"accept tcp 22 from any to h1;", "accept udp 53 from any to h2;",
                                    "accept proto gre from any to h3;", "accept tcp 443 from any to h4;"};
  TableIndex index, next;
  REQUIRE(Update(k, Image(rules), nullptr, &index).ok);

  rules[1] = "accept udp 123 from any to h2;";
  TableImage edited = Image(rules);
  size_t before = k.batches.size();
  LoadResult r = Update(k, edited, &index, &next);
  REQUIRE(r.ok);
  CHECK(r.delta);
  REQUIRE(k.batches.size() == before + 1);
  const auto& b = k.batches.back();
  CHECK(Count(b, NFT_MSG_NEWTABLE) == 0);
  CHECK(Count(b, NFT_MSG_DELTABLE) == 0);
  // The IPv4 rule only: h2 has no IPv6 address.
  CHECK(Count(b, NFT_MSG_DELRULE) == r.deleted);
  CHECK(Count(b, NFT_MSG_NEWRULE) == r.added);
  CHECK(r.deleted >= 1);
  CHECK(r.deleted <= 2);
  CHECK(r.added == r.deleted);
  for (const auto& m : b)
    if (m.type == NFT_MSG_NEWRULE) CHECK(m.flags & NLM_F_ECHO);
  CHECK(BatchGenid(b.front().nlh()) == index.genid);
  CHECK(Canonical(k.state()) == Canonical(edited));
  REQUIRE(next.genid == k.genid);
  CHECK(IndexHandles(next) == KernelHandles(k, next));

  // The new index serves the next edit; the same policy again sends nothing.
  TableIndex again;
  before = k.batches.size();
  r = Update(k, edited, &next, &again);
  REQUIRE(r.ok);
  CHECK(r.delta);
  CHECK(r.messages == 0);
  CHECK(k.batches.size() == before);
  CHECK(again.genid == next.genid);
}

TEST_CASE("rules inserted between others land in order", "[delta]") {
  FakeKernel k;
  // No two neighbours share a shape, so that no rules merge into one.
  std::vector<std::string> rules = {"accept tcp 22 from any to h1;", "accept proto gre from any to h2;",
                                    "accept udp 53 from any to h3;"};
  TableIndex index, next;
  REQUIRE(Update(k, Image(rules), nullptr, &index).ok);
  // Two new lines at the end keep every earlier comment; then a change at
  // the head and one in the middle.
  rules.push_back("accept proto esp from any to h4;");
  rules.push_back("accept tcp 25 from any to h1;");
  TableImage grown = Image(rules);
  LoadResult r = Update(k, grown, &index, &next);
  REQUIRE(r.ok);
  CHECK(r.delta);
  CHECK(r.deleted == 0);
  CHECK(Canonical(k.state()) == Canonical(grown));
  CHECK(IndexHandles(next) == KernelHandles(k, next));

  rules[0] = "accept tcp 2222 from any to h1;";
  rules[2] = "accept udp 5353 from any to h3;";
  TableImage changed = Image(rules);
  TableIndex third;
  r = Update(k, changed, &next, &third);
  REQUIRE(r.ok);
  CHECK(r.delta);
  CHECK(Canonical(k.state()) == Canonical(changed));
  CHECK(IndexHandles(third) == KernelHandles(k, third));
}

TEST_CASE("the table is replaced when the index cannot be trusted", "[delta]") {
  std::vector<std::string> rules = {"accept tcp 22 from any to h1;", "accept udp 53 from any to h2;"};
  TableImage first = Image(rules);
  rules[0] = "accept tcp 2222 from any to h1;";
  TableImage second = Image(rules);

  SECTION("the ruleset changed since") {
    FakeKernel k;
    TableIndex index, next;
    REQUIRE(Update(k, first, nullptr, &index).ok);
    ++k.genid;  // someone else's commit
    LoadResult r = Update(k, second, &index, &next);
    REQUIRE(r.ok);
    CHECK_FALSE(r.delta);
    CHECK(r.replaced_because == "the ruleset changed since fwc's last commit");
    CHECK(Canonical(k.state()) == Canonical(second));
    CHECK(next.genid == k.genid);  // and indexed again
  }
  SECTION("another table with the same generation") {
    FakeKernel a, b;
    TableIndex index, next, other;
    REQUIRE(Update(a, first, nullptr, &index).ok);
    REQUIRE(Update(b, first, nullptr, &other).ok);  // b numbers its table 1 too...
    REQUIRE(Update(b, first, nullptr, &other).ok);  // ...and then 2, as a deleted namespace's might be
    b.genid = index.genid;
    REQUIRE(other.table != index.table);
    LoadResult r = Update(b, second, &index, &next);
    REQUIRE(r.ok);
    CHECK_FALSE(r.delta);
    CHECK(r.replaced_because == "the loaded table is not the one fwc indexed");
    CHECK(Canonical(b.state()) == Canonical(second));
  }
  SECTION("a namespace made anew, with the same history") {
    // Generations and table handles start over in a new namespace (and its
    // inode number is often the deleted one's): only its cookie tells.
    FakeKernel a, b;
    b.ns = "boot/2";
    TableIndex index, next, other;
    REQUIRE(Update(a, first, nullptr, &index).ok);
    REQUIRE(Update(b, first, nullptr, &other).ok);
    REQUIRE(other.genid == index.genid);
    REQUIRE(other.table == index.table);
    LoadResult r = Update(b, second, &index, &next);
    REQUIRE(r.ok);
    CHECK_FALSE(r.delta);
    CHECK(r.replaced_because == "the index is of another network namespace (or boot)");
    CHECK(Canonical(b.state()) == Canonical(second));
    CHECK(next.netns == "boot/2");
    // A kernel that cannot say which namespace it is: nothing is trusted.
    b.ns = "";
    r = Update(b, first, &next, &other);
    REQUIRE(r.ok);
    CHECK_FALSE(r.delta);
    CHECK(r.replaced_because == kNoNamespace);
    CHECK(other.genid == 0);  // and nothing indexed
    r = Update(b, second, nullptr, &other);  // not "no index": there never will be one
    CHECK(r.replaced_because == kNoNamespace);
  }
  SECTION("the kernel refuses the changes") {
    FakeKernel k;
    TableIndex index, next;
    REQUIRE(Update(k, first, nullptr, &index).ok);
    k.refuse = [](const Msg& m) { return m.type == NFT_MSG_DELRULE ? ENOENT : 0; };
    LoadResult r = Update(k, second, &index, &next);
    REQUIRE(r.ok);
    CHECK_FALSE(r.delta);
    CHECK(r.replaced_because.rfind("the kernel refused the changes (", 0) == 0);
    CHECK(Canonical(k.state()) == Canonical(second));
  }
  SECTION("more than rules change") {
    FakeKernel k;
    TableIndex index, next;
    REQUIRE(Update(k, first, nullptr, &index).ok);
    TableImage nat = BuildImage(Lowered(Policy(kHosts, "  nat { masquerade from h1 to any out outside; }\n"
                                                       "  accept tcp 22 from any to h1;\n")));
    LoadResult r = Update(k, nat, &index, &next);
    REQUIRE(r.ok);
    CHECK_FALSE(r.delta);
    CHECK(r.replaced_because == "the chains, sets or table differ, not only rules");
    CHECK(Canonical(k.state()) == Canonical(nat));
  }
}

TEST_CASE("random edits applied in place keep the kernel equal to the policy", "[delta]") {
  std::mt19937 rng(2026);
  const std::vector<std::string> shapes = {"accept tcp %d from any to h%d;", "accept udp %d from any to h%d;",
                                           "drop tcp %d from any to h%d;", "accept proto gre from any to h%d;"};
  auto random_rule = [&]() {
    char buf[96];
    const std::string& s = shapes[rng() % shapes.size()];
    int port = 1000 + static_cast<int>(rng() % 5000), host = 1 + static_cast<int>(rng() % 4);
    if (s.find("%d from") != std::string::npos) snprintf(buf, sizeof buf, s.c_str(), port, host);
    else snprintf(buf, sizeof buf, s.c_str(), host);
    return std::string(buf);
  };
  std::vector<std::string> rules;
  for (int i = 0; i < 12; ++i) rules.push_back(random_rule());
  FakeKernel k;
  TableIndex index;
  REQUIRE(Update(k, Image(rules), nullptr, &index).ok);
  int deltas = 0;
  std::string replaced;
  for (int step = 0; step < 40; ++step) {
    switch (rng() % 4) {
      case 0: rules[rng() % rules.size()] = random_rule(); break;   // edited in place
      case 1: rules.push_back(random_rule()); break;                 // added at the end
      case 2: if (rules.size() > 2) rules.pop_back(); break;         // removed at the end
      default: std::swap(rules[rng() % rules.size()], rules[rng() % rules.size()]); break;
    }
    TableImage image = Image(rules);
    TableIndex next;
    LoadResult r = Update(k, image, &index, &next);
    INFO("step " << step);
    REQUIRE(r.ok);
    deltas += r.delta;
    if (!r.delta) {
      // Only because too much changed (a swap can undo a merge of neighbours).
      CHECK(r.replaced_because.rfind("more than ", 0) == 0);
      replaced += "step " + std::to_string(step) + ": " + r.replaced_because + "\n";
    }
    REQUIRE(Canonical(k.state()) == Canonical(image));
    REQUIRE(next.genid == k.genid);
    REQUIRE(IndexHandles(next) == KernelHandles(k, next));
    index = next;
  }
  INFO(replaced);
  CHECK(deltas >= 35);
}

TEST_CASE("a changed element of a named set is deleted and added alone", "[delta]") {
  // Enough rules of one shape that fwc merges them into one rule and a
  // named set: ports to a host (plain elements), and networks (intervals).
  auto image = [](int changed_port, int changed_net) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "  accept tcp " + std::to_string(i == 7 ? changed_port : 2000 + i) + " from any to h1;\n";
    for (int i = 0; i < 40; ++i)
      text += "  accept udp 53 from 10." + std::to_string(i == 9 ? changed_net : 100 + i) + ".0.0/16 to h2;\n";
    return BuildImage(Lowered(Policy(kHosts, text)));
  };
  FakeKernel k;
  TableIndex index, next;
  TableImage first = image(2007, 109);
  REQUIRE(Update(k, first, nullptr, &index).ok);
  REQUIRE(index.sets.size() >= 2);

  for (auto [port, net] : {std::pair{3007, 109}, std::pair{3007, 200}, std::pair{2007, 109}}) {
    TableImage edited = image(port, net);
    LoadResult r = Update(k, edited, &index, &next);
    INFO("port " << port << ", network 10." << net << ".0.0/16");
    REQUIRE(r.ok);
    CHECK(r.delta);
    CHECK(r.deleted == 0);
    CHECK(r.added == 0);
    // Adjacent networks are one interval: a change splits or joins one.
    CHECK(r.elements_deleted >= 1);
    CHECK(r.elements_added >= 1);
    CHECK(r.elements_deleted + r.elements_added <= 6);
    CHECK(Count(k.batches.back(), NFT_MSG_DELSETELEM) >= 1);
    CHECK(Canonical(k.state()) == Canonical(edited));
    REQUIRE(next.genid == k.genid);
    // The index saved after it describes the new elements.
    TableIndex saved = TableIndex::Decode(next.Encode());
    REQUIRE(saved.sets.size() == next.sets.size());
    for (size_t s = 0; s < saved.sets.size(); ++s) CHECK(saved.sets[s].units == next.sets[s].units);
    index = saved;
  }
}
