#include "compiler/syntax/ast_dump.h"

#include <sstream>

namespace fwc {
namespace {

std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string AddrItem(const ast::AddrItem& a) {
  switch (a.kind) {
    case ast::AddrItem::Kind::kAny: return "any";
    case ast::AddrItem::Kind::kRange: return a.text + " - " + a.text2;
    default: return a.text;
  }
}

std::string Ports(const std::vector<ast::PortRange>& ports) {
  std::vector<std::string> out;
  for (const auto& p : ports) out.push_back(std::to_string(p.lo) + (p.hi != p.lo ? "-" + std::to_string(p.hi) : ""));
  return out.size() == 1 ? out[0] : "{ " + Join(out) + " }";
}

std::string Spec(const ast::SvcSpec& s) {
  switch (s.kind) {
    case ast::SvcSpec::Kind::kTcp:
    case ast::SvcSpec::Kind::kUdp: {
      std::string out = s.kind == ast::SvcSpec::Kind::kTcp ? "tcp" : "udp";
      if (!s.dports.empty()) out += " " + Ports(s.dports);
      if (!s.sports.empty()) out += " sport " + Ports(s.sports);
      return out;
    }
    case ast::SvcSpec::Kind::kIcmp:
    case ast::SvcSpec::Kind::kIcmpv6: {
      std::string out = s.kind == ast::SvcSpec::Kind::kIcmp ? "icmp" : "icmpv6";
      if (!s.icmp_type.empty()) out += " " + s.icmp_type;
      if (s.icmp_code) out += " code " + std::to_string(*s.icmp_code);
      return out;
    }
    case ast::SvcSpec::Kind::kProto: return "proto " + s.proto;
  }
  return "";
}

std::string SvcItem(const ast::SvcItem& s) {
  return s.kind == ast::SvcItem::Kind::kAny ? "any" : s.kind == ast::SvcItem::Kind::kName ? s.name : Spec(s.spec);
}

template <typename T, typename F>
std::string Slot(bool negated, const std::vector<T>& items, F print) {
  std::vector<std::string> v;
  for (const auto& i : items) v.push_back(print(i));
  std::string body = v.size() == 1 ? v[0] : "{ " + Join(v) + " }";
  return (negated ? "not " : "") + body;
}

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

std::string Port(const ast::PortRange& p) { return " port " + Ports({p}); }

// What a nat or marks rule does, as written.
std::string TranslationText(const ast::Translation& t) {
  using K = ast::Translation::Kind;
  std::string port = t.port ? Port(*t.port) : "";
  switch (t.kind) {
    case K::kSnat: return "snat to " + AddrItem(t.to) + port;
    case K::kDnat: return "dnat to " + AddrItem(t.to) + port;
    case K::kMasquerade: return "masquerade" + port;
    case K::kRedirect: return "redirect to" + port;
    case K::kNoNat: return "no nat";
    case K::kMark: return "mark " + t.mark;
    case K::kConnmark: return "connmark " + t.mark;
  }
  return "";
}

void DumpRule(std::ostringstream& o, const ast::Rule& r, const char* indent) {
  o << indent << (r.translation ? TranslationText(*r.translation) : ast::ActionName(r.action));
  if (!r.services.items.empty()) o << " " << Slot(r.services.negated, r.services.items, SvcItem);
  o << " from " << Slot(r.src.negated, r.src.items, AddrItem) << " to " << Slot(r.dst.negated, r.dst.items, AddrItem);
  if (!r.in_iface.empty()) o << " in " << r.in_iface;
  if (!r.out_iface.empty()) o << " out " << r.out_iface;
  if (const ast::RuleMatches* m = r.matches.get()) {
    if (!m->mark.empty()) o << " mark " << m->mark;
    if (!m->connmark.empty()) o << " connmark " << m->connmark;
    if (!m->states.empty()) {
      o << " state ";
      for (size_t i = 0; i < m->states.size(); ++i) o << (i ? "," : "") << m->states[i].first;
    }
    if (m->limit_rate) o << " limit " << m->limit_rate << "/" << m->limit_unit;
    if (m->connlimit) o << " connlimit " << *m->connlimit;
  }
  if (r.log.enabled) {
    o << " log";
    if (!r.log.prefix.empty()) o << " prefix " << Quoted(r.log.prefix);
    if (r.log.rate) o << " rate " << r.log.rate << "/" << r.log.rate_unit;
  }
  if (r.counter) o << " counter";
  if (!r.comment.empty()) o << " comment " << Quoted(r.comment);
  if (r.disabled) o << " disabled";
  if (!r.condition.empty()) o << " if " << (r.condition_negated ? "not " : "") << r.condition;
  o << ";\n";
}

}  // namespace

std::string DumpAst(const ast::Unit& u) {
  std::ostringstream o;
  auto firewall = [&o](const ast::Firewall& fw, const std::string& indent) {
    o << indent << "firewall " << fw.name << " {\n";
    for (const auto& i : fw.interfaces) {
      std::vector<std::string> a;
      for (const auto& x : i.addrs) a.push_back(x.text);
      o << indent << "    interface " << i.name << " " << i.device << (a.empty() ? "" : " " + Join(a)) << ";\n";
    }
    o << indent << "}\n";
  };
  for (const auto& fw : u.firewalls)
    if (fw.cluster < 0) firewall(fw, "");
  for (size_t c = 0; c < u.clusters.size(); ++c) {
    const ast::Cluster& cl = u.clusters[c];
    o << "cluster " << cl.name << " {\n";
    for (const auto& fw : u.firewalls)
      if (fw.cluster == static_cast<int>(c)) firewall(fw, "    ");
    for (const auto& a : cl.addresses) {
      std::vector<std::string> items;
      for (const auto& x : a.addrs) items.push_back(AddrItem(x));
      o << "    interface " << a.iface << " " << Join(items) << ";\n";
    }
    if (!cl.protocols.empty()) {
      std::vector<std::string> p;
      for (const auto& x : cl.protocols) p.push_back(x.first);
      o << "    protocols " << Join(p) << ";\n";
    }
    o << "}\n";
  }
  for (const auto& d : u.objects) {
    switch (d.kind) {
      case ast::ObjectDecl::Kind::kHost:
      case ast::ObjectDecl::Kind::kNetwork:
      case ast::ObjectDecl::Kind::kRange: {
        std::vector<std::string> a;
        for (const auto& x : d.addrs) a.push_back(AddrItem(x));
        const char* kw = d.kind == ast::ObjectDecl::Kind::kHost      ? "host"
                         : d.kind == ast::ObjectDecl::Kind::kNetwork ? "network"
                                                                     : "range";
        o << kw << " " << d.name << " " << Join(a) << ";\n";
        break;
      }
      case ast::ObjectDecl::Kind::kGroup: {
        std::vector<std::string> m;
        for (const auto& x : d.addrs) m.push_back(AddrItem(x));
        for (const auto& x : d.services) m.push_back(SvcItem(x));
        o << "group " << d.name << " { " << Join(m) << " }\n";
        break;
      }
      case ast::ObjectDecl::Kind::kService: {
        std::vector<std::string> m;
        for (const auto& x : d.services) m.push_back(SvcItem(x));
        o << "service " << d.name << " " << Join(m) << ";\n";
        break;
      }
    }
  }
  for (const auto& r : u.runtime_sets)
    o << "set " << r.name << " runtime" << (r.family.empty() ? "" : " " + r.family) << ";\n";
  for (const auto& m : u.marks) o << "mark " << m.name << " " << m.text << ";\n";
  for (const auto& h : u.helpers) o << "helper " << h.kind << " " << Spec(h.service) << ";\n";
  for (const auto& p : u.policies) {
    o << "policy " << p.name << " default " << ast::ActionName(p.default_action) << " {\n";
    for (const auto& opt : p.options) o << "    option " << opt.name << " " << opt.value << ";\n";
    if (p.has_nat) {
      o << "    nat {\n";
      for (const auto& r : p.nat) DumpRule(o, r, "        ");
      o << "    }\n";
    }
    if (p.has_marks) {
      o << "    marks {\n";
      for (const auto& r : p.marks) DumpRule(o, r, "        ");
      o << "    }\n";
    }
    for (const auto& r : p.rules) DumpRule(o, r, "    ");
    o << "}\n";
  }
  for (const auto& e : u.expectations) {
    o << "expect ";
    DumpRule(o, e, "");
  }
  return o.str();
}

}  // namespace fwc
