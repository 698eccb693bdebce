// Named regression tests for the shadow analysis: the cases pairwise
// checkers get wrong (unions of rules, negation, interfaces, chains,
// families, the default policy).
#include <catch2/catch.hpp>

#include "compiler/analysis/query.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;
using Kind = analysis::Finding::Kind;

namespace {

// The policy's rules start on line 7 (see Policy() in support.h) when there
// is one line of objects.
const analysis::Finding* At(const Result& r, int line) {
  for (const auto& f : r.c->findings())
    if (f.rule->loc.line == line) return &f;
  return nullptr;
}

std::vector<int> Lines(const std::vector<const PolicyRule*>& rules) {
  std::vector<int> out;
  for (auto* r : rules) out.push_back(r->loc.line);
  return out;
}

const char* kObjects = "host lb 10.1.2.2, 2001:db8:2::2;";

}  // namespace

TEST_CASE("a rule hidden by the union of two earlier prefixes is shadowed", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 80 from 10.0.0.0/25 to lb;\n"
                            "  accept tcp 80 from 10.0.0.128/25 to lb;\n"
                            "  drop tcp 80 from 10.0.0.0/24 to lb;\n"));
  CHECK_FALSE(r.ok);  // shadowed rules are errors by default
  const auto* f = At(r, 9);
  REQUIRE(f);
  CHECK(f->kind == Kind::kShadowed);
  CHECK(Lines(f->covering) == std::vector<int>{7, 8});
  CHECK_FALSE(At(r, 7));
  CHECK_FALSE(At(r, 8));
  const Diagnostic* d = r.Find("shadowed-rule");
  REQUIRE(d);
  CHECK(d->loc.line == 9);
  REQUIRE(d->notes.size() == 2);
  CHECK(d->notes[0].loc.line == 7);
  CHECK(d->notes[1].loc.line == 8);
}

TEST_CASE("the same union with the same verdict makes the rule redundant", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 80 from 10.0.0.0/25 to lb;\n"
                            "  accept tcp 80 from 10.0.0.128/25 to lb;\n"
                            "  accept tcp 80 from 10.0.0.0/24 to lb;\n"));
  CHECK(r.ok);
  const auto* f = At(r, 9);
  REQUIRE(f);
  CHECK(f->kind == Kind::kRedundant);
  CHECK_FALSE(f->by_later);
  CHECK(Lines(f->covering) == std::vector<int>{7, 8});
  CHECK(r.Find("redundant-rule")->severity == Severity::kWarning);
}

TEST_CASE("a rule hidden by a union of port ranges is shadowed", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 1-100 from any to lb;\n"
                            "  accept tcp 101-200 from any to lb;\n"
                            "  drop tcp 50-150 from any to lb;\n"));
  const auto* f = At(r, 9);
  REQUIRE(f);
  CHECK(f->kind == Kind::kShadowed);
  CHECK(Lines(f->covering) == std::vector<int>{7, 8});
}

TEST_CASE("a port range only partly covered is a conflict, not a shadow", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 1-100 from any to lb;\n"
                            "  accept tcp 102-200 from any to lb;\n"
                            "  drop tcp 50-150 from any to lb;\n",
                            "accept"));
  CHECK(r.ok);
  const auto* f = At(r, 9);
  REQUIRE(f);
  REQUIRE(f->kind == Kind::kConflict);
  CHECK(f->other->loc.line == 7);
}

TEST_CASE("a union inside one group covers like separate rules", "[analysis]") {
  Result r = Compile(Policy("host lb 10.1.2.2;\ngroup halves { 10.0.0.0/25, 10.0.0.128/25 }",
                            "  accept tcp 80 from halves to lb;\n"
                            "  drop tcp 80 from 10.0.0.0/24 to lb;\n"));
  const auto* f = At(r, 9);
  REQUIRE(f);
  CHECK(f->kind == Kind::kShadowed);
  CHECK(Lines(f->covering) == std::vector<int>{8});
}

TEST_CASE("negated addresses and services are handled exactly", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 80 from not 10.0.0.0/8 to lb in outside;\n"
                            "  accept tcp 80 from 10.0.0.0/8 to lb in outside;\n"
                            "  drop tcp 80 from any to lb in outside;\n"
                            "  accept not tcp 22 from any to lb in outside;\n"
                            "  drop udp 53 from any to lb in outside;\n"
                            "  drop tcp 22 from any to lb in outside;\n",
                            "accept"));
  const auto* a = At(r, 9);
  REQUIRE(a);
  CHECK(a->kind == Kind::kShadowed);
  CHECK(Lines(a->covering) == std::vector<int>{7, 8});
  const auto* b = At(r, 11);
  REQUIRE(b);
  CHECK(b->kind == Kind::kShadowed);
  CHECK(Lines(b->covering) == std::vector<int>{10});
  // tcp 22 is exactly what the negation leaves out: it still decides.
  const auto* c = At(r, 12);
  CHECK((c == nullptr || c->kind != Kind::kShadowed));
}

TEST_CASE("an interface-bound rule does not cover a global one, and vice versa it does", "[analysis]") {
  Result bound_first = Compile(Policy(kObjects,
                                      "  accept tcp 80 from any to lb in outside;\n"
                                      "  drop tcp 80 from any to lb;\n",
                                      "accept"));
  const auto* f = At(bound_first, 8);
  REQUIRE(f);
  CHECK(f->kind == Kind::kConflict);
  Result global_first = Compile(Policy(kObjects,
                                       "  accept tcp 80 from any to lb;\n"
                                       "  drop tcp 80 from any to lb in outside;\n",
                                       "accept"));
  const auto* g = At(global_first, 8);
  REQUIRE(g);
  CHECK(g->kind == Kind::kShadowed);
}

TEST_CASE("rules in different chains never cover each other", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 22 from any to fw;\n"
                            "  accept tcp 22 from any to lb;\n"));
  CHECK(r.ok);
  CHECK(r.c->findings().empty());
}

TEST_CASE("a dual-stack rule is shadowed only when both families are", "[analysis]") {
  Result half = Compile(Policy("host lb4 10.1.2.2;\nhost lb 10.1.2.2, 2001:db8:2::2;",
                               "  accept tcp 80 from any to lb4;\n"
                               "  drop tcp 80 from any to lb;\n",
                               "accept"));
  const auto* f = At(half, 9);
  REQUIRE(f);
  CHECK(f->kind == Kind::kConflict);  // its IPv6 half still decides
  Result both = Compile(Policy("host lb 10.1.2.2, 2001:db8:2::2;",
                               "  accept tcp 80 from any to lb;\n"
                               "  drop tcp 80 from any to lb;\n"));
  const auto* g = At(both, 8);
  REQUIRE(g);
  CHECK(g->kind == Kind::kShadowed);
}

TEST_CASE("a specific deny is redundant with a drop default", "[analysis]") {
  Result r = Compile(Policy(kObjects, "  drop tcp 23 from any to lb;\n"));
  const auto* f = At(r, 7);
  REQUIRE(f);
  CHECK(f->kind == Kind::kRedundant);
  CHECK(f->by_later);
  CHECK(f->by_default);
  const Diagnostic* d = r.Find("redundant-rule");
  REQUIRE(d);
  REQUIRE_FALSE(d->notes.empty());
  CHECK(d->notes.back().message.find("policy default") != std::string::npos);
  // ...but not with an accept default, and not when it logs.
  CHECK(Compile(Policy(kObjects, "  drop tcp 23 from any to lb;\n", "accept")).c->findings().empty());
  CHECK(Compile(Policy(kObjects, "  drop tcp 23 from any to lb log;\n")).c->findings().empty());
}

TEST_CASE("a rule is redundant when the rule after it decides the same", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 80 from 10.0.0.0/24 to lb;\n"
                            "  accept tcp 80 from any to lb;\n"));
  const auto* f = At(r, 7);
  REQUIRE(f);
  CHECK(f->kind == Kind::kRedundant);
  CHECK(f->by_later);
  CHECK(Lines(f->covering) == std::vector<int>{8});
  // A different verdict in between makes it matter.
  Result m = Compile(Policy(kObjects,
                            "  accept tcp 80 from 10.0.0.0/24 to lb;\n"
                            "  drop tcp 80 from 10.0.0.5 to lb;\n"
                            "  accept tcp 80 from any to lb;\n"));
  const auto* g = At(m, 7);
  CHECK((g == nullptr || g->kind != Kind::kRedundant));
}

TEST_CASE("the covering set is minimal", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  accept tcp 80 from 10.0.0.0/25 to lb;\n"
                            "  accept tcp 80 from 10.0.0.0/24 to lb;\n"
                            "  drop tcp 80 from 10.0.0.0/24 to lb;\n"));
  const auto* f = At(r, 9);
  REQUIRE(f);
  CHECK(Lines(f->covering) == std::vector<int>{8});
}

TEST_CASE("a rule matching nothing is reported as empty", "[analysis]") {
  Result r = Compile(Policy("host lb4 10.1.2.2;", "  accept from not 0.0.0.0/0 to lb4;\n"));
  const auto* f = At(r, 7);
  REQUIRE(f);
  CHECK(f->kind == Kind::kEmpty);
  CHECK(r.Find("empty-rule"));
}

TEST_CASE("findings can be silenced inline and controlled by -W flags", "[analysis]") {
  std::string p = Policy(kObjects, "  drop tcp 23 from any to lb nowarn redundant-rule;\n");
  CHECK_FALSE(Compile(p).Find("redundant-rule"));

  auto with_flags = [](const std::string& policy, std::vector<std::string> flags) {
    auto c = std::make_unique<Compilation>();
    std::string err;
    for (const auto& f : flags) REQUIRE(c->diags().control().Apply(f, &err));
    MemoryLoader loader;
    bool ok = c->Check("test.fw", policy, loader, {});
    return std::make_pair(ok, std::move(c));
  };
  std::string redundant = Policy(kObjects, "  drop tcp 23 from any to lb;\n");
  auto [ok1, c1] = with_flags(redundant, {"-Wno-redundant-rule"});
  CHECK(ok1);
  CHECK(c1->diags().all().empty());
  auto [ok2, c2] = with_flags(redundant, {"-Werror"});
  CHECK_FALSE(ok2);
  std::string shadowed = Policy(kObjects, "  accept tcp 80 from any to lb;\n  drop tcp 80 from any to lb;\n");
  auto [ok3, c3] = with_flags(shadowed, {"-Wno-error=shadowed-rule"});
  CHECK(ok3);
  REQUIRE(c3->diags().all().size() == 1);
  CHECK(c3->diags().all()[0].severity == Severity::kWarning);

  DiagnosticControl control;
  std::string err;
  CHECK_FALSE(control.Apply("-Wno-redundnat-rule", &err));
  CHECK(err.find("did you mean 'redundant-rule'") != std::string::npos);
  Result unknown = Compile(Policy(kObjects, "  drop tcp 23 from any to lb nowarn redundant;\n"));
  CHECK(unknown.Find("unknown-diagnostic"));
}

TEST_CASE("a conflict's example packet is one the earlier rule decides", "[analysis]") {
  Result r = Compile(Policy(kObjects,
                            "  drop tcp from 10.0.0.0/8 to lb in outside;\n"
                            "  accept tcp 80 from any to lb;\n"));
  const auto* f = At(r, 8);
  REQUIRE(f);
  REQUIRE(f->kind == Kind::kConflict);
  std::string text = f->example.substr(0, f->example.find(" ("));
  std::string err;
  auto packet = analysis::ParsePacket(text, &err);
  INFO(text << " " << err);
  REQUIRE(packet);
  auto q = analysis::Query(r.c->model(), r.c->placed(), *packet, &err);
  REQUIRE(q);
  REQUIRE(q->rule);
  CHECK(q->rule->loc.line == 7);
}

TEST_CASE("machine-readable diagnostics carry the same findings", "[analysis]") {
  Result r = Compile(Policy(kObjects, "  accept tcp 80 from any to lb;\n  drop tcp 80 from any to lb;\n"));
  std::string json = r.c->diags().RenderJson();
  CHECK(json.find("\"code\": \"shadowed-rule\"") != std::string::npos);
  CHECK(json.find("\"line\": 8") != std::string::npos);
  std::string sarif = r.c->diags().RenderSarif("test");
  CHECK(sarif.find("\"version\": \"2.1.0\"") != std::string::npos);
  CHECK(sarif.find("\"ruleId\": \"shadowed-rule\"") != std::string::npos);
  CHECK(sarif.find("\"relatedLocations\"") != std::string::npos);
  CHECK(sarif.find("\"startLine\": 7") != std::string::npos);
}

TEST_CASE("past its work budget the analysis stops and says so, without wrong findings", "[analysis]") {
  std::string rules;
  for (int i = 0; i < 40; ++i) rules += "  accept tcp " + std::to_string(100 + i) + " from any to lb;\n";
  rules += "  drop tcp 100-139 from any to lb;\n";
  std::string p = Policy(kObjects, rules);
  auto c = std::make_unique<Compilation>();
  c->set_analysis_budget(20);
  MemoryLoader loader;
  c->Check("test.fw", p, loader, {});
  CHECK(c->analysis_stats().stopped);
  bool warned = false;
  for (const auto& d : c->diags().all()) warned |= d.code == "analysis-incomplete";
  CHECK(warned);
  // Whatever it did find is what the unlimited analysis finds too.
  Result full = Compile(p);
  for (const auto& f : c->findings()) {
    bool same = false;
    for (const auto& g : full.c->findings()) same |= g.rule->loc.line == f.rule->loc.line && g.kind == f.kind;
    CHECK(same);
  }
  const auto* last = At(full, 47);
  REQUIRE(last);
  CHECK(last->kind == Kind::kShadowed);
  CHECK(last->covering.size() == 40);
}

TEST_CASE("rules over runtime sets: findings hold whatever the sets hold", "[analysis]") {
  // A rule over a runtime set is never empty, never a cover, and a later
  // one of another verdict keeps an earlier rule from being "redundant".
  Result r = Compile(Policy("set bl runtime;",
                            "  drop from bl to any;\n"
                            "  accept tcp 22 from any to fw;\n"
                            "  drop tcp 22 from bl to fw;\n"
                            "  accept tcp 22 from 10.0.0.0/8 to fw;\n"),
                     "nft");
  INFO(r.Rendered());
  REQUIRE(r.ok);
  CHECK_FALSE(r.Find("empty-rule"));
  CHECK_FALSE(At(r, 7));  // the runtime rules get no finding
  CHECK_FALSE(At(r, 9));
  // Line 10 is inside line 8 (same verdict, earlier): redundant whatever bl holds.
  const auto* f = At(r, 10);
  REQUIRE(f);
  CHECK(f->kind == Kind::kRedundant);
  CHECK_FALSE(f->by_later);

  // Default accept: "accept ssh" looks redundant by the default, but a
  // later drop over the runtime set may take its packets once it is gone.
  Result later = Compile(Policy("set bl runtime;",
                                "  accept tcp 22 from any to fw;\n"
                                "  drop from bl to any;\n",
                                "accept"),
                         "nft");
  INFO(later.Rendered());
  REQUIRE(later.ok);
  CHECK_FALSE(At(later, 7));
  // Without the runtime rule it is redundant: the check above is the set's doing.
  Result without = Compile(Policy("set bl runtime;", "  accept tcp 22 from any to fw;\n", "accept"), "nft");
  REQUIRE(At(without, 7));
  CHECK(At(without, 7)->by_later);
}

TEST_CASE("fwc query answers as if the runtime sets were empty, and names the rules that depend on them",
          "[analysis]") {
  Result r = Compile(Policy("set bl runtime;",
                            "  drop from bl to any;\n"
                            "  accept tcp 80 from not bl to any in outside;\n"));
  REQUIRE(r.ok);
  std::string err;
  auto p = analysis::ParsePacket("tcp 10.1.1.5:4000 -> 10.1.2.2:80", &err);
  REQUIRE(p);
  auto q = analysis::Query(r.c->model(), r.c->placed(), *p, &err);
  REQUIRE(q);
  CHECK(q->verdict == ast::Action::kAccept);
  REQUIRE(q->rule);
  CHECK(q->rule->loc.line == 8);
  REQUIRE(q->runtime_rules.size() == 2);
  CHECK(q->runtime_rules[0]->loc.line == 7);
  CHECK(q->runtime_rules[1]->loc.line == 8);
}
