#include <catch2/catch.hpp>
#include <optional>

#include "compiler/semantics/model_dump.h"
#include "compiler/syntax/ast_dump.h"
#include "compiler/syntax/parser.h"
#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

ast::Unit Parse(const std::string& text, MemoryLoader& loader, SourceManager& sm, Diagnostics& diags) {
  return ParsePolicy("main.fw", text, loader, sm, diags);
}

}  // namespace

TEST_CASE("the parser builds a typed AST of objects and rules", "[parser]") {
  MemoryLoader loader;
  SourceManager sm;
  Diagnostics diags(sm);
  ast::Unit u = Parse(std::string(kFirewall) +
                          "host lb 10.1.2.2, 2001:db8:2::2;\n"
                          "range r 10.0.0.1 - 10.0.0.9;\n"
                          "group g { lb, 10.9.0.0/16, 10.8.0.1 - 10.8.0.5 }\n"
                          "service web tcp { 80, 443 } sport 1024-65535, udp 53, icmp 3 code 4, proto 47;\n"
                          "policy p default reject {\n"
                          "  option stateful no;\n"
                          "  accept not { web, tcp 8080 } from not g to { lb, any } in outside out dmz "
                          "log prefix \"fwc \" rate 5/minute counter comment \"c\" disabled if not mgmt;\n"
                          "}\n",
                      loader, sm, diags);
  INFO(diags.Render());
  REQUIRE_FALSE(diags.has_errors());
  REQUIRE(u.firewalls.size() == 1);
  CHECK(u.firewalls[0].interfaces[1].device == "eth2");
  CHECK(u.firewalls[0].interfaces[1].addrs[1].text == "2001:db8:2::1/64");
  REQUIRE(u.objects.size() == 4);
  CHECK(u.objects[0].addrs.size() == 2);
  CHECK(u.objects[1].addrs[0].kind == ast::AddrItem::Kind::kRange);
  CHECK(u.objects[2].addrs.size() == 3);
  const auto& svc = u.objects[3].services;
  REQUIRE(svc.size() == 4);
  CHECK(svc[0].spec.dports.size() == 2);
  CHECK(svc[0].spec.sports[0].lo == 1024);
  CHECK(svc[0].spec.sports[0].hi == 65535);
  CHECK(svc[2].spec.kind == ast::SvcSpec::Kind::kIcmp);
  CHECK(svc[2].spec.icmp_type == "3");
  CHECK(*svc[2].spec.icmp_code == 4);
  CHECK(svc[3].spec.proto == "47");
  REQUIRE(u.policies.size() == 1);
  const ast::Policy& p = u.policies[0];
  CHECK(p.default_action == ast::Action::kReject);
  CHECK(p.options[0].name == "stateful");
  REQUIRE(p.rules.size() == 1);
  const ast::Rule& r = p.rules[0];
  CHECK(r.services.negated);
  CHECK(r.services.items.size() == 2);
  CHECK(r.src.negated);
  CHECK(r.dst.items.size() == 2);
  CHECK(r.in_iface == "outside");
  CHECK(r.out_iface == "dmz");
  CHECK(r.log.prefix == "fwc ");
  CHECK(r.log.rate == 5);
  CHECK(r.log.rate_unit == "minute");
  CHECK(r.counter);
  CHECK(r.comment == "c");
  CHECK(r.disabled);
  CHECK(r.condition == "mgmt");
  CHECK(r.condition_negated);
  CHECK(r.loc.line == 11);
  CHECK(r.loc.col == 3);
}

TEST_CASE("columns are 1-based and count characters, not bytes", "[parser]") {
  MemoryLoader loader;
  SourceManager sm;
  Diagnostics diags(sm);
  Parse("host é 1.2.3.4;\n", loader, sm, diags);  // 'é' is not an identifier character
  REQUIRE(diags.has_errors());
  CHECK(diags.all()[0].loc.line == 1);
  CHECK(diags.all()[0].loc.col == 6);
}

TEST_CASE("includes are resolved relative to the including file", "[parser]") {
  MemoryLoader loader;
  loader.files["dir/objects.fw"] = "host a 10.0.0.1;\ninclude \"more.fw\";\n";
  loader.files["dir/more.fw"] = "host b 10.0.0.2;\n";
  SourceManager sm;
  Diagnostics diags(sm);
  ast::Unit u = ParsePolicy("dir/main.fw", "include \"objects.fw\";\nhost c 10.0.0.3;\n", loader, sm, diags);
  INFO(diags.Render());
  CHECK_FALSE(diags.has_errors());
  REQUIRE(u.objects.size() == 3);
  CHECK(sm.path(u.objects[1].loc.file) == "dir/objects.fw");
  CHECK(sm.path(u.objects[2].loc.file) == "dir/more.fw");
}

TEST_CASE("a file included twice is read once, and the second include is recorded", "[parser]") {
  // A diamond: main includes a and b, both include common. Whether an
  // include is read is decided by canonical path, so `fwc apply` compares
  // the skipped ones too (apply/origin.h): they are the sources' repeats.
  MemoryLoader loader;
  loader.files["a.fw"] = "include \"common.fw\";\nhost a 10.0.0.1;\n";
  loader.files["b.fw"] = "include \"common.fw\";\nhost b 10.0.0.2;\n";
  loader.files["common.fw"] = "host c 10.0.0.3;\n";
  SourceManager sm;
  Diagnostics diags(sm);
  ast::Unit u = ParsePolicy("main.fw", "include \"a.fw\";\ninclude \"b.fw\";\n", loader, sm, diags);
  INFO(diags.Render());
  CHECK_FALSE(diags.has_errors());
  CHECK(u.objects.size() == 3);  // c once
  CHECK(sm.size() == 4);         // main, a, common, b
  CHECK(sm.repeats() == std::vector<std::string>{"common.fw"});
}

TEST_CASE("recursive includes are an error at the include", "[parser]") {
  MemoryLoader loader;
  loader.files["a.fw"] = "include \"b.fw\";\n";
  loader.files["b.fw"] = "host x 10.0.0.1;\ninclude \"a.fw\";\n";
  SourceManager sm;
  Diagnostics diags(sm);
  ParsePolicy("a.fw", loader.files["a.fw"], loader, sm, diags);
  REQUIRE(diags.error_count() == 1);
  CHECK(diags.all()[0].code == "recursive-include");
  CHECK(sm.path(diags.all()[0].loc.file) == "b.fw");
  CHECK(diags.all()[0].loc.line == 2);
  CHECK(diags.all()[0].loc.col == 9);
}

TEST_CASE("a syntax error in an included file names that file", "[parser]") {
  MemoryLoader loader;
  loader.files["inc.fw"] = "host x 10.0.0.1\n";
  Result r = Compile(Policy("include \"inc.fw\";", ""), "nft", {}, &loader);
  REQUIRE_FALSE(r.ok);
  const Diagnostic* d = r.Find("syntax-error");
  REQUIRE(d);
  CHECK(r.c->sources().path(d->loc.file) == "inc.fw");
}

TEST_CASE("the AST dump is policy text that parses back to the same AST", "[parser]") {
  FileSystemLoader disk;
  std::string err;
  std::string path = std::string(FWC_SOURCE_DIR) + "/tests/golden/features.fw";
  auto text = disk.Read(path, &err);
  REQUIRE(text);
  Compilation first;
  first.set_keep_ast(true);
  REQUIRE(first.Check(path, *text, disk, {}));
  std::string dump1 = DumpAst(first.unit());
  MemoryLoader none;
  Compilation second;
  second.set_keep_ast(true);
  INFO(dump1);
  REQUIRE(second.Check("features.fw", dump1, none, {}));
  CHECK(DumpAst(second.unit()) == dump1);
  // Same policy, same rules: only line numbers (in comments and negation
  // chain names) differ.
  auto strip = [](std::string s) {
    for (const char* tag : {".fw:", "neg_"})
      for (size_t p = 0; (p = s.find(tag, p)) != std::string::npos; ++p) {
        size_t e = p + 4;
        // "12", or a merged rule's "12-15"
        while (e < s.size() && (std::isdigit(static_cast<unsigned char>(s[e])) || s[e] == '-')) ++e;
        s.erase(p + 4, e - p - 4);
      }
    return s;
  };
  auto nft = MakeBackend("nft");
  std::string a = strip(nft->Emit(first.Lower(nft->caps())));
  std::string b = strip(nft->Emit(second.Lower(nft->caps())));
  size_t body_a = a.find("table inet fwc {\n\t"), body_b = b.find("table inet fwc {\n\t");
  CHECK(a.substr(body_a) == b.substr(body_b));
}

TEST_CASE("sizes as a person writes them", "[parser]") {
  struct Row {
    const char* text;
    std::optional<size_t> bytes;
  };
  const Row rows[] = {
      {"1048576", size_t{1} << 20}, {"100K", 100 << 10},        {"16M", size_t{16} << 20},
      {"16MiB", size_t{16} << 20},  {"16mb", size_t{16} << 20}, {"1G", size_t{1} << 30},
      {"2gib", size_t{2} << 30},    {"7b", 7},                  {"0", std::nullopt},
      {"", std::nullopt},           {"M", std::nullopt},        {"16 M", std::nullopt},
      {"-1M", std::nullopt},        {"1T", std::nullopt},       {"1.5G", std::nullopt},
      {"99999999999999999999", std::nullopt},                   {"4294967297G", std::nullopt},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    CHECK(ParseByteSize(row.text) == row.bytes);
  }
  CHECK(FormatByteSize(size_t{256} << 20) == "256 MiB");
  CHECK(FormatByteSize(size_t{1} << 30) == "1 GiB");
  CHECK(FormatByteSize(1536 << 10) == "1536 KiB");
  CHECK(FormatByteSize(1000) == "1000 bytes");
  CHECK(FormatByteSize(FileSystemLoader::kMaxPolicyBytes) == "256 MiB");
}

TEST_CASE("a file larger than the loader's limit is refused, saying how to raise it", "[parser]") {
  std::string path = std::string(FWC_SOURCE_DIR) + "/policies/crm.fw";
  std::string err;
  FileSystemLoader small(1024);
  CHECK_FALSE(small.Read(path, &err));
  CHECK(err == "the file is larger than 1 KiB, the limit on a policy file (--max-policy-size raises it)");
  FileSystemLoader roomy(1 << 20);
  CHECK(roomy.Read(path, &err));
}
