// The differential check of fwc's parser (compiler/syntax/policy_parser.h)
// against the reference parser generated from the grammar
// (compiler/syntax/reference_parser.h), shared by the unit test
// tests/unit/syntax_test.cc and the fuzz harness parser_fuzzer.cc.
//
// For one file's text it checks that
//  - both lexers read the same tokens (type, line, column, text),
//  - fwc's parser accepts the text exactly when the grammar does, and
//  - when they accept it, both build the same AST (every field and Loc, see
//    ExactAst) and the same include statements.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/syntax/ast.h"
#include "compiler/base/diagnostics.h"
#include "compiler/base/utf8.h"
#include "compiler/syntax/policy_parser.h"
#include "compiler/syntax/reference_parser.h"

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
  if (const ast::Translation* t = r.translation.get()) {
    out += "    translation " + std::to_string(static_cast<int>(t->kind)) + At(t->loc) + " to " +
           std::to_string(t->has_to) + " " + Addr(t->to) + " mark " + Str(t->mark) + At(t->mark_loc) + " port";
    out += t->port ? Ports({*t->port}) : std::string(" -");
    out += "\n";
  }
  if (const ast::RuleMatches* m = r.matches.get()) {
    out += "    matches mark " + Str(m->mark) + At(m->mark_loc) + " connmark " + Str(m->connmark) +
           At(m->connmark_loc) + " limit " + std::to_string(m->limit_rate) + "/" + Str(m->limit_unit) +
           At(m->limit_loc) + " connlimit " + (m->connlimit ? std::to_string(*m->connlimit) : "-") +
           At(m->connlimit_loc) + " states";
    for (const auto& [name, loc] : m->states) out += " " + Str(name) + At(loc);
    out += "\n";
  }
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
    out += " nat " + std::to_string(p.has_nat) + "\n";
    for (const auto& r : p.nat) out += Rule(r);
    out += " marks " + std::to_string(p.has_marks) + "\n";
    for (const auto& r : p.marks) out += Rule(r);
  }
  for (const auto& h : u.helpers) {
    ast::SvcItem item;
    item.kind = ast::SvcItem::Kind::kSpec;
    item.spec = h.service;
    out += "helper " + Str(h.kind) + At(h.loc) + " " + Svc(item) + "\n";
  }
  for (const auto& m : u.marks)
    out += "mark " + Str(m.name) + At(m.loc) + " " + std::to_string(m.value) + Str(m.text) + At(m.value_loc) + "\n";
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
  std::string why;      // what differs, with both sides
  bool direct = false;  // fwc's parser accepted the text
  bool valid = true;    // the text is UTF-8 (else neither parser reads it)
};

inline bool ValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = s[i] == 0 ? 0 : Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Compares the parsers on one file's text.
inline Agreement CompareParsers(const std::string& text) {
  Agreement result;
  if (!ValidUtf8(text)) {
    result.valid = false;
    return result;
  }
  std::vector<syntax::reference::Token> ref_tokens = syntax::reference::Tokens(text);
  std::vector<syntax::reference::Token> tokens = syntax::reference::DirectTokens(text);
  for (size_t i = 0; i < std::max(ref_tokens.size(), tokens.size()); ++i) {
    bool same = i < ref_tokens.size() && i < tokens.size() && ref_tokens[i].type == tokens[i].type &&
                ref_tokens[i].line == tokens[i].line && ref_tokens[i].col == tokens[i].col &&
                ref_tokens[i].text == tokens[i].text;
    if (same) continue;
    auto show = [](const std::vector<syntax::reference::Token>& v, size_t k) {
      return k >= v.size() ? std::string("(none)")
                           : std::to_string(v[k].type) + " " + exact::Str(v[k].text) + " at " +
                                 std::to_string(v[k].line) + ":" + std::to_string(v[k].col);
    };
    result.agree = false;
    result.why = "token " + std::to_string(i) + " differs: ANTLR " + show(ref_tokens, i) + ", fwc " + show(tokens, i);
    return result;
  }
  syntax::reference::Result ref = syntax::reference::ParseFile(0, text);
  ast::Unit unit;
  std::vector<syntax::IncludeRef> includes;
  result.direct = syntax::ParseFile(0, text, unit, includes, nullptr);
  if (result.direct != ref.accepted) {
    result.agree = false;
    result.why = std::string("fwc's parser ") + (result.direct ? "accepts" : "rejects") + " the text, the grammar " +
                 (ref.accepted ? "accepts it" : "rejects it");
    return result;
  }
  if (!result.direct) return result;
  std::string a = ExactAst(ref.unit), b = ExactAst(unit);
  for (const auto& i : ref.includes) a += "include " + exact::Str(i.path) + exact::At(i.loc) + "\n";
  for (const auto& i : includes) b += "include " + exact::Str(i.path) + exact::At(i.loc) + "\n";
  if (a != b) {
    result.agree = false;
    result.why = "the ASTs differ\n--- the grammar's\n" + a + "--- fwc's\n" + b;
  }
  return result;
}

}  // namespace fwc::test
