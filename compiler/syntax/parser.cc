#include "compiler/syntax/parser.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>

#include "FwcLexer.h"
#include "FwcParser.h"
#include "antlr4-runtime.h"
#include "compiler/syntax/direct_parser.h"
#include "compiler/base/utf8.h"

namespace fwc {

using fwcgrammar::FwcLexer;
using fwcgrammar::FwcParser;

namespace {

const char* FileKind(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::optional<std::string> FileSystemLoader::Read(const std::string& path,
                                                  std::string* error) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // right after, as every file that is not a regular one.
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::strerror(errno);
    return std::nullopt;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = std::strerror(errno);
    close(fd);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = S_ISDIR(st.st_mode) ? std::strerror(EISDIR)
                                 : std::string("it is ") + FileKind(st.st_mode) + ", not a policy file";
    close(fd);
    return std::nullopt;
  }
  // The size a file claims is only a hint (a file in /proc claims 0, a
  // file may grow while it is read): the limit is enforced on what is read.
  // A policy is text a person wrote, so anything this large is a mistake.
  std::string out;
  out.reserve(std::min(static_cast<size_t>(std::max<off_t>(st.st_size, 0)), max_bytes_) + 1);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::strerror(errno);
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes_) {
      *error = "the file is larger than " +
               (max_bytes_ >= (1 << 20) ? std::to_string(max_bytes_ >> 20) + " MiB"
                                        : std::to_string(max_bytes_) + " bytes");
      close(fd);
      return std::nullopt;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string FileSystemLoader::Canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf)) return buf;
  return path;
}

namespace {

constexpr int kMaxIncludeDepth = 16;

// The first byte offset that is not valid UTF-8, or npos. Checked before
// ANTLR sees the text: its UTF-8 decoder throws on bad input.
size_t FindInvalidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = s[i] == 0 ? 0 : Utf8SequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string::npos;
}

// Converts ANTLR syntax errors into located diagnostics.
class ErrorListener : public antlr4::BaseErrorListener {
 public:
  ErrorListener(Diagnostics& diags, int file) : diags_(diags), file_(file) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line,
                   size_t col, const std::string& msg,
                   std::exception_ptr) override {
    if (diags_.at_cap()) return;
    Loc loc{file_, static_cast<int>(line), static_cast<int>(col) + 1, 1};
    if (offending && offending->getType() != antlr4::Token::EOF)
      loc.len = std::max<int>(1, static_cast<int>(offending->getStopIndex() -
                                                  offending->getStartIndex() + 1));
    // A forgotten ';' is noticed only at the next statement, often lines
    // later; point at the end of the statement that lacks it instead.
    if (auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
        parser && offending && ExpectsSemicolon(msg)) {
      antlr4::Token* prev = parser->getTokenStream()->LT(-1);
      if (prev && prev->getLine() < offending->getLine()) {
        int len = static_cast<int>(prev->getStopIndex() - prev->getStartIndex() + 1);
        loc = Loc{file_, static_cast<int>(prev->getLine()),
                  static_cast<int>(prev->getCharPositionInLine()) + len + 1, 1};
        diags_.Error("syntax-error", loc, "missing ';' at the end of the statement",
                     "every statement and rule ends with ';'");
        return;
      }
    }
    std::string help = "see fwc.policy(5) for the statement syntax";
    if (offending && offending->getText().rfind("\"", 0) == 0 && offending->getType() != FwcLexer::STRING) {
      diags_.Error("syntax-error", loc, "unterminated string",
                   "a string ends with '\"' on the same line; it cannot span lines");
      return;
    }
    if (msg.find("missing ';'") != std::string::npos)
      help = "every statement and rule ends with ';'";
    else if (msg.find("token recognition error") != std::string::npos)
      help = "remove the character, or quote it inside a \"string\"";
    else if (msg.find("<EOF>") != std::string::npos)
      help = "the file ended early: check for an unclosed '{'";
    diags_.Error("syntax-error", loc, Shorten(msg), help);
  }

 private:
  static bool ExpectsSemicolon(const std::string& msg) {
    return msg.find("missing ';'") != std::string::npos ||
           (msg.rfind("mismatched input", 0) == 0 && msg.find("';'") != std::string::npos);
  }

  // ANTLR lists every token it would have accepted; past a few that list is
  // noise rather than help.
  static std::string Shorten(const std::string& msg) {
    size_t brace = msg.find(" expecting {");
    if (brace == std::string::npos) return msg;
    size_t commas = 0;
    for (size_t i = brace; i < msg.size(); ++i) commas += msg[i] == ',';
    if (commas < 6) return msg;
    return msg.substr(0, brace);
  }

  Diagnostics& diags_;
  int file_;
};

// Walks one file's parse tree and appends what it declares to the unit, and
// its include statements to includes. compiler/direct_parser.cc builds the
// same AST without a parse tree: a change here needs the same change there
// (tests/unit/direct_parser_test.cc compares the two).
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
    } else if (auto* c = st->policyDecl()) {
      Policy(c);
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

  std::vector<ast::PortRange> Ports(FwcParser::PortsContext* c) {
    std::vector<ast::PortRange> out;
    if (!c) return out;
    for (auto* p : c->port()) {
      auto nums = p->NUMBER();
      if (nums.empty()) continue;
      ast::PortRange r;
      r.lo = r.hi = Number(nums[0]);
      if (nums.size() > 1) r.hi = Number(nums[1]);
      r.text = p->getText();
      r.loc = At(p);
      out.push_back(r);
    }
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
    r.span = At(c);
    if (auto* s = c->svcSet()) {
      r.services.negated = s->negated != nullptr;
      r.services.loc = At(s);
      for (auto* i : s->svcItem()) r.services.items.push_back(SvcItem(i));
    }
    r.src = AddrSet(c->src);
    r.dst = AddrSet(c->dst);
    for (auto* o : c->ruleOption()) {
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
      }
    }
    return r;
  }

  int file_;
  ast::Unit& unit_;
  std::vector<IncludeRef>& includes_;
};

// Reports the first invalid UTF-8 byte of a file, if any; returns whether
// there was one. Neither parser reads a file that has one.
bool ReportInvalidUtf8(int file, const std::string& text, Diagnostics& diags) {
  size_t bad = FindInvalidUtf8(text);
  if (bad == std::string::npos) return false;
  int line = 1, col = 1;
  for (size_t i = 0; i < bad; ++i) {
    if (text[i] == '\n') { ++line; col = 1; }
    else if ((static_cast<unsigned char>(text[i]) >> 6) != 2) ++col;
  }
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[bad]));
  diags.Error("invalid-encoding", Loc{file, line, col, 1},
              std::string(text[bad] == 0 ? "NUL byte" : "invalid UTF-8 byte ") +
                  (text[bad] == 0 ? "" : byte) + " in policy file",
              "policy files are UTF-8 text; re-save the file as UTF-8");
  return true;
}

// Parses one file with ANTLR, reporting its syntax errors, and appends what
// could be parsed to unit and includes.
void ParseWithAntlr(int file, const std::string& text, Diagnostics& diags, ast::Unit& unit,
                    std::vector<IncludeRef>& includes) {
  antlr4::ANTLRInputStream input(text);
  FwcLexer lexer(&input);
  ErrorListener listener(diags, file);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  FwcParser parser(&tokens);
  // Two-stage parsing: the fast SLL prediction with bail-out first; only if
  // it fails, full LL with error reporting. For this grammar SLL nearly
  // always succeeds, and it is several times faster.
  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  FwcParser::File_Context* tree = nullptr;
  try {
    tree = parser.file_();
  } catch (const antlr4::ParseCancellationException&) {
    tree = nullptr;
  }
  if (!tree) {
    tokens.seek(0);
    parser.reset();
    parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
    parser.addErrorListener(&listener);
    tree = parser.file_();
  }
  AstBuilder(file, unit, includes).File(tree);
}

struct IncludeState {
  SourceLoader& loader;
  SourceManager& sources;
  Diagnostics& diags;
  ParserChoice choice;
  std::vector<std::string> stack;  // canonical paths of the files being parsed
  std::set<std::string> seen;      // every file parsed so far
};

void ParseFile(int file, IncludeState& state, ast::Unit& unit);

// Reads and parses the files one file includes, in order.
void FollowIncludes(int file, const std::vector<IncludeRef>& includes, IncludeState& state,
                    ast::Unit& unit) {
  std::string dir;
  size_t slash = state.sources.path(file).find_last_of('/');
  if (slash != std::string::npos) dir = state.sources.path(file).substr(0, slash + 1);
  for (const auto& [rel, loc] : includes) {
    std::string path = !rel.empty() && rel[0] == '/' ? rel : dir + rel;
    std::string canonical = state.loader.Canonical(path);
    bool recursive = false;
    for (const auto& s : state.stack) recursive |= s == canonical;
    if (recursive) {
      state.diags.Error("recursive-include", loc, "'" + rel + "' includes itself (directly or through other files)",
                        "remove this include; each file needs to be included only once");
      continue;
    }
    // A file included again (a diamond of includes) adds nothing new; parsing
    // it again would only repeat its declarations, and could take
    // exponential time.
    if (state.seen.count(canonical)) continue;
    if (static_cast<int>(state.stack.size()) >= kMaxIncludeDepth) {
      state.diags.Error("include-depth", loc, "includes are nested more than " +
                        std::to_string(kMaxIncludeDepth) + " deep", "flatten the include structure");
      continue;
    }
    std::string err;
    auto content = state.loader.Read(path, &err);
    if (!content) {
      state.diags.Error("include-not-found", loc, "cannot read included file '" + path + "': " + err,
                        "include a policy file; a relative path is relative to the including file's directory");
      continue;
    }
    int child = state.sources.Add(path, std::move(*content));
    state.seen.insert(canonical);
    state.stack.push_back(canonical);
    ParseFile(child, state, unit);
    state.stack.pop_back();
  }
}

// Parses one file and, depth first, the files it includes. The direct
// parser is tried first; a file it rejects is parsed again with ANTLR,
// which reports the syntax errors.
void ParseFile(int file, IncludeState& state, ast::Unit& unit) {
  const std::string& text = state.sources.text(file);
  if (ReportInvalidUtf8(file, text, state.diags)) return;
  std::vector<IncludeRef> includes;
  if (state.choice == ParserChoice::kAntlrOnly || !ParseDirect(file, text, unit, includes))
    ParseWithAntlr(file, text, state.diags, unit, includes);
  FollowIncludes(file, includes, state, unit);
}

}  // namespace

ast::Unit ParsePolicy(const std::string& path, std::string text,
                      SourceLoader& loader, SourceManager& sources,
                      Diagnostics& diags, ParserChoice choice) {
  ast::Unit unit;
  int file = sources.Add(path, std::move(text));
  IncludeState state{loader, sources, diags, choice, {loader.Canonical(path)}, {loader.Canonical(path)}};
  ParseFile(file, state, unit);
  return unit;
}

}  // namespace fwc
