// The apply layer (apply/): restoring a saved table, the pending state and
// its rollback, the SSH guard, installing for boot. Against the fake kernel,
// a fake host network and a fake systemd: no root needed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <sstream>

#include "apply/applier.h"
#include "apply/boot_install.h"
#include "apply/safe_apply.h"
#include "apply/ssh_guard.h"
#include "backends/netlink/codegen.h"
#include "fake_kernel.h"

using namespace fwc;
using namespace fwc::apply;
using namespace fwc::netlink;
using namespace fwc::test;

TEST_CASE("a saved table is restored exactly, and an absent one stays absent", "[apply]") {
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

TEST_CASE("a pending apply is rolled back once, under its token", "[apply]") {
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

TEST_CASE("the SSH guard finds the rule that drops the session", "[apply]") {
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

TEST_CASE("the SSH guard sees the packets on the interface of the route to the client", "[apply]") {
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

TEST_CASE("install stores the artifact, keeps the previous one and enables a boot unit", "[apply]") {
  char tmpl[] = "/tmp/fwc-root-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  InstallLayout layout{tmpl};
  Artifact a{"nft", "table inet fwc {}\n", "/etc/fwc/crm.fw", {"mgmt"}, std::nullopt, ""};
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

  Artifact b{"nft", "table inet fwc { }\n# v2\n", "/etc/fwc/crm.fw", {}, std::nullopt, ""};
  Install(layout, b, "/usr/sbin/nft", &log);
  CHECK(read(lib + "/ruleset.nft") == b.content);
  CHECK(read(lib + "/previous.nft") == a.content);

  Artifact c{"iptables", "#!/bin/sh\n", "/etc/fwc/crm.fw", {}, std::nullopt, ""};
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

TEST_CASE("the packaged unit is install's nft unit, skipped while no artifact is stored", "[apply]") {
  std::string packaged = PackagedUnitText("/usr/sbin/nft");
  Artifact a{"nft", "", "/etc/fwc/crm.fw", {}, std::nullopt, ""};
  std::string installed = UnitText(a, "/usr/sbin/nft");
  // The same unit from [Unit] on, but for the condition.
  std::string tail = installed.substr(installed.find("[Unit]\n"));
  std::string condition = "ConditionPathExists=/var/lib/fwc/ruleset.nft\n";
  std::string p = packaged.substr(packaged.find("[Unit]\n"));
  REQUIRE(p.find(condition) != std::string::npos);
  p.erase(p.find(condition), condition.size());
  CHECK(p == tail);
  CHECK(installed.find("ConditionPathExists") == std::string::npos);
  CHECK(packaged.find("Generated by fwc install") == std::string::npos);
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

TEST_CASE("install says how to load the new rules, and uninstall stops the unit", "[apply]") {
  std::vector<std::string> log;
  FakeSystemd systemd;
  Artifact nft{"nft", "", "/etc/fwc/crm.fw", {}, std::nullopt, ""};
  Artifact ipt{"iptables", "", "/etc/fwc/crm.fw", {}, std::nullopt, ""};

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

TEST_CASE("the systemd watchdog is a transient timer that runs fwc at the deadline", "[apply]") {
  auto cmd = SystemdRunCommand("fwc-rollback-abc", 30, {"/usr/sbin/fwc", "watchdog", "--token", "abc", "--now"});
  std::string all;
  for (const auto& a : cmd) all += a + " ";
  CHECK(all.find("--on-active=30s") != std::string::npos);
  CHECK(all.find("--unit=fwc-rollback-abc") != std::string::npos);
  CHECK(all.find("-- /usr/sbin/fwc watchdog --token abc --now") != std::string::npos);
}


namespace {

// The fake kernel behind the transport factory the apply layer opens.
class SharedKernel : public NetlinkTransport {
 public:
  explicit SharedKernel(FakeKernel& k) : k_(k) {}
  uint32_t Generation() override { return k_.Generation(); }
  std::string Namespace() override { return k_.Namespace(); }
  BatchReply SendBatch(const std::string& batch, size_t n) override { return k_.SendBatch(batch, n); }
  std::vector<std::string> Dump(uint16_t type, uint16_t family, const std::string& table, const std::string& set,
                                uint16_t* genid16) override {
    return k_.Dump(type, family, table, set, genid16);
  }
  std::string GetRule(uint16_t family, const std::string& table, const std::string& chain, uint64_t handle) override {
    return k_.GetRule(family, table, chain, handle);
  }

 private:
  FakeKernel& k_;
};

struct Machine {
  FakeKernel kernel;
  FakeHost host;
  std::ostringstream out, err;
  Environment env;
  char dir[32] = "/tmp/fwc-state-XXXXXX";

  Machine() {
    REQUIRE(mkdtemp(dir));
    env.kernel = [this] { return std::make_unique<SharedKernel>(kernel); };
    env.host = [this] { return std::make_unique<FakeHost>(host); };
    env.state_dir = dir;
    env.watchdog_process_only = true;
  }
  ~Machine() { CHECK(system((std::string("rm -rf ") + dir).c_str()) == 0); }
  Applier Layer() { return Applier(env, out, err); }
};

// A policy compiled as `fwc apply` compiles it.
struct Compiled {
  Result result;
  Plan plan;
  explicit Compiled(const std::string& text) : result(Compile(text)) {
    INFO(result.Rendered());
    REQUIRE(result.ok);
    plan.policy = "test.fw";
    plan.compilation = result.c.get();
    plan.image = BuildImage(result.rs);
  }
};

}  // namespace

TEST_CASE("the apply layer loads, verifies and refuses through one interface", "[apply]") {
  Machine m;
  Compiled web(Policy(kPolicy, kRules));
  CHECK(m.Layer().Apply(web.plan, {}) == kOk);
  CHECK(m.out.str().find("fwc: applied test.fw") != std::string::npos);
  CHECK(m.Layer().Verify(web.plan) == kOk);
  Compiled other(Policy(kPolicy, "  accept http from any to lb;\n"));
  CHECK(m.Layer().Verify(other.plan) == kDiffers);
  // The same answers as JSON: exact or not, and every difference.
  m.out.str("");
  CHECK(m.Layer().Verify(web.plan, true) == kOk);
  CHECK(m.out.str().rfind("{\"policy\": \"test.fw\", \"loaded\": true, \"exact\": true, \"summary\": \"", 0) == 0);
  CHECK(m.out.str().find("\"differences\": []}\n") != std::string::npos);
  m.out.str("");
  CHECK(m.Layer().Verify(other.plan, true) == kDiffers);
  CHECK(m.out.str().find("\"exact\": false") != std::string::npos);
  CHECK(m.out.str().find("\"differences\": [\n  \"- rule") != std::string::npos);
  CHECK(m.Layer().Confirm() == kDiffers);  // nothing is waiting
  CHECK(m.Layer().Rollback() == kDiffers);

  // Over SSH, a policy that drops the session is refused, and nothing is sent.
  m.host.local = {{"10.1.1.1", "eth1"}};
  m.host.routes = {{"10.1.1.50", "eth1"}};
  m.env.ssh_connection = "10.1.1.50 50000 10.1.1.1 22";
  size_t batches = m.kernel.batches.size();
  CHECK(m.Layer().Apply(other.plan, {}) == kNotApplied);
  CHECK(m.err.str().find("refusing to apply: the new rules would cut you off") != std::string::npos);
  CHECK(m.kernel.batches.size() == batches);
  ApplyOptions force;
  force.force = true;
  CHECK(m.Layer().Apply(other.plan, force) == kOk);
  CHECK(m.Layer().Verify(other.plan) == kOk);
  // A session fwc cannot make out is refused too, unless forced.
  m.env.ssh_connection = "10.1.1.50 50000";
  CHECK(m.Layer().Apply(web.plan, {}) == kNotApplied);
  CHECK(m.Layer().Apply(web.plan, force) == kOk);
  // A dry run changes nothing.
  ApplyOptions dry;
  dry.dry_run = true;
  batches = m.kernel.batches.size();
  CHECK(m.Layer().Apply(other.plan, dry) == kOk);
  CHECK(m.Layer().Verify(web.plan) == kOk);
  CHECK(m.out.str().find("fwc: dry run: nothing was changed") != std::string::npos);
}

namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  REQUIRE(f.good());
}

}  // namespace

TEST_CASE("an origin survives its file and refuses anything else", "[apply]") {
  Origin o;
  o.netns = "boot-id/7";
  o.genid = 42;
  o.table = 3;
  o.key = "00ff";
  o.forwarding.set = false;
  o.forwarding.forwards = true;
  o.summary = "3 chains, 10 rules";
  o.said = "p.fw:3:1: warning: redundant\n\x1b[1mbold\x1b[0m\n";
  o.verified = "3 chains, 10 rules, 1 sets with 4 elements";
  o.files.push_back({"dir with space/p\nolicy.fw", "/abs/p.fw", true, 120, 0xfffffffffffffffeull});
  o.files.push_back({"common.fw", "/abs/common.fw", false, 0, 0});
  auto back = Origin::Decode(o.Encode());
  REQUIRE(back);
  CHECK(back->netns == o.netns);
  CHECK(back->genid == 42);
  CHECK(back->table == 3);
  CHECK(back->key == o.key);
  CHECK(back->forwarding.set == std::optional<bool>(false));
  CHECK(back->forwarding.forwards);
  CHECK(back->summary == o.summary);
  CHECK(back->said == o.said);
  CHECK(back->verified == o.verified);
  REQUIRE(back->files.size() == 2);
  CHECK(back->files[0].path == o.files[0].path);
  CHECK(back->files[0].canonical == "/abs/p.fw");
  CHECK(back->files[0].digest == o.files[0].digest);
  CHECK(back->files[0].size == 120);
  CHECK_FALSE(back->files[1].read);
  // The newline in the path did not end a line.
  std::string good = o.Encode();
  CHECK(std::count(good.begin(), good.end(), '\n') == 13);
  const std::vector<std::string> bad = {
      "",
      "fwc-origin 3\n" + good.substr(good.find('\n') + 1),
      "fwc-origin 1\n" + good.substr(good.find('\n') + 1),        // an older fwc's
      std::string(good).replace(good.find("verified "), 9, "verifyed "),
      good.substr(0, good.size() - 4),                              // no end
      good + "extra\n",
      std::string(good).replace(good.find("files 2"), 7, "files 3"),  // a file missing
      std::string(good).replace(good.find("genid 42"), 8, "genid -1"),
      std::string(good).replace(good.find("key 3030"), 8, "key 30x0"),
      std::string(good).replace(good.find("forwarding off"), 14, "forwarding yes"),
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    INFO("case " << i);
    CHECK_FALSE(Origin::Decode(bad[i]));
  }
}

TEST_CASE("an origin's files are compared as the compiler reads them, includes by canonical path", "[apply]") {
  char dir[] = "/tmp/fwc-origin-XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string a = std::string(dir) + "/a.fw", b = std::string(dir) + "/b.fw";
  WriteFile(a, "host h 10.0.0.1;\n");
  REQUIRE(symlink("a.fw", b.c_str()) == 0);
  SourceManager sources;
  sources.Add(a, "host h 10.0.0.1;\n");
  sources.AddRepeat(b);  // b.fw was a.fw: not read again
  Origin o;
  o.files = OriginFiles(sources);
  REQUIRE(o.files.size() == 2);
  CHECK(o.files[1].canonical == o.files[0].canonical);
  CHECK(FilesUnchanged(o, 1 << 20));
  CHECK_FALSE(FilesUnchanged(o, 8));  // larger than the compile would read
  // The same size, another byte.
  WriteFile(a, "host h 10.0.0.2;\n");
  CHECK_FALSE(FilesUnchanged(o, 1 << 20));
  WriteFile(a, "host h 10.0.0.1;\n");
  CHECK(FilesUnchanged(o, 1 << 20));
  // b.fw a file of its own now: the compile would read it.
  REQUIRE(unlink(b.c_str()) == 0);
  WriteFile(b, "host h 10.0.0.1;\n");
  CHECK_FALSE(FilesUnchanged(o, 1 << 20));
  // A FIFO in a file's place is not read (nor waited on).
  REQUIRE(unlink(a.c_str()) == 0);
  REQUIRE(mkfifo(a.c_str(), 0600) == 0);
  CHECK_FALSE(FilesUnchanged(o, 1 << 20));
  CHECK(system((std::string("rm -rf ") + dir).c_str()) == 0);
}

TEST_CASE("an origin records what the compile said, unless it said too much", "[apply]") {
  SourceManager sources;
  sources.Add("p.fw", "host h 10.0.0.1;\n");
  Diagnostics said(sources);
  CHECK_FALSE(OriginOf("", sources, said));  // no key: never recorded
  auto quiet = OriginOf("key", sources, said);
  REQUIRE(quiet);
  CHECK(quiet->key == "key");
  CHECK(quiet->said.empty());
  REQUIRE(quiet->files.size() == 1);
  CHECK(quiet->files[0].path == "p.fw");

  said.Warning("unused-object", Loc{0, 1, 1, 1}, "host h is not used", "");
  auto one = OriginOf("key", sources, said);
  REQUIRE(one);
  CHECK(one->said == said.Render());
  CHECK(one->said.find("host h is not used") != std::string::npos);

  while (said.all().size() < kMaxSaidFindings) said.Warning("unused-object", Loc{0, 1, 1, 1}, "again", "");
  CHECK(OriginOf("key", sources, said));  // at the cap
  said.Warning("unused-object", Loc{0, 1, 1, 1}, "one more", "");
  CHECK_FALSE(OriginOf("key", sources, said));

  Diagnostics long_words(sources);
  long_words.Warning("unused-object", Loc{0, 1, 1, 1}, std::string(kMaxSaidBytes, 'x'), "");
  CHECK_FALSE(OriginOf("key", sources, long_words));
}

// What an apply of the policy file at path (holding text) with the
// options "key-1" records, with a warning it said.
static Origin OriginOfFile(const std::string& path, const std::string& text) {
  SourceManager sources;
  sources.Add(path, text);
  Origin o;
  o.key = "key-1";
  o.files = OriginFiles(sources);
  o.said = "p.fw:9:3: warning: what the compile said\n";
  return o;
}

TEST_CASE("a verify that found the table exact answers the next one without compiling or reading it", "[apply]") {
  Machine m;
  std::string path = std::string(m.dir) + "/p.fw";
  std::string text = Policy(kPolicy, kRules);
  WriteFile(path, text);
  Compiled web(text);
  web.plan.policy = path;
  Origin o = OriginOfFile(path, text);
  web.plan.origin = o;
  const size_t max = 1 << 20;
  auto unchanged = [&](const std::string& key, bool json = false) {
    m.out.str("");
    m.err.str("");
    return m.Layer().VerifyUnchanged(path, key, max, json);
  };
  auto full = [&](bool json = false) {
    m.out.str("");
    return m.Layer().Verify(web.plan, json);
  };

  REQUIRE(m.Layer().Apply(web.plan, {}) == kOk);
  CHECK_FALSE(unchanged("key-1"));  // the apply's commit, not yet read back
  REQUIRE(full() == kOk);
  std::string said = m.out.str();
  REQUIRE(said.find("is exactly what " + path + " compiles to") != std::string::npos);
  REQUIRE(full(true) == kOk);
  std::string said_json = m.out.str();
  int reads = m.kernel.rule_dumps;

  auto st = unchanged("key-1");
  REQUIRE(st);
  CHECK(*st == kOk);
  CHECK(m.out.str() == said);
  CHECK(m.err.str() == o.said);
  st = unchanged("key-1", true);
  REQUIRE(st);
  CHECK(m.out.str() == said_json);
  CHECK(m.kernel.rule_dumps == reads);  // nothing read
  // The apply of the same files and options needs nothing either, and
  // says what the compile would (the policy's summary).
  m.out.str("");
  auto applied = m.Layer().ApplyUnchanged(path, "key-1", max, {});
  REQUIRE(applied);
  CHECK(m.out.str() == "fwc: applied " + path + " (" + Summary(web.plan.image) + ")\n");

  CHECK_FALSE(unchanged("key-2"));
  CHECK_FALSE(unchanged(""));
  SECTION("the file changed") {
    WriteFile(path, text + "\n");
    CHECK_FALSE(unchanged("key-1"));
  }
  SECTION("a commit since (a rule by hand, a set element)") {
    ++m.kernel.genid;
    CHECK_FALSE(unchanged("key-1"));
  }
  SECTION("another network namespace") {
    m.kernel.ns = "boot/2";
    CHECK_FALSE(unchanged("key-1"));
  }
  SECTION("an apply since: its commit is not verified") {
    Compiled other(Policy(kPolicy, "  accept http from any to lb;\n"));
    other.plan.origin = o;
    REQUIRE(m.Layer().Apply(other.plan, {}) == kOk);
    CHECK_FALSE(unchanged("key-1"));
  }
  SECTION("a verify that finds differences records nothing") {
    Compiled other(Policy(kPolicy, "  accept http from any to lb;\n"));
    Origin other_origin = o;
    other_origin.key = "key-2";
    other.plan.origin = other_origin;
    other.plan.policy = path;
    m.out.str("");
    CHECK(m.Layer().Verify(other.plan) == kDiffers);
    CHECK_FALSE(unchanged("key-2"));
    CHECK(unchanged("key-1"));  // what was found exact still is
  }
}

TEST_CASE("an apply of the files and options the loaded table was compiled from sends nothing", "[apply]") {
  Machine m;
  std::string path = std::string(m.dir) + "/p.fw";
  std::string text = Policy(kPolicy, kRules);
  WriteFile(path, text);
  Compiled web(text);
  Origin o = OriginOfFile(path, text);
  web.plan.origin = o;
  web.plan.forwarding.forwards = true;
  ApplyOptions v;
  v.verbose = true;
  const size_t max = 1 << 20;
  auto unchanged = [&](const std::string& key, const ApplyOptions& opt) {
    m.out.str("");
    return m.Layer().ApplyUnchanged(path, key, max, opt);
  };

  CHECK_FALSE(unchanged("key-1", v));  // nothing recorded yet
  REQUIRE(m.Layer().Apply(web.plan, v) == kOk);
  size_t batches = m.kernel.batches.size();
  auto st = unchanged("key-1", v);
  REQUIRE(st);
  CHECK(*st == kOk);
  CHECK(m.kernel.batches.size() == batches);
  CHECK(m.out.str() == "fwc: applied " + path + " (" + Summary(web.plan.image) + ")\n");
  CHECK(m.err.str().find("fwc: nothing to compile or send") != std::string::npos);
  CHECK(m.err.str().find("p.fw:9:3: warning: what the compile said\nfwc: nothing to compile") != std::string::npos);
  // Forwarding is still checked: the policy forwards and it is off here.
  CHECK(m.err.str().find("IP forwarding is off") != std::string::npos);
  CHECK(m.Layer().Verify(web.plan) == kOk);

  CHECK_FALSE(unchanged("key-2", v));  // other options, another binary, another directory
  ApplyOptions dry = v, confirm = v;
  dry.dry_run = true;
  confirm.confirm = 30;
  CHECK_FALSE(unchanged("key-1", dry));
  CHECK_FALSE(unchanged("key-1", confirm));
  CHECK_FALSE(unchanged("", v));

  SECTION("the file changed") {
    WriteFile(path, text + "\n");
    CHECK_FALSE(unchanged("key-1", v));
    WriteFile(path, text);
    CHECK(unchanged("key-1", v));
  }
  SECTION("someone else committed") {
    ++m.kernel.genid;
    CHECK_FALSE(unchanged("key-1", v));
    // The apply that follows replaces the table and records its origin again.
    REQUIRE(m.Layer().Apply(web.plan, v) == kOk);
    CHECK(m.err.str().find("replaced the whole table: the ruleset changed since") != std::string::npos);
    CHECK(unchanged("key-1", v));
  }
  SECTION("another network namespace") {
    m.kernel.ns = "boot/2";
    CHECK_FALSE(unchanged("key-1", v));
  }
  SECTION("an SSH session the guard cannot read") {
    // Apply refuses it, so the fast path must not pass it.
    m.env.ssh_connection = "10.1.1.50 50000";
    CHECK_FALSE(unchanged("key-1", v));
    CHECK(m.Layer().Apply(web.plan, v) == kNotApplied);
    ApplyOptions force = v;
    force.force = true;
    CHECK(unchanged("key-1", force));
    // A session it can read: the rules in force stay, nothing to check.
    m.env.ssh_connection = "10.1.1.50 50000 10.1.1.1 22";
    CHECK(unchanged("key-1", v));
  }
  SECTION("an apply without an origin forgets the recorded one") {
    Compiled other(Policy(kPolicy, "  accept http from any to lb;\n"));
    REQUIRE(m.Layer().Apply(other.plan, v) == kOk);  // no origin, as for a policy on standard input
    CHECK_FALSE(unchanged("key-1", v));
    CHECK(StateStore(m.dir).LoadOrigin().empty());
  }
  SECTION("a confirmation is pending") {
    // Apply says so (and refuses); the fast path leaves it to Apply.
    PendingState pending;
    pending.status = PendingStatus::kPending;
    pending.policy = "other.fw";
    StateStore(m.dir).Write(pending);
    CHECK_FALSE(unchanged("key-1", v));
    CHECK(m.Layer().Apply(web.plan, v) == kNotApplied);
  }
}
