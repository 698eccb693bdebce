#include "import/policy_draft.h"

#include <algorithm>
#include <sstream>

#include "compiler/base/utf8.h"
#include "compiler/syntax/lexer.h"

namespace fwc::import {

namespace {

// Valid UTF-8 with every control character (and DEL) replaced by a space:
// what reaches a comment or a string of the policy can never end it early.
std::string Printable(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      out += '?';
      ++i;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (n == 1 && (c < 0x20 || c == 0x7f)) out += ' ';
    else out.append(text, i, n);
    i += n;
  }
  return out;
}

std::string List(const std::vector<std::string>& items, bool negated) {
  std::string out = negated ? "not " : "";
  if (items.empty()) return out + "any";
  if (items.size() == 1) return out + items[0];
  out += "{ ";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + " }";
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

void WriteRule(std::ostream& out, const DraftRule& r, const char* indent) {
  if (!r.trace.empty()) out << indent << "# " << CommentLine(r.trace) << "\n";
  out << indent << r.action;
  if (!r.services.empty() || r.not_services) out << " " << List(r.services, r.not_services);
  out << " from " << List(r.from, r.not_from) << " to " << List(r.to, r.not_to);
  if (!r.in.empty()) out << " in " << r.in;
  if (!r.out.empty()) out << " out " << r.out;
  if (!r.states.empty()) out << " state " << Join(r.states, ",");
  if (!r.limit.empty()) out << " limit " << r.limit;
  if (r.log) {
    out << " log";
    if (!r.log_prefix.empty()) out << " prefix " << Quote(r.log_prefix);
  }
  if (!r.comment.empty()) out << " comment " << Quote(r.comment);
  if (r.disabled) out << " disabled";
  out << ";\n";
}

void WriteGaps(std::ostream& out, const PolicyDraft& d, bool nat, size_t before, const char* indent) {
  for (const auto& g : d.gaps)
    if (g.nat == nat && g.before == before) out << indent << "# INCOMPLETE: " << CommentLine(g.text) << "\n";
}

const char* KindWord(DraftObject::Kind k) {
  switch (k) {
    case DraftObject::Kind::kHost: return "host";
    case DraftObject::Kind::kNetwork: return "network";
    case DraftObject::Kind::kRange: return "range";
    case DraftObject::Kind::kGroup: return "group";
    case DraftObject::Kind::kService: return "service";
  }
  return "host";
}

}  // namespace

std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : Printable(text)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string CommentLine(const std::string& text) { return Printable(text); }

bool IsReservedWord(const std::string& word) { return syntax::KeywordType(word) != syntax::Tok::kId; }

std::string NameTable::Take(const std::string& key, const std::string& wanted) {
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return it->second;
  std::string name;
  for (char c : wanted) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (ok) name += c;
    else if (!name.empty() && name.back() != '-') name += '-';
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty()) name = "obj";
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') || name[0] == '_'))
    name = "n" + name;
  if (name.size() > 64) name.resize(64);
  if (IsReservedWord(name)) name += "-obj";
  std::string unique = name;
  for (int n = 2; used_.count(unique); ++n) unique = name + "-" + std::to_string(n);
  used_.insert(unique);
  by_key_.emplace(key, unique);
  return unique;
}

std::string WritePolicy(const PolicyDraft& d) {
  std::ostringstream out;
  out << "# Imported by fwc import from " << CommentLine(d.source) << ".\n";
  for (const auto& n : d.header_notes) out << "# " << CommentLine(n) << "\n";
  size_t incomplete = d.gaps.size();
  if (incomplete)
    out << "# INCOMPLETE: " << incomplete << (incomplete == 1 ? " part" : " parts")
        << " of the source could not be imported; see the INCOMPLETE lines below.\n";
  out << "\nfirewall " << d.firewall_name << " {\n";
  for (const auto& i : d.interfaces) {
    out << "    interface " << i.logical << " " << i.device;
    if (!i.addresses.empty()) out << " " << Join(i.addresses, ", ");
    out << ";";
    if (!i.comment.empty()) out << "  # " << CommentLine(i.comment);
    out << "\n";
  }
  out << "}\n";
  if (!d.objects.empty()) out << "\n";
  for (const auto& o : d.objects) {
    out << KindWord(o.kind) << " " << o.name;
    if (o.kind == DraftObject::Kind::kGroup) out << " { " << Join(o.items, ", ") << " }";
    else out << " " << Join(o.items, ", ") << ";";
    if (!o.comment.empty()) out << "  # " << CommentLine(o.comment);
    out << "\n";
  }
  out << "\npolicy " << d.policy_name << " default " << d.default_action << " {\n";
  for (const auto& [name, value] : d.options) out << "    option " << name << " " << value << ";\n";
  if (!d.nat_rules.empty() || std::any_of(d.gaps.begin(), d.gaps.end(), [](const auto& g) { return g.nat; })) {
    out << "    nat {\n";
    for (size_t i = 0; i < d.nat_rules.size(); ++i) {
      WriteGaps(out, d, true, i, "        ");
      WriteRule(out, d.nat_rules[i], "        ");
    }
    WriteGaps(out, d, true, d.nat_rules.size(), "        ");
    out << "    }\n";
  }
  for (size_t i = 0; i < d.rules.size(); ++i) {
    WriteGaps(out, d, false, i, "    ");
    WriteRule(out, d.rules[i], "    ");
  }
  WriteGaps(out, d, false, d.rules.size(), "    ");
  out << "}\n";
  return out.str();
}

}  // namespace fwc::import
