#include "compiler/syntax/policy_parser.h"

#include <algorithm>
#include <utility>

#include "compiler/syntax/lexer.h"
#include "compiler/syntax/syntax_errors.h"

namespace fwc::syntax {
namespace {

// The tokens a statement starts with: where parsing resumes after a
// mistake, and what ends a block whose '}' is missing.
const TokenSet kStatementStarts = {Tok::kInclude, Tok::kFirewall, Tok::kCluster, Tok::kHost,
                                   Tok::kNetwork, Tok::kRange,    Tok::kGroup,   Tok::kService,
                                   Tok::kSet,     Tok::kHelper,   Tok::kPolicy,  Tok::kExpect};
// What may follow a rule's destination.
const TokenSet kRuleOptions = {Tok::kIn,     Tok::kOut,  Tok::kLog,      Tok::kCounter, Tok::kComment,
                               Tok::kDisabled, Tok::kIf,  Tok::kNowarn,  Tok::kMark,    Tok::kConnmark,
                               Tok::kState,    Tok::kLimit, Tok::kConnlimit, Tok::kSemi};
const TokenSet kNatActions = {Tok::kSnat, Tok::kMasquerade, Tok::kDnat, Tok::kRedirect, Tok::kNo};

// The recursive-descent parser: one function per grammar rule, building the
// AST as the reference parser (reference_parser.cc) builds it from ANTLR's
// parse tree. Where that takes a rule context's location, this uses Span():
// the first token, lengthened to the last one when both are on one line.
//
// A mistake throws a Mismatch at the first token the grammar does not
// allow; the statement (or, inside a block, the rule) it is in is reported
// once and skipped, and parsing goes on with the next one.
class Parser {
 public:
  Parser(int file, std::string_view text, ast::Unit& unit, std::vector<IncludeRef>& includes, Diagnostics* diags)
      : file_(file), lexer_(text), unit_(unit), includes_(includes), errors_(file, lexer_, diags) {
    tok_ = lexer_.Next();
  }

  // file_ : statement* EOF. Returns whether there was no syntax error.
  bool File() {
    while (tok_.type != Tok::kEof) {
      tried_.clear();  // a ';' the last statement could have ended with is no alternative here
      try {
        Statement();
      } catch (const Mismatch& m) {
        errors_.Report(m);
        SkipStatement();
      }
    }
    return errors_.count() == 0;
  }

 private:
  // --- tokens

  // Every token looked for at the current position is an alternative a
  // syntax error names; taking a token starts afresh.
  bool Is(Tok t) {
    tried_.Add(t);
    return tok_.type == t;
  }

  Token Take() {
    last_ = tok_;
    tok_ = lexer_.Next();
    last_tried_ = tried_;
    tried_.clear();
    return last_;
  }

  Token Expect(Tok t) {
    if (!Is(t)) throw Fail();
    return Take();
  }

  bool Optional(Tok t) {
    if (!Is(t)) return false;
    Take();
    return true;
  }

  Mismatch Fail(TokenSet also = {}, const char* what = nullptr) {
    TokenSet expected = tried_;
    expected.AddAll(also);
    return Mismatch{tok_, last_, expected, last_tried_, what};
  }

  static bool StartsStatement(Tok t) { return kStatementStarts.Has(t); }

  // After a mistake in a statement: on to the next one, past a '{' ... '}'
  // block the mistake may be in.
  void SkipStatement() {
    int depth = 0;
    bool moved = false;
    for (; tok_.type != Tok::kEof; moved = true) {
      if (depth == 0 && moved && StartsStatement(tok_.type)) return;
      if (Is(Tok::kLBrace)) ++depth;
      if (Is(Tok::kRBrace) && depth > 0 && --depth == 0) {
        Take();
        Optional(Tok::kSemi);
        return;
      }
      if (Is(Tok::kSemi) && depth == 0) {
        Take();
        return;
      }
      Take();
    }
  }

  // After a mistake in a rule or an interface: on to the next one in the
  // block, or to the block's end. A statement's keyword ends the block only
  // at the start of a line: in the middle of one ("accept from any to web
  // service http;") it is part of the mistaken rule, and taking it for the
  // next statement would report a '}' missing and every later rule as out
  // of place.
  void SkipItem() {
    int depth = 0;
    while (tok_.type != Tok::kEof) {
      bool starts_line = tok_.line != last_.line;
      if (depth == 0 && (Is(Tok::kRBrace) || (StartsStatement(tok_.type) && starts_line))) return;
      if (Is(Tok::kLBrace)) ++depth;
      if (Is(Tok::kRBrace)) --depth;
      if (Is(Tok::kSemi) && depth == 0) {
        Take();
        return;
      }
      Take();
    }
  }

  // The '}' of a block opened by `open`. The file's end, or a statement
  // where it should be, is a block never closed: reported, and the
  // statement parsed as such.
  void Close(const Token& open, const char* block) {
    if (tok_.type == Tok::kEof || StartsStatement(tok_.type)) {
      errors_.Unclosed(open, block, last_, tok_);
      return;
    }
    Expect(Tok::kRBrace);
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
      case Tok::kCluster: return Cluster();
      case Tok::kHost: return Addresses(ast::ObjectDecl::Kind::kHost);
      case Tok::kNetwork: return Addresses(ast::ObjectDecl::Kind::kNetwork);
      case Tok::kRange: return Ranges();
      case Tok::kGroup: return Group();
      case Tok::kService: return Service();
      case Tok::kSet: return RuntimeSet();
      case Tok::kPolicy: return Policy();
      // Not in kStatementStarts: 'mark' also starts a rule of the marks
      // section, which must not end the block.
      case Tok::kMark: return MarkDecl();
      case Tok::kHelper: return HelperDecl();
      case Tok::kExpect: return Expectation();
      default:
        throw Fail(kStatementStarts, "a statement (include, firewall, cluster, host, network, range, group, service, "
                                     "set, mark, helper, policy or expect)");
    }
  }

  // expectStmt : 'expect' action svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';'
  void Expectation() {
    Token start = Take();
    ast::Rule r;
    r.action = Action();
    r.loc = At(start);
    RuleBody(r, start);
    unit_.expectations.push_back(std::move(r));
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
    Token open = Expect(Tok::kLBrace);
    for (;;) {
      try {
        if (!Is(Tok::kInterface)) break;
        fw.interfaces.push_back(Interface());
      } catch (const Mismatch& m) {
        errors_.Report(m);
        SkipItem();
      }
    }
    unit_.firewalls.push_back(std::move(fw));
    Close(open, "firewall block");
    Optional(Tok::kSemi);
  }

  // clusterDecl : 'cluster' name '{' clusterItem* '}' ';'?
  // clusterItem : firewallDecl
  //             | 'interface' name addrItem (',' addrItem)* ';'
  //             | 'protocols' name (',' name)* ';'
  // A member firewall is parsed as one outside a cluster (a mistake in it
  // is reported and skipped there); the cluster points at it.
  void Cluster() {
    Take();
    Token name = Expect(Tok::kId);
    ast::Cluster c;
    c.name = Text(name);
    c.loc = At(name);
    int index = static_cast<int>(unit_.clusters.size());
    unit_.clusters.push_back(std::move(c));
    Token open = Expect(Tok::kLBrace);
    for (;;) {
      try {
        if (Is(Tok::kFirewall)) {
          Firewall();
          unit_.firewalls.back().cluster = index;
        } else if (Is(Tok::kInterface)) {
          Take();
          Token iface = Expect(Tok::kId);
          ast::ClusterAddress a;
          a.iface = Text(iface);
          a.iface_loc = At(iface);
          do a.addrs.push_back(AddrItem());
          while (Optional(Tok::kComma));
          Expect(Tok::kSemi);
          unit_.clusters[index].addresses.push_back(std::move(a));
        } else if (Is(Tok::kProtocols)) {
          Take();
          do {
            Token p = Expect(Tok::kId);
            unit_.clusters[index].protocols.emplace_back(Text(p), At(p));
          } while (Optional(Tok::kComma));
          Expect(Tok::kSemi);
        } else {
          break;
        }
      } catch (const Mismatch& m) {
        errors_.Report(m);
        SkipItem();
      }
    }
    Close(open, "cluster block");
    Optional(Tok::kSemi);
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
    Token open = Expect(Tok::kLBrace);
    if (Is(Tok::kComma) || Is(Tok::kRBrace)) {
      Optional(Tok::kComma);
    } else {
      GroupMember(d);
      while (Optional(Tok::kComma) && !Is(Tok::kRBrace)) GroupMember(d);
    }
    Close(open, "group");
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

  // helperDecl : 'helper' name svcSpec ';'
  void HelperDecl() {
    Take();
    Token name = Expect(Tok::kId);
    if (!StartsSpec()) throw Fail();
    ast::HelperDecl h;
    h.kind = Text(name);
    h.loc = At(name);
    h.service = Spec();
    Expect(Tok::kSemi);
    unit_.helpers.push_back(std::move(h));
  }

  // markDecl : 'mark' name NUMBER ';'
  void MarkDecl() {
    Take();
    Token name = Expect(Tok::kId);
    Token value = Expect(Tok::kNumber);
    Expect(Tok::kSemi);
    ast::MarkDecl m;
    m.name = Text(name);
    m.loc = At(name);
    m.text = Text(value);
    m.value = NumberValue(lexer_.Text(value));
    m.value_loc = At(value);
    unit_.marks.push_back(std::move(m));
  }

  // policyDecl : 'policy' name 'default' action '{' policyItem* '}' ';'?
  // policyItem : optionStmt | natBlock | marksBlock | ruleDecl
  void Policy() {
    Take();
    Token name = Expect(Tok::kId);
    ast::Policy p;
    p.name = Text(name);
    p.loc = At(name);
    Expect(Tok::kDefault);
    p.default_action = Action();
    Token open = Expect(Tok::kLBrace);
    ReserveRules(p.rules);
    for (;;) {
      if (Is(Tok::kRBrace) || tok_.type == Tok::kEof || StartsStatement(tok_.type)) break;
      try {
        if (Is(Tok::kOption)) p.options.push_back(Option());
        else if (Is(Tok::kNat)) Section(p.nat, p.has_nat, &Parser::NatRule, "nat section");
        else if (Is(Tok::kMarks)) Section(p.marks, p.has_marks, &Parser::MarkRule, "marks section");
        else p.rules.push_back(Rule());
      } catch (const Mismatch& m) {
        errors_.Report(m);
        SkipItem();
      }
    }
    unit_.policies.push_back(std::move(p));
    Close(open, "policy block");
    Optional(Tok::kSemi);
  }

  // Room for the rules that can follow: each ends with ';', and one is
  // rarely shorter than 32 bytes ("accept tcp port 22 from any to h;").
  // Growing by doubling instead moves every rule log2(n) times into fresh
  // memory: at 1M rules ~0.8 GB of page faults, an eighth of a compile's.
  // Only what the rules fill is ever touched; a lower estimate just grows.
  void ReserveRules(std::vector<ast::Rule>& rules) {
    std::string_view rest = lexer_.Rest(tok_);
    size_t ends = static_cast<size_t>(std::count(rest.begin(), rest.end(), ';'));
    rules.reserve(std::min(ends, rest.size() / 32));
  }

  // natBlock : 'nat' '{' natRule* '}' ';'?   marksBlock : 'marks' '{' markRule* '}' ';'?
  // A mistake in one of its rules skips that rule only.
  void Section(std::vector<ast::Rule>& rules, bool& present, ast::Rule (Parser::*rule)(), const char* block) {
    Take();
    present = true;
    Token open = Expect(Tok::kLBrace);
    for (;;) {
      if (Is(Tok::kRBrace) || tok_.type == Tok::kEof || StartsStatement(tok_.type)) break;
      try {
        rules.push_back((this->*rule)());
      } catch (const Mismatch& m) {
        errors_.Report(m);
        SkipItem();
      }
    }
    Close(open, block);
    Optional(Tok::kSemi);
  }

  // optionStmt : 'option' name optionValue ';'   optionValue : name | NUMBER | 'no'
  ast::Option Option() {
    Take();
    Token name = Expect(Tok::kId);
    if (!Is(Tok::kId) && !Is(Tok::kNumber) && !Is(Tok::kNo)) throw Fail();
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
      default: throw Fail({Tok::kAccept, Tok::kDrop, Tok::kReject});
    }
  }

  // --- rules

  // ruleDecl : action svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';'
  ast::Rule Rule() {
    Token start = tok_;
    ast::Rule r;
    r.action = Action();
    r.loc = At(start);
    RuleBody(r, start);
    return r;
  }

  // What every rule has after its action:
  //   svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';'
  void RuleBody(ast::Rule& r, const Token& start) {
    if (!Is(Tok::kFrom)) r.services = SvcSet();
    Expect(Tok::kFrom);
    r.src = AddrSet();
    Expect(Tok::kTo);
    r.dst = AddrSet();
    while (!Is(Tok::kSemi)) RuleOption(r);
    Take();
    r.span = Span(start);
  }

  // natRule : natAction svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';'
  // natAction : 'snat' 'to' addrItem natPort? | 'masquerade' natPort?
  //           | 'dnat' 'to' addrItem natPort? | 'redirect' 'to' natPort | 'no' 'nat'
  ast::Rule NatRule() {
    Token start = tok_;
    if (!kNatActions.Has(tok_.type))
      throw Fail(kNatActions, "a NAT rule (snat, masquerade, dnat, redirect or no nat) or '}'");
    auto t = std::make_shared<ast::Translation>();
    t->loc = At(start);
    switch (Take().type) {
      case Tok::kSnat:
      case Tok::kDnat:
        t->kind = start.type == Tok::kSnat ? ast::Translation::Kind::kSnat : ast::Translation::Kind::kDnat;
        Expect(Tok::kTo);
        t->has_to = true;
        t->to = AddrItem();
        if (Is(Tok::kPort)) t->port = NatPort();
        break;
      case Tok::kMasquerade:
        t->kind = ast::Translation::Kind::kMasquerade;
        if (Is(Tok::kPort)) t->port = NatPort();
        break;
      case Tok::kRedirect:
        t->kind = ast::Translation::Kind::kRedirect;
        Expect(Tok::kTo);
        t->port = NatPort();
        break;
      default:  // 'no'
        t->kind = ast::Translation::Kind::kNoNat;
        Expect(Tok::kNat);
        break;
    }
    ast::Rule r;
    r.loc = At(start);
    r.translation = std::move(t);
    RuleBody(r, start);
    return r;
  }

  // natPort : 'port' port
  ast::PortRange NatPort() {
    Expect(Tok::kPort);
    return Port();
  }

  // markRule : ('mark' | 'connmark') markValue svcSet? 'from' src=addrSet 'to' dst=addrSet ruleOption* ';'
  ast::Rule MarkRule() {
    Token start = tok_;
    if (!Is(Tok::kMark) && !Is(Tok::kConnmark)) throw Fail({}, "a mark rule (mark or connmark) or '}'");
    auto t = std::make_shared<ast::Translation>();
    t->kind = Take().type == Tok::kMark ? ast::Translation::Kind::kMark : ast::Translation::Kind::kConnmark;
    t->loc = At(start);
    Token value = MarkValue();
    t->mark = Text(value);
    t->mark_loc = At(value);
    ast::Rule r;
    r.loc = At(start);
    r.translation = std::move(t);
    RuleBody(r, start);
    return r;
  }

  // markValue : NUMBER | name
  Token MarkValue() {
    if (!Is(Tok::kNumber) && !Is(Tok::kId)) throw Fail({}, "a mark (a number or a mark's name)");
    return Take();
  }

  ast::RuleMatches& Matches(ast::Rule& r) {
    if (!r.matches) r.matches = std::make_shared<ast::RuleMatches>();
    // Only this parser holds it while the rule is being built.
    return const_cast<ast::RuleMatches&>(*r.matches);
  }

  // ruleOption : 'in' name | 'out' name | 'log' logArg* | 'counter'
  //            | 'comment' STRING | 'disabled' | 'if' 'not'? name
  //            | 'nowarn' name (',' name)*
  void RuleOption(ast::Rule& r) {
    if (!kRuleOptions.Has(tok_.type)) {
      Mismatch m = Fail(kRuleOptions, "a rule option (in, out, log, counter, comment, disabled, if, nowarn, mark, "
                                      "connmark, state, limit, connlimit) or ';'");
      // Firewall Builder's column order (source, destination, service)
      // is the likeliest cause.
      if (Is(Tok::kPort))
        m.help = "ports belong to the protocol, right after the action: 'accept tcp 80 from any to web;'";
      else if (StartsSpec() || Is(Tok::kService))
        m.help = "a rule's service comes right after its action, before 'from': 'accept tcp 80 from any to web;', "
                 "'accept SERVICE-NAME from any to web;'";
      throw m;
    }
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
      case Tok::kMark:
      case Tok::kConnmark: {
        bool conn = last_.type == Tok::kConnmark;
        Token value = MarkValue();
        ast::RuleMatches& m = Matches(r);
        (conn ? m.connmark : m.mark) = Text(value);
        (conn ? m.connmark_loc : m.mark_loc) = At(value);
        break;
      }
      case Tok::kState:
        do {
          Token name = Expect(Tok::kId);
          Matches(r).states.emplace_back(Text(name), At(name));
        } while (Optional(Tok::kComma));
        break;
      case Tok::kLimit: {
        Token start = last_;
        Token number = Expect(Tok::kNumber);
        Expect(Tok::kSlash);
        Token unit = Expect(Tok::kId);
        ast::RuleMatches& m = Matches(r);
        m.limit_rate = NumberValue(lexer_.Text(number));
        m.limit_unit = Text(unit);
        m.limit_loc = Span(start);
        break;
      }
      case Tok::kConnlimit: {
        Token number = Expect(Tok::kNumber);
        ast::RuleMatches& m = Matches(r);
        m.connlimit = NumberValue(lexer_.Text(number));
        m.connlimit_loc = At(number);
        break;
      }
      default: break;  // not in kRuleOptions
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
      default: throw Fail({Tok::kAny, Tok::kId, Tok::kAddr});
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
      throw Fail();
    }
    item.loc = At(Take());
    return item;
  }

  bool StartsSpec() {
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
        if (Is(Tok::kId) || Is(Tok::kNumber) || Is(Tok::kRedirect)) IcmpType(s);
        break;
      default: {  // 'proto'
        s.kind = ast::SvcSpec::Kind::kProto;
        if (!Is(Tok::kId) && !Is(Tok::kNumber)) throw Fail();
        Token proto = Take();
        s.proto = Text(proto);
        s.proto_loc = At(proto);
        break;
      }
    }
    s.loc = Span(start);
    return s;
  }

  // icmpType : (name | NUMBER | 'redirect') ('code' NUMBER)?
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
  SyntaxErrors errors_;
  Token tok_;   // the next token
  Token last_;  // the token taken last
  TokenSet tried_;       // what was looked for at tok_
  TokenSet last_tried_;  // and at last_
};

}  // namespace

bool ParseFile(int file, std::string_view text, ast::Unit& unit, std::vector<IncludeRef>& includes,
               Diagnostics* diags) {
  return Parser(file, text, unit, includes, diags).File();
}

}  // namespace fwc::syntax
