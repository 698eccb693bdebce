#include "import/fwb_script.h"

#include <map>
#include <vector>

#include "import/iptables_save.h"

namespace fwc::import {

namespace {

// The words of an echo command as echo prints them: double quotes undo
// \" \\ \$ \` (the shell's escapes there), single quotes nothing.
bool EchoText(const std::string& args, std::string* out) {
  std::string text, word;
  bool in_word = false;
  for (size_t i = 0; i < args.size(); ++i) {
    char c = args[i];
    if (c == '"') {
      in_word = true;
      for (++i; i < args.size() && args[i] != '"'; ++i) {
        if (args[i] == '\\' && i + 1 < args.size() && std::string("\"\\$`").find(args[i + 1]) != std::string::npos) ++i;
        else if (args[i] == '$' || args[i] == '`') return false;  // an expansion: not a literal line
        word += args[i];
      }
      if (i >= args.size()) return false;
    } else if (c == '\'') {
      in_word = true;
      size_t end = args.find('\'', i + 1);
      if (end == std::string::npos) return false;
      word += args.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == ' ' || c == '\t') {
      if (in_word) text += (text.empty() ? "" : " ") + word;
      word.clear();
      in_word = false;
    } else if (c == '$' || c == '`' || c == ';' || c == '|' || c == '&' || c == '>' || c == '<') {
      return false;
    } else {
      if (c == '\\' && i + 1 < args.size()) c = args[++i];
      word += c;
      in_word = true;
    }
  }
  if (in_word) text += (text.empty() ? "" : " ") + word;
  *out = text;
  return true;
}

// fwb_ipt's default script runs one iptables command per rule in its
// script_body (with the chains' policies set by reset_iptables_v4/v6):
// each becomes the line of iptables-save input it stands for, at the
// script's own line, so that locations stay the script's.
bool ReadCommandScript(const std::vector<std::string>& lines, int file, SourceRuleset& out, ImportReporter& report) {
  struct Part {
    std::vector<std::string> lines;
    std::map<std::string, std::string> policies;  // filter chain -> policy
    bool used = false;
  };
  std::map<std::pair<int, std::string>, Part> parts;  // (family, table)
  std::map<std::string, std::string> policies[2];
  bool in_body = false, in_reset = false;
  int reset_family = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    size_t first = l.find_first_not_of(" \t");
    std::string t = first == std::string::npos ? "" : l.substr(first);
    if (t.rfind("script_body()", 0) == 0) in_body = true;
    if (t.rfind("reset_iptables_v4()", 0) == 0) in_reset = true, reset_family = 0;
    if (t.rfind("reset_iptables_v6()", 0) == 0) in_reset = true, reset_family = 1;
    if (t == "}") in_body = in_reset = false;
    int fam = t.rfind("$IPTABLES ", 0) == 0 ? 0 : t.rfind("$IP6TABLES ", 0) == 0 ? 1 : -1;
    if (fam < 0 || !(in_body || in_reset)) continue;
    std::string args;
    if (!EchoText(t.substr(t.find(' ') + 1), &args)) {
      if (in_reset) continue;  // its loops over the tables: only the -P lines matter
      report.Malformed(Loc{file, static_cast<int>(i) + 1, static_cast<int>(first) + 1, static_cast<int>(t.size())},
                       "this iptables command of fwb_ipt's script is not a literal one");
      return false;
    }
    std::vector<std::string> w;
    for (size_t b = 0; b < args.size();) {
      size_t e = args.find(' ', b);
      if (e == std::string::npos) e = args.size();
      if (e > b) w.push_back(args.substr(b, e - b));
      b = e + 1;
    }
    std::string table = "filter";
    std::vector<std::string> rest;
    for (size_t k = 0; k < w.size(); ++k) {
      if (w[k] == "-w") continue;
      if (w[k] == "-t" && k + 1 < w.size()) {
        table = w[++k];
        continue;
      }
      rest.push_back(w[k]);
    }
    if (rest.empty()) continue;
    if (in_reset) {
      if (rest[0] == "-P" && rest.size() == 3) policies[reset_family][rest[1]] = rest[2];
      continue;
    }
    Part& part = parts[{fam, table}];
    if (part.lines.empty()) part.lines.assign(lines.size() + 1, "");
    part.used = true;
    std::string line;
    if (rest[0] == "-N" && rest.size() == 2) line = ":" + rest[1] + " - [0:0]";
    else if (rest[0] == "-P" && rest.size() == 3) part.policies[rest[1]] = rest[2];
    else
      for (const auto& x : rest) {
        // Back into iptables-save's quoting, so the reader splits it alike.
        bool quote = x.find_first_of(" \"\\") != std::string::npos || x.empty();
        std::string q;
        for (char c : x) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
        line += (line.empty() ? "" : " ") + (quote ? "\"" + q + "\"" : q);
      }
    part.lines[i] = line;
  }
  if (parts.empty()) {
    report.Malformed(Loc{file, 1, 1, 1}, "no iptables commands nor iptables-restore input in this script: is it one "
                                         "fwb_ipt compiled?");
    return false;
  }
  bool ok = true;
  for (auto& [key, part] : parts) {
    auto [fam, table] = key;
    // The script's first lines (its #! and comments) hold the header.
    static const std::map<std::string, std::vector<std::string>> kBuiltin = {
        {"filter", {"INPUT", "FORWARD", "OUTPUT"}},
        {"nat", {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
        {"mangle", {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}},
        {"raw", {"PREROUTING", "OUTPUT"}}};
    auto it = kBuiltin.find(table);
    std::vector<std::string> head = {fam ? "# Generated by ip6tables-save (fwb_ipt)" : "# Generated by iptables-save (fwb_ipt)",
                                     "*" + table};
    if (it != kBuiltin.end())
      for (const auto& c : it->second) {
        std::string pol = table == "filter" && policies[fam].count(c) ? policies[fam][c] : "ACCEPT";
        if (part.policies.count(c)) pol = part.policies[c];
        head.push_back(":" + c + " " + pol + " [0:0]");
      }
    for (size_t k = 0; k < head.size(); ++k) {
      if (k >= part.lines.size() || !part.lines[k].empty()) {
        report.Malformed(Loc{file, 1, 1, 1}, "fwb_ipt's script starts with its rules: not a script fwb_ipt wrote");
        return false;
      }
      part.lines[k] = head[k];
    }
    part.lines.back() = "COMMIT";
    std::string text;
    for (const auto& x : part.lines) text += x + "\n";
    ok &= ReadIptablesSave(text, file, fam ? Family::kV6 : Family::kV4, out, report);
  }
  return ok;
}

}  // namespace

bool ReadFwbScript(const std::string& script, int file, SourceRuleset& out, ImportReporter& report) {
  std::vector<std::string> lines;
  for (size_t b = 0; b <= script.size();) {
    size_t e = script.find('\n', b);
    if (e == std::string::npos) e = script.size();
    lines.push_back(script.substr(b, e - b));
    b = e + 1;
  }
  // Each "( echo ...; ) | $IPTABLES_RESTORE" block, with the family the
  // restore command gives it.
  std::vector<std::pair<int, std::string>> texts;  // family, text with the script's line numbers
  std::vector<std::string> block;
  size_t block_start = 0;
  bool in_body = false, found = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    size_t first = l.find_first_not_of(" \t");
    std::string t = first == std::string::npos ? "" : l.substr(first);
    if (t.rfind("script_body()", 0) == 0) in_body = true;
    if (!in_body) continue;
    if (t == "(") {
      block.assign(lines.size(), "");
      block_start = i;
      continue;
    }
    if (t.rfind(")", 0) == 0 && t.find("RESTORE") != std::string::npos && !block.empty()) {
      int fam = t.find("$IP6TABLES_RESTORE") != std::string::npos ? 1 : 0;
      block[block_start] = fam ? "# Generated by ip6tables-save (fwb_ipt)" : "# Generated by iptables-save (fwb_ipt)";
      std::string text;
      for (const auto& x : block) text += x + "\n";
      texts.push_back({fam, std::move(text)});
      found = true;
      block.clear();
      continue;
    }
    if (!block.empty() && t.rfind("echo ", 0) == 0) {
      std::string echoed;
      if (!EchoText(t.substr(5), &echoed)) {
        report.Malformed(Loc{file, static_cast<int>(i) + 1, static_cast<int>(first) + 1, static_cast<int>(t.size())},
                         "this echo of fwb_ipt's script is not a literal line of iptables-restore input");
        return false;
      }
      block[i] = echoed;
    }
    if (t == "}" && block.empty()) in_body = false;
  }
  if (!found) return ReadCommandScript(lines, file, out, report);
  bool ok = true;
  for (const auto& [fam, text] : texts) ok &= ReadIptablesSave(text, file, fam ? Family::kV6 : Family::kV4, out, report);
  return ok;
}

}  // namespace fwc::import
