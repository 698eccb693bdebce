// One row per error kind: the policy, the diagnostic code, its 1-based
// line and column, and a piece of the message. Every row must produce
// exactly that error and no output.
#include <catch2/catch.hpp>

#include "support.h"

using namespace fwc;
using namespace fwc::test;

namespace {

struct Case {
  const char* name;
  std::string policy;
  const char* code;
  int line, col;
  const char* message;
  const char* help;  // a piece of the help line, or ""
};

// The shared firewall block takes lines 1-4; objects start on line 5 and
// the policy's rules on the line after "policy p default drop {".
std::vector<Case> Cases() {
  // An expect statement after the policy (the policy's last line is "}").
  auto expect = [](const std::string& objects, const std::string& rules, const std::string& statement) {
    return Policy(objects, rules) + statement + "\n";
  };
  return {
      {"an expectation of a network", expect("network n 10.1.1.0/24;\nhost h 10.1.2.2;", "", "expect drop tcp 80 from n to h;"),
       "expect-not-one-packet", 9, 25, "its source is more than one IPv4 address", "write a host or an address"},
      {"an expectation to any", expect("host h 10.1.2.2;", "", "expect drop tcp 80 from h to any;"),
       "expect-not-one-packet", 8, 30, "its destination is any address", "write a host or an address"},
      {"an expectation without a service", expect("host h 10.1.2.2;", "", "expect drop from h to 10.1.1.5;"),
       "expect-not-one-packet", 8, 1, "it has no service", "expect accept tcp 80"},
      {"an expectation of a port range", expect("host h 10.1.2.2;", "", "expect drop tcp 80-90 from h to 10.1.1.5;"),
       "expect-not-one-packet", 8, 13, "more than one destination port", "name the port"},
      {"an expectation of two services", expect("host h 10.1.2.2;", "", "expect drop {tcp 80, udp 53} from h to 10.1.1.5;"),
       "expect-not-one-packet", 8, 13, "its service is more than one", ""},
      {"an expectation of any ICMP type", expect("host h 10.1.2.2;", "", "expect drop icmp from h to 10.1.1.5;"),
       "expect-not-one-packet", 8, 13, "any ICMP type", "icmp echo-request"},
      {"an expectation that logs", expect("host h 10.1.2.2;", "", "expect drop tcp 80 from h to 10.1.1.5 log;"),
       "expect-option", 8, 1, "log, counter, disabled", "in, out, state, comment and if"},
      {"an expectation of two states", expect("host h 10.1.2.2;", "", "expect drop tcp 80 from h to 10.1.1.5 state new,established;"),
       "expect-not-one-packet", 8, 1, "its state is new or established", "state established"},
      {"an expectation the policy decides otherwise",
       expect("host h 10.1.2.2;", "  accept tcp 80 from any to h;\n", "expect drop tcp 80 from 10.1.1.5 to h;"),
       "expectation-failed", 9, 1, "expected drop, but the policy accepts tcp 10.1.1.5:40000 -> 10.1.2.2:80",
       "decided by the rule at test.fw:7"},
      {"syntax error", Policy("", "  accept tcp 80 from any to any\n  accept from any to any;\n"),
       "syntax-error", 7, 32, "missing ';'", "ends with ';'"},
      {"unexpected token", Policy("host a 10.0.0.1;", "  accept from any to a a;\n"), "syntax-error", 7, 24,
       "expected a rule option (in, out, log, counter, comment, disabled, if, nowarn, mark, connmark, state, limit, connlimit) or ';', found the name 'a'", ""},
      {"invalid character", Policy("host a 10.0.0.1 $;", ""), "syntax-error", 5, 17, "'$'",
       ""},
      {"undefined name", Policy("host lb 10.1.2.2;", "  accept from any to lbb;\n"), "unknown-name", 7, 22,
       "unknown name 'lbb'", "did you mean 'lb'?"},
      {"misspelt protocol where a service goes", Policy("host lb 10.1.2.2;", "  accept tpc from any to lb;\n"),
       "unknown-name", 7, 10, "unknown name 'tpc'", "did you mean 'tcp'?"},
      {"a name far from any protocol is still one to declare", Policy("host lb 10.1.2.2;", "  accept xyzzy from any to lb;\n"),
       "unknown-name", 7, 10, "unknown name 'xyzzy'", "declare it, e.g. 'service xyzzy ...;'"},
      {"interface used as an address", Policy("", "  accept from outside to any;\n"), "unknown-name", 7, 15,
       "unknown name 'outside'", "is an interface"},
      {"duplicate name", Policy("host a 10.0.0.1;\nnetwork a 10.0.0.0/8;", ""), "duplicate-name", 6, 9,
       "'a' is already defined", "rename"},
      {"duplicate of the firewall name", Policy("host fw 10.0.0.1;", ""), "duplicate-name", 5, 6,
       "'fw' is already defined", ""},
      {"address where a service is expected", Policy("host lb 10.1.2.2;", "  accept lb from any to lb;\n"),
       "type-mismatch", 7, 10, "'lb' is an address, but a service is expected", ""},
      {"service where an address is expected", Policy("service http tcp 80;", "  accept from http to any;\n"),
       "type-mismatch", 7, 15, "'http' is a service, but an address is expected", ""},
      {"address in a service", Policy("host lb 10.1.2.2;\nservice s lb;", ""), "type-mismatch", 6, 11,
       "'lb' is an address, but a service is expected", ""},
      {"host bits in a network", Policy("network n 10.1.1.5/24;", ""), "host-bits-set", 5, 11,
       "'10.1.1.5/24' has host bits set", "did you mean 10.1.1.0/24?"},
      {"host bits in an IPv6 network", Policy("network n 2001:db8::1/64;", ""), "host-bits-set", 5, 11,
       "has host bits set", "2001:db8::/64"},
      {"bad IPv4 address", Policy("host h 300.1.1.1;", ""), "bad-address", 5, 8,
       "'300.1.1.1' is not a valid IPv4 address", ""},
      {"bad IPv6 address", Policy("host h 2001:db8:::1;", ""), "bad-address", 5, 8,
       "not a valid IPv6 address", ""},
      {"prefix too long", Policy("network n 10.0.0.0/40;", ""), "bad-address", 5, 11, "too long", ""},
      {"host with a prefix", Policy("host h 10.0.0.0/24;", ""), "host-with-prefix", 5, 8,
       "is a network, not a host", "declare it with 'network'"},
      {"network without prefix", Policy("network n 10.0.0.0;", ""), "network-without-prefix", 5, 11,
       "has no prefix length", ""},
      {"port above 65535", Policy("service s tcp 70000;", ""), "port-range", 5, 15,
       "port 70000 is outside 0-65535", ""},
      {"huge port number", Policy("service s udp 99999999999999999999999;", ""), "port-range", 5, 15,
       "outside 0-65535", ""},
      {"inverted port range", Policy("service s udp 100-50;", ""), "inverted-range", 5, 15,
       "port range 100-50 is inverted", "50-100"},
      {"inverted address range", Policy("range r 10.0.0.9 - 10.0.0.1;", ""), "inverted-range", 5, 9,
       "after its end", "10.0.0.1 - 10.0.0.9"},
      {"range across families", Policy("range r 10.0.0.1 - 2001:db8::1;", ""), "family-mismatch", 5, 20,
       "mixes an IPv4 and an IPv6", ""},
      {"unknown icmp type", Policy("service s icmp echo-requst;", ""), "unknown-icmp-type", 5, 16,
       "unknown icmp type 'echo-requst'", "did you mean 'echo-request'?"},
      {"icmpv6 type used with icmp", Policy("service s icmp nd-neighbor-solicit;", ""), "unknown-icmp-type", 5, 16,
       "it is an icmpv6 type", ""},
      {"icmp type above 255", Policy("service s icmp 300;", ""), "bad-icmp-type", 5, 16, "outside 0-255", ""},
      {"unknown protocol", Policy("service s proto gree;", ""), "unknown-protocol", 5, 17,
       "unknown IP protocol 'gree'", "did you mean 'gre'?"},
      {"empty group", Policy("group g { }", ""), "empty-group", 5, 7, "group 'g' is empty", ""},
      {"cyclic group", Policy("group a { b }\ngroup b { c }\ngroup c { a }", ""), "cyclic-group", 7, 11,
       "contains itself", ""},
      {"group containing itself", Policy("group a { a }", ""), "cyclic-group", 5, 11, "contains itself", ""},
      {"cyclic service", Policy("service a b;\nservice b a;", ""), "cyclic-group", 6, 11, "contains itself", ""},
      {"mixed group", Policy("host h 10.0.0.1;\nservice s tcp 1;\ngroup g { h, s }", ""), "mixed-group", 7, 7,
       "mixes addresses and services", ""},
      {"unknown interface", Policy("", "  accept from any to any in outsde;\n"), "unknown-interface", 7, 29,
       "no interface 'outsde'", "did you mean 'outside'?"},
      {"family mismatch between source and destination",
       Policy("host a 10.0.0.1;\nhost b 2001:db8::1;", "  accept from a to b;\n"), "family-mismatch", 8, 3,
       "no address family in common", "IPv4 only"},
      {"family mismatch with the service", Policy("host b 2001:db8::1;", "  accept icmp from any to b;\n"),
       "family-mismatch", 7, 10, "matches no IPv6 traffic", "use icmpv6"},
      {"negation of any", Policy("", "  accept from not any to any;\n"), "empty-match", 7, 15, "'not any'", ""},
      {"unknown option", Policy("", "  option statefull no;\n"), "unknown-option", 7, 10,
       "unknown option 'statefull'", "did you mean 'stateful'?"},
      {"bad option value", Policy("", "  option stateful maybe;\n"), "bad-option-value", 7, 19, "takes yes or no",
       ""},
      {"log prefix too long", Policy("", "  accept from any to any log prefix \"0123456789012345678901234567890\";\n"),
       "log-prefix-too-long", 7, 37, "at most 29", ""},
      {"bad log rate unit", Policy("", "  accept from any to any log rate 5/minte;\n"), "bad-log-rate", 7, 30,
       "unknown rate unit 'minte'", "did you mean 'minute'?"},
      {"missing firewall", "policy p default drop {\n}\n", "missing-firewall", 1, 8, "declares no firewall", ""},
      {"two firewalls", std::string(kFirewall) + "firewall fw2 { }\npolicy p default drop { }\n",
       "multiple-firewalls", 5, 10, "which one to compile", "--firewall fw"},
      {"missing policy", std::string(kFirewall), "missing-policy", 1, 10, "no policy block", ""},
      {"reserved name", Policy("host any 10.0.0.1;", ""), "syntax-error", 5, 6, "", ""},
      {"missing include", Policy("include \"nothere.fw\";", ""), "include-not-found", 5, 9,
       "cannot read included file 'nothere.fw'", ""},
      {"invalid UTF-8", Policy("host h 10.0.0.1; # caf\xe9", ""), "invalid-encoding", 5, 23,
       "invalid UTF-8 byte 0xe9", ""},
      {"NUL byte", Policy(std::string("host h 10.0.0.1;\0", 17), ""), "invalid-encoding", 5, 17, "NUL byte", ""},
      {"'$' in a log prefix", Policy("", "  accept from any to any log prefix \"cost $5\";\n"), "bad-log-prefix", 7, 37,
       "cannot contain '$'", "as a variable"},
      {"runtime set of an unknown family", Policy("set s runtime ipv5;", ""), "bad-set-family", 5, 15,
       "unknown address family 'ipv5'", "ipv4"},
      {"runtime set name too long", Policy("set abcdefghijklmnopqrstuvwxyz123 runtime;", ""), "bad-set-name", 5, 5,
       "longer than 28", "ipset"},
      {"runtime set in a group", Policy("set s runtime;\ngroup g { s }", ""), "runtime-set-in-group", 6, 11,
       "cannot be a group member", "not known"},
      {"runtime set in a list", Policy("set s runtime;\nhost h 10.0.0.1;", "  drop from { s, h } to any;\n"),
       "runtime-set-in-list", 8, 15, "must stand alone", "one rule for the set"},
      {"runtime set as a service", Policy("set s runtime;", "  accept s from any to any;\n"), "type-mismatch", 7, 10,
       "is an address", ""},
      {"runtime set of one family with addresses of the other",
       Policy("set s runtime ipv4;\nhost h 2001:db8::1;", "  drop from s to h;\n"), "family-mismatch", 8, 3,
       "no address family in common", "IPv4 only"},
      {"runtime set declared twice", Policy("set s runtime;\nset s runtime ipv6;", ""), "duplicate-name", 6, 5,
       "set 's' is already defined", ""},
      // NAT and marks (fwc.policy(5) NAT, MARKS).
      {"dnat matching an output interface", Policy("", "  nat {\n    dnat to 10.1.2.2 from any to fw out dmz;\n  }\n"),
       "nat-interface", 8, 41, "happens before routing", "'in'"},
      {"snat matching an input interface", Policy("", "  nat {\n    snat to 10.1.1.1 from any to any in dmz;\n  }\n"),
       "nat-interface", 8, 41, "happens after routing", "'out'"},
      {"masquerade without an interface", Policy("", "  nat {\n    masquerade from any to any;\n  }\n"),
       "nat-interface", 8, 5, "needs the interface", "out IFACE"},
      {"masquerade out an interface without addresses",
       "firewall fw {\n  interface outside eth1 10.1.1.1/24;\n  interface ppp ppp0;\n}\npolicy p default drop {\n"
       "  nat {\n    masquerade from any to any out ppp;\n  }\n}\n",
       "masquerade-no-address", 7, 36, "has no address to masquerade with", "snat to ADDRESS"},
      {"NAT to an address of the other family",
       Policy("", "  nat {\n    dnat to 10.1.2.2 from any to 2001:db8:1::1 in outside;\n  }\n"), "family-mismatch", 8, 13,
       "has no address of the family this rule matches", "IPv4 traffic to an IPv4 address"},
      {"port translation without a port protocol",
       Policy("", "  nat {\n    dnat to 10.1.2.2 port 8080 from any to fw in outside;\n  }\n"), "nat-port", 8, 27,
       "needs a service with ports", "tcp 80"},
      {"port translation of icmp",
       Policy("", "  nat {\n    dnat to 10.1.2.2 port 8080 icmp from any to fw in outside;\n  }\n"), "nat-port", 8, 27,
       "needs a service with ports", ""},
      {"NAT to a group of several blocks",
       Policy("group g { 10.1.2.2, 10.1.2.9 }", "  nat {\n    dnat to g from any to fw;\n  }\n"), "nat-target", 8, 13,
       "separate IPv4 blocks", "a host or a range"},
      {"NAT to any", Policy("", "  nat {\n    snat to any from any to any out outside;\n  }\n"), "nat-target", 8, 13,
       "needs an address or range", ""},
      {"no nat with both interfaces",
       Policy("", "  nat {\n    no nat from any to any in outside out dmz;\n  }\n"), "nat-interface", 8, 43,
       "'no nat' with both 'in' and 'out'", "destination NAT"},
      {"mark out of range", Policy("", "  marks {\n    mark 4294967296 from any to any;\n  }\n"), "mark-range", 8, 10,
       "mark 4294967296 is outside 0-4294967295", "32-bit"},
      {"mark object out of range", Policy("mark big 99999999999;", ""), "mark-range", 5, 10, "is outside", ""},
      {"mark rule matching an output interface", Policy("", "  marks {\n    mark 1 from any to any out dmz;\n  }\n"),
       "mark-interface", 8, 32, "before routing", ""},
      {"unknown mark name", Policy("mark web 1;", "  accept from any to any mark wbe;\n"), "unknown-name", 7, 31,
       "unknown mark 'wbe'", "did you mean 'web'?"},
      {"mark name taken by an object", Policy("host web 10.1.2.2;\nmark web 1;", ""), "duplicate-name", 6, 6,
       "mark 'web' is already defined", ""},
      {"unknown connection state", Policy("", "  accept from any to any state neww;\n"), "bad-state", 7, 32,
       "unknown connection state 'neww'", "did you mean 'new'?"},
      {"unknown limit unit", Policy("", "  accept from any to any limit 5/fortnight;\n"), "bad-limit", 7, 26,
       "unknown rate unit 'fortnight'", ""},
      {"zero limit", Policy("", "  accept from any to any limit 0/second;\n"), "bad-limit", 7, 26,
       "between 1 and 1000000", ""},
      {"unknown conntrack helper", Policy("helper tfpt udp 69;", ""), "bad-helper", 5, 8,
       "unknown conntrack helper 'tfpt'", "did you mean 'tftp'?"},
      {"helper without a port", Policy("helper tftp udp;", ""), "bad-helper", 5, 13, "watches a TCP or UDP port", ""},
      {"zero connection limit", Policy("", "  accept from any to any connlimit 0;\n"), "bad-limit", 7, 36,
       "connection limit must be between 1 and 1000000", "connlimit 10"},
      {"unknown option value of forwarding", Policy("", "  option forwarding maybe;\n"), "bad-option-value", 7, 21,
       "takes yes or no", ""},
  };
}

}  // namespace

TEST_CASE("every check reports its error with location, message and help", "[checks]") {
  for (const Case& c : Cases()) {
    SECTION(c.name) {
      Result r = Compile(c.policy);
      INFO(r.Rendered());
      CHECK_FALSE(r.ok);
      CHECK(r.output.empty());
      const Diagnostic* d = r.Find(c.code);
      REQUIRE(d != nullptr);
      CHECK(d->severity == Severity::kError);
      CHECK(d->loc.line == c.line);
      CHECK(d->loc.col == c.col);
      CHECK(d->message.find(c.message) != std::string::npos);
      CHECK(d->help.find(c.help) != std::string::npos);
      CHECK_FALSE(d->help.empty());
    }
  }
}

TEST_CASE("all errors of a run are reported, not only the first", "[checks]") {
  Result r = Compile(Policy("host a 300.0.0.1;\nnetwork n 10.0.0.1/8;\nservice s tcp 70000;",
                            "  accept from nobody to any;\n"));
  CHECK(r.c->diags().error_count() == 4);
  CHECK(r.Find("bad-address"));
  CHECK(r.Find("host-bits-set"));
  CHECK(r.Find("port-range"));
  CHECK(r.Find("unknown-name"));
}

TEST_CASE("errors are capped so garbage input stays readable", "[checks]") {
  std::string objects;
  for (int i = 0; i < 200; ++i) objects += "host h" + std::to_string(i) + " 300.0.0." + std::to_string(i) + ";\n";
  Result r = Compile(Policy(objects, ""));
  CHECK(r.c->diags().error_count() == 200);
  CHECK(r.c->diags().all().size() == static_cast<size_t>(Diagnostics::kMaxErrors));
  CHECK(r.Rendered().find("too many errors; only the first 50 are shown") != std::string::npos);
}

TEST_CASE("a broken object is reported once, where it is declared", "[checks]") {
  Result r = Compile(Policy("network n 10.0.0.1/8;", "  accept from n to any;\n  drop from any to n;\n"));
  CHECK(r.c->diags().error_count() == 1);
  CHECK(r.Find("host-bits-set"));
}

TEST_CASE("rendered diagnostics show file:line:col, the line and a caret", "[checks]") {
  Result r = Compile(Policy("host lb 10.1.2.2;", "  accept from any to lbb;\n"));
  std::string text = r.Rendered();
  CHECK(text ==
        "test.fw:7:22: error: unknown name 'lbb' [unknown-name]\n"
        " 7 |   accept from any to lbb;\n"
        "   |                      ^~~\n"
        "  = help: did you mean 'lb'?\n");
}

TEST_CASE("an unused -D is a warning with a suggestion", "[checks]") {
  Result r = Compile(Policy("", "  accept from any to any if mgmt;\n"), "nft", {"mgnt"});
  CHECK(r.ok);
  const Diagnostic* d = r.Find("unused-define");
  REQUIRE(d);
  CHECK(d->severity == Severity::kWarning);
  CHECK(d->help == "did you mean -D mgmt?");
}

TEST_CASE("errors in conditional and disabled rules are reported without -D", "[checks]") {
  Result r = Compile(Policy("", "  accept from nobody to any if mgmt;\n  accept from nob to any disabled;\n"));
  CHECK(r.c->diags().error_count() == 2);
}

TEST_CASE("a check that will not lower frees the placed rules and finds the same", "[checks]") {
  const std::string text = Policy("host lb 10.1.2.2;",
                                  "  accept tcp 80 from 10.0.0.0/25 to lb;\n"
                                  "  accept tcp 80 from 10.0.0.128/25 to lb;\n"
                                  "  drop tcp 80 from 10.0.0.0/24 to lb;\n");
  MemoryLoader loader;
  Compilation kept, freed;
  freed.set_keep_placed(false);
  CHECK_FALSE(kept.Check("test.fw", text, loader, {}));
  CHECK_FALSE(freed.Check("test.fw", text, loader, {}));
  CHECK_FALSE(kept.placed().empty());
  CHECK(freed.placed().empty());
  CHECK(freed.diags().Render() == kept.diags().Render());
}
