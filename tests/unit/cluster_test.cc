// Several firewalls in one policy, and clusters: which firewall a compile is
// for, what the cluster's and the members' names stand for, the virtual
// addresses, the rules `protocols` adds, and the member names defined for
// 'if'. Each member is compiled, and packets decided with the query engine
// (the evaluator fwc query and the SSH guard use).
#include <catch2/catch.hpp>

#include "compiler/analysis/query.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

// A pair with a virtual address on 'outside', a third firewall outside it.
const char* kPairPolicy =
    "host vip 192.0.2.10;\n"
    "cluster pair {\n"
    "  firewall a { interface outside eth0 192.0.2.1/24; interface inside eth1 10.0.0.1/24; }\n"
    "  firewall b { interface outside eth0 192.0.2.2/24; interface inside eth1 10.0.0.2/24; }\n"
    "  interface outside vip;\n"
    "  protocols vrrp, pacemaker;\n"
    "}\n"
    "firewall gw { interface outside eth0 192.0.2.254/24; }\n"
    "policy p default drop {\n"
    "  accept tcp 22 from any to pair;\n"
    "  accept tcp 80 from any to vip;\n"
    "  accept tcp 5432 from b to a;\n"
    "  accept tcp 5432 from a to b;\n"
    "  accept tcp 179 from gw to pair;\n"
    "  accept tcp 8080 from any to pair if a;\n"
    "}\n";

struct Member {
  std::unique_ptr<Compilation> c = std::make_unique<Compilation>();
  bool ok = false;
};

Member CompileMember(const std::string& text, const std::string& firewall) {
  Member m;
  MemoryLoader loader;
  m.c->set_firewall(firewall);
  m.ok = m.c->Check("test.fw", text, loader, {});
  return m;
}

std::string Decide(const Member& m, const std::string& packet) {
  std::string err;
  auto spec = analysis::ParsePacket(packet, &err);
  REQUIRE(spec);
  analysis::QueryEngine engine(m.c->model(), m.c->placed(), m.c->sections());
  auto r = engine.Query(*spec, &err);
  REQUIRE(r);
  return std::string(ast::ActionName(r->verdict)) + " " + ir::HookName(r->chain);
}

}  // namespace

TEST_CASE("each member of a cluster decides packets by its own addresses and the shared ones", "[cluster]") {
  struct Case {
    const char* firewall;
    const char* packet;
    const char* expected;  // verdict and chain
  };
  const Case cases[] = {
      // The virtual address is each member's own: delivered locally, whichever holds it.
      {"a", "tcp 198.51.100.7 -> 192.0.2.10:22", "accept input"},
      {"b", "tcp 198.51.100.7 -> 192.0.2.10:22", "accept input"},
      {"a", "tcp 198.51.100.7 -> 192.0.2.10:80", "accept input"},
      {"b", "tcp 198.51.100.7 -> 192.0.2.10:80", "accept input"},
      // The cluster's name is the member compiled; the other member is a host.
      {"a", "tcp 198.51.100.7 -> 192.0.2.1:22", "accept input"},
      {"a", "tcp 198.51.100.7 -> 192.0.2.2:22", "drop forward"},
      {"b", "tcp 198.51.100.7 -> 192.0.2.2:22", "accept input"},
      {"a", "tcp 192.0.2.2 -> 192.0.2.1:5432", "accept input"},
      {"a", "tcp 10.0.0.2 -> 10.0.0.1:5432", "accept input"},
      {"a", "tcp 198.51.100.7 -> 192.0.2.1:5432", "drop input"},
      {"a", "tcp 192.0.2.1 -> 192.0.2.2:5432", "accept output"},
      {"b", "tcp 192.0.2.1 -> 192.0.2.2:5432", "accept input"},
      // Only the vip's address, not the member's own, for 'to vip'.
      {"a", "tcp 198.51.100.7 -> 192.0.2.1:80", "drop input"},
      // A firewall outside the cluster is a host with its interface addresses.
      {"a", "tcp 192.0.2.254 -> 192.0.2.1:179", "accept input"},
      {"b", "tcp 192.0.2.254 -> 192.0.2.10:179", "accept input"},
      // protocols: VRRP and Corosync from the other member, both ways, and
      // VRRP advertisements to their multicast group.
      {"a", "vrrp 192.0.2.2 -> 224.0.0.18", "accept input"},
      {"a", "vrrp 192.0.2.1 -> 224.0.0.18", "accept output"},
      {"a", "vrrp 198.51.100.7 -> 224.0.0.18", "drop input"},
      {"a", "udp 10.0.0.2 -> 10.0.0.1:5405", "accept input"},
      {"a", "udp 10.0.0.1 -> 10.0.0.2:5405", "accept output"},
      {"b", "tcp 192.0.2.1 -> 192.0.2.2:2224", "accept input"},
      {"a", "udp 198.51.100.7 -> 192.0.2.1:5405", "drop input"},
      // 'if a': compiling member a defines its name; b leaves the rule out.
      {"a", "tcp 198.51.100.7 -> 192.0.2.10:8080", "accept input"},
      {"b", "tcp 198.51.100.7 -> 192.0.2.10:8080", "drop input"},
  };
  for (const Case& c : cases) {
    Member m = CompileMember(kPairPolicy, c.firewall);
    INFO("--firewall " << c.firewall << ": " << c.packet << "\n" << m.c->diags().Render());
    REQUIRE(m.ok);
    CHECK(Decide(m, c.packet) == c.expected);
  }
}

TEST_CASE("the firewall 'gw' of a policy with a cluster sees the cluster as all its addresses", "[cluster]") {
  const std::string text =
      "cluster pair {\n"
      "  firewall a { interface outside eth0 192.0.2.1/24; }\n"
      "  firewall b { interface outside eth0 192.0.2.2/24; }\n"
      "  interface outside 192.0.2.10;\n"
      "}\n"
      "firewall gw { interface outside eth0 192.0.2.254/24; interface lan eth1 10.9.0.1/24; }\n"
      "policy p default drop {\n"
      "  accept tcp 179 from pair to gw;\n"
      "}\n";
  Member m = CompileMember(text, "gw");
  INFO(m.c->diags().Render());
  REQUIRE(m.ok);
  CHECK(m.c->model().cluster_name.empty());
  for (const char* src : {"192.0.2.1", "192.0.2.2", "192.0.2.10"})
    CHECK(Decide(m, std::string("tcp ") + src + " -> 192.0.2.254:179") == "accept input");
  CHECK(Decide(m, "tcp 192.0.2.3 -> 192.0.2.254:179") == "drop input");
}

TEST_CASE("a one-firewall policy compiles as before, and --firewall may name it", "[cluster]") {
  const std::string text = Policy("", "  accept tcp 22 from any to fw if fw;\n");
  Member plain = CompileMember(text, "");
  REQUIRE(plain.ok);
  CHECK(Decide(plain, "tcp 198.51.100.7 -> 10.1.1.1:22") == "drop input");  // 'fw' is not defined
  Member named = CompileMember(text, "fw");
  REQUIRE(named.ok);
  CHECK(Decide(named, "tcp 198.51.100.7 -> 10.1.1.1:22") == "accept input");
}

TEST_CASE("cluster mistakes are reported where they are written", "[cluster]") {
  struct Case {
    const char* name;
    std::string text;
    const char* firewall;
    const char* code;
    int line, col;
  };
  const std::string members =
      "  firewall a { interface outside eth0 192.0.2.1/24; }\n"
      "  firewall b { interface outside eth0 192.0.2.2/24; }\n";
  const std::string policy = "policy p default drop { accept tcp 22 from any to pair; }\n";
  const Case cases[] = {
      {"no --firewall", "cluster pair {\n" + members + "}\n" + policy, "", "multiple-firewalls", 3, 12},
      {"unknown --firewall", "cluster pair {\n" + members + "}\n" + policy, "c", "unknown-firewall", 2, 12},
      {"unknown protocol", "cluster pair {\n" + members + "  protocols vrrp, corosink;\n}\n" + policy, "a",
       "unknown-protocol", 4, 19},
      {"address on a missing interface", "cluster pair {\n" + members + "  interface public 192.0.2.10;\n}\n" + policy,
       "b", "unknown-interface", 4, 13},
      {"a range as virtual address",
       "cluster pair {\n" + members + "  interface outside 192.0.2.10-192.0.2.11;\n}\n" + policy, "a",
       "bad-cluster-address", 4, 21},
      {"an unknown host as virtual address", "cluster pair {\n" + members + "  interface outside vip;\n}\n" + policy,
       "a", "unknown-name", 4, 21},
      {"a cluster and a host of one name", "host pair 192.0.2.9;\ncluster pair {\n" + members + "}\n" + policy, "a",
       "duplicate-name", 1, 6},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      Member m = CompileMember(c.text, c.firewall);
      INFO(m.c->diags().Render());
      CHECK_FALSE(m.ok);
      const Diagnostic* d = nullptr;
      for (const auto& x : m.c->diags().all())
        if (x.code == c.code && !d) d = &x;
      REQUIRE(d);
      CHECK(d->loc.line == c.line);
      CHECK(d->loc.col == c.col);
      CHECK_FALSE(d->help.empty());
    }
  }
}
