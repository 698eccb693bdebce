// fwc's parser (compiler/syntax/policy_parser.h) against the reference
// parser generated from grammar/Fwc.g4: on every policy in the tree, on
// random mutations of them, and on random generated policies, both lexers
// must read the same tokens, both parsers must accept or reject alike and,
// when they accept, build the same AST down to every Loc
// (tests/fuzz/parser_agreement.h). Then the syntax errors, in plain words.
//
// FWC_DIFF_CASES=N changes the number of mutations and generated policies
// (default 20000 and 10000), FWC_DIFF_SEED=S the random seed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>

#include "compiler/syntax/formatter.h"
#include "compiler/syntax/lexer.h"
#include "compiler/syntax/parser.h"
#include "support.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/parser_agreement.h"

using namespace fwc;
namespace fs = std::filesystem;

namespace {

unsigned long EnvNumber(const char* name, unsigned long fallback) {
  const char* s = std::getenv(name);
  return s && *s ? std::strtoul(s, nullptr, 10) : fallback;
}

// Tallies of a differential run, printed at the end.
struct Tally {
  int cases = 0;
  int accepted = 0;  // by both
  int rejected = 0;  // by both (ANTLR reported a syntax error, or the encoding is invalid)
  int disagreements = 0;
};

// Runs one input in the fuzz harnesses' format (main file, "%% NAME" parts
// for other files, see fuzz_support.h) through both parsers.
void Count(const test::Agreement& a, const std::string& input, Tally& tally) {
  ++tally.cases;
  (a.direct ? tally.accepted : tally.rejected) += a.agree;  // an invalid encoding: rejected by both
  if (!a.agree) {
    ++tally.disagreements;
    // The input is printed escaped so that CR, tabs and bytes show.
    FAIL_CHECK("fwc's parser and the grammar disagree on the input\n" << test::exact::Str(input) << "\n" << a.why);
  }
}

// Each file of an input in the fuzz harnesses' format (main file, "%% NAME"
// parts for other files, see fuzz_support.h).
void CompareInMemory(const std::string& input, Tally& tally) {
  const auto* data = reinterpret_cast<const uint8_t*>(input.data());
  fuzz::FuzzLoader loader(data, input.size());
  Count(test::CompareParsers(loader.main()), input, tally);
}

void CompareText(const std::string& text, Tally& tally) { Count(test::CompareParsers(text), text, tally); }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every policy in the tree: the bundled ones, the golden inputs, the error
// goldens, the bad-input corpus and the fuzz seeds and findings.
std::vector<fs::path> SeedPaths() {
  const fs::path root(FWC_SOURCE_DIR);
  std::vector<fs::path> paths;
  for (const char* dir : {"policies", "tests/golden", "tests/errors", "tests/corpus/bad", "tests/fuzz/corpus",
                          "tests/fuzz/findings"})
    for (const auto& e : fs::recursive_directory_iterator(root / dir))
      if (e.is_regular_file() && (e.path().extension() == ".fw" || e.path().extension() == ".input") &&
          e.file_size() < 256 * 1024)
        paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  for (const auto& p : SeedPaths()) seeds.push_back(ReadFile(p));
  return seeds;
}

// Pieces of text a mutation inserts: every token kind of the grammar, the
// lexer's corner cases, and characters it must not accept.
const std::vector<std::string> kVocabulary = {
    "include", "firewall", "interface", "host", "network", "range", "group", "service", "policy", "default",
    "option", "from", "to", "accept", "drop", "reject", "in", "out", "log", "counter", "comment", "disabled",
    "if", "not", "nowarn", "prefix", "rate", "any", "tcp", "udp", "sport", "icmp", "icmpv6", "proto", "code",
    "set", "runtime", "set s runtime;", "set s runtime ipv4;",
    "nat", "marks", "mark", "connmark", "snat", "dnat", "masquerade", "redirect", "no", "port", "state", "limit",
    "nat { masquerade from any to any out o; }", "marks { mark 1 from any to any; }", "mark m 1;", "no nat",
    "dnat to h port 8080", "redirect to port 3128", "state new,established", "limit 10/second", "icmp redirect",
    "connlimit", "connlimit 5", "helper", "helper tftp udp 69;", "option clamp-mss yes;",
    "expect", "expect accept tcp 80 from a to b;",
    ";", "{", "}", ",", "-", "/", ":", "::", ".", "10.0.0.1", "10.0.0.0/8", "10.0", "10.", "1.2.3.4-1.2.3.9",
    "::1", "2001:db8::1/64", "abc:", "fe80::1%eth0", "dead:beef", "1-2", "80", "65536", "007",
    "99999999999999999999999", "a-b", "_x", "x_1-", "tcp-80", "in-x", "icmpv6x", "\"s\"", "\"a\\\"b\"",
    "\"\\\\\"", "\"", "\"unterminated", "\"é\"", "\"\\é\"", "# comment", "#", "\r", "\r\n", "\n", "\t", " ",
    "é", "\xef\xbb\xbf", "@", "!", "*", "'", "\\", "%% inc.fw", "include \"objects.fw\";", "include \"x.fw\";",
    "accept from any to any;", "5/minute", "rate 5/minute", "prefix \"p\"", "code 3", "sport 1024-65535",
    "\xff", "not {", ", }", "{ , }", "{}"};

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
}

// The text cut into words, single other characters and whitespace runs.
std::vector<std::string> Pieces(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    if (IsWordChar(s[i])) {
      while (j < s.size() && IsWordChar(s[j])) ++j;
    } else if (std::isspace(static_cast<unsigned char>(s[i]))) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    } else if (s[i] == '"') {
      while (j < s.size() && s[j] != '"' && s[j] != '\n') ++j;
      if (j < s.size() && s[j] == '"') ++j;
    }
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

class Mutator {
 public:
  explicit Mutator(unsigned long seed) : rng_(static_cast<std::mt19937::result_type>(seed)) {}

  size_t Below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  const std::string& Word() { return kVocabulary[Below(kVocabulary.size())]; }

  // One to three random edits of text.
  std::string Mutate(std::string text) {
    for (size_t n = 1 + Below(3); n > 0; --n) text = MutateOnce(text);
    return text;
  }

 private:
  std::string MutateOnce(const std::string& text) {
    std::vector<std::string> p = Pieces(text);
    if (p.empty()) return Word();
    size_t i = Below(p.size());
    switch (Below(9)) {
      case 0: p.erase(p.begin() + static_cast<long>(i)); break;                   // delete a piece
      case 1: p.insert(p.begin() + static_cast<long>(i), p[i]); break;            // duplicate it
      case 2: p.insert(p.begin() + static_cast<long>(i), Word()); break;          // insert a word
      case 3: p.insert(p.begin() + static_cast<long>(i), " " + Word() + " "); break;
      case 4: std::swap(p[i], p[Below(p.size())]); break;                         // swap two pieces
      case 5: return FlipChar(text);
      case 6: {  // cut a window of lines out of a large input
        size_t a = Below(text.size()), b = a + Below(600);
        a = text.rfind('\n', a) == std::string::npos ? 0 : text.rfind('\n', a) + 1;
        return text.substr(a, b - a);
      }
      case 7: p[i] = std::isspace(static_cast<unsigned char>(p[i][0])) ? (OneIn(2) ? "" : "\n") : p[i]; break;
      default: p.erase(p.begin() + static_cast<long>(i), p.begin() + static_cast<long>(std::min(p.size(), i + 1 + Below(6))));
    }
    std::string out;
    for (const auto& s : p) out += s;
    return out;
  }

  std::string FlipChar(std::string text) {
    static const std::string kChars = "-:./\"\\#;{},\r\n\t 0123456789abcdefxyzABC_";
    if (text.empty()) return text;
    size_t at = Below(text.size());
    switch (Below(3)) {
      case 0: text[at] = kChars[Below(kChars.size())]; break;
      case 1: text.insert(at, 1, kChars[Below(kChars.size())]); break;
      default: text.erase(at, 1);
    }
    return text;
  }

  std::mt19937 rng_;
};

// Random policies from the grammar: every statement, option and token form,
// laid out with random spaces, line breaks, CRs and comments, so that both
// the accepted language and every Loc (spans over one or several lines) are
// exercised.
class Generator {
 public:
  explicit Generator(unsigned long seed) : m_(seed) {}

  std::string Policy() {
    out_.clear();
    for (size_t n = 1 + m_.Below(6); n > 0; --n) Statement();
    return out_;
  }

 private:
  size_t Below(size_t n) { return m_.Below(n); }
  bool OneIn(size_t n) { return m_.OneIn(n); }

  // A token, after some layout.
  void T(const std::string& token) {
    static const char* kLayout[] = {" ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n   ", " # note\n", "#\r\n", "\r "};
    if (!out_.empty()) out_ += OneIn(150) ? "" : kLayout[Below(std::size(kLayout))];
    out_ += token;
  }
  template <typename F>
  void List(F item, size_t max, bool trailing) {
    item();
    for (size_t n = Below(max); n > 0; --n) {
      T(",");
      item();
    }
    if (trailing && OneIn(3)) T(",");
  }

  std::string Name() {
    static const char* kNames[] = {"a", "web", "h1", "x_y", "a-b", "_", "Z9", "in-x", "tcpx", "icmpv6x", "fromto",
                                   "dead", "cafe-1", "seconds", "minute", "eth0", "stateful", "no", "mgmt"};
    return kNames[Below(std::size(kNames))];
  }
  std::string Number() {
    static const char* kNumbers[] = {"0", "1", "22", "80", "443", "1024", "65535", "65536", "007",
                                     "18446744073709551615", "18446744073709551616", "99999999999999999999999"};
    return kNumbers[Below(std::size(kNumbers))];
  }
  std::string Addr() {
    static const char* kAddrs[] = {"10.0.0.1",     "10.0.0.0/8", "192.168.1.0/24", "10.0",  "1.2.3.4/33",
                                   "2001:db8::1",  "::1",        "::/0",           "::",    "fe80::1/64",
                                   "abc:def",      "1.2.3.4:80", ":",              "a:b:c", "1::2::3",
                                   "DEAD:BEEF::1", ".:",         "10.1.1.1/024"};
    return kAddrs[Below(std::size(kAddrs))];
  }
  std::string String() {
    static const char* kStrings[] = {"\"\"", "\"x\"", "\"a b\"", "\"q\\\"q\"", "\"b\\\\\"", "\"é ü\"", "\"\\n\"",
                                     "\"tab\there\"", "\"\\é\"", "\"#not a comment\"", "\"\xf0\x9f\x98\x80\""};
    return kStrings[Below(std::size(kStrings))];
  }

  // Files the fuzz loader serves (fuzz_support.h): good ones, one with a
  // syntax error, one with invalid UTF-8, one including itself; and a
  // missing one.
  std::string IncludePath() {
    static const char* kPaths[] = {"\"objects.fw\"", "\"fw.fw\"", "\"bad.fw\"", "\"bin.fw\"",
                                   "\"self.fw\"", "\"sub/inc.fw\"", "\"main.fw\"", "\"missing.fw\""};
    return kPaths[Below(std::size(kPaths))];
  }

  void Statement() {
    switch (Below(10)) {
      case 0: T("include"); T(IncludePath()); T(";"); break;
      case 6:
        T("set"); T(Name()); T("runtime");
        if (OneIn(2)) T(OneIn(2) ? "ipv4" : Name());
        T(";");
        break;
      case 1: Firewall(); break;
      case 2: T(OneIn(2) ? "host" : "network"); T(Name()); List([&] { T(Addr()); }, 3, false); T(";"); break;
      case 3: T("range"); T(Name()); List([&] { Range(); }, 2, false); T(";"); break;
      case 4: Group(); break;
      case 5: T("service"); T(Name()); List([&] { SvcItem(); }, 3, false); T(";"); break;
      case 7: T("expect"); Rule(); break;
      default: PolicyDecl(); break;
    }
  }

  void Firewall() {
    T("firewall");
    T(Name());
    T("{");
    for (size_t n = Below(3); n > 0; --n) {
      T("interface");
      T(Name());
      T(Name());
      if (!OneIn(3)) List([&] { T(Addr()); }, 2, false);
      T(";");
    }
    T("}");
    if (OneIn(2)) T(";");
  }

  void Range() {
    T(Addr());
    T("-");
    T(Addr());
  }

  void Group() {
    T("group");
    T(Name());
    T("{");
    if (OneIn(5)) {
      if (OneIn(2)) T(",");
    } else {
      List([&] { OneIn(3) ? Spec() : AddrItem(); }, 4, true);
    }
    T("}");
    if (OneIn(2)) T(";");
  }

  void AddrItem() {
    switch (Below(4)) {
      case 0: T("any"); break;
      case 1: Range(); break;
      case 2: T(Addr()); break;
      default: T(Name());
    }
  }

  void Ports() {
    auto port = [&] {
      if (OneIn(3)) {
        // "1-2" without spaces lexes as NUMBER '-' NUMBER too.
        if (OneIn(2)) {
          out_ += " " + Number() + "-" + Number();
        } else {
          T(Number());
          T("-");
          T(Number());
        }
      } else {
        T(Number());
      }
    };
    if (OneIn(3)) {
      T("{");
      List(port, 3, true);
      T("}");
    } else {
      port();
    }
  }

  void Spec() {
    switch (Below(4)) {
      case 0:
      case 1:
        T(OneIn(2) ? "tcp" : "udp");
        if (!OneIn(3)) Ports();
        if (OneIn(3)) {
          T("sport");
          Ports();
        }
        break;
      case 2:
        T(OneIn(2) ? "icmp" : "icmpv6");
        if (OneIn(2)) {
          T(OneIn(2) ? Name() : Number());
          if (OneIn(2)) {
            T("code");
            T(Number());
          }
        }
        break;
      default: T("proto"); T(OneIn(2) ? Name() : Number());
    }
  }

  void SvcItem() {
    switch (Below(4)) {
      case 0: T("any"); break;
      case 1: T(Name()); break;
      default: Spec();
    }
  }

  template <typename F>
  void Set(F item) {
    if (OneIn(3)) T("not");
    if (OneIn(3)) {
      T("{");
      List(item, 3, true);
      T("}");
    } else {
      item();
    }
  }

  void PolicyDecl() {
    T("policy");
    T(Name());
    T("default");
    Action();
    T("{");
    for (size_t n = Below(5); n > 0; --n) {
      if (OneIn(4)) {
        T("option");
        T(Name());
        T(OneIn(2) ? Name() : Number());
        T(";");
      } else {
        Rule();
      }
    }
    T("}");
    if (OneIn(2)) T(";");
  }

  void Action() {
    static const char* kActions[] = {"accept", "drop", "reject"};
    T(kActions[Below(3)]);
  }

  void Rule() {
    Action();
    if (OneIn(2)) Set([&] { SvcItem(); });
    T("from");
    Set([&] { AddrItem(); });
    T("to");
    Set([&] { AddrItem(); });
    for (size_t n = Below(4); n > 0; --n) Option();
    T(";");
  }

  void Option() {
    switch (Below(8)) {
      case 0: T(OneIn(2) ? "in" : "out"); T(Name()); break;
      case 1:
        T("log");
        for (size_t n = Below(3); n > 0; --n) {
          if (OneIn(2)) {
            T("prefix");
            T(String());
          } else {
            T("rate");
            T(Number());
            T("/");
            T(Name());
          }
        }
        break;
      case 2: T("counter"); break;
      case 3: T("comment"); T(String()); break;
      case 4: T("disabled"); break;
      case 5: T("if"); if (OneIn(2)) T("not"); T(Name()); break;
      default: T("nowarn"); List([&] { T(Name()); }, 2, false);
    }
  }

  Mutator m_;
  std::string out_;
};

void Report(const char* what, const Tally& t) {
  std::printf("fwc parser vs the grammar (ANTLR), %s: %d inputs, %d accepted by both, %d rejected by both, %d disagreements\n",
              what, t.cases, t.accepted, t.rejected, t.disagreements);
}

}  // namespace

TEST_CASE("fwc's parser agrees with the grammar on every policy in the tree", "[syntax]") {
  std::vector<fs::path> paths = SeedPaths();
  REQUIRE(paths.size() > 150);
  Tally t;
  for (const auto& p : paths) {
    std::string text = ReadFile(p);
    CompareInMemory(text, t);  // "%% NAME" parts of fuzz seeds are files
    CompareText(text, t);
  }
  Report("policies in the tree", t);
  CHECK(t.disagreements == 0);
  CHECK(t.accepted > 20);
}

TEST_CASE("fwc's parser agrees with the grammar on mutated policies", "[syntax]") {
  std::vector<std::string> seeds = Seeds();
  Generator gen(EnvNumber("FWC_DIFF_SEED", 1) + 1);
  for (int i = 0; i < 50; ++i) seeds.push_back(gen.Policy());
  Mutator m(EnvNumber("FWC_DIFF_SEED", 1));
  Tally t;
  for (unsigned long n = EnvNumber("FWC_DIFF_CASES", 20000); n > 0 && t.disagreements < 5; --n)
    CompareInMemory(m.Mutate(seeds[m.Below(seeds.size())]), t);
  Report("mutations", t);
  CHECK(t.disagreements == 0);
  CHECK(t.accepted > 100);
}

TEST_CASE("fwc's parser agrees with the grammar on generated policies", "[syntax]") {
  Generator gen(EnvNumber("FWC_DIFF_SEED", 1));
  Tally t;
  for (unsigned long n = EnvNumber("FWC_DIFF_CASES", 20000) / 2; n > 0 && t.disagreements < 5; --n)
    CompareInMemory(gen.Policy(), t);
  Report("generated policies", t);
  CHECK(t.disagreements == 0);
  CHECK(t.accepted > t.cases / 2);
}

TEST_CASE("fwc's lexer and parser read the corner cases as the grammar does", "[syntax]") {
  // Small policies and whether the grammar accepts them; the accepted ones'
  // ASTs are compared.
  const std::vector<std::pair<std::string, bool>> cases = {
      {"range r 10.0.0.1-10.0.0.5;", true},                     // ADDR '-' ADDR
      {"set s runtime; set t runtime ipv6;", true},
      {"set s runtime ipv4 ipv6;", false},
      {"set s;", false},
      {"set runtime runtime;", false},                            // a keyword is not a name
      {"range r 10.0.0.1 -10.0.0.5, ::1-::2;", true},
      {"service s tcp 1-2, udp { 1 -2, 3- 4, }, tcp sport 5;", true},
      {"host h ::1, abc:, :, ::, 1.2.3.4:80, .:, 1::/64;", true},  // V6 is loose
      {"host h 10;", false},                                     // NUMBER, not ADDR
      {"host h 10.0, 10.0.0.0/8;", true},
      {"host h 10.0.0.0 /8;", false},                            // '/' is a token of its own
      {"host h 10.;", false},                                    // '.' is ANYCHAR
      {"host h-1 1.2.3.4; host in-x 1.2.3.4; host tcpx 1.1.1.1; host icmpv6x 1.1.1.1;", true},
      {"host in 1.2.3.4;", false},                               // a keyword is not an ID
      {"host dead:beef 1.1.1.1;", false},                        // an ADDR, not an ID
      {"host cafe 1.1.1.1;", true},
      {"policy p default drop { accept from any to any comment \"a\\\"b\\\\c\\\xc3\xa9\"; }", true},
      {"policy p default drop { accept from any to any comment \"a\nb\"; }", false},
      {"policy p default drop { accept from any to any comment \"a\\\nb\"; }", false},
      {"policy p default drop { accept from any to any comment \"\xc3\xa9\xf0\x9f\x98\x80\" log prefix \"x\" "
       "rate 5/minute; }", true},
      {"policy p default drop {\r\n accept\r\n tcp 80\r\n from\r\n any to any;\r\n}\r\n", true},
      {"policy p default drop { accept from{a,}to not{b,c} nowarn x, y if not z;};", true},
      {"policy p default drop { accept 0from any to any; }", false},
      {"policy p default drop { accept tcp 80from any to any; }", true},
      {"policy p default drop { accept from any to any if; }", false},
      {"policy p default drop { accept icmp 3 code 4 from any to any; accept icmpv6 echo from any to any; }", true},
      {"policy p default drop { option a 1; option b c; }", true},
      {"\xef\xbb\xbfhost h 1.2.3.4;", true},                      // a byte order mark is dropped
      {"host h 1.2.3.4; \xef\xbb\xbf", false},                    // but only at the start
      {"group g { , }", true},
      {"group g { }", true},
      {"group g { a,, }", false},
      {"group g { tcp 80, any, 1.1.1.1-2.2.2.2, }", true},
      {"firewall f { interface a b; interface c d 1.1.1.1/24, ::1/64; };", true},
      {"firewall f { };;", false},
      {"# only a comment", true},
      {"", true},
      {"host h 1.2.3.4 # no semicolon\n", false},
      {std::string("host h 1.2.3.4;\0", 16), false},                 // an encoding error
      {"host h 1.2.3.4;\xff", false},
      {"service s proto 47, proto gre, icmp, tcp { 80 };", true},
      {"service s tcp 99999999999999999999999;", true},
      {"service s tcp;", true},
      {"service s tcp {};", false},
  };
  Tally t;
  for (const auto& [text, accepted] : cases) {
    Tally one;
    CompareInMemory(text, one);
    INFO(test::exact::Str(text));
    CHECK(one.accepted == (accepted ? 1 : 0));
    t.cases += one.cases;
    t.accepted += one.accepted;
    t.rejected += one.rejected;
    t.disagreements += one.disagreements;
  }
  Report("corner cases", t);
  CHECK(t.disagreements == 0);
}

TEST_CASE("fwc's parser agrees with the grammar on a large generated policy", "[syntax]") {
  // A generated policy of a few thousand rules, as the benchmarks use.
  std::string text = "firewall fw {\n  interface outside eth1 10.1.1.1/24;\n}\n";
  for (int i = 0; i < 3000; ++i) text += "host h" + std::to_string(i) + " 10.100." + std::to_string(i / 250) + "." +
                                         std::to_string(i % 250 + 1) + ";\n";
  text += "policy bench default drop {\n";
  for (int i = 0; i < 3000; ++i)
    text += "    accept tcp " + std::to_string(1024 + i) + " from any to h" + std::to_string(i) +
            " comment \"bench rule " + std::to_string(i) + "\";\n";
  text += "}\n";
  Tally t;
  CompareInMemory(text, t);
  CHECK(t.accepted == 1);
}

namespace {

struct SyntaxCase {
  const char* name;
  std::string policy;
  int line, col;
  const char* message;  // a piece of it
  const char* help;     // a piece of it
};

}  // namespace

TEST_CASE("syntax errors say in words what was expected, and each mistake is reported once", "[syntax]") {
  const std::string fw = test::kFirewall;  // lines 1-4
  const std::vector<SyntaxCase> cases = {
      {"a misspelt action", fw + "policy p default drop {\n  acept tcp 22 from any to any;\n}\n", 6, 3,
       "expected '}', 'option', 'nat', 'marks', 'accept', 'drop' or 'reject', found the name 'acept'", "did you mean 'accept'?"},
      {"a misspelt protocol", fw + "policy p default drop {\n  accept tpc 22 from any to any;\n}\n", 6, 10,
       "after the name 'tpc', found the number 22", "did you mean 'tcp'?"},
      {"a misspelt 'from'", fw + "policy p default drop {\n  accept tcp 22 form any to any;\n}\n", 6, 17,
       "found the name 'form'", "did you mean 'from'?"},
      {"a reserved word as a name", fw + "host host 10.0.0.1;\npolicy p default drop { }\n", 5, 6,
       "'host' is a reserved word, not a name", "choose another name"},
      {"a forgotten ';'", fw + "host lb 10.1.2.2\npolicy p default drop { }\n", 5, 17, "missing ';' at the end",
       "ends with ';'"},
      {"a misspelt block", fw + "polcy p default drop {\n  accept tcp 22 from any to any;\n}\nhost h 10.0.0.1;\n", 5, 1,
       "expected a statement", "did you mean 'policy'?"},
      {"a '}' missing before the next statement",
       fw + "policy p default drop {\n  accept tcp 22 from any to any;\nhost h 10.0.0.1;\n", 6, 33,
       "missing '}' at the end of the policy block: 'host' begins a new statement", "add '}' here"},
      {"a block never closed", fw + "policy p default drop {\n  accept tcp 22 from any to any;\n", 6, 33,
       "missing '}' at the end of the policy block: the file ends", "add '}' here"},
      {"an unterminated string", fw + "policy p default drop {\n  accept from any to any comment \"oops;\n}\n", 6, 34,
       "unterminated string", "same line"},
      {"a character the language does not use", fw + "host h 10.0.0.1 $;\npolicy p default drop { }\n", 5, 17,
       "unexpected character '$'", "quote it"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      test::Result r = test::Compile(c.policy);
      INFO(r.Rendered());
      int syntax = 0;
      for (const auto& d : r.c->diags().all()) syntax += d.code == "syntax-error";
      CHECK(syntax == 1);  // one mistake, one error
      const Diagnostic* d = r.Find("syntax-error");
      REQUIRE(d);
      CHECK(d->loc.line == c.line);
      CHECK(d->loc.col == c.col);
      CHECK(d->message.find(c.message) != std::string::npos);
      CHECK(d->help.find(c.help) != std::string::npos);
    }
  }
}

TEST_CASE("after a syntax error the rest of the file is still checked", "[syntax]") {
  // A broken rule is skipped; a mistake in a later rule is still found.
  test::Result r = test::Compile(test::Policy("host lb 10.1.2.2;",
                                              "  accept tcp 22 from any to;\n"
                                              "  accept tcp 80 from any to lbb;\n"));
  INFO(r.Rendered());
  CHECK(r.Find("syntax-error"));
  const Diagnostic* unknown = r.Find("unknown-name");
  REQUIRE(unknown);
  CHECK(unknown->loc.line == 8);
}

TEST_CASE("the reserved words fwc.policy(5) lists are the grammar's keywords", "[syntax]") {
  // The man page's list, between the sentence that announces it and the
  // end of the example block.
  std::string man = ReadFile(fs::path(FWC_SOURCE_DIR) / "man" / "fwc.policy.5");
  size_t start = man.find("are reserved and cannot be used as names");
  REQUIRE(start != std::string::npos);
  size_t ex = man.find(".EX\n", start), ee = man.find(".EE\n", ex);
  REQUIRE(ee != std::string::npos);
  std::istringstream words(man.substr(ex + 4, ee - ex - 4));
  std::set<std::string> listed, keywords;
  for (std::string w; words >> w;) listed.insert(w);
  for (const auto& k : syntax::kKeywords) keywords.insert(std::string(k.text));
  CHECK(listed == keywords);
  // And the fuzzer's dictionary knows each of them.
  std::string dict = ReadFile(fs::path(FWC_SOURCE_DIR) / "tests" / "fuzz" / "fwc.dict");
  for (const auto& k : keywords) {
    INFO(k);
    CHECK(dict.find("\"" + k + "\"") != std::string::npos);
  }
}

namespace {

// fwc fmt over many inputs: every file the parser accepts is formatted (the
// formatter's own check, fmt-changed-meaning, compares the ASTs, tokens and
// comments before and after) and formatting the result changes nothing.
struct FmtTally {
  int formatted = 0;
  int refused = 0;  // syntax errors: left alone
  int failures = 0;
};

void CheckFormat(const std::string& text, FmtTally& t) {
  SourceManager sources;
  Diagnostics diags(sources);
  int file = sources.Add("t.fw", text);
  auto once = syntax::FormatPolicy(file, sources.text(file), diags);
  bool syntax_error = false;
  for (const auto& d : diags.all()) syntax_error |= d.code == "syntax-error" || d.code == "invalid-encoding";
  if (!once) {
    if (syntax_error) {
      ++t.refused;
    } else if (++t.failures <= 3) {
      UNSCOPED_INFO("fwc fmt failed on:\n" << text << "\n" << diags.Render());
      if (const char* dump = std::getenv("FWC_FMT_FAILURE")) std::ofstream(dump) << text;
    }
    return;
  }
  int again_file = sources.Add("t2.fw", *once);
  Diagnostics again_diags(sources);
  auto twice = syntax::FormatPolicy(again_file, sources.text(again_file), again_diags);
  if (!twice || *twice != *once) {
    if (++t.failures <= 3) UNSCOPED_INFO("fwc fmt is not idempotent on:\n" << text << "\nfirst:\n" << *once);
    return;
  }
  ++t.formatted;
}

void ReportFmt(const char* what, const FmtTally& t) {
  std::printf("fwc fmt, %s: %d formatted (idempotent, same AST, tokens and comments), %d refused (syntax errors), %d failures\n",
              what, t.formatted, t.refused, t.failures);
}

}  // namespace

TEST_CASE("fwc fmt keeps the meaning and every comment of every policy in the tree, and is idempotent", "[syntax][fmt]") {
  FmtTally t;
  for (const auto& text : Seeds()) CheckFormat(text, t);
  ReportFmt("policies in the tree", t);
  CHECK(t.failures == 0);
  CHECK(t.formatted > 20);
}

TEST_CASE("fwc fmt keeps the meaning of generated and mutated policies, and is idempotent", "[syntax][fmt]") {
  Generator gen(EnvNumber("FWC_DIFF_SEED", 1) + 7);
  FmtTally t;
  unsigned long n = EnvNumber("FWC_DIFF_CASES", 20000) / 4;
  for (unsigned long i = 0; i < n && t.failures < 3; ++i) CheckFormat(gen.Policy(), t);
  ReportFmt("generated policies", t);
  std::vector<std::string> seeds = Seeds();
  Mutator m(EnvNumber("FWC_DIFF_SEED", 1) + 7);
  FmtTally mt;
  for (unsigned long i = 0; i < n && mt.failures < 3; ++i) CheckFormat(m.Mutate(seeds[m.Below(seeds.size())]), mt);
  ReportFmt("mutations", mt);
  CHECK(t.failures == 0);
  CHECK(mt.failures == 0);
  CHECK(t.formatted > static_cast<int>(n / 2));
  CHECK(mt.formatted > 100);
}
