// The typed AST of a policy: what the user wrote, with locations, before any
// name is resolved. Produced by the policy parser (policy_parser.h; the
// reference parser builds the same from ANTLR's tree), consumed by the
// Resolver (compiler/semantics/resolver.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/base/source.h"

namespace fwc::ast {

enum class Action { kAccept, kDrop, kReject };

// One element of an address slot or an address object.
struct AddrItem {
  enum class Kind { kAny, kName, kLiteral, kRange };
  Kind kind = Kind::kAny;
  std::string text;   // name, literal address, or range start
  std::string text2;  // range end
  Loc loc;
  Loc loc2;  // location of the range end
};

struct AddrSet {
  bool negated = false;
  std::vector<AddrItem> items;
  Loc loc;
};

struct PortRange {
  // Wide enough to hold what was written, so "port 70000" gets an error
  // instead of silently wrapping.
  uint64_t lo = 0;
  uint64_t hi = 0;
  std::string text;  // as written, for messages about numbers too large to hold
  Loc loc;
};

struct SvcSpec {
  enum class Kind { kTcp, kUdp, kIcmp, kIcmpv6, kProto };
  Kind kind = Kind::kTcp;
  std::vector<PortRange> dports;  // empty: any port
  std::vector<PortRange> sports;
  std::string icmp_type;  // name or number; empty: any type
  Loc icmp_type_loc;
  std::optional<uint64_t> icmp_code;
  Loc icmp_code_loc;
  std::string proto;  // kProto: name or number
  Loc proto_loc;
  Loc loc;
};

struct SvcItem {
  enum class Kind { kAny, kName, kSpec };
  Kind kind = Kind::kAny;
  std::string name;
  SvcSpec spec;
  Loc loc;
};

struct SvcSet {
  bool negated = false;
  std::vector<SvcItem> items;  // empty: any service
  Loc loc;
};

struct Interface {
  std::string name;
  std::string device;
  std::vector<AddrItem> addrs;  // literals with prefix length
  Loc loc;
  Loc device_loc;
};

struct Firewall {
  std::string name;
  std::vector<Interface> interfaces;
  Loc loc;
  int cluster = -1;  // index into Unit::clusters of the cluster it is a member of
};

// cluster NAME { firewall ...  interface IFACE ADDR|HOST, ...;  protocols P, ...; }
// Its members are in Unit::firewalls (Firewall::cluster points back).
struct ClusterAddress {
  std::string iface;  // the members' interface that holds the addresses
  Loc iface_loc;
  std::vector<AddrItem> addrs;  // literals or host names
};

struct Cluster {
  std::string name;
  Loc loc;
  std::vector<ClusterAddress> addresses;
  std::vector<std::pair<std::string, Loc>> protocols;
};

// host, network, range, group and service declarations share one shape:
// a name and a list of members whose meaning depends on the kind.
struct ObjectDecl {
  enum class Kind { kHost, kNetwork, kRange, kGroup, kService };
  Kind kind = Kind::kHost;
  std::string name;
  Loc loc;
  std::vector<AddrItem> addrs;    // host/network/range members; group names
  std::vector<SvcItem> services;  // service items; group service literals
};

// set NAME runtime [FAMILY]; its elements are not the policy's.
struct RuntimeSet {
  std::string name;
  std::string family;  // "" (both), or as written: ipv4 / ipv6 expected
  Loc loc;
  Loc family_loc;
};

struct LogSpec {
  bool enabled = false;
  std::string prefix;
  Loc prefix_loc;
  uint64_t rate = 0;  // 0: no limit
  std::string rate_unit;
  Loc rate_loc;
};

// What a rule of the nat or marks section does, in place of a verdict.
struct Translation {
  enum class Kind { kSnat, kMasquerade, kDnat, kRedirect, kNoNat, kMark, kConnmark };
  Kind kind = Kind::kSnat;
  bool has_to = false;  // snat, dnat: the address translated to
  AddrItem to;
  std::optional<PortRange> port;  // snat, masquerade, dnat, redirect
  std::string mark;               // mark, connmark: a number or a mark's name
  Loc mark_loc;
  Loc loc;  // the keyword
};

// The matches a rule may add to its addresses and services: few rules have
// them, so a rule holds them behind a pointer.
struct RuleMatches {
  std::string mark, connmark;  // a number or a mark's name; empty: any
  Loc mark_loc, connmark_loc;
  std::vector<std::pair<std::string, Loc>> states;  // new, established, ...
  uint64_t limit_rate = 0;                          // 0: no limit
  std::string limit_unit;
  Loc limit_loc;
  std::optional<uint64_t> connlimit;  // at most this many connections
  Loc connlimit_loc;
};

// Small members first, so that they pack: a policy may have 100k rules.
struct Rule {
  Action action = Action::kAccept;
  bool counter = false;
  bool disabled = false;
  bool condition_negated = false;
  Loc loc;   // the action keyword
  Loc span;  // from the action to the end of the rule's first line
  SvcSet services;
  AddrSet src, dst;
  std::string in_iface, out_iface;
  Loc in_loc, out_loc;
  LogSpec log;
  std::string comment;
  std::string condition;  // -D name; empty: unconditional
  Loc condition_loc;
  // Diagnostic codes silenced for this rule ("nowarn redundant-rule").
  std::vector<std::pair<std::string, Loc>> nowarn;
  // Shared, never changed after parsing: the AST is copied whole.
  std::shared_ptr<const Translation> translation;  // nat and marks rules only
  std::shared_ptr<const RuleMatches> matches;      // null: none
};

struct Option {
  std::string name;
  std::string value;
  Loc loc;
  Loc value_loc;
};

struct Policy {
  std::string name;
  Action default_action = Action::kDrop;
  std::vector<Option> options;
  std::vector<Rule> rules;
  // The nat and marks sections; a section may be written more than once,
  // its rules then follow on in order.
  bool has_nat = false, has_marks = false;
  std::vector<Rule> nat, marks;
  Loc loc;
};

// helper KIND SERVICE;
struct HelperDecl {
  std::string kind;  // ftp, tftp, ...
  Loc loc;
  SvcSpec service;
};

// mark NAME VALUE;
struct MarkDecl {
  std::string name;
  uint64_t value = 0;
  std::string text;  // as written, for values too large to hold
  Loc loc;
  Loc value_loc;
};

// Everything a compile unit declares, includes already merged in.
struct Unit {
  std::vector<Firewall> firewalls;
  std::vector<Cluster> clusters;
  std::vector<ObjectDecl> objects;
  std::vector<RuntimeSet> runtime_sets;
  std::vector<MarkDecl> marks;
  std::vector<HelperDecl> helpers;
  std::vector<Policy> policies;
  // expect VERDICT ... ;  rule-shaped: the verdict expected of the packet
  // the rest names (loc and span start at 'expect').
  std::vector<Rule> expectations;
};

const char* ActionName(Action a);

}  // namespace fwc::ast
