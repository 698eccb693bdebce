// A loaded ruleset as the kernel sees it, read from iptables-save output
// (and, with the same shape, from an nft ruleset): tables of chains of
// rules, each rule a conjunction of matches and one target. Two things are
// made of it: a PolicyDraft (RulesetImporter) and, independently, the
// packet sets of its base chains (RulesetSemantics), which `fwc import
// --check` compares with those of the compiled policy.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/base/address.h"
#include "compiler/base/source.h"

namespace fwc::import {

struct AddressMatch {
  bool negated = false;
  IntervalSet set;                 // of the rule's family
  std::vector<std::string> text;   // as written, for the policy: "10.0.0.0/8"
};

struct InterfaceMatch {
  bool negated = false;
  std::string name;  // a trailing '+' is a wildcard
};

struct PortMatch {
  bool negated = false;
  IntervalSet ports;
};

struct SourceRule {
  Loc loc;
  Family family = Family::kV4;
  std::optional<AddressMatch> src, dst;
  std::optional<InterfaceMatch> iif, oif;
  int proto = -1;  // -1: any
  bool proto_negated = false;
  std::optional<PortMatch> sport, dport;
  int icmp_type = -1, icmp_code = -1;  // -1: any
  std::vector<std::string> states;     // lower case: new, established, related, invalid, untracked
  bool states_negated = false;
  std::string limit;                   // "10/second"
  std::string comment;
  // What the reader could not understand: each is a reason to refuse the
  // rule (or, with --partial, to leave it out).
  std::vector<std::string> unsupported;
  // "! --syn" (! --tcp-flags SYN,RST,ACK SYN): TCP packets that cannot open
  // a connection. fwc cannot match them, but the check, which decides first
  // packets, knows such a rule matches none of them.
  bool not_first_packet = false;
  // --reject-with other than port-unreachable / tcp-reset: still a reject
  // to the check, a difference to the import.
  std::string reject_with;

  enum class Target { kAccept, kDrop, kReject, kReturn, kJump, kGoto, kLog, kDnat, kSnat, kMasquerade, kRedirect, kNone };
  Target target = Target::kNone;
  std::string jump;        // kJump/kGoto: the chain
  std::string log_prefix;  // kLog
  std::string to;          // kDnat/kSnat: "10.0.0.5", "10.0.0.5:8080"; kRedirect/kMasquerade: ports "8080"
};

struct SourceChain {
  std::string name;
  std::string policy;  // "ACCEPT"/"DROP" for a built-in chain, "" for a user chain
  Loc loc;
  std::vector<SourceRule> rules;
};

struct SourceTable {
  Family family = Family::kV4;
  std::string name;  // filter, nat, mangle, raw
  Loc loc;
  std::vector<SourceChain> chains;
  SourceChain* Find(const std::string& chain);
  const SourceChain* Find(const std::string& chain) const;
};

struct SourceRuleset {
  std::string origin;                // the file names, for the policy's header
  std::map<int, std::string> files;  // Loc::file -> the name traces give
  std::vector<SourceTable> tables;
  const SourceTable* Find(Family f, const std::string& table) const;
};

}  // namespace fwc::import
