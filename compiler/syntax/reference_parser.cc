#include "compiler/syntax/reference_parser.h"

#include <algorithm>
#include <optional>

#include "FwcLexer.h"
#include "FwcParser.h"
#include "antlr4-runtime.h"
#include "compiler/syntax/lexer.h"

namespace fwc::syntax::reference {
namespace {

using fwcgrammar::FwcLexer;
using fwcgrammar::FwcParser;

// Counts syntax errors, reports none: the reference only says whether the
// grammar accepts a text.
class CountErrors : public antlr4::BaseErrorListener {
 public:
  void syntaxError(antlr4::Recognizer*, antlr4::Token*, size_t, size_t, const std::string&,
                   std::exception_ptr) override {
    ++errors;
  }
  int errors = 0;
};

// Walks one file's parse tree and appends what it declares to the unit, and
// its include statements to includes: the AST as the grammar defines it.
// policy_parser.cc builds the same AST without a parse tree.
class AstBuilder {
 public:
  AstBuilder(int file, ast::Unit& unit, std::vector<IncludeRef>& includes)
      : file_(file), unit_(unit), includes_(includes) {}

  void File(FwcParser::File_Context* ctx) {
    for (auto* st : ctx->statement()) Statement(st);
  }

 private:
  Loc At(antlr4::Token* t) const {
    if (!t) return Loc{file_, 0, 0, 1};
    int len = static_cast<int>(t->getStopIndex() - t->getStartIndex() + 1);
    return Loc{file_, static_cast<int>(t->getLine()),
               static_cast<int>(t->getCharPositionInLine()) + 1,
               std::max(len, 1)};
  }
  Loc At(antlr4::tree::TerminalNode* n) const {
    return n ? At(n->getSymbol()) : Loc{file_, 0, 0, 1};
  }
  // A span covering a whole rule context on its first line.
  Loc At(antlr4::ParserRuleContext* ctx) const {
    // After a syntax error the parse tree may lack a child: no location
    // then, rather than a crash.
    if (!ctx || !ctx->getStart()) return Loc{file_, 0, 0, 1};
    Loc l = At(ctx->getStart());
    antlr4::Token* stop = ctx->getStop();
    if (stop && stop->getLine() == ctx->getStart()->getLine() &&
        stop->getStopIndex() >= ctx->getStart()->getStartIndex())
      l.len = static_cast<int>(stop->getStopIndex() -
                               ctx->getStart()->getStartIndex() + 1);
    return l;
  }

  static std::string Text(FwcParser::NameContext* n) {
    return n && n->ID() ? n->ID()->getText() : std::string();
  }

  static uint64_t Number(antlr4::tree::TerminalNode* n) { return NumberValue(n->getText()); }

  void Statement(FwcParser::StatementContext* st) {
    if (auto* c = st->includeStmt()) {
      if (c->STRING()) includes_.push_back(IncludeRef{StringValue(c->STRING()->getText()), At(c->STRING())});
    } else if (auto* c = st->firewallDecl()) {
      Firewall(c);
    } else if (auto* c = st->clusterDecl()) {
      Cluster(c);
    } else if (auto* c = st->hostDecl()) {
      Addresses(ast::ObjectDecl::Kind::kHost, c->name(), c->ADDR());
    } else if (auto* c = st->networkDecl()) {
      Addresses(ast::ObjectDecl::Kind::kNetwork, c->name(), c->ADDR());
    } else if (auto* c = st->rangeDecl()) {
      ast::ObjectDecl d = Decl(ast::ObjectDecl::Kind::kRange, c->name());
      for (auto* r : c->addrRange()) d.addrs.push_back(Range(r));
      unit_.objects.push_back(std::move(d));
    } else if (auto* c = st->groupDecl()) {
      ast::ObjectDecl d = Decl(ast::ObjectDecl::Kind::kGroup, c->name());
      for (auto* m : c->groupMember()) {
        if (m->addrItem()) d.addrs.push_back(AddrItem(m->addrItem()));
        else if (m->svcSpec()) d.services.push_back(SpecItem(m->svcSpec()));
      }
      unit_.objects.push_back(std::move(d));
    } else if (auto* c = st->serviceDecl()) {
      ast::ObjectDecl d = Decl(ast::ObjectDecl::Kind::kService, c->name());
      for (auto* i : c->svcItem()) d.services.push_back(SvcItem(i));
      unit_.objects.push_back(std::move(d));
    } else if (auto* c = st->setDecl()) {
      auto names = c->name();
      ast::RuntimeSet set;
      if (!names.empty()) {
        set.name = Text(names[0]);
        set.loc = At(names[0]);
      }
      if (c->family) {
        set.family = Text(c->family);
        set.family_loc = At(c->family);
      }
      unit_.runtime_sets.push_back(std::move(set));
    } else if (auto* c = st->helperDecl()) {
      ast::HelperDecl h;
      h.kind = Text(c->name());
      h.loc = c->name() ? At(c->name()) : At(c);
      if (c->svcSpec()) h.service = Spec(c->svcSpec());
      unit_.helpers.push_back(std::move(h));
    } else if (auto* c = st->markDecl()) {
      ast::MarkDecl m;
      m.name = Text(c->name());
      m.loc = c->name() ? At(c->name()) : At(c);
      if (c->NUMBER()) {
        m.text = c->NUMBER()->getText();
        m.value = Number(c->NUMBER());
        m.value_loc = At(c->NUMBER());
      }
      unit_.marks.push_back(std::move(m));
    } else if (auto* c = st->policyDecl()) {
      Policy(c);
    } else if (auto* c = st->expectStmt()) {
      ast::Rule r;
      r.action = Action(c->action());
      r.loc = At(c->getStart());
      Body(r, c, c->svcSet(), c->src, c->dst, c->ruleOption());
      unit_.expectations.push_back(std::move(r));
    }
  }

  ast::ObjectDecl Decl(ast::ObjectDecl::Kind kind, FwcParser::NameContext* n) {
    ast::ObjectDecl d;
    d.kind = kind;
    d.name = Text(n);
    d.loc = n ? At(n) : Loc{file_, 0, 0, 1};
    return d;
  }

  void Addresses(ast::ObjectDecl::Kind kind, FwcParser::NameContext* n,
                 const std::vector<antlr4::tree::TerminalNode*>& addrs) {
    ast::ObjectDecl d = Decl(kind, n);
    for (auto* a : addrs) {
      ast::AddrItem item;
      item.kind = ast::AddrItem::Kind::kLiteral;
      item.text = a->getText();
      item.loc = At(a);
      d.addrs.push_back(std::move(item));
    }
    unit_.objects.push_back(std::move(d));
  }

  void Cluster(FwcParser::ClusterDeclContext* c) {
    ast::Cluster cl;
    cl.name = Text(c->name());
    cl.loc = c->name() ? At(c->name()) : At(c);
    int index = static_cast<int>(unit_.clusters.size());
    for (auto* item : c->clusterItem()) {
      if (auto* m = dynamic_cast<FwcParser::ClusterMemberContext*>(item)) {
        if (!m->firewallDecl()) continue;
        Firewall(m->firewallDecl());
        unit_.firewalls.back().cluster = index;
      } else if (auto* a = dynamic_cast<FwcParser::ClusterAddressContext*>(item)) {
        if (!a->name()) continue;  // a syntax error was reported
        ast::ClusterAddress ca;
        ca.iface = Text(a->name());
        ca.iface_loc = At(a->name());
        for (auto* i : a->addrItem()) ca.addrs.push_back(AddrItem(i));
        cl.addresses.push_back(std::move(ca));
      } else if (auto* p = dynamic_cast<FwcParser::ClusterProtocolsContext*>(item)) {
        for (auto* n : p->name()) cl.protocols.emplace_back(Text(n), At(n));
      }
    }
    unit_.clusters.push_back(std::move(cl));
  }

  void Firewall(FwcParser::FirewallDeclContext* c) {
    ast::Firewall fw;
    fw.name = Text(c->name());
    fw.loc = c->name() ? At(c->name()) : At(c);
    for (auto* i : c->interfaceDecl()) {
      ast::Interface iface;
      auto names = i->name();
      if (names.size() < 2) continue;  // a syntax error was reported
      iface.name = Text(names[0]);
      iface.loc = At(names[0]);
      iface.device = Text(i->device);
      iface.device_loc = At(i->device);
      for (auto* a : i->ifaceAddr()) {
        ast::AddrItem item;
        item.kind = ast::AddrItem::Kind::kLiteral;
        item.text = a->getText();
        item.loc = At(a);
        iface.addrs.push_back(std::move(item));
      }
      fw.interfaces.push_back(std::move(iface));
    }
    unit_.firewalls.push_back(std::move(fw));
  }

  ast::AddrItem Range(FwcParser::AddrRangeContext* r) {
    ast::AddrItem item;
    item.kind = ast::AddrItem::Kind::kRange;
    auto a = r->ADDR();
    if (a.size() == 2) {
      item.text = a[0]->getText();
      item.text2 = a[1]->getText();
      item.loc = At(a[0]);
      item.loc2 = At(a[1]);
    }
    return item;
  }

  ast::AddrItem AddrItem(FwcParser::AddrItemContext* c) {
    ast::AddrItem item;
    item.loc = At(c);
    if (auto* n = dynamic_cast<FwcParser::NamedAddrContext*>(c)) {
      item.kind = ast::AddrItem::Kind::kName;
      item.text = Text(n->name());
    } else if (auto* l = dynamic_cast<FwcParser::LiteralAddrContext*>(c)) {
      item.kind = ast::AddrItem::Kind::kLiteral;
      item.text = l->ADDR()->getText();
    } else if (auto* r = dynamic_cast<FwcParser::RangeAddrContext*>(c)) {
      item = Range(r->addrRange());
    }  // else: any
    return item;
  }

  ast::AddrSet AddrSet(FwcParser::AddrSetContext* c) {
    ast::AddrSet s;
    if (!c) return s;
    s.negated = c->negated != nullptr;
    s.loc = At(c);
    for (auto* i : c->addrItem()) s.items.push_back(AddrItem(i));
    return s;
  }

  std::optional<ast::PortRange> Port(FwcParser::PortContext* p) {
    if (!p) return std::nullopt;
    auto nums = p->NUMBER();
    if (nums.empty()) return std::nullopt;
    ast::PortRange r;
    r.lo = r.hi = Number(nums[0]);
    if (nums.size() > 1) r.hi = Number(nums[1]);
    r.text = p->getText();
    r.loc = At(p);
    return r;
  }

  std::vector<ast::PortRange> Ports(FwcParser::PortsContext* c) {
    std::vector<ast::PortRange> out;
    if (!c) return out;
    for (auto* p : c->port())
      if (auto r = Port(p)) out.push_back(*r);
    return out;
  }

  ast::SvcSpec Spec(FwcParser::SvcSpecContext* c) {
    ast::SvcSpec s;
    s.loc = At(c);
    if (auto* p = dynamic_cast<FwcParser::PortSvcContext*>(c)) {
      s.kind = p->proto && p->proto->getText() == "udp" ? ast::SvcSpec::Kind::kUdp
                                                        : ast::SvcSpec::Kind::kTcp;
      for (auto* ports : p->ports()) {
        if (ports == p->sports) s.sports = Ports(ports);
        else s.dports = Ports(ports);
      }
    } else if (auto* i = dynamic_cast<FwcParser::IcmpSvcContext*>(c)) {
      s.kind = i->proto && i->proto->getText() == "icmpv6" ? ast::SvcSpec::Kind::kIcmpv6
                                                           : ast::SvcSpec::Kind::kIcmp;
      if (auto* t = i->icmpType()) {
        auto nums = t->NUMBER();
        size_t code_idx = 0;
        if (t->name()) {
          s.icmp_type = Text(t->name());
          s.icmp_type_loc = At(t->name());
        } else if (t->getStart() && t->getStart()->getText() == "redirect") {
          s.icmp_type = "redirect";
          s.icmp_type_loc = At(t->getStart());
        } else if (!nums.empty()) {
          s.icmp_type = nums[0]->getText();
          s.icmp_type_loc = At(nums[0]);
          code_idx = 1;
        }
        if (nums.size() > code_idx) {
          s.icmp_code = Number(nums[code_idx]);
          s.icmp_code_loc = At(nums[code_idx]);
        }
      }
    } else if (auto* pr = dynamic_cast<FwcParser::ProtoSvcContext*>(c)) {
      s.kind = ast::SvcSpec::Kind::kProto;
      if (pr->name()) {
        s.proto = Text(pr->name());
        s.proto_loc = At(pr->name());
      } else if (pr->NUMBER()) {
        s.proto = pr->NUMBER()->getText();
        s.proto_loc = At(pr->NUMBER());
      }
    }
    return s;
  }

  ast::SvcItem SpecItem(FwcParser::SvcSpecContext* c) {
    ast::SvcItem item;
    item.kind = ast::SvcItem::Kind::kSpec;
    item.spec = Spec(c);
    item.loc = item.spec.loc;
    return item;
  }

  ast::SvcItem SvcItem(FwcParser::SvcItemContext* c) {
    if (c->svcSpec()) return SpecItem(c->svcSpec());
    ast::SvcItem item;
    item.loc = At(c);
    if (c->name()) {
      item.kind = ast::SvcItem::Kind::kName;
      item.name = Text(c->name());
    }
    return item;
  }

  static ast::Action Action(FwcParser::ActionContext* a) {
    std::string t = a ? a->getText() : "drop";
    return t == "accept" ? ast::Action::kAccept
           : t == "reject" ? ast::Action::kReject
                           : ast::Action::kDrop;
  }

  void Policy(FwcParser::PolicyDeclContext* c) {
    ast::Policy p;
    p.name = Text(c->name());
    p.loc = c->name() ? At(c->name()) : At(c);
    p.default_action = Action(c->action());
    for (auto* item : c->policyItem()) {
      if (auto* o = item->optionStmt()) {
        ast::Option opt;
        opt.name = Text(o->name());
        opt.loc = o->name() ? At(o->name()) : At(o);
        if (auto* v = o->optionValue()) {
          opt.value = v->getText();
          opt.value_loc = At(v);
        }
        p.options.push_back(std::move(opt));
      } else if (auto* n = item->natBlock()) {
        p.has_nat = true;
        for (auto* r : n->natRule()) p.nat.push_back(NatRule(r));
      } else if (auto* m = item->marksBlock()) {
        p.has_marks = true;
        for (auto* r : m->markRule()) p.marks.push_back(MarkRule(r));
      } else if (auto* r = item->ruleDecl()) {
        p.rules.push_back(Rule(r));
      }
    }
    unit_.policies.push_back(std::move(p));
  }

  ast::Rule Rule(FwcParser::RuleDeclContext* c) {
    ast::Rule r;
    r.action = Action(c->action());
    r.loc = c->action() ? At(c->action()) : At(c);
    Body(r, c, c->svcSet(), c->src, c->dst, c->ruleOption());
    return r;
  }

  std::optional<ast::PortRange> NatPort(FwcParser::NatPortContext* c) {
    return c ? Port(c->port()) : std::nullopt;
  }

  ast::Rule NatRule(FwcParser::NatRuleContext* c) {
    ast::Rule r;
    auto t = std::make_shared<ast::Translation>();
    using K = ast::Translation::Kind;
    auto* a = c->natAction();
    if (auto* x = dynamic_cast<FwcParser::SnatActionContext*>(a)) {
      t->kind = K::kSnat;
      t->has_to = true;
      if (x->addrItem()) t->to = AddrItem(x->addrItem());
      t->port = NatPort(x->natPort());
    } else if (auto* x = dynamic_cast<FwcParser::DnatActionContext*>(a)) {
      t->kind = K::kDnat;
      t->has_to = true;
      if (x->addrItem()) t->to = AddrItem(x->addrItem());
      t->port = NatPort(x->natPort());
    } else if (auto* x = dynamic_cast<FwcParser::MasqueradeActionContext*>(a)) {
      t->kind = K::kMasquerade;
      t->port = NatPort(x->natPort());
    } else if (auto* x = dynamic_cast<FwcParser::RedirectActionContext*>(a)) {
      t->kind = K::kRedirect;
      t->port = NatPort(x->natPort());
    } else {
      t->kind = K::kNoNat;
    }
    t->loc = a ? At(a->getStart()) : At(c);
    r.loc = t->loc;
    r.translation = std::move(t);
    Body(r, c, c->svcSet(), c->src, c->dst, c->ruleOption());
    return r;
  }

  ast::Rule MarkRule(FwcParser::MarkRuleContext* c) {
    ast::Rule r;
    auto t = std::make_shared<ast::Translation>();
    t->kind = c->kind && c->kind->getText() == "connmark" ? ast::Translation::Kind::kConnmark
                                                          : ast::Translation::Kind::kMark;
    t->loc = c->kind ? At(c->kind) : At(c);
    if (auto* v = c->markValue()) {
      t->mark = v->getText();
      t->mark_loc = At(v);
    }
    r.loc = t->loc;
    r.translation = std::move(t);
    Body(r, c, c->svcSet(), c->src, c->dst, c->ruleOption());
    return r;
  }

  ast::RuleMatches& Matches(ast::Rule& r) {
    if (!r.matches) r.matches = std::make_shared<ast::RuleMatches>();
    return const_cast<ast::RuleMatches&>(*r.matches);  // only this builder holds it yet
  }

  // What every kind of rule has after its action.
  void Body(ast::Rule& r, antlr4::ParserRuleContext* c, FwcParser::SvcSetContext* svc, FwcParser::AddrSetContext* src,
            FwcParser::AddrSetContext* dst, const std::vector<FwcParser::RuleOptionContext*>& options) {
    r.span = At(c);
    if (auto* s = svc) {
      r.services.negated = s->negated != nullptr;
      r.services.loc = At(s);
      for (auto* i : s->svcItem()) r.services.items.push_back(SvcItem(i));
    }
    r.src = AddrSet(src);
    r.dst = AddrSet(dst);
    for (auto* o : options) {
      if (auto* i = dynamic_cast<FwcParser::InIfaceContext*>(o)) {
        r.in_iface = Text(i->name());
        r.in_loc = At(i->name());
      } else if (auto* out = dynamic_cast<FwcParser::OutIfaceContext*>(o)) {
        r.out_iface = Text(out->name());
        r.out_loc = At(out->name());
      } else if (auto* l = dynamic_cast<FwcParser::LogOptContext*>(o)) {
        r.log.enabled = true;
        for (auto* arg : l->logArg()) {
          if (auto* p = dynamic_cast<FwcParser::LogPrefixContext*>(arg)) {
            if (p->STRING()) {
              r.log.prefix = StringValue(p->STRING()->getText());
              r.log.prefix_loc = At(p->STRING());
            }
          } else if (auto* rate = dynamic_cast<FwcParser::LogRateContext*>(arg)) {
            if (rate->NUMBER()) r.log.rate = Number(rate->NUMBER());
            r.log.rate_unit = Text(rate->name());
            r.log.rate_loc = At(rate);
          }
        }
      } else if (dynamic_cast<FwcParser::CounterOptContext*>(o)) {
        r.counter = true;
      } else if (auto* cm = dynamic_cast<FwcParser::CommentOptContext*>(o)) {
        if (cm->STRING()) r.comment = StringValue(cm->STRING()->getText());
      } else if (dynamic_cast<FwcParser::DisabledOptContext*>(o)) {
        r.disabled = true;
      } else if (auto* nw = dynamic_cast<FwcParser::NowarnOptContext*>(o)) {
        for (auto* n : nw->name()) r.nowarn.emplace_back(Text(n), At(n));
      } else if (auto* f = dynamic_cast<FwcParser::IfOptContext*>(o)) {
        r.condition = Text(f->name());
        r.condition_negated = f->negated != nullptr;
        r.condition_loc = At(f->name());
      } else if (auto* mk = dynamic_cast<FwcParser::MarkOptContext*>(o)) {
        if (auto* v = mk->markValue()) {
          Matches(r).mark = v->getText();
          Matches(r).mark_loc = At(v);
        }
      } else if (auto* cn = dynamic_cast<FwcParser::ConnmarkOptContext*>(o)) {
        if (auto* v = cn->markValue()) {
          Matches(r).connmark = v->getText();
          Matches(r).connmark_loc = At(v);
        }
      } else if (auto* st = dynamic_cast<FwcParser::StateOptContext*>(o)) {
        for (auto* n : st->name()) Matches(r).states.emplace_back(Text(n), At(n));
      } else if (auto* cl = dynamic_cast<FwcParser::ConnlimitOptContext*>(o)) {
        if (cl->NUMBER()) {
          Matches(r).connlimit = Number(cl->NUMBER());
          Matches(r).connlimit_loc = At(cl->NUMBER());
        }
      } else if (auto* lim = dynamic_cast<FwcParser::LimitOptContext*>(o)) {
        ast::RuleMatches& m = Matches(r);
        if (lim->NUMBER()) m.limit_rate = Number(lim->NUMBER());
        m.limit_unit = Text(lim->name());
        m.limit_loc = At(lim);
      }
    }
  }

  int file_;
  ast::Unit& unit_;
  std::vector<IncludeRef>& includes_;
};

}  // namespace

Result ParseFile(int file, const std::string& text) {
  Result r;
  antlr4::ANTLRInputStream input(text);
  FwcLexer lexer(&input);
  CountErrors errors;
  lexer.removeErrorListeners();
  lexer.addErrorListener(&errors);
  antlr4::CommonTokenStream tokens(&lexer);
  FwcParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&errors);
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
  FwcParser::File_Context* tree = parser.file_();
  r.accepted = errors.errors == 0;
  AstBuilder(file, r.unit, r.includes).File(tree);
  return r;
}

std::vector<Token> Tokens(const std::string& text) {
  antlr4::ANTLRInputStream input(text);
  FwcLexer lexer(&input);
  lexer.removeErrorListeners();
  std::vector<Token> out;
  for (auto t = lexer.nextToken(); t->getType() != antlr4::Token::EOF; t = lexer.nextToken()) {
    if (t->getChannel() != antlr4::Token::DEFAULT_CHANNEL) continue;
    Token x;
    x.type = static_cast<int>(t->getType());
    x.line = static_cast<int>(t->getLine());
    x.col = static_cast<int>(t->getCharPositionInLine());
    x.text = t->getText();
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<Token> DirectTokens(const std::string& text) {
  syntax::Lexer lexer(text);
  std::vector<Token> out;
  for (syntax::Token t = lexer.Next(); t.type != syntax::Tok::kEof; t = lexer.Next()) {
    Token x;
    x.type = static_cast<int>(t.type);
    x.line = t.line;
    x.col = t.col;
    x.text = std::string(lexer.Text(t));
    out.push_back(std::move(x));
  }
  return out;
}

std::string Disagreement(int file, const std::string& text) {
  std::vector<Token> ref = Tokens(text), ours = DirectTokens(text);
  for (size_t i = 0; i < std::max(ref.size(), ours.size()); ++i) {
    if (i < ref.size() && i < ours.size() && ref[i].type == ours[i].type && ref[i].line == ours[i].line &&
        ref[i].col == ours[i].col && ref[i].text == ours[i].text)
      continue;
    auto show = [](const std::vector<Token>& v, size_t k) {
      if (k >= v.size()) return std::string("the end");
      return "token " + std::to_string(v[k].type) + " '" + v[k].text + "' at " + std::to_string(v[k].line) + ":" +
             std::to_string(v[k].col + 1);
    };
    return "the lexers differ at token " + std::to_string(i + 1) + ": the grammar's " + show(ref, i) + ", fwc's " +
           show(ours, i);
  }
  Result r = ParseFile(file, text);
  ast::Unit unit;
  std::vector<IncludeRef> includes;
  bool accepted = syntax::ParseFile(file, text, unit, includes, nullptr);
  if (accepted != r.accepted)
    return std::string("the grammar ") + (r.accepted ? "accepts" : "rejects") + " the file and fwc's parser " +
           (accepted ? "accepts" : "rejects") + " it";
  return "";
}

}  // namespace fwc::syntax::reference
