// What an importer produces: a policy as named objects and ordered rules,
// still as text fragments of the policy language, plus where each piece
// came from. PolicyWriter turns it into a readable fwc policy; the policy
// is then compiled like any other, so an importer never has to know how
// fwc places or lowers rules.
//
// Every importer (Firewall Builder files, iptables-save, nft rulesets)
// fills one PolicyDraft per firewall and reports what it cannot map as a
// located diagnostic; with --partial the gap is also written into the
// policy, as a comment where the lost rule stood.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace fwc::import {

struct DraftInterface {
  std::string logical;                 // the name the rules use (in/out)
  std::string device;                  // the kernel's name
  std::vector<std::string> addresses;  // "10.1.1.1/24", "2001:db8:1::1/64"
  std::string comment;
};

struct DraftObject {
  enum class Kind { kHost, kNetwork, kRange, kGroup, kService };
  Kind kind = Kind::kHost;
  std::string name;                // already a valid, unique fwc name
  std::vector<std::string> items;  // addresses, "a - b" ranges, member names, service items ("tcp 80")
  std::string comment;
};

// One rule of the filter list or of the nat section. Empty lists are any.
struct DraftRule {
  // "accept", "drop", "reject" for filter rules; for NAT rules the whole
  // translation: "dnat to web1 port 8080", "masquerade", "no nat".
  std::string action;
  bool nat = false;
  std::vector<std::string> services, from, to;
  bool not_services = false, not_from = false, not_to = false;
  std::string in, out;  // logical interface names
  bool log = false;
  std::string log_prefix;
  bool disabled = false;
  std::vector<std::string> states;  // "new", "established", ...
  std::string limit;                // "10/second"
  std::string comment;              // becomes the rule's comment "..."
  std::string trace;                // where it came from, written as a # line above it
};

struct PolicyDraft {
  std::string source;         // "crm.fwb, firewall fw" for the header
  std::string firewall_name;  // a valid fwc name
  std::vector<DraftInterface> interfaces;
  std::vector<DraftObject> objects;
  std::string policy_name;
  std::string default_action = "drop";
  std::vector<std::pair<std::string, std::string>> options;  // {"stateful", "no"}
  std::vector<DraftRule> rules;
  std::vector<DraftRule> nat_rules;
  // What could not be imported (only written with --partial): each line is
  // written as a comment before rules[before] (or nat_rules[before]).
  struct Gap {
    bool nat = false;
    size_t before = 0;
    std::string text;  // "iptables.rules:14: -m recent is not supported"
  };
  std::vector<Gap> gaps;
  std::vector<std::string> header_notes;  // extra lines for the file's header comment
};

// The policy as fwc source text. Fragments are taken as they are: the
// importers build them from validated values and NameTable names, and
// every comment and trace goes through Quote / CommentLine.
std::string WritePolicy(const PolicyDraft& draft);

// A string literal of the policy language: quotes and backslashes escaped,
// control characters and bytes that are not UTF-8 replaced.
std::string Quote(const std::string& text);
// Text fit for a # comment: one line, control characters replaced.
std::string CommentLine(const std::string& text);

// Turns foreign object names ("Web Server #1") into unique fwc names
// ("Web-Server-1"): letters, digits, '_' and '-', starting with a letter
// or '_', never a reserved word, never twice the same.
class NameTable {
 public:
  // The name for `wanted`; the same key always gets the same name.
  std::string Take(const std::string& key, const std::string& wanted);
  // Marks a name as used (e.g. the firewall's), without a key.
  void Reserve(const std::string& name) { used_.insert(name); }
  bool Has(const std::string& key) const { return by_key_.count(key) > 0; }
  const std::string& Get(const std::string& key) const { return by_key_.at(key); }

 private:
  std::map<std::string, std::string> by_key_;
  std::set<std::string> used_;
};

// Whether a word is reserved in the policy language.
bool IsReservedWord(const std::string& word);

}  // namespace fwc::import
