#include "import/nft_ruleset.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>

#include "compiler/base/protocols.h"
#include "compiler/base/utf8.h"

namespace fwc::import {

namespace {

// ---------------------------------------------------------------------------
// JSON: a small reader that keeps where each value is. Hostile input is
// refused, never followed: nesting deeper than kMaxDepth, more than
// kMaxValues values, text longer than kMaxText, bad UTF-8, control
// characters, lone surrogates and NULs in strings.

constexpr size_t kMaxText = size_t{64} << 20;
constexpr int kMaxDepth = 64;
constexpr size_t kMaxValues = 2'000'000;

struct JValue {
  enum class Kind : unsigned char { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;               // a string, decoded; a number, as written
  std::vector<std::string> keys;  // an object's keys, in order
  std::vector<JValue> items;      // an array's items, an object's values
  uint32_t begin = 0, end = 0;    // the value's bytes in the text

  bool is(Kind k) const { return kind == k; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_object() const { return kind == Kind::kObject; }
  bool is_array() const { return kind == Kind::kArray; }
  // The value of key (the first, if it is given twice), or nullptr.
  const JValue* Get(std::string_view key) const {
    if (kind != Kind::kObject) return nullptr;
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &items[i];
    return nullptr;
  }
  // The key of an object of one key, like {"accept": null}; "" otherwise.
  std::string_view OnlyKey() const { return kind == Kind::kObject && keys.size() == 1 ? keys[0] : std::string_view(); }
  const JValue& OnlyValue() const { return items[0]; }
  // A string member, or "" (also when it is not a string).
  std::string Str(std::string_view key) const {
    const JValue* v = Get(key);
    return v && v->is_string() ? v->text : std::string();
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& text) : t_(text) {}

  bool Parse(JValue& out) {
    Skip();
    if (pos_ >= t_.size()) return Fail("the text is empty: expected a JSON object");
    if (!Value(out, 1)) return false;
    Skip();
    if (pos_ < t_.size()) return Fail("text after the end of the JSON value");
    return true;
  }
  size_t error_at() const { return error_at_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
      error_at_ = std::min(pos_, t_.size());
    }
    return false;
  }
  void Skip() {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r')) ++pos_;
  }
  bool Literal(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (t_.compare(pos_, n, word) != 0) return Fail("not a JSON value");
    pos_ += n;
    return true;
  }

  bool Value(JValue& v, int depth) {
    if (++values_ > kMaxValues) return Fail("more than 2000000 JSON values");
    v.begin = static_cast<uint32_t>(pos_);
    if (pos_ >= t_.size()) return Fail("the JSON text ends too early");
    char c = t_[pos_];
    bool ok;
    if (c == '{' || c == '[') {
      if (depth > kMaxDepth) return Fail("JSON nested more than 64 deep");
      ok = c == '{' ? Object(v, depth) : Array(v, depth);
    } else if (c == '"') {
      v.kind = JValue::Kind::kString;
      ok = String(v.text);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = JValue::Kind::kNumber;
      ok = Number(v.text);
    } else if (c == 't' || c == 'f') {
      v.kind = JValue::Kind::kBool;
      v.boolean = c == 't';
      ok = Literal(c == 't' ? "true" : "false");
    } else if (c == 'n') {
      ok = Literal("null");
    } else {
      return Fail("not a JSON value");
    }
    v.end = static_cast<uint32_t>(pos_);
    return ok;
  }

  bool Object(JValue& v, int depth) {
    v.kind = JValue::Kind::kObject;
    ++pos_;
    Skip();
    if (pos_ < t_.size() && t_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      Skip();
      if (pos_ >= t_.size()) return Fail("the JSON text ends inside an object");
      if (t_[pos_] != '"') return Fail("expected a key in double quotes");
      std::string key;
      if (!String(key)) return false;
      Skip();
      if (pos_ >= t_.size() || t_[pos_] != ':') return Fail("expected ':' after the key");
      ++pos_;
      Skip();
      v.keys.push_back(std::move(key));
      v.items.emplace_back();
      if (!Value(v.items.back(), depth + 1)) return false;
      Skip();
      if (pos_ >= t_.size()) return Fail("the JSON text ends inside an object");
      if (t_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (t_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}' in an object");
    }
  }

  bool Array(JValue& v, int depth) {
    v.kind = JValue::Kind::kArray;
    ++pos_;
    Skip();
    if (pos_ < t_.size() && t_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      Skip();
      v.items.emplace_back();
      if (!Value(v.items.back(), depth + 1)) return false;
      Skip();
      if (pos_ >= t_.size()) return Fail("the JSON text ends inside an array");
      if (t_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (t_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']' in an array");
    }
  }

  bool Number(std::string& out) {
    size_t start = pos_;
    auto digits = [&]() {
      size_t s = pos_;
      while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
      return pos_ > s;
    };
    if (t_[pos_] == '-') ++pos_;
    if (pos_ < t_.size() && t_[pos_] == '0') ++pos_;
    else if (!digits()) return Fail("not a JSON number");
    if (pos_ < t_.size() && t_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Fail("not a JSON number: no digit after '.'");
    }
    if (pos_ < t_.size() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < t_.size() && (t_[pos_] == '+' || t_[pos_] == '-')) ++pos_;
      if (!digits()) return Fail("not a JSON number: no digit in the exponent");
    }
    out = t_.substr(start, pos_ - start);
    return true;
  }

  bool Hex4(unsigned* out) {
    if (pos_ + 4 > t_.size()) return Fail("a \\u escape needs four hex digits");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = t_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else return Fail("a \\u escape needs four hex digits");
    }
    *out = v;
    return true;
  }

  bool String(std::string& out) {
    ++pos_;  // the opening quote
    while (true) {
      if (pos_ >= t_.size()) return Fail("the JSON text ends inside a string");
      unsigned char c = static_cast<unsigned char>(t_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("a control character in a string (write it as an escape)");
      if (c >= 0x80) {
        size_t n = Utf8SequenceLength(t_, pos_);
        if (n == 0) return Fail("a string that is not valid UTF-8");
        out.append(t_, pos_, n);
        pos_ += n;
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= t_.size()) return Fail("the JSON text ends inside a string");
      char e = t_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          size_t escape = pos_ - 2;
          auto fail_at_escape = [&](const char* message) {
            pos_ = escape;
            return Fail(message);
          };
          unsigned cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xdc00 && cp <= 0xdfff) return fail_at_escape("a lone low surrogate in a \\u escape");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo;
            if (t_.compare(pos_, 2, "\\u") != 0) return fail_at_escape("a lone high surrogate in a \\u escape");
            pos_ += 2;
            if (!Hex4(&lo)) return false;
            if (lo < 0xdc00 || lo > 0xdfff) return fail_at_escape("a lone high surrogate in a \\u escape");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          if (cp == 0) return fail_at_escape("a NUL character (\\u0000) in a string");
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          }
          break;
        }
        default: return Fail(std::string("an unknown escape '\\") + e + "' in a string");
      }
    }
  }

  const std::string& t_;
  size_t pos_ = 0;
  size_t values_ = 0;
  std::string error_;
  size_t error_at_ = 0;
};

// Byte offsets as line:col, columns counting code points as Diagnostics
// does; a line as long as `nft -j` prints costs no more than a short one.
class Positions {
 public:
  explicit Positions(const std::string& t) : t_(t), cont_(t.size() / kStep + 1, 0) {
    lines_.push_back(0);
    size_t n = 0;
    for (size_t i = 0; i < t.size(); ++i) {
      if (i % kStep == 0) cont_[i / kStep] = n;
      if (t[i] == '\n') lines_.push_back(i + 1);
      if ((static_cast<unsigned char>(t[i]) & 0xc0) == 0x80) ++n;
    }
    if (t.size() % kStep == 0) cont_[t.size() / kStep] = n;
  }

  // The span [begin, end) as a Loc, cut at the end of its first line.
  Loc At(int file, size_t begin, size_t end) const {
    begin = std::min(begin, t_.size());
    size_t line = static_cast<size_t>(std::upper_bound(lines_.begin(), lines_.end(), begin) - lines_.begin()) - 1;
    size_t line_end = line + 1 < lines_.size() ? lines_[line + 1] - 1 : t_.size();
    end = std::min(std::max(end, begin + 1), line_end);
    Loc loc;
    loc.file = file;
    loc.line = static_cast<int>(line + 1);
    loc.col = static_cast<int>(Points(begin) - Points(lines_[line]) + 1);
    loc.len = end > begin ? std::max(1, static_cast<int>(Points(end) - Points(begin))) : 1;
    return loc;
  }

 private:
  static constexpr size_t kStep = 4096;
  // Code points before offset off.
  size_t Points(size_t off) const {
    size_t n = cont_[off / kStep];
    for (size_t i = off / kStep * kStep; i < off; ++i)
      if ((static_cast<unsigned char>(t_[i]) & 0xc0) == 0x80) ++n;
    return off - n;
  }
  const std::string& t_;
  std::vector<size_t> lines_;  // where each line starts
  std::vector<size_t> cont_;   // UTF-8 continuation bytes before each kStep
};

// ---------------------------------------------------------------------------
// Values of nft expressions.

std::optional<uint64_t> Uint(const JValue& v, uint64_t max) {
  const std::string& s = v.text;
  if (!(v.kind == JValue::Kind::kNumber || v.kind == JValue::Kind::kString) || s.empty() || s.size() > 19)
    return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

// Protocol names nft prints (from /etc/protocols) that fwc spells otherwise.
std::optional<int> ProtocolNumber(const JValue& v) {
  if (auto n = Uint(v, 255)) return static_cast<int>(*n);
  if (!v.is_string()) return std::nullopt;
  static const std::pair<const char*, int> kAliases[] = {
      {"ipv6-icmp", kProtoIcmpv6}, {"icmp6", kProtoIcmpv6}, {"ipencap", 4}, {"ipv4", 4},
      {"udplite", 136},            {"dccp", 33},            {"ipcomp", 108}};
  for (const auto& [name, n] : kAliases)
    if (v.text == name) return n;
  return ProtocolByName(v.text);
}

std::optional<int> IcmpType(Family f, const JValue& v) {
  if (auto n = Uint(v, 255)) return static_cast<int>(*n);
  if (!v.is_string()) return std::nullopt;
  if (f == Family::kV6 && v.text == "mld-listener-reduction") return 132;
  return IcmpTypeByName(f, v.text);
}

// nft's names of ICMP and ICMPv6 codes (its icmp_code, icmpv6_code types).
std::optional<int> IcmpCode(Family f, const JValue& v) {
  if (auto n = Uint(v, 255)) return static_cast<int>(*n);
  if (!v.is_string()) return std::nullopt;
  static const std::pair<const char*, int> kV4[] = {
      {"net-unreachable", 0},  {"host-unreachable", 1}, {"prot-unreachable", 2}, {"port-unreachable", 3},
      {"frag-needed", 4},      {"net-prohibited", 9},   {"host-prohibited", 10}, {"admin-prohibited", 13}};
  static const std::pair<const char*, int> kV6[] = {{"no-route", 0},         {"admin-prohibited", 1},
                                                     {"addr-unreachable", 3}, {"port-unreachable", 4},
                                                     {"policy-fail", 5},      {"reject-route", 6}};
  if (f == Family::kV4) {
    for (const auto& [name, n] : kV4)
      if (v.text == name) return n;
  } else {
    for (const auto& [name, n] : kV6)
      if (v.text == name) return n;
  }
  return std::nullopt;
}

// An expression in words, for what cannot be imported: "meta mark",
// "tcp flags", "ip saddr . tcp dport".
std::string Describe(const JValue& e) {
  std::string_view k = e.OnlyKey();
  if (k.empty()) {
    if (e.is_string() || e.kind == JValue::Kind::kNumber)
      return "'" + (e.text.size() > 40 ? e.text.substr(0, 40) + "..." : e.text) + "'";
    return "an expression";
  }
  const JValue& v = e.OnlyValue();
  std::string key(k);
  if (key == "payload") {
    if (v.Get("protocol")) return v.Str("protocol") + " " + v.Str("field");
    return "a raw payload (@" + v.Str("base") + ")";
  }
  if (key == "meta" || key == "ct" || key == "rt" || key == "socket" || key == "osf")
    return key + (v.Get("dir") ? " " + v.Str("dir") : "") + " " + v.Str("key");
  if (key == "exthdr" || key == "tcp option" || key == "sctp chunk") return key + " " + v.Str("name");
  if (key == "&" || key == "|" || key == "^" || key == "<<" || key == ">>") {
    if (v.is_array() && !v.items.empty()) return Describe(v.items[0]) + " " + key + " ...";
    return "a bit operation";
  }
  if (key == "concat" && v.is_array()) {
    std::string out;
    for (const auto& x : v.items) out += (out.empty() ? "" : " . ") + Describe(x);
    return out;
  }
  return key;
}

// ---------------------------------------------------------------------------
// The ruleset's elements, as listed.

struct NftSet {
  const JValue* body = nullptr;
  bool is_map = false;
  bool updated = false;  // a rule adds to it or updates it at run time
};

struct NftChain {
  const JValue* body = nullptr;
  Loc loc;
  std::string name;
  bool base = false;
  struct Rule {
    const JValue* body;
    Loc loc;
  };
  std::vector<Rule> rules;
};

struct NftTable {
  std::string family, name;
  Loc loc;
  std::vector<NftChain> chains;
  std::map<std::string, NftSet> sets;  // sets and maps, by name
  NftChain* Find(const std::string& chain) {
    for (auto& c : chains)
      if (c.name == chain) return &c;
    return nullptr;
  }
};

using T = SourceRule::Target;

// What one rule of one family says so far: the SourceRule's fields and
// what becomes one rule per member (protocols, ICMP types, interfaces).
struct Draft {
  SourceRule r;
  IntervalSet protos = IntervalSet::Range(0, 255);  // protocols that can match
  bool th = false;                                  // th sport/dport: tcp or udp
  std::vector<int> icmp_types;                      // more than one: a rule each
  std::vector<std::string> iifs, oifs;              // more than one: a rule each
  bool never = false;                               // no packet of the family matches
};

struct Stage {
  Draft d;
  T target = T::kNone;
  std::string jump, log_prefix, to;
};

class Reader;

// One nft rule of one family as SourceRules.
class RuleTranslator {
 public:
  RuleTranslator(Reader& reader, NftTable& table, Family f, bool inet, const Loc& loc, bool report)
      : reader_(reader), table_(table), f_(f), inet_(inet), loc_(loc), report_(report) {}
  void Run(const JValue& rule, std::vector<SourceRule>& out);

 private:
  void Statement(const JValue& s);
  void Match(Draft& d, const std::string& op, const JValue& left, const JValue& right);
  // The members a right-hand side stands for: a value, a set, a list, a
  // named set's elements. False (reported) when there are none to read.
  bool Members(const JValue& right, std::vector<const JValue*>& out, const std::string& what);
  void Addresses(Draft& d, Family f, bool dst, bool neg, const std::vector<const JValue*>& members);
  void Ports(Draft& d, bool dst, const std::string& op, const std::vector<const JValue*>& members);
  void Protocols(Draft& d, bool neg, const std::vector<const JValue*>& members, const std::string& what);
  void Interfaces(Draft& d, bool out, bool by_name, bool neg, const std::vector<const JValue*>& members);
  void FamilyMatch(Draft& d, bool neg, const std::vector<const JValue*>& members, const std::string& what);
  void Pin(Draft& d, Family f) {
    if (f != f_) d.never = true;
  }
  void Limit(const JValue& v);
  bool Verdict(const JValue& v, Stage& s);
  void Nat(const std::string& kind, const JValue& v);
  void Vmap(const JValue& v);
  void Unsupported(std::string what) { unsupported_.push_back(std::move(what)); }
  void Bad(const JValue& where, const std::string& message);
  // The rules one stage becomes; false with *error when it cannot be said.
  bool Expand(const Stage& s, std::vector<SourceRule>& out, std::string* error) const;

  Reader& reader_;
  NftTable& table_;
  Family f_;
  bool inet_;
  Loc loc_;
  bool report_;  // report what is malformed (only one family's pass does)
  Draft cur_;
  std::vector<Stage> stages_;
  std::vector<std::string> unsupported_;
  bool decided_ = false;           // a verdict (or NAT) ended the rule
  bool matched_after_log_ = false;  // a log sees more packets than the verdict
};

class Reader {
 public:
  Reader(const std::string& text, int file, SourceRuleset& out, ImportReporter& report)
      : text_(text), file_(file), out_(out), report_(report), pos_(text) {}
  bool Run();

  Loc At(const JValue& v) const { return pos_.At(file_, v.begin, v.end); }
  void Malformed(const Loc& loc, const std::string& message, const std::string& help = "") {
    report_.Malformed(loc, message, help);
    ok_ = false;
  }
  ImportReporter& report() { return report_; }

 private:
  bool Collect(const JValue& root);
  void MapBaseChains();
  void AddRules();
  size_t Table(Family f, const std::string& kind, const Loc& loc);
  static std::string Key(const std::string& family, const std::string& table) { return family + " " + table; }

  const std::string& text_;
  int file_;
  SourceRuleset& out_;
  ImportReporter& report_;
  Positions pos_;
  bool ok_ = true;
  std::vector<NftTable> tables_;
  std::map<std::string, size_t> by_key_;
  // Where an nft chain went: per family, the SourceTable and the name.
  struct Place {
    Family family;
    size_t table;
    std::string name;
  };
  std::map<std::pair<size_t, std::string>, std::vector<Place>> places_;  // (nft table, chain)
  // The SourceTables an nft table's base chains went to: its regular
  // chains go there too, under these names.
  std::map<size_t, std::map<size_t, std::map<std::string, std::string>>> names_;  // nft table -> table -> chain -> name
};

void RuleTranslator::Bad(const JValue& where, const std::string& message) {
  if (report_) reader_.Malformed(reader_.At(where), message);
  Unsupported(message);
}

bool RuleTranslator::Members(const JValue& right, std::vector<const JValue*>& out, const std::string& what) {
  const JValue* v = &right;
  if (right.is_string() && !right.text.empty() && right.text[0] == '@') {
    auto it = table_.sets.find(right.text.substr(1));
    if (it == table_.sets.end()) {
      Bad(right, "the set " + right.text + " is not in table " + table_.family + " " + table_.name);
      return false;
    }
    const NftSet& s = it->second;
    if (s.is_map) {
      Unsupported("the map " + right.text + " as a set in " + what);
      return false;
    }
    bool dynamic = s.updated;
    if (const JValue* flags = s.body->Get("flags")) {
      std::vector<const JValue*> fl;
      if (flags->is_array())
        for (const auto& x : flags->items) fl.push_back(&x);
      else
        fl.push_back(flags);
      for (const JValue* x : fl)
        if (x->is_string() && (x->text == "timeout" || x->text == "dynamic")) dynamic = true;
    }
    if (dynamic) {
      Unsupported("the set " + right.text + ", whose elements change at run time");
      return false;
    }
    v = s.body->Get("elem");
    if (!v) return true;  // an empty set
  } else if (right.OnlyKey() == "set") {
    v = &right.OnlyValue();
  } else if (!right.is_array()) {
    out.push_back(&right);
    return true;
  }
  auto add = [&](const JValue& x) {
    // {"elem": {"val": X, "comment": ...}}: X
    if (x.OnlyKey() == "elem") {
      const JValue* val = x.OnlyValue().Get("val");
      if (val) out.push_back(val);
      else Bad(x, "a set element without \"val\"");
    } else {
      out.push_back(&x);
    }
  };
  if (v->is_array())
    for (const auto& x : v->items) add(x);
  else
    add(*v);
  return true;
}

void RuleTranslator::Addresses(Draft& d, Family f, bool dst, bool neg, const std::vector<const JValue*>& members) {
  Pin(d, f);
  AddressMatch a;
  a.negated = neg;
  for (const JValue* m : members) {
    std::string err;
    auto one = [&](const JValue& x) -> std::optional<U128> {
      if (!x.is_string()) return std::nullopt;
      auto p = ParseAddress(x.text, &err);
      if (!p || p->prefix >= 0 || p->family != f) return std::nullopt;
      return p->addr;
    };
    std::string fam = f == Family::kV4 ? "IPv4" : "IPv6";
    if (m->is_string()) {
      auto p = ParseAddress(m->text, &err);
      if (!p || p->family != f) {
        Bad(*m, err.empty() ? "'" + m->text + "' is not an " + fam + " address" : err);
        return;
      }
      Interval iv = PrefixInterval(f, p->addr, p->prefix < 0 ? FamilyBits(f) : p->prefix);
      a.set.Add(iv.lo, iv.hi);
    } else if (m->OnlyKey() == "prefix") {
      const JValue& p = m->OnlyValue();
      const JValue* addr = p.Get("addr");
      const JValue* len = p.Get("len");
      auto lo = addr ? one(*addr) : std::nullopt;
      auto n = len ? Uint(*len, static_cast<uint64_t>(FamilyBits(f))) : std::nullopt;
      if (!lo || !n) {
        Bad(*m, "not an " + fam + " prefix {\"addr\": ADDRESS, \"len\": LENGTH}");
        return;
      }
      Interval iv = PrefixInterval(f, *lo, static_cast<int>(*n));
      a.set.Add(iv.lo, iv.hi);
    } else if (m->OnlyKey() == "range") {
      const JValue& r = m->OnlyValue();
      auto lo = r.is_array() && r.items.size() == 2 ? one(r.items[0]) : std::nullopt;
      auto hi = r.is_array() && r.items.size() == 2 ? one(r.items[1]) : std::nullopt;
      if (!lo || !hi || *lo > *hi) {
        Bad(*m, "not an " + fam + " address range [FIRST, LAST]");
        return;
      }
      a.set.Add(*lo, *hi);
    } else {
      Unsupported("the address " + Describe(*m));
      return;
    }
  }
  for (const auto& iv : a.set.intervals())
    a.text.push_back(IntervalPrefix(f, iv) ? FormatInterval(f, iv)
                                           : FormatAddress(f, iv.lo) + " - " + FormatAddress(f, iv.hi));
  if (a.set.empty() && !neg) {
    d.never = true;  // "in an empty set"
    return;
  }
  std::optional<AddressMatch>& slot = dst ? d.r.dst : d.r.src;
  if (a.set.empty()) return;  // not in an empty set: every packet
  if (!slot) {
    slot = std::move(a);
    return;
  }
  // Two matches on one address: their intersection.
  U128 max = FamilyMax(f);
  auto eff = [&](const AddressMatch& m) { return m.negated ? m.set.Complement(max) : m.set; };
  AddressMatch both;
  if (slot->negated && a.negated) {
    both = *slot;
    both.set.AddAll(a.set);
  } else {
    both.set = eff(*slot).Intersect(eff(a));
    if (both.set.empty()) {
      d.never = true;
      return;
    }
  }
  both.text.clear();
  for (const auto& iv : both.set.intervals())
    both.text.push_back(IntervalPrefix(f, iv) ? FormatInterval(f, iv)
                                              : FormatAddress(f, iv.lo) + " - " + FormatAddress(f, iv.hi));
  slot = std::move(both);
}

void RuleTranslator::Ports(Draft& d, bool dst, const std::string& op, const std::vector<const JValue*>& members) {
  PortMatch p;
  p.negated = op == "!=";
  bool cmp = op == "<" || op == ">" || op == "<=" || op == ">=";
  for (const JValue* m : members) {
    if (cmp) {
      auto n = members.size() == 1 ? Uint(*m, 65535) : std::nullopt;
      if (!n) {
        Unsupported("the port comparison '" + op + " " + Describe(*m) + "'");
        return;
      }
      uint64_t lo = 0, hi = 65535;
      if (op == "<") {
        if (*n == 0) {
          d.never = true;
          return;
        }
        hi = *n - 1;
      } else if (op == "<=") {
        hi = *n;
      } else if (op == ">") {
        if (*n == 65535) {
          d.never = true;
          return;
        }
        lo = *n + 1;
      } else {
        lo = *n;
      }
      p.ports.Add(lo, hi);
    } else if (auto n = Uint(*m, 65535)) {
      p.ports.Add(*n, *n);
    } else if (m->OnlyKey() == "range") {
      const JValue& r = m->OnlyValue();
      auto lo = r.is_array() && r.items.size() == 2 ? Uint(r.items[0], 65535) : std::nullopt;
      auto hi = r.is_array() && r.items.size() == 2 ? Uint(r.items[1], 65535) : std::nullopt;
      if (!lo || !hi || *lo > *hi) {
        Bad(*m, "not a port range [FIRST, LAST]");
        return;
      }
      p.ports.Add(*lo, *hi);
    } else if (m->is_string()) {
      Unsupported("the port '" + m->text + "' (a name: nft -j prints numbers)");
      return;
    } else {
      Unsupported("the port " + Describe(*m));
      return;
    }
  }
  if (p.ports.empty()) {
    if (!p.negated) d.never = true;
    return;
  }
  std::optional<PortMatch>& slot = dst ? d.r.dport : d.r.sport;
  if (!slot) {
    slot = std::move(p);
    return;
  }
  auto eff = [](const PortMatch& x) { return x.negated ? x.ports.Complement(65535) : x.ports; };
  PortMatch both;
  both.ports = eff(*slot).Intersect(eff(p));
  if (both.ports.empty()) d.never = true;
  slot = std::move(both);
}

void RuleTranslator::Protocols(Draft& d, bool neg, const std::vector<const JValue*>& members, const std::string& what) {
  IntervalSet s;
  for (const JValue* m : members) {
    auto n = ProtocolNumber(*m);
    if (!n) {
      Unsupported("the protocol " + Describe(*m) + " of " + what);
      return;
    }
    s.Add(static_cast<U128>(*n), static_cast<U128>(*n));
  }
  d.protos = d.protos.Intersect(neg ? s.Complement(255) : s);
}

void RuleTranslator::Interfaces(Draft& d, bool out, bool by_name, bool neg, const std::vector<const JValue*>& members) {
  std::vector<std::string> names;
  std::string what = std::string(out ? "o" : "i") + (by_name ? "ifname" : "if");
  for (const JValue* m : members) {
    if (!m->is_string()) {
      Unsupported("the interface " + Describe(*m) + " of " + what + " (an index: the interface did not exist)");
      return;
    }
    std::string n = m->text;
    bool wild = by_name && !n.empty() && n.back() == '*' && (n.size() < 2 || n[n.size() - 2] != '\\');
    if (wild) n.back() = '+';
    if (n.empty() || n.find_first_of("*\\") != std::string::npos ||
        n.find('+') != (wild ? n.size() - 1 : std::string::npos)) {
      Unsupported("the interface name '" + m->text + "' of " + what);
      return;
    }
    names.push_back(n);
  }
  std::optional<InterfaceMatch>& slot = out ? d.r.oif : d.r.iif;
  std::vector<std::string>& alts = out ? d.oifs : d.iifs;
  if (slot || !alts.empty()) {
    Unsupported("two matches on the " + std::string(out ? "output" : "input") + " interface");
    return;
  }
  if (names.empty()) {
    if (!neg) d.never = true;
    return;
  }
  if (names.size() == 1) {
    slot = InterfaceMatch{neg, names[0]};
    return;
  }
  if (neg) {
    Unsupported(what + " != { ... }: a negated set of interfaces");
    return;
  }
  alts = names;
}

void RuleTranslator::FamilyMatch(Draft& d, bool neg, const std::vector<const JValue*>& members, const std::string& what) {
  bool mine = false;
  for (const JValue* m : members) {
    std::optional<Family> f;
    if (m->is_string()) {
      if (m->text == "ipv4" || m->text == "ip") f = Family::kV4;
      else if (m->text == "ipv6" || m->text == "ip6") f = Family::kV6;
    } else if (auto n = Uint(*m, 65535)) {
      if (*n == 2 || *n == 0x0800) f = Family::kV4;
      else if (*n == 10 || *n == 0x86dd) f = Family::kV6;
    }
    if (!f && !m->is_string() && !Uint(*m, 65535)) {
      Unsupported("the value " + Describe(*m) + " of " + what);
      return;
    }
    if (f == f_) mine = true;
  }
  if (mine == neg) d.never = true;
}

void RuleTranslator::Match(Draft& d, const std::string& op, const JValue& left, const JValue& right) {
  std::string what = Describe(left);
  bool neg = op == "!=";
  bool eq = op == "==" || op == "in";
  bool cmp = op == "<" || op == ">" || op == "<=" || op == ">=";
  std::string_view k = left.OnlyKey();
  if (!eq && !neg && !cmp) {
    Unsupported("the operator '" + op + "' on " + what);
    return;
  }
  if (k == "payload") {
    const JValue& p = left.OnlyValue();
    std::string proto = p.Str("protocol"), field = p.Str("field");
    bool v4 = proto == "ip", v6 = proto == "ip6";
    bool ports = (proto == "tcp" || proto == "udp" || proto == "th") && (field == "sport" || field == "dport");
    if (cmp && !ports) {
      Unsupported("the operator '" + op + "' on " + what);
      return;
    }
    std::vector<const JValue*> m;
    if ((v4 || v6) && (field == "saddr" || field == "daddr")) {
      if (Members(right, m, what)) Addresses(d, v4 ? Family::kV4 : Family::kV6, field == "daddr", neg, m);
    } else if ((v4 && field == "protocol") || (v6 && field == "nexthdr")) {
      Pin(d, v4 ? Family::kV4 : Family::kV6);
      if (Members(right, m, what)) Protocols(d, neg, m, what);
    } else if (ports) {
      if (proto == "tcp") d.protos = d.protos.Intersect(IntervalSet::Range(kProtoTcp, kProtoTcp));
      else if (proto == "udp") d.protos = d.protos.Intersect(IntervalSet::Range(kProtoUdp, kProtoUdp));
      else d.th = true;
      if (Members(right, m, what)) Ports(d, field == "dport", op, m);
    } else if ((proto == "icmp" || proto == "icmpv6") && (field == "type" || field == "code")) {
      Family f = proto == "icmp" ? Family::kV4 : Family::kV6;
      int number = f == Family::kV4 ? kProtoIcmp : kProtoIcmpv6;
      if (inet_) Pin(d, f);
      d.protos = d.protos.Intersect(IntervalSet::Range(static_cast<U128>(number), static_cast<U128>(number)));
      if (neg) {
        Unsupported("a negated ICMP " + field + " (" + what + " != ...)");
        return;
      }
      if (!Members(right, m, what)) return;
      std::vector<int> values;
      for (const JValue* x : m) {
        auto n = field == "type" ? IcmpType(f, *x) : IcmpCode(f, *x);
        if (!n) {
          Unsupported("the " + what + " " + Describe(*x));
          return;
        }
        values.push_back(*n);
      }
      if (values.empty()) {
        d.never = true;
      } else if (field == "code") {
        if (values.size() > 1 || d.r.icmp_code >= 0) Unsupported("more than one " + what);
        else d.r.icmp_code = values[0];
      } else {
        if (!d.icmp_types.empty()) {
          // Two type matches: the types both allow.
          std::vector<int> both;
          for (int t : d.icmp_types)
            if (std::find(values.begin(), values.end(), t) != values.end()) both.push_back(t);
          values = both;
          if (values.empty()) d.never = true;
        }
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
        d.icmp_types = values;
      }
    } else {
      Unsupported("the match on " + what);
    }
    return;
  }
  if (cmp) {
    Unsupported("the operator '" + op + "' on " + what);
    return;
  }
  std::vector<const JValue*> m;
  if (k == "meta") {
    std::string key = left.OnlyValue().Str("key");
    if (key == "l4proto") {
      if (Members(right, m, what)) Protocols(d, neg, m, what);
    } else if (key == "nfproto" || key == "protocol") {
      if (Members(right, m, what)) FamilyMatch(d, neg, m, what);
    } else if (key == "iifname" || key == "oifname" || key == "iif" || key == "oif") {
      if (Members(right, m, what)) Interfaces(d, key[0] == 'o', key.size() == 7, neg, m);
    } else {
      Unsupported("the match on " + what);
    }
    return;
  }
  if (k == "ct" && left.OnlyValue().Str("key") == "state" && !left.OnlyValue().Get("dir")) {
    if (!Members(right, m, what)) return;
    if (!d.r.states.empty()) {
      Unsupported("two matches on ct state");
      return;
    }
    static const char* kStates[] = {"new", "established", "related", "invalid", "untracked"};
    std::vector<std::string> states;
    for (const JValue* x : m) {
      if (!x->is_string() || std::find(std::begin(kStates), std::end(kStates), x->text) == std::end(kStates)) {
        Unsupported("the connection state " + Describe(*x));
        return;
      }
      if (std::find(states.begin(), states.end(), x->text) == states.end()) states.push_back(x->text);
    }
    if (states.empty()) {
      if (!neg) d.never = true;
      return;
    }
    d.r.states = states;
    d.r.states_negated = neg;
    return;
  }
  Unsupported("the match on " + what);
}

void RuleTranslator::Limit(const JValue& v) {
  if (!v.is_object()) {
    Unsupported("a named limit (limit name " + Describe(v) + ")");
    return;
  }
  // A plain value, not an optional: GCC 12 warns (maybe-uninitialized) on
  // the optional at -O2.
  unsigned long rate_value = 0;
  if (v.Get("rate"))
    if (auto r = Uint(*v.Get("rate"), 1000000)) rate_value = *r;
  std::string per = v.Str("per");
  static const char* kUnits[] = {"second", "minute", "hour", "day"};
  if (rate_value == 0 || std::find(std::begin(kUnits), std::end(kUnits), per) == std::end(kUnits)) {
    Unsupported("the limit rate " + (v.Get("rate") ? v.Get("rate")->text : std::string("?")) + "/" + per);
    return;
  }
  std::string unit = v.Str("rate_unit");
  if (!unit.empty() && unit != "packets") {
    Unsupported("a limit in " + unit + " (fwc limits packets)");
    return;
  }
  if (const JValue* inv = v.Get("inv"); inv && inv->boolean) {
    Unsupported("limit rate over (a match on the packets past the rate)");
    return;
  }
  if (const JValue* burst = v.Get("burst"); burst && burst->text != "5" && burst->text != "0") {
    Unsupported("limit ... burst " + burst->text + " (fwc's limit has nft's default burst, 5 packets)");
    return;
  }
  if (!cur_.r.limit.empty()) {
    Unsupported("two limits in one rule");
    return;
  }
  cur_.r.limit = std::to_string(rate_value) + "/" + per;
}

// A verdict statement (or a vmap's verdict); false when v is not one.
bool RuleTranslator::Verdict(const JValue& v, Stage& s) {
  std::string_view k = v.OnlyKey();
  if (k == "accept") s.target = T::kAccept;
  else if (k == "drop") s.target = T::kDrop;
  else if (k == "return") s.target = T::kReturn;
  else if (k == "continue") s.target = T::kNone;
  else if (k == "jump" || k == "goto") {
    std::string target = v.OnlyValue().Str("target");
    if (target.empty()) {
      Bad(v, std::string(k) + " without a target chain");
      return true;
    }
    s.target = k == "jump" ? T::kJump : T::kGoto;
    s.jump = target;
  } else {
    return false;
  }
  return true;
}

void RuleTranslator::Nat(const std::string& kind, const JValue& v) {
  Stage s;
  s.d = cur_;
  s.target = kind == "dnat" ? T::kDnat : kind == "snat" ? T::kSnat : kind == "masquerade" ? T::kMasquerade : T::kRedirect;
  const JValue* flags = v.Get("flags");
  if (flags) {
    std::vector<const JValue*> fl;
    if (flags->is_array())
      for (const auto& x : flags->items) fl.push_back(&x);
    else
      fl.push_back(flags);
    for (const JValue* x : fl)
      if (!x->is_string() || (x->text != "random" && x->text != "fully-random" && x->text != "persistent"))
        Unsupported("the " + kind + " flag " + Describe(*x));
  }
  std::string port;
  if (const JValue* p = v.Get("port")) {
    if (auto n = Uint(*p, 65535)) {
      port = std::to_string(*n);
    } else if (p->OnlyKey() == "range" && p->OnlyValue().is_array() && p->OnlyValue().items.size() == 2 &&
               Uint(p->OnlyValue().items[0], 65535) && Uint(p->OnlyValue().items[1], 65535)) {
      port = std::to_string(*Uint(p->OnlyValue().items[0], 65535)) + "-" +
             std::to_string(*Uint(p->OnlyValue().items[1], 65535));
    } else {
      Unsupported("the " + kind + " port " + Describe(*p));
    }
  }
  if (s.target == T::kMasquerade || s.target == T::kRedirect) {
    if (v.Get("addr")) Unsupported("an address in " + kind);
    s.to = port;
    stages_.push_back(std::move(s));
    return;
  }
  std::string fam = v.Str("family");
  if (fam == "ip") Pin(s.d, Family::kV4);
  else if (fam == "ip6") Pin(s.d, Family::kV6);
  const JValue* addr = v.Get("addr");
  std::string to;
  std::optional<Family> af;
  auto one = [&](const JValue& x) -> bool {
    std::string err;
    auto p = x.is_string() ? ParseAddress(x.text, &err) : std::nullopt;
    if (!p || p->prefix >= 0 || (af && *af != p->family)) return false;
    af = p->family;
    to += FormatAddress(p->family, p->addr);
    return true;
  };
  if (!addr) {
    Unsupported(kind + " without an address");
  } else if (addr->is_string()) {
    if (!one(*addr)) Bad(*addr, "'" + addr->text + "' is not an address to " + kind + " to");
  } else if (addr->OnlyKey() == "range" && addr->OnlyValue().is_array() && addr->OnlyValue().items.size() == 2) {
    bool ok = one(addr->OnlyValue().items[0]);
    to += "-";
    if (!ok || !one(addr->OnlyValue().items[1])) Bad(*addr, "not an address range to " + kind + " to");
  } else {
    Unsupported("the " + kind + " address " + Describe(*addr) + " (fwc translates to an address or a range)");
  }
  if (af) {
    Pin(s.d, *af);
    if (*af == Family::kV6 && !port.empty()) to = "[" + to + "]";
    if (!port.empty()) to += ":" + port;
  }
  s.to = to;
  stages_.push_back(std::move(s));
}

void RuleTranslator::Vmap(const JValue& v) {
  const JValue* key = v.Get("key");
  const JValue* data = v.Get("data");
  if (!key || !data) {
    Bad(v, "a vmap needs \"key\" and \"data\"");
    return;
  }
  const JValue* pairs = nullptr;
  if (data->is_string() && !data->text.empty() && data->text[0] == '@') {
    auto it = table_.sets.find(data->text.substr(1));
    if (it == table_.sets.end() || !it->second.is_map || it->second.body->Str("map") != "verdict") {
      Unsupported("the verdict map " + data->text + " (not a map of verdicts in table " + table_.name + ")");
      return;
    }
    if (it->second.updated) {
      Unsupported("the verdict map " + data->text + ", whose elements change at run time");
      return;
    }
    pairs = it->second.body->Get("elem");
    if (!pairs) return;  // an empty map: the rule decides nothing
  } else if (data->OnlyKey() == "set") {
    pairs = &data->OnlyValue();
  } else {
    Unsupported("the verdict map " + Describe(*data));
    return;
  }
  if (!stages_.empty()) matched_after_log_ = true;
  // One rule per verdict: the keys of a map are disjoint, so the rules'
  // order does not matter.
  std::vector<std::pair<std::string, std::pair<Stage, JValue>>> groups;
  std::vector<const JValue*> items;
  if (pairs->is_array()) {
    for (const auto& x : pairs->items) items.push_back(&x);
  } else {
    items.push_back(pairs);
  }
  for (const JValue* p : items) {
    if (!p->is_array() || p->items.size() != 2) {
      Bad(*p, "an element of a verdict map is [KEY, VERDICT]");
      return;
    }
    Stage s;
    if (!Verdict(p->items[1], s)) {
      Unsupported("the verdict " + Describe(p->items[1]) + " in a verdict map");
      return;
    }
    std::string id = std::to_string(static_cast<int>(s.target)) + ":" + s.jump;
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& e) { return e.first == id; });
    if (g == groups.end()) {
      JValue set;
      set.kind = JValue::Kind::kArray;
      set.begin = p->begin;
      set.end = p->end;
      groups.push_back({id, {std::move(s), std::move(set)}});
      g = groups.end() - 1;
    }
    g->second.second.items.push_back(p->items[0]);
  }
  for (auto& [id, g] : groups) {
    auto& [s, keys] = g;
    if (s.target == T::kNone) continue;  // continue: as if no element matched
    JValue set;
    set.kind = JValue::Kind::kObject;
    set.keys = {"set"};
    set.items.push_back(std::move(keys));
    s.d = cur_;
    Match(s.d, "==", *key, set);
    stages_.push_back(std::move(s));
  }
}

void RuleTranslator::Statement(const JValue& s) {
  std::string k(s.OnlyKey());
  if (k.empty()) {
    Bad(s, "a statement is an object of one key, like {\"accept\": null}");
    return;
  }
  const JValue& v = s.OnlyValue();
  if (decided_ && k != "counter") {
    Unsupported("the statement '" + k + "' after the verdict");
    return;
  }
  if (k == "match") {
    const JValue* left = v.Get("left");
    const JValue* right = v.Get("right");
    const JValue* op = v.Get("op");
    if (!left || !right || !op || !op->is_string()) {
      Bad(s, "a match needs \"op\", \"left\" and \"right\"");
      return;
    }
    if (!stages_.empty()) matched_after_log_ = true;
    Match(cur_, op->text, *left, *right);
  } else if (k == "counter") {
    // Counts; decides nothing.
  } else if (k == "limit") {
    if (!stages_.empty()) matched_after_log_ = true;
    Limit(v);
  } else if (k == "log") {
    Stage st;
    st.d = cur_;
    st.target = T::kLog;
    for (const char* unsupported : {"group", "snaplen", "queue-threshold"})
      if (v.Get(unsupported)) Unsupported(std::string("log ") + unsupported + " (logging through nfnetlink_log)");
    st.log_prefix = v.Str("prefix");
    stages_.push_back(std::move(st));
  } else if (k == "reject") {
    Stage st;
    st.d = cur_;
    st.target = T::kReject;
    const JValue* e = v.Get("expr");
    if (report_ && e && !(e->is_string() && e->text == "port-unreachable"))
      reader_.report().Note(loc_, "reject with " + v.Str("type") + " type " + Describe(*e) +
                                      " becomes fwc's reject, which answers TCP with a reset and everything else "
                                      "with port-unreachable");
    stages_.push_back(std::move(st));
    decided_ = true;
  } else if (k == "dnat" || k == "snat" || k == "masquerade" || k == "redirect") {
    Nat(k, v);
    decided_ = true;
  } else if (k == "vmap") {
    Vmap(v);
    decided_ = true;
  } else if (k == "xt") {
    Unsupported("the iptables-nft extension '" + v.Str("type") + " " + v.Str("name") +
                "' (read this ruleset with iptables-save instead)");
  } else {
    Stage st;
    if (Verdict(s, st)) {
      decided_ = true;
      if (st.target == T::kNone) return;  // continue
      st.d = cur_;
      stages_.push_back(std::move(st));
      return;
    }
    Unsupported("the statement '" + k + "'");
  }
}

bool RuleTranslator::Expand(const Stage& s, std::vector<SourceRule>& out, std::string* error) const {
  const Draft& d = s.d;
  if (d.never) return true;
  // The protocols: any, all but one, or a rule per protocol.
  IntervalSet protos = d.protos;
  std::vector<int> list;
  bool negated = false;
  IntervalSet others = protos.Complement(255);
  size_t count = 0;
  for (const auto& iv : protos.intervals()) count += static_cast<size_t>(iv.hi - iv.lo + 1);
  if (protos.IsFull(255)) {
    list = {-1};
  } else if (others.intervals().size() == 1 && others.intervals()[0].lo == others.intervals()[0].hi) {
    list = {static_cast<int>(others.intervals()[0].lo)};
    negated = true;
  } else if (count > 32) {
    *error = "a match on " + std::to_string(count) + " protocols";
    return false;
  } else {
    for (const auto& iv : protos.intervals())
      for (U128 p = iv.lo; p <= iv.hi; ++p) {
        // In an inet table, ICMP is IPv4's and ICMPv6 IPv6's.
        if (inet_ && ((f_ == Family::kV4 && p == kProtoIcmpv6) || (f_ == Family::kV6 && p == kProtoIcmp))) continue;
        list.push_back(static_cast<int>(p));
      }
  }
  if (list.empty()) return true;  // no protocol can match
  if (d.th)
    for (int p : list)
      if (p != kProtoTcp && p != kProtoUdp) {
        *error = "th sport/dport without meta l4proto tcp or udp";
        return false;
      }
  std::vector<int> types = d.icmp_types.empty() ? std::vector<int>{-1} : d.icmp_types;
  std::vector<std::string> iifs = d.iifs.empty() ? std::vector<std::string>{""} : d.iifs;
  std::vector<std::string> oifs = d.oifs.empty() ? std::vector<std::string>{""} : d.oifs;
  size_t n = list.size() * types.size() * iifs.size() * oifs.size();
  if (n > 64) {
    *error = "sets that would make " + std::to_string(n) + " rules";
    return false;
  }
  for (int p : list)
    for (int t : types)
      for (const auto& i : iifs)
        for (const auto& o : oifs) {
          if (t >= 0 && p != kProtoIcmp && p != kProtoIcmpv6) continue;
          SourceRule r = d.r;
          r.loc = loc_;
          r.family = f_;
          r.proto = p;
          r.proto_negated = negated;
          r.icmp_type = t;
          if (!i.empty()) r.iif = InterfaceMatch{false, i};
          if (!o.empty()) r.oif = InterfaceMatch{false, o};
          r.target = s.target;
          r.jump = s.jump;
          r.log_prefix = s.log_prefix;
          r.to = s.to;
          out.push_back(std::move(r));
        }
  return true;
}

void RuleTranslator::Run(const JValue& rule, std::vector<SourceRule>& out) {
  cur_.r.comment = rule.Str("comment");
  const JValue* expr = rule.Get("expr");
  for (const auto& s : expr->items) Statement(s);
  if (stages_.empty() && unsupported_.empty()) return;  // decides nothing: matches and counters
  bool never = cur_.never;
  for (const auto& s : stages_) never = never && s.d.never;
  if (never && stages_.size() > 0) return;  // only the other family's packets
  if (cur_.never && stages_.empty()) return;
  std::vector<std::vector<SourceRule>> per(stages_.size());
  for (size_t i = 0; i < stages_.size() && unsupported_.empty(); ++i) {
    std::string error;
    if (!Expand(stages_[i], per[i], &error)) Unsupported(error);
  }
  if (!unsupported_.empty()) {
    // One rule says what cannot be imported.
    SourceRule r = cur_.r;
    r.loc = loc_;
    r.family = f_;
    if (!stages_.empty()) {
      r.target = stages_.back().target;
      r.jump = stages_.back().jump;
      r.to = stages_.back().to;
    }
    r.unsupported = unsupported_;
    out.push_back(std::move(r));
    return;
  }
  // A log and a verdict with the same matches: LOG then the verdict, member
  // by member, as iptables-save has them. Otherwise stage by stage.
  bool paired = !matched_after_log_;
  for (size_t i = 1; paired && i < per.size(); ++i) paired = per[i].size() == per[0].size();
  if (paired) {
    for (size_t j = 0; !per.empty() && j < per[0].size(); ++j)
      for (auto& p : per) out.push_back(std::move(p[j]));
  } else {
    for (auto& p : per)
      for (auto& r : p) out.push_back(std::move(r));
  }
}

// ---------------------------------------------------------------------------

size_t Reader::Table(Family f, const std::string& kind, const Loc& loc) {
  for (size_t i = 0; i < out_.tables.size(); ++i)
    if (out_.tables[i].family == f && out_.tables[i].name == kind) return i;
  SourceTable t;
  t.family = f;
  t.name = kind;
  t.loc = loc;
  out_.tables.push_back(std::move(t));
  return out_.tables.size() - 1;
}

bool Reader::Collect(const JValue& root) {
  const JValue* list = root.Get("nftables");
  if (!list || !list->is_array()) {
    Malformed(At(root), "not nft's JSON: expected {\"nftables\": [...]}", "give the output of nft -j list ruleset");
    return false;
  }
  struct Pending {
    const JValue* elem;
    const JValue* body;
  };
  std::vector<Pending> chains, rules, sets;
  static const char* kCommands[] = {"add",  "create", "insert", "replace", "delete",
                                    "destroy", "list", "reset",  "flush",   "rename"};
  for (const auto& e : list->items) {
    std::string k(e.OnlyKey());
    if (k.empty()) {
      Malformed(At(e), "an element of \"nftables\" is an object of one key, like {\"table\": {...}}");
      continue;
    }
    const JValue& v = e.OnlyValue();
    if (std::find(std::begin(kCommands), std::end(kCommands), k) != std::end(kCommands)) {
      Malformed(At(e), "the command '" + k + "': fwc reads what nft -j list ruleset prints, not nft -j -f input");
      continue;
    }
    bool element = k == "table" || k == "chain" || k == "rule" || k == "set" || k == "map";
    if (!element) continue;  // metainfo, flowtables, named counters, quotas ...: decide nothing themselves
    if (!v.is_object() || v.Str("family").empty() || (k == "table" ? v.Str("name") : v.Str("table")).empty() ||
        (k != "rule" && v.Str("name").empty()) || (k == "rule" && v.Str("chain").empty())) {
      Malformed(At(e), "a " + k + " needs \"family\", " +
                           (k == "table" ? "\"name\""
                            : k == "rule" ? "\"table\" and \"chain\""
                                          : "\"table\" and \"name\""));
      continue;
    }
    if (k == "table") {
      std::string key = Key(v.Str("family"), v.Str("name"));
      if (by_key_.count(key)) {
        Malformed(At(e), "table " + key + " is listed twice");
        continue;
      }
      NftTable t;
      t.family = v.Str("family");
      t.name = v.Str("name");
      t.loc = At(e);
      by_key_[key] = tables_.size();
      tables_.push_back(std::move(t));
    } else if (k == "chain") {
      chains.push_back({&e, &v});
    } else if (k == "rule") {
      const JValue* expr = v.Get("expr");
      if (!expr || !expr->is_array()) {
        Malformed(At(e), "a rule needs \"expr\", the array of its statements");
        continue;
      }
      rules.push_back({&e, &v});
    } else {
      sets.push_back({&e, &v});
    }
  }
  auto table_of = [&](const Pending& p, const std::string& what) -> NftTable* {
    auto it = by_key_.find(Key(p.body->Str("family"), p.body->Str("table")));
    if (it == by_key_.end()) {
      Malformed(At(*p.elem), what + " of table " + Key(p.body->Str("family"), p.body->Str("table")) +
                                 ", which the ruleset does not list");
      return nullptr;
    }
    return &tables_[it->second];
  };
  for (const auto& p : chains) {
    NftTable* t = table_of(p, "chain " + p.body->Str("name"));
    if (!t) continue;
    if (t->Find(p.body->Str("name"))) {
      Malformed(At(*p.elem), "chain " + p.body->Str("name") + " is listed twice");
      continue;
    }
    NftChain c;
    c.body = p.body;
    c.loc = At(*p.elem);
    c.name = p.body->Str("name");
    c.base = p.body->Get("hook") != nullptr;
    t->chains.push_back(std::move(c));
  }
  for (const auto& p : sets) {
    NftTable* t = table_of(p, "set " + p.body->Str("name"));
    if (!t) continue;
    NftSet s;
    s.body = p.body;
    s.is_map = p.elem->OnlyKey() == "map";
    t->sets[p.body->Str("name")] = s;
  }
  for (const auto& p : rules) {
    NftTable* t = table_of(p, "a rule");
    if (!t) continue;
    NftChain* c = t->Find(p.body->Str("chain"));
    if (!c) {
      Malformed(At(*p.elem), "a rule of chain " + p.body->Str("chain") + ", which table " + t->family + " " +
                                 t->name + " does not list");
      continue;
    }
    c->rules.push_back({p.body, At(*p.elem)});
    // Sets that rules add to or update change at run time.
    for (const auto& s : p.body->Get("expr")->items) {
      std::string_view k = s.OnlyKey();
      if (k != "set" && k != "map") continue;
      std::string name = s.OnlyValue().Str(k == "set" ? "set" : "map");
      if (!name.empty() && name[0] == '@') {
        auto it = t->sets.find(name.substr(1));
        if (it != t->sets.end()) it->second.updated = true;
      }
    }
  }
  return true;
}

std::vector<Family> Families(const std::string& family) {
  if (family == "ip") return {Family::kV4};
  if (family == "ip6") return {Family::kV6};
  if (family == "inet") return {Family::kV4, Family::kV6};
  return {};
}

void Reader::MapBaseChains() {
  for (size_t ti = 0; ti < tables_.size(); ++ti) {
    NftTable& t = tables_[ti];
    std::vector<Family> fams = Families(t.family);
    if (fams.empty()) {
      bool matters = false;
      for (const auto& c : t.chains) matters |= !c.rules.empty() || (c.base && c.body->Str("policy") == "drop");
      if (matters)
        report_.Unmapped(t.loc, "not imported: table " + t.family + " " + t.name +
                                    " (fwc imports the tables of the ip, ip6 and inet families)");
      continue;
    }
    for (auto& c : t.chains) {
      if (!c.base) continue;
      std::string type = c.body->Str("type"), hook = c.body->Str("hook"), policy = c.body->Str("policy");
      std::string kind, name;
      if (type == "filter" && (hook == "input" || hook == "forward" || hook == "output")) {
        kind = "filter";
      } else if (type == "nat" && (hook == "prerouting" || hook == "postrouting" || hook == "input" || hook == "output")) {
        kind = "nat";
      }
      for (char ch : hook) name += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
      std::string what = "chain " + c.name + " of table " + t.family + " " + t.name;
      if (policy != "" && policy != "accept" && policy != "drop") {
        Malformed(c.loc, what + ": the policy '" + policy + "' is neither accept nor drop");
        continue;
      }
      if (kind.empty()) {
        if (!c.rules.empty() || policy == "drop")
          report_.Unmapped(c.loc, "not imported: " + what + ", of type " + type + " at hook " + hook +
                                      " (fwc imports filter chains at input, forward and output, and nat chains)");
        continue;
      }
      if (kind == "nat" && policy == "drop") {
        report_.Unmapped(c.loc, "not imported: " + what + ": a nat chain with policy drop");
        continue;
      }
      std::vector<Place> places;
      bool taken = false;
      for (Family f : fams) {
        size_t idx = Table(f, kind, t.loc);
        if (out_.tables[idx].Find(name)) taken = true;
      }
      if (taken) {
        report_.Unmapped(c.loc, "not imported: " + what + ": a second " + kind + " chain at hook " + hook +
                                    " (fwc has one chain per hook)",
                         "merge the chains of hook " + hook + " into one");
        continue;
      }
      for (Family f : fams) {
        size_t idx = Table(f, kind, t.loc);
        SourceChain sc;
        sc.name = name;
        sc.policy = kind == "filter" && policy == "drop" ? "DROP" : "ACCEPT";
        sc.loc = c.loc;
        out_.tables[idx].chains.push_back(std::move(sc));
        places.push_back({f, idx, name});
        names_[ti][idx][c.name] = name;
      }
      places_[{ti, c.name}] = places;
    }
  }
}

void Reader::AddRules() {
  for (size_t ti = 0; ti < tables_.size(); ++ti) {
    NftTable& t = tables_[ti];
    // The regular chains, in each SourceTable the table's base chains went to.
    for (auto& [idx, names] : names_[ti]) {
      SourceTable& st = out_.tables[idx];
      for (const auto& c : t.chains) {
        if (c.base) continue;
        std::string name = c.name;
        if (st.Find(name)) name = t.name + "." + c.name;
        for (int n = 2; st.Find(name); ++n) name = t.name + "." + c.name + "." + std::to_string(n);
        SourceChain sc;
        sc.name = name;
        sc.loc = c.loc;
        st.chains.push_back(std::move(sc));
        names[c.name] = name;
        places_[{ti, c.name}].push_back({st.family, idx, name});
      }
    }
    for (auto& c : t.chains) {
      auto pl = places_.find({ti, c.name});
      if (pl == places_.end()) continue;  // not imported (reported)
      for (const auto& rule : c.rules) {
        std::vector<SourceRule> per[2];
        bool done[2] = {false, false};
        bool first = true;
        for (const Place& p : pl->second) {
          int fi = p.family == Family::kV6;
          if (!done[fi]) {
            RuleTranslator tr(*this, t, p.family, t.family == "inet", rule.loc, first);
            tr.Run(*rule.body, per[fi]);
            done[fi] = true;
            first = false;
          }
          SourceChain* sc = out_.tables[p.table].Find(p.name);
          for (SourceRule r : per[fi]) {
            if (r.target == T::kJump || r.target == T::kGoto) {
              const auto& names = names_[ti][p.table];
              auto it = names.find(r.jump);
              const NftChain* callee = t.Find(r.jump);
              if (!callee || it == names.end()) {
                r.unsupported.push_back("a " + std::string(r.target == T::kJump ? "jump" : "goto") + " to chain " +
                                        r.jump + ", which table " + t.family + " " + t.name + " does not list");
              } else if (callee->base) {
                r.unsupported.push_back("a jump to the base chain " + r.jump);
              } else {
                r.jump = it->second;
              }
            }
            sc->rules.push_back(std::move(r));
          }
        }
      }
    }
  }
}

bool Reader::Run() {
  if (text_.size() > kMaxText) {
    Malformed(Loc{file_, 1, 1, 1}, "the JSON text is larger than 64 MiB");
    return false;
  }
  JValue root;
  JsonParser parser(text_);
  if (!parser.Parse(root)) {
    Malformed(pos_.At(file_, parser.error_at(), parser.error_at() + 1), "not JSON: " + parser.error(),
              "give the output of nft -j list ruleset");
    return false;
  }
  if (!Collect(root)) return false;
  MapBaseChains();
  AddRules();
  return ok_;
}

}  // namespace

bool ReadNftJson(const std::string& text, int file, SourceRuleset& out, ImportReporter& report) {
  return Reader(text, file, out, report).Run();
}

}  // namespace fwc::import
