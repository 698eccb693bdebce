// The differential check of the two parsers (compiler/direct_parser.h and
// the ANTLR one in compiler/parser.cc), shared by the unit test
// tests/unit/direct_parser_test.cc and the fuzz harness parser_fuzzer.cc.
//
// For one input it checks that
//  - the direct parser accepts the main file exactly when ANTLR reports no
//    syntax error in it, and
//  - ParsePolicy gives the same AST (every field and Loc, see ExactAst) and
//    the same diagnostics whichever parser goes first, includes and all.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/syntax/ast.h"
#include "compiler/base/diagnostics.h"
#include "compiler/syntax/direct_parser.h"
#include "compiler/syntax/parser.h"

namespace fwc::test {

namespace exact {

inline std::string Str(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

inline std::string At(const Loc& l) {
  return "@" + std::to_string(l.file) + ":" + std::to_string(l.line) + ":" + std::to_string(l.col) + "+" +
         std::to_string(l.len);
}

inline std::string Addr(const ast::AddrItem& a) {
  return "addr " + std::to_string(static_cast<int>(a.kind)) + " " + Str(a.text) + At(a.loc) + " " +
         Str(a.text2) + At(a.loc2);
}

inline std::string Ports(const std::vector<ast::PortRange>& ports) {
  std::string out = "[";
  for (const auto& p : ports)
    out += " " + std::to_string(p.lo) + "-" + std::to_string(p.hi) + Str(p.text) + At(p.loc);
  return out + " ]";
}

inline std::string Svc(const ast::SvcItem& s) {
  const ast::SvcSpec& p = s.spec;
  return "svc " + std::to_string(static_cast<int>(s.kind)) + " " + Str(s.name) + At(s.loc) + " spec " +
         std::to_string(static_cast<int>(p.kind)) + At(p.loc) + " dports" + Ports(p.dports) + " sports" +
         Ports(p.sports) + " type " + Str(p.icmp_type) + At(p.icmp_type_loc) + " code " +
         (p.icmp_code ? std::to_string(*p.icmp_code) : "-") + At(p.icmp_code_loc) + " proto " + Str(p.proto) +
         At(p.proto_loc);
}

inline std::string Rule(const ast::Rule& r) {
  std::string out = "  rule " + std::string(ast::ActionName(r.action)) + At(r.loc) + " span" + At(r.span) + "\n";
  out += "    services " + std::to_string(r.services.negated) + At(r.services.loc) + "\n";
  for (const auto& i : r.services.items) out += "      " + Svc(i) + "\n";
  for (const ast::AddrSet* s : {&r.src, &r.dst}) {
    out += "    addrs " + std::to_string(s->negated) + At(s->loc) + "\n";
    for (const auto& i : s->items) out += "      " + Addr(i) + "\n";
  }
  out += "    in " + Str(r.in_iface) + At(r.in_loc) + " out " + Str(r.out_iface) + At(r.out_loc) + "\n";
  out += "    log " + std::to_string(r.log.enabled) + " " + Str(r.log.prefix) + At(r.log.prefix_loc) + " " +
         std::to_string(r.log.rate) + "/" + Str(r.log.rate_unit) + At(r.log.rate_loc) + "\n";
  out += "    counter " + std::to_string(r.counter) + " comment " + Str(r.comment) + " disabled " +
         std::to_string(r.disabled) + " if " + std::to_string(r.condition_negated) + Str(r.condition) +
         At(r.condition_loc) + "\n";
  for (const auto& [code, loc] : r.nowarn) out += "    nowarn " + Str(code) + At(loc) + "\n";
  return out;
}

}  // namespace exact

// Every node, string and Loc of an AST, one item a line: two ASTs are equal
// when their ExactAst texts are.
inline std::string ExactAst(const ast::Unit& u) {
  using namespace exact;
  std::string out;
  for (const auto& fw : u.firewalls) {
    out += "firewall " + Str(fw.name) + At(fw.loc) + "\n";
    for (const auto& i : fw.interfaces) {
      out += "  interface " + Str(i.name) + At(i.loc) + " " + Str(i.device) + At(i.device_loc) + "\n";
      for (const auto& a : i.addrs) out += "    " + Addr(a) + "\n";
    }
  }
  for (const auto& d : u.objects) {
    out += "object " + std::to_string(static_cast<int>(d.kind)) + " " + Str(d.name) + At(d.loc) + "\n";
    for (const auto& a : d.addrs) out += "  " + Addr(a) + "\n";
    for (const auto& s : d.services) out += "  " + Svc(s) + "\n";
  }
  for (const auto& r : u.runtime_sets)
    out += "set " + Str(r.name) + At(r.loc) + " runtime " + Str(r.family) + At(r.family_loc) + "\n";
  for (const auto& p : u.policies) {
    out += "policy " + Str(p.name) + At(p.loc) + " default " + ast::ActionName(p.default_action) + "\n";
    for (const auto& o : p.options)
      out += "  option " + Str(o.name) + At(o.loc) + " " + Str(o.value) + At(o.value_loc) + "\n";
    for (const auto& r : p.rules) out += Rule(r);
  }
  return out;
}

// Every diagnostic with all its fields, one a line.
inline std::string ExactDiagnostics(const Diagnostics& diags) {
  using namespace exact;
  std::string out;
  for (const auto& d : diags.all()) {
    out += std::to_string(static_cast<int>(d.severity)) + " " + d.code + At(d.loc) + " " + Str(d.message) + " " +
           Str(d.help) + "\n";
    for (const auto& n : d.notes) out += "  note" + At(n.loc) + " " + Str(n.message) + "\n";
  }
  return out;
}

struct Agreement {
  bool agree = true;
  std::string why;     // what differs, with both sides
  bool direct = false;  // the direct parser accepted the main file
};

// Compares the parsers on one input: text is the main file, at path; each
// loader (two, as loaders may keep state) serves the files it includes.
inline Agreement CompareParsers(const std::string& text, SourceLoader& antlr_loader, SourceLoader& direct_loader,
                                const std::string& path = "main.fw") {
  Agreement result;
  SourceManager antlr_sources;
  Diagnostics antlr_diags(antlr_sources);
  ast::Unit antlr_unit =
      ParsePolicy(path, text, antlr_loader, antlr_sources, antlr_diags, ParserChoice::kAntlrOnly);
  SourceManager direct_sources;
  Diagnostics direct_diags(direct_sources);
  ast::Unit direct_unit =
      ParsePolicy(path, text, direct_loader, direct_sources, direct_diags, ParserChoice::kDirectFirst);

  bool valid = true, antlr_accepts = true;
  for (const auto& d : antlr_diags.all()) {
    valid &= !(d.code == "invalid-encoding" && d.loc.file == 0);
    antlr_accepts &= !(d.code == "syntax-error" && d.loc.file == 0);
  }
  if (valid) {
    ast::Unit alone;
    std::vector<IncludeRef> includes;
    // ParseDirect wants a Loc file index; 0 is the main file's.
    result.direct = ParseDirect(0, antlr_sources.text(0), alone, includes);
    if (result.direct != antlr_accepts) {
      result.agree = false;
      result.why = std::string("the direct parser ") + (result.direct ? "accepts" : "rejects") +
                   " the main file, ANTLR " + (antlr_accepts ? "accepts it" : "reports:\n") +
                   ExactDiagnostics(antlr_diags);
      return result;
    }
  }
  std::string a = ExactAst(antlr_unit), b = ExactAst(direct_unit);
  if (a != b) {
    result.agree = false;
    result.why = "the ASTs differ\n--- ANTLR\n" + a + "--- direct first\n" + b;
    return result;
  }
  a = ExactDiagnostics(antlr_diags);
  b = ExactDiagnostics(direct_diags);
  if (a != b || antlr_diags.Render() != direct_diags.Render()) {
    result.agree = false;
    result.why = "the diagnostics differ\n--- ANTLR\n" + a + "--- direct first\n" + b;
    return result;
  }
  if (antlr_sources.size() != direct_sources.size()) {
    result.agree = false;
    result.why = "different files were read: " + std::to_string(antlr_sources.size()) + " vs " +
                 std::to_string(direct_sources.size());
  }
  return result;
}

}  // namespace fwc::test
