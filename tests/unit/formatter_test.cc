// fwc fmt, rule by rule: each row is a policy as written and as fwc fmt
// writes it. The properties over every policy in the tree and generated
// ones (idempotent, same meaning, every comment kept) are in syntax_test.cc.
#include <catch2/catch.hpp>

#include "compiler/syntax/formatter.h"

namespace fwc {
namespace {

struct Formatted {
  std::optional<std::string> text;
  std::vector<std::string> codes;
};

Formatted Format(const std::string& text) {
  SourceManager sources;
  Diagnostics diags(sources);
  int file = sources.Add("t.fw", text);
  Formatted f;
  f.text = syntax::FormatPolicy(file, sources.text(file), diags);
  for (const auto& d : diags.all()) f.codes.push_back(d.code);
  return f;
}

struct Row {
  const char* what;
  const char* in;
  const char* out;
};

const Row kRows[] = {
    {"one space between tokens, none before ; and ,",
     "host   a 10.0.0.1 ,10.0.0.2 ;\n",
     "host a 10.0.0.1, 10.0.0.2;\n"},
    {"one statement a line",
     "host a 10.0.0.1; service s tcp 22;\n",
     "host    a 10.0.0.1;\nservice s tcp 22;\n"},
    {"no space around the - of a range and the / of a rate",
     "range r 10.0.0.1 - 10.0.0.9;\nservice s tcp 1024 - 2048;\n",
     "range   r 10.0.0.1-10.0.0.9;\nservice s tcp 1024-2048;\n"},
    {"blocks indented by four spaces, the optional ; after } dropped",
     "firewall fw {\ninterface o eth0 10.0.0.1/24;\n};\npolicy p default drop { accept from any to any; };\n",
     "firewall fw {\n    interface o eth0 10.0.0.1/24;\n}\npolicy p default drop {\n    accept from any to any;\n}\n"},
    {"nat and marks blocks nest",
     "policy p default drop { nat { masquerade from any to any out o; } marks { mark 1 from any to any; } }\n",
     "policy p default drop {\n    nat {\n        masquerade from any to any out o;\n    }\n    marks {\n"
     "        mark 1 from any to any;\n    }\n}\n"},
    {"inline sets: spaces inside the braces, no trailing comma",
     "policy p default drop { accept tcp {80,443,} from {a,b} to any; }\n",
     "policy p default drop {\n    accept tcp { 80, 443 } from { a, b } to any;\n}\n"},
    {"a group on one line stays inline",
     "group g {a,b,};\n",
     "group g { a, b }\n"},
    {"a group over several lines: a member a line, each with a comma",
     "group g {\n a, b,\n c };\n",
     "group g {\n    a,\n    b,\n    c,\n}\n"},
    {"blank lines kept, at most one, none at the start or end of a block",
     "host a 10.0.0.1;\n\n\n\nhost b 10.0.0.2;\npolicy p default drop {\n\n accept from any to any;\n\n}\n",
     "host a 10.0.0.1;\n\nhost b 10.0.0.2;\npolicy p default drop {\n    accept from any to any;\n}\n"},
    {"trailing comments stay on their line, aligned in a run",
     "host a 10.0.0.1; # one\nhost bb 10.0.0.22;   # two\n",
     "host a  10.0.0.1;   # one\nhost bb 10.0.0.22;  # two\n"},
    {"comments on a line of their own stay there, indented as the block",
     "# head\npolicy p default drop {\n# inside\naccept from any to any;\n  # before the end\n}\n",
     "# head\npolicy p default drop {\n    # inside\n    accept from any to any;\n    # before the end\n}\n"},
    {"a comment inside a statement breaks it there; the rest is indented",
     "policy p default drop { accept tcp 80 # web\n from any to any; }\n",
     "policy p default drop {\n    accept tcp 80  # web\n        from any to any;\n}\n"},
    {"a statement written over lines stays broken there, not before punctuation",
     "policy p default drop { accept from any to any\ncomment \"x\"\n; }\n",
     "policy p default drop {\n    accept from any to any\n        comment \"x\";\n}\n"},
    {"rules in a run are aligned: action, services, from, to, options, comment",
     "policy p default drop {\naccept ping from any to lb comment \"a\";\naccept ssh from clients to ges in o comment \"b\";\n"
     "drop from any to any;\n}\n",
     "policy p default drop {\n    accept ping from any     to lb       comment \"a\";\n"
     "    accept ssh  from clients to ges in o comment \"b\";\n    drop        from any     to any;\n}\n"},
    {"a blank line or a comment line ends a run",
     "host a 10.0.0.1;\n\nhost bbbb 10.0.0.2;\n# c\nnetwork n 10.0.0.0/8;\n",
     "host a 10.0.0.1;\n\nhost bbbb 10.0.0.2;\n# c\nnetwork n 10.0.0.0/8;\n"},
    {"a cell wider than 40 characters does not widen its column",
     "policy p default drop {\naccept from { aaaaaaaaaa, bbbbbbbbbb, cccccccccc, dddddddddd } to x;\naccept from a to y;\n}\n",
     "policy p default drop {\n    accept from { aaaaaaaaaa, bbbbbbbbbb, cccccccccc, dddddddddd } to x;\n"
     "    accept from a to y;\n}\n"},
    {"interfaces aligned by name and device",
     "firewall fw { interface outside eth1 10.0.0.1/24; interface dmz eth22 10.0.1.1/24; }\n",
     "firewall fw {\n    interface outside eth1  10.0.0.1/24;\n    interface dmz     eth22 10.0.1.1/24;\n}\n"},
    {"a byte order mark and CRs go; comments keep their text",
     "\xef\xbb\xbf# \xc3\xa9t\xc3\xa9\r\nhost a 10.0.0.1;\r\n",
     "# \xc3\xa9t\xc3\xa9\nhost a 10.0.0.1;\n"},
    {"an empty file stays empty", "", ""},
    {"a file of comments only", "#a\n\n\n#b", "#a\n\n#b\n"},
    {"includes and options",
     "include \"x.fw\" ;\npolicy p default accept { option forwarding  yes ; option clamp-mss no; }\n",
     "include \"x.fw\";\npolicy p default accept {\n    option forwarding yes;\n    option clamp-mss  no;\n}\n"},
};

}  // namespace

TEST_CASE("fwc fmt writes each construct in one canonical form", "[fmt]") {
  for (const Row& row : kRows) {
    INFO(row.what << "\n--- input:\n" << row.in);
    Formatted f = Format(row.in);
    REQUIRE(f.text.has_value());
    CHECK(*f.text == row.out);
    // Already canonical: unchanged.
    Formatted again = Format(row.out);
    REQUIRE(again.text.has_value());
    CHECK(*again.text == row.out);
  }
}

TEST_CASE("fwc fmt leaves a file with a syntax error or bad bytes alone", "[fmt]") {
  Formatted f = Format("policy p default drop { acept from any to any; }\n");
  CHECK_FALSE(f.text.has_value());
  CHECK(f.codes == std::vector<std::string>{"syntax-error"});
  f = Format("host a 10.0.0.1; # \xff\n");
  CHECK_FALSE(f.text.has_value());
  CHECK(f.codes == std::vector<std::string>{"invalid-encoding"});
}

}  // namespace fwc
