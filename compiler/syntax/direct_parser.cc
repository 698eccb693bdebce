#include "compiler/syntax/direct_parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace fwc {
namespace {

// Token types: those of the grammar's lexer rules, then its literals.
enum class Tok : uint8_t {
  kEof,
  kAddr,
  kNumber,
  kId,
  kString,
  kOther,  // ANYCHAR: the grammar never accepts it
  kSemi,
  kLBrace,
  kRBrace,
  kComma,
  kDash,
  kSlash,
  kInclude,
  kFirewall,
  kInterface,
  kHost,
  kNetwork,
  kRange,
  kGroup,
  kService,
  kSet,
  kRuntime,
  kPolicy,
  kDefault,
  kOption,
  kFrom,
  kTo,
  kAccept,
  kDrop,
  kReject,
  kIn,
  kOut,
  kLog,
  kCounter,
  kComment,
  kDisabled,
  kIf,
  kNot,
  kNowarn,
  kPrefix,
  kRate,
  kAny,
  kTcp,
  kUdp,
  kSport,
  kIcmp,
  kIcmpv6,
  kProto,
  kCode,
};

struct Keyword {
  std::string_view text;
  Tok type;
};

// The grammar's keyword literals. In ANTLR they are implicit lexer rules
// defined before ID, so a keyword wins over an ID of the same length.
constexpr Keyword kKeywords[] = {
    {"include", Tok::kInclude}, {"firewall", Tok::kFirewall}, {"interface", Tok::kInterface},
    {"host", Tok::kHost},       {"network", Tok::kNetwork},   {"range", Tok::kRange},
    {"group", Tok::kGroup},     {"service", Tok::kService},   {"set", Tok::kSet},
    {"runtime", Tok::kRuntime}, {"policy", Tok::kPolicy},
    {"default", Tok::kDefault}, {"option", Tok::kOption},     {"from", Tok::kFrom},
    {"to", Tok::kTo},           {"accept", Tok::kAccept},     {"drop", Tok::kDrop},
    {"reject", Tok::kReject},   {"in", Tok::kIn},             {"out", Tok::kOut},
    {"log", Tok::kLog},         {"counter", Tok::kCounter},   {"comment", Tok::kComment},
    {"disabled", Tok::kDisabled}, {"if", Tok::kIf},           {"not", Tok::kNot},
    {"nowarn", Tok::kNowarn},   {"prefix", Tok::kPrefix},     {"rate", Tok::kRate},
    {"any", Tok::kAny},         {"tcp", Tok::kTcp},           {"udp", Tok::kUdp},
    {"sport", Tok::kSport},     {"icmp", Tok::kIcmp},         {"icmpv6", Tok::kIcmpv6},
    {"proto", Tok::kProto},     {"code", Tok::kCode},
};

Tok KeywordType(std::string_view word) {
  for (const Keyword& k : kKeywords)
    if (k.text == word) return k.type;
  return Tok::kId;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsIdStart(char c) { return IsLetter(c) || c == '_'; }
bool IsIdChar(char c) { return IsIdStart(c) || IsDigit(c) || c == '-'; }
bool IsV6Char(char c) { return IsHex(c) || c == '.' || c == ':'; }
// A UTF-8 continuation byte: not a code point of its own (columns count
// code points, as ANTLR does).
bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

// One token: where it is in bytes (for its text) and in lines and columns
// (for its Loc). col is 0-based and len counts code points, like ANTLR's.
struct Token {
  Tok type = Tok::kEof;
  size_t begin = 0;
  size_t end = 0;
  int line = 1;
  int col = 0;
  int len = 1;
};

// The grammar's lexer. Like ANTLR's, it takes the longest match of any
// rule, and on a tie the rule defined first (keywords, then ADDR, NUMBER,
// ID). WS and COMMENT are skipped. Line and column are counted the way
// ANTLR counts them: only '\n' starts a line; '\r' is a column.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {
    // ANTLR's input stream drops a UTF-8 byte order mark; the first line's
    // columns then count from after it.
    if (s_.substr(0, 3) == "\xef\xbb\xbf") pos_ = 3;
  }

  std::string_view Text(const Token& t) const { return s_.substr(t.begin, t.end - t.begin); }

  Token Next() {
    SkipSpaceAndComments();
    Token t;
    t.begin = pos_;
    t.line = line_;
    t.col = col_;
    if (pos_ >= s_.size()) {
      t.type = Tok::kEof;
      t.end = pos_;
      return t;
    }
    size_t n = 1;
    t.type = Classify(&n);
    t.end = pos_ + n;
    // Only strings (and ANYCHAR) may hold characters outside ASCII.
    t.len = t.type == Tok::kString || t.type == Tok::kOther ? CodePoints(t.begin, t.end)
                                                           : static_cast<int>(n);
    pos_ = t.end;
    col_ += t.len;
    return t;
  }

 private:
  char CharAt(size_t i) const { return i < s_.size() ? s_[i] : '\0'; }

  int CodePoints(size_t begin, size_t end) const {
    int n = 0;
    for (size_t i = begin; i < end; ++i) n += !IsContinuation(s_[i]);
    return n;
  }

  void SkipSpaceAndComments() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\n') {
        ++line_;
        col_ = 0;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++col_;
        ++pos_;
      } else if (c == '#') {
        size_t end = pos_;
        while (end < s_.size() && s_[end] != '\n' && s_[end] != '\r') ++end;
        col_ += CodePoints(pos_, end);
        pos_ = end;
      } else {
        return;
      }
    }
  }

  // The type of the token at pos_; sets *n to its length in bytes.
  Tok Classify(size_t* n) {
    char c = s_[pos_];
    switch (c) {
      case ';': return Tok::kSemi;
      case '{': return Tok::kLBrace;
      case '}': return Tok::kRBrace;
      case ',': return Tok::kComma;
      case '-': return Tok::kDash;
      case '/': return Tok::kSlash;
      case '"':
        if (size_t len = StringLength(pos_)) {
          *n = len;
          return Tok::kString;
        }
        return Tok::kOther;
      default: break;
    }
    size_t id = IsIdStart(c) ? Run(pos_, IsIdChar) : 0;
    size_t number = IsDigit(c) ? Run(pos_, IsDigit) : 0;
    size_t addr = AddrLength(pos_);
    size_t longest = std::max({id, number, addr});
    if (longest == 0) {
      *n = CodePointBytes(pos_);
      return Tok::kOther;
    }
    *n = longest;
    if (id == longest) {
      Tok kw = KeywordType(s_.substr(pos_, id));
      if (kw != Tok::kId) return kw;
    }
    if (addr == longest) return Tok::kAddr;
    if (number == longest) return Tok::kNumber;
    return Tok::kId;
  }

  template <typename Pred>
  size_t Run(size_t from, Pred pred) const {
    size_t i = from;
    while (i < s_.size() && pred(s_[i])) ++i;
    return i - from;
  }

  size_t CodePointBytes(size_t at) const {
    size_t i = at + 1;
    while (i < s_.size() && IsContinuation(s_[i])) ++i;
    return i - at;
  }

  // ADDR : V4 ('/' [0-9]+)? | V6 ('/' [0-9]+)?, the longest match or 0.
  size_t AddrLength(size_t at) const {
    // V6 : [0-9a-fA-F.]* ':' [0-9a-fA-F:.]* matches any run of those
    // characters that holds a ':'; the longest match is the whole run.
    size_t v6 = Run(at, IsV6Char);
    if (std::memchr(s_.data() + at, ':', v6) == nullptr) v6 = 0;
    else v6 += PrefixLength(at + v6);
    // V4 : [0-9]+ ('.' [0-9]+)+
    size_t v4 = 0;
    if (IsDigit(CharAt(at))) {
      size_t i = at + Run(at, IsDigit);
      int groups = 0;
      while (CharAt(i) == '.' && IsDigit(CharAt(i + 1))) {
        i += 1 + Run(i + 1, IsDigit);
        ++groups;
      }
      if (groups > 0) v4 = i - at + PrefixLength(i);
    }
    return std::max(v4, v6);
  }

  // The optional ('/' [0-9]+) after an address: its length or 0.
  size_t PrefixLength(size_t at) const {
    if (CharAt(at) != '/' || !IsDigit(CharAt(at + 1))) return 0;
    return 1 + Run(at + 1, IsDigit);
  }

  // STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"': its length, or 0 when
  // the string is not closed on its line (ANTLR then lexes '"' as ANYCHAR).
  size_t StringLength(size_t at) const {
    for (size_t i = at + 1; i < s_.size(); ++i) {
      char c = s_[i];
      if (c == '"') return i + 1 - at;
      if (c == '\r' || c == '\n') return 0;
      if (c == '\\') {
        char next = CharAt(i + 1);
        if (i + 1 >= s_.size() || next == '\r' || next == '\n') return 0;
        ++i;  // a multi-byte character's other bytes are plain characters here
      }
    }
    return 0;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 0;
};

// Thrown on the first token the grammar does not allow; caught in
// ParseDirect. Nothing is reported: the ANTLR parser will do that.
struct Rejected {};

// The recursive-descent parser: one function per grammar rule, building the
// AST as parser.cc's AstBuilder builds it from the ANTLR parse tree. Where
// AstBuilder takes a rule context's location (At(ctx)), this uses Span():
// the first token, lengthened to the last one when both are on one line.
class Parser {
 public:
  Parser(int file, std::string_view text, ast::Unit& unit, std::vector<IncludeRef>& includes)
      : file_(file), lexer_(text), unit_(unit), includes_(includes) {
    tok_ = lexer_.Next();
  }

  // file_ : statement* EOF
  void File() {
    while (tok_.type != Tok::kEof) Statement();
  }

 private:
  // --- tokens

  bool Is(Tok t) const { return tok_.type == t; }

  Token Take() {
    last_ = tok_;
    tok_ = lexer_.Next();
    return last_;
  }

  Token Expect(Tok t) {
    if (tok_.type != t) throw Rejected{};
    return Take();
  }

  bool Optional(Tok t) {
    if (tok_.type != t) return false;
    Take();
    return true;
  }

  std::string Text(const Token& t) const { return std::string(lexer_.Text(t)); }

  Loc At(const Token& t) const { return Loc{file_, t.line, t.col + 1, t.len}; }

  // A rule context's location: from start to the last token taken.
  Loc Span(const Token& start) const {
    Loc l = At(start);
    if (last_.line == start.line) l.len = last_.col + last_.len - start.col;
    return l;
  }

  // --- statements

  void Statement() {
    switch (tok_.type) {
      case Tok::kInclude: return Include();
      case Tok::kFirewall: return Firewall();
      case Tok::kHost: return Addresses(ast::ObjectDecl::Kind::kHost);
      case Tok::kNetwork: return Addresses(ast::ObjectDecl::Kind::kNetwork);
      case Tok::kRange: return Ranges();
      case Tok::kGroup: return Group();
      case Tok::kService: return Service();
      case Tok::kSet: return RuntimeSet();
      case Tok::kPolicy: return Policy();
      default: throw Rejected{};
    }
  }

  // includeStmt : 'include' STRING ';'
  void Include() {
    Take();
    Token path = Expect(Tok::kString);
    Expect(Tok::kSemi);
    includes_.push_back(IncludeRef{StringValue(lexer_.Text(path)), At(path)});
  }

  // firewallDecl : 'firewall' name '{' interfaceDecl* '}' ';'?
  void Firewall() {
    Take();
    Token name = Expect(Tok::kId);
    ast::Firewall fw;
    fw.name = Text(name);
    fw.loc = At(name);
    Expect(Tok::kLBrace);
    while (Is(Tok::kInterface)) fw.interfaces.push_back(Interface());
    Expect(Tok::kRBrace);
    Optional(Tok::kSemi);
    unit_.firewalls.push_back(std::move(fw));
  }

  // interfaceDecl : 'interface' name device=name (ifaceAddr (',' ifaceAddr)*)? ';'
  ast::Interface Interface() {
    Take();
    Token name = Expect(Tok::kId);
    Token device = Expect(Tok::kId);
    ast::Interface iface;
    iface.name = Text(name);
    iface.loc = At(name);
    iface.device = Text(device);
    iface.device_loc = At(device);
    if (Is(Tok::kAddr)) {
      iface.addrs.push_back(Literal(Take()));
      while (Optional(Tok::kComma)) iface.addrs.push_back(Literal(Expect(Tok::kAddr)));
    }
    Expect(Tok::kSemi);
    return iface;
  }

  ast::ObjectDecl Decl(ast::ObjectDecl::Kind kind) {
    Take();
    Token name = Expect(Tok::kId);
    ast::ObjectDecl d;
    d.kind = kind;
    d.name = Text(name);
    d.loc = At(name);
    return d;
  }

  // hostDecl : 'host' name ADDR (',' ADDR)* ';'   (networkDecl alike)
  void Addresses(ast::ObjectDecl::Kind kind) {
    ast::ObjectDecl d = Decl(kind);
    do d.addrs.push_back(Literal(Expect(Tok::kAddr)));
    while (Optional(Tok::kComma));
    Expect(Tok::kSemi);
    unit_.objects.push_back(std::move(d));
  }

  // rangeDecl : 'range' name addrRange (',' addrRange)* ';'
  void Ranges() {
    ast::ObjectDecl d = Decl(ast::ObjectDecl::Kind::kRange);
    do d.addrs.push_back(Range(Expect(Tok::kAddr)));
    while (Optional(Tok::kComma));
    Expect(Tok::kSemi);
    unit_.objects.push_back(std::move(d));
  }

  // groupDecl : 'group' name '{' (groupMember (',' groupMember)*)? ','? '}' ';'?
  void Group() {
    ast::ObjectDecl d = Decl(ast::ObjectDecl::Kind::kGroup);
    Expect(Tok::kLBrace);
    if (Is(Tok::kComma) || Is(Tok::kRBrace)) {
      Optional(Tok::kComma);
    } else {
      GroupMember(d);
      while (Optional(Tok::kComma) && !Is(Tok::kRBrace)) GroupMember(d);
    }
    Expect(Tok::kRBrace);
    Optional(Tok::kSemi);
    unit_.objects.push_back(std::move(d));
  }

  // groupMember : addrItem | svcSpec
  void GroupMember(ast::ObjectDecl& d) {
    if (StartsSpec()) d.services.push_back(SpecItem());
    else d.addrs.push_back(AddrItem());
  }

  // serviceDecl : 'service' name svcItem (',' svcItem)* ';'
  void Service() {
    ast::ObjectDecl d = Decl(ast::ObjectDecl::Kind::kService);
    do d.services.push_back(SvcItem());
    while (Optional(Tok::kComma));
    Expect(Tok::kSemi);
    unit_.objects.push_back(std::move(d));
  }

  // setDecl : 'set' name 'runtime' family=name? ';'
  void RuntimeSet() {
    Take();
    Token name = Expect(Tok::kId);
    Expect(Tok::kRuntime);
    ast::RuntimeSet set;
    set.name = Text(name);
    set.loc = At(name);
    if (Is(Tok::kId)) {
      Token family = Take();
      set.family = Text(family);
      set.family_loc = At(family);
    }
    Expect(Tok::kSemi);
    unit_.runtime_sets.push_back(std::move(set));
  }

  // policyDecl : 'policy' name 'default' action '{' policyItem* '}' ';'?
  // policyItem : optionStmt | ruleDecl
  void Policy() {
    Take();
    Token name = Expect(Tok::kId);
    ast::Policy p;
    p.name = Text(name);
    p.loc = At(name);
    Expect(Tok::kDefault);
    p.default_action = Action();
    Expect(Tok::kLBrace);
    while (!Is(Tok::kRBrace)) {
      if (Is(Tok::kOption)) p.options.push_back(Option());
      else p.rules.push_back(Rule());
    }
    Take();
    Optional(Tok::kSemi);
    unit_.policies.push_back(std::move(p));
  }

  // optionStmt : 'option' name optionValue ';'   optionValue : name | NUMBER
  ast::Option Option() {
    Take();
    Token name = Expect(Tok::kId);
    if (!Is(Tok::kId) && !Is(Tok::kNumber)) throw Rejected{};
    Token value = Take();
    Expect(Tok::kSemi);
    ast::Option opt;
    opt.name = Text(name);
    opt.loc = At(name);
    opt.value = Text(value);
    opt.value_loc = At(value);
    return opt;
  }

  // action : 'accept' | 'drop' | 'reject'
  ast::Action Action() {
    switch (tok_.type) {
      case Tok::kAccept: Take(); return ast::Action::kAccept;
      case Tok::kDrop: Take(); return ast::Action::kDrop;
      case Tok::kReject: Take(); return ast::Action::kReject;
      default: throw Rejected{};
    }
  }

  // --- rules

  // ruleDecl : action svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';'
  ast::Rule Rule() {
    Token start = tok_;
    ast::Rule r;
    r.action = Action();
    r.loc = At(start);
    if (!Is(Tok::kFrom)) r.services = SvcSet();
    Expect(Tok::kFrom);
    r.src = AddrSet();
    Expect(Tok::kTo);
    r.dst = AddrSet();
    while (!Is(Tok::kSemi)) RuleOption(r);
    Take();
    r.span = Span(start);
    return r;
  }

  // ruleOption : 'in' name | 'out' name | 'log' logArg* | 'counter'
  //            | 'comment' STRING | 'disabled' | 'if' 'not'? name
  //            | 'nowarn' name (',' name)*
  void RuleOption(ast::Rule& r) {
    switch (Take().type) {
      case Tok::kIn: {
        Token name = Expect(Tok::kId);
        r.in_iface = Text(name);
        r.in_loc = At(name);
        break;
      }
      case Tok::kOut: {
        Token name = Expect(Tok::kId);
        r.out_iface = Text(name);
        r.out_loc = At(name);
        break;
      }
      case Tok::kLog:
        r.log.enabled = true;
        while (Is(Tok::kPrefix) || Is(Tok::kRate)) LogArg(r.log);
        break;
      case Tok::kCounter: r.counter = true; break;
      case Tok::kComment: r.comment = StringValue(lexer_.Text(Expect(Tok::kString))); break;
      case Tok::kDisabled: r.disabled = true; break;
      case Tok::kIf: {
        r.condition_negated = Optional(Tok::kNot);
        Token name = Expect(Tok::kId);
        r.condition = Text(name);
        r.condition_loc = At(name);
        break;
      }
      case Tok::kNowarn:
        do {
          Token name = Expect(Tok::kId);
          r.nowarn.emplace_back(Text(name), At(name));
        } while (Optional(Tok::kComma));
        break;
      default: throw Rejected{};
    }
  }

  // logArg : 'prefix' STRING | 'rate' NUMBER '/' name
  void LogArg(ast::LogSpec& log) {
    Token start = Take();
    if (start.type == Tok::kPrefix) {
      Token prefix = Expect(Tok::kString);
      log.prefix = StringValue(lexer_.Text(prefix));
      log.prefix_loc = At(prefix);
      return;
    }
    Token number = Expect(Tok::kNumber);
    Expect(Tok::kSlash);
    Token unit = Expect(Tok::kId);
    log.rate = NumberValue(lexer_.Text(number));
    log.rate_unit = Text(unit);
    log.rate_loc = Span(start);
  }

  // --- addresses

  ast::AddrItem Literal(const Token& addr) const {
    ast::AddrItem item;
    item.kind = ast::AddrItem::Kind::kLiteral;
    item.text = Text(addr);
    item.loc = At(addr);
    return item;
  }

  // addrRange : ADDR '-' ADDR, its first ADDR already taken.
  ast::AddrItem Range(const Token& first) {
    Expect(Tok::kDash);
    Token second = Expect(Tok::kAddr);
    ast::AddrItem item;
    item.kind = ast::AddrItem::Kind::kRange;
    item.text = Text(first);
    item.text2 = Text(second);
    item.loc = At(first);
    item.loc2 = At(second);
    return item;
  }

  // addrItem : 'any' | addrRange | ADDR | name
  ast::AddrItem AddrItem() {
    ast::AddrItem item;
    switch (tok_.type) {
      case Tok::kAny: item.loc = At(Take()); return item;
      case Tok::kId:
        item.kind = ast::AddrItem::Kind::kName;
        item.text = Text(tok_);
        item.loc = At(Take());
        return item;
      case Tok::kAddr: {
        Token addr = Take();
        return Is(Tok::kDash) ? Range(addr) : Literal(addr);
      }
      default: throw Rejected{};
    }
  }

  // addrSet : 'not'? (addrItem | '{' addrItem (',' addrItem)* ','? '}')
  ast::AddrSet AddrSet() { return ItemSet<ast::AddrSet>(&Parser::AddrItem); }

  // --- services

  // svcSet : 'not'? (svcItem | '{' svcItem (',' svcItem)* ','? '}')
  ast::SvcSet SvcSet() { return ItemSet<ast::SvcSet>(&Parser::SvcItem); }

  // The shape both sets share, with the rule for one item.
  template <class Set, class Item>
  Set ItemSet(Item (Parser::*item)()) {
    Token start = tok_;
    Set s;
    s.negated = Optional(Tok::kNot);
    if (Optional(Tok::kLBrace)) {
      s.items.push_back((this->*item)());
      while (Optional(Tok::kComma) && !Is(Tok::kRBrace)) s.items.push_back((this->*item)());
      Expect(Tok::kRBrace);
    } else {
      s.items.push_back((this->*item)());
    }
    s.loc = Span(start);
    return s;
  }

  // svcItem : svcSpec | 'any' | name
  ast::SvcItem SvcItem() {
    if (StartsSpec()) return SpecItem();
    ast::SvcItem item;
    if (Is(Tok::kId)) {
      item.kind = ast::SvcItem::Kind::kName;
      item.name = Text(tok_);
    } else if (!Is(Tok::kAny)) {
      throw Rejected{};
    }
    item.loc = At(Take());
    return item;
  }

  bool StartsSpec() const {
    return Is(Tok::kTcp) || Is(Tok::kUdp) || Is(Tok::kIcmp) || Is(Tok::kIcmpv6) || Is(Tok::kProto);
  }

  ast::SvcItem SpecItem() {
    ast::SvcItem item;
    item.kind = ast::SvcItem::Kind::kSpec;
    item.spec = Spec();
    item.loc = item.spec.loc;
    return item;
  }

  // svcSpec : ('tcp' | 'udp') ports? ('sport' ports)?
  //         | ('icmp' | 'icmpv6') icmpType?
  //         | 'proto' (name | NUMBER)
  ast::SvcSpec Spec() {
    Token start = Take();
    ast::SvcSpec s;
    switch (start.type) {
      case Tok::kTcp:
      case Tok::kUdp:
        s.kind = start.type == Tok::kUdp ? ast::SvcSpec::Kind::kUdp : ast::SvcSpec::Kind::kTcp;
        if (Is(Tok::kNumber) || Is(Tok::kLBrace)) s.dports = Ports();
        if (Optional(Tok::kSport)) s.sports = Ports();
        break;
      case Tok::kIcmp:
      case Tok::kIcmpv6:
        s.kind = start.type == Tok::kIcmpv6 ? ast::SvcSpec::Kind::kIcmpv6 : ast::SvcSpec::Kind::kIcmp;
        if (Is(Tok::kId) || Is(Tok::kNumber)) IcmpType(s);
        break;
      default: {  // 'proto'
        s.kind = ast::SvcSpec::Kind::kProto;
        if (!Is(Tok::kId) && !Is(Tok::kNumber)) throw Rejected{};
        Token proto = Take();
        s.proto = Text(proto);
        s.proto_loc = At(proto);
        break;
      }
    }
    s.loc = Span(start);
    return s;
  }

  // icmpType : (name | NUMBER) ('code' NUMBER)?
  void IcmpType(ast::SvcSpec& s) {
    Token type = Take();
    s.icmp_type = Text(type);
    s.icmp_type_loc = At(type);
    if (Optional(Tok::kCode)) {
      Token code = Expect(Tok::kNumber);
      s.icmp_code = NumberValue(lexer_.Text(code));
      s.icmp_code_loc = At(code);
    }
  }

  // ports : port | '{' port (',' port)* ','? '}'
  std::vector<ast::PortRange> Ports() {
    std::vector<ast::PortRange> out;
    if (Optional(Tok::kLBrace)) {
      out.push_back(Port());
      while (Optional(Tok::kComma) && !Is(Tok::kRBrace)) out.push_back(Port());
      Expect(Tok::kRBrace);
    } else {
      out.push_back(Port());
    }
    return out;
  }

  // port : NUMBER ('-' NUMBER)?   Its text is the tokens' without spaces,
  // as ANTLR's getText() of the context gives it.
  ast::PortRange Port() {
    Token lo = Expect(Tok::kNumber);
    ast::PortRange r;
    r.lo = r.hi = NumberValue(lexer_.Text(lo));
    r.text = Text(lo);
    if (Optional(Tok::kDash)) {
      Token hi = Expect(Tok::kNumber);
      r.hi = NumberValue(lexer_.Text(hi));
      r.text += '-';
      r.text += lexer_.Text(hi);
    }
    r.loc = Span(lo);
    return r;
  }

  int file_;
  Lexer lexer_;
  ast::Unit& unit_;
  std::vector<IncludeRef>& includes_;
  Token tok_;   // the next token
  Token last_;  // the token taken last
};

template <typename T>
void Truncate(std::vector<T>& v, size_t size) {
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(size), v.end());
}

}  // namespace

bool ParseDirect(int file, std::string_view text, ast::Unit& unit, std::vector<IncludeRef>& includes) {
  // Declarations go straight into unit (no copy of a large AST); a
  // rejected file's are taken out again.
  size_t firewalls = unit.firewalls.size(), objects = unit.objects.size();
  size_t sets = unit.runtime_sets.size(), policies = unit.policies.size(), included = includes.size();
  try {
    Parser(file, text, unit, includes).File();
    return true;
  } catch (const Rejected&) {
    Truncate(unit.firewalls, firewalls);
    Truncate(unit.objects, objects);
    Truncate(unit.runtime_sets, sets);
    Truncate(unit.policies, policies);
    Truncate(includes, included);
    return false;
  }
}

std::string StringValue(std::string_view token) {
  std::string out;
  for (size_t i = 1; i + 1 < token.size(); ++i) {
    if (token[i] == '\\' && i + 2 < token.size()) ++i;
    out += token[i];
  }
  return out;
}

uint64_t NumberValue(std::string_view token) {
  uint64_t v = 0;
  for (char c : token) {
    if (v > (UINT64_MAX - 9) / 10) return UINT64_MAX;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace fwc
