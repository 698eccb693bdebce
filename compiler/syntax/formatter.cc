#include "compiler/syntax/formatter.h"

#include <algorithm>
#include <vector>

#include "compiler/syntax/ast_dump.h"
#include "compiler/syntax/lexer.h"
#include "compiler/syntax/parser.h"
#include "compiler/syntax/policy_parser.h"

namespace fwc::syntax {
namespace {

constexpr int kIndent = 4;
// A cell wider than this does not widen its column (it overflows on its own
// line), so that one long address set does not push a whole run of rules
// to the right. Likewise a line wider than kMaxCommentColumn does not move
// the trailing comments of its neighbours.
constexpr size_t kMaxAlignedCell = 40;
constexpr size_t kMaxCommentColumn = 100;

// A '#' comment between two tokens, and how many line breaks came before it
// (since the previous token or comment).
struct Comment {
  std::string text;
  int breaks_before = 0;
};

// A token with the comments before it and the line breaks between the last
// of them (or the previous token) and it.
struct Item {
  Token token;
  std::string_view text;
  std::vector<Comment> comments;
  int breaks_before = 0;
};

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The gap between two tokens: blanks, line breaks and comments.
void ReadGap(std::string_view gap, Item& item) {
  int breaks = 0;
  for (size_t i = 0; i < gap.size(); ++i) {
    if (gap[i] == '\n') {
      ++breaks;
    } else if (gap[i] == '#') {
      size_t end = i;
      while (end < gap.size() && gap[end] != '\n' && gap[end] != '\r') ++end;
      item.comments.push_back({std::string(TrimRight(gap.substr(i, end - i))), breaks});
      breaks = 0;
      i = end - 1;
    }
  }
  item.breaks_before = breaks;
}

std::vector<Item> ReadItems(std::string_view text) {
  std::vector<Item> items;
  Lexer lexer(text);
  size_t prev_end = text.substr(0, 3) == "\xef\xbb\xbf" ? 3 : 0;
  for (;;) {
    Item item;
    item.token = lexer.Next();
    item.text = lexer.Text(item.token);
    ReadGap(text.substr(prev_end, item.token.begin - prev_end), item);
    prev_end = item.token.end;
    bool eof = item.token.type == Tok::kEof;
    items.push_back(std::move(item));
    if (eof) break;
  }
  return items;
}

// What a line holds, for alignment: lines of one kind in a run are aligned.
enum class Kind { kComment, kDecl, kInterface, kRule, kNatRule, kMarkRule, kExpect, kOption, kOther };

struct Piece {
  Tok type;
  std::string text;
};

struct Line {
  Kind kind = Kind::kOther;
  int depth = 0;
  bool continuation = false;  // a later line of a statement broken by a comment
  bool blank_before = false;
  bool opens_block = false;  // ends with the '{' of a block
  std::vector<Piece> pieces;
  std::string comment;  // trailing; for kComment the comment itself
};

bool IsRuleOption(Tok t) {
  switch (t) {
    case Tok::kIn: case Tok::kOut: case Tok::kLog: case Tok::kCounter: case Tok::kComment:
    case Tok::kDisabled: case Tok::kIf: case Tok::kNowarn: case Tok::kMark: case Tok::kConnmark:
    case Tok::kState: case Tok::kLimit: case Tok::kConnlimit:
      return true;
    default:
      return false;
  }
}

// Where a statement is: what a brace opened decides what its lines are.
enum class Block { kTop, kFirewall, kCluster, kPolicy, kNat, kMarks, kGroup };

Kind StatementKind(Block block, Tok head) {
  switch (block) {
    case Block::kTop:
      switch (head) {
        case Tok::kHost: case Tok::kNetwork: case Tok::kRange: case Tok::kGroup: case Tok::kService:
        case Tok::kSet: case Tok::kMark: case Tok::kHelper:
          return Kind::kDecl;
        case Tok::kExpect:
          return Kind::kExpect;
        default:
          return Kind::kOther;
      }
    case Block::kFirewall: return head == Tok::kInterface ? Kind::kInterface : Kind::kOther;
    case Block::kCluster: return Kind::kOther;  // member firewalls open blocks of their own
    case Block::kPolicy:
      if (head == Tok::kOption) return Kind::kOption;
      return head == Tok::kAccept || head == Tok::kDrop || head == Tok::kReject ? Kind::kRule : Kind::kOther;
    case Block::kNat: return Kind::kNatRule;
    case Block::kMarks: return Kind::kMarkRule;
    case Block::kGroup: return Kind::kOther;
  }
  return Kind::kOther;
}

// Tokens to lines. Braces are of two sorts: those of a block (firewall,
// policy, nat, marks, a group written over several lines), which indent the
// lines inside, and those of a set written inline (`{ web, db }`).
class LineBuilder {
 public:
  explicit LineBuilder(const std::vector<Item>& items) : items_(items) {}

  std::vector<Line> Build() {
    for (size_t i = 0; i < items_.size(); ++i) {
      const Item& item = items_[i];
      for (const Comment& c : item.comments) PlaceComment(c);
      if (item.token.type == Tok::kEof) break;
      if (skip_semi_ && item.token.type == Tok::kSemi) {
        skip_semi_ = false;
        continue;
      }
      skip_semi_ = false;
      PlaceToken(i);
    }
    Flush();
    return std::move(lines_);
  }

 private:
  struct Open {
    Block block;   // what it opened; kTop for an inline set
    bool inline_;  // inline: stays on the line
    bool ends_statement;  // its '}' ends the statement (a group's braces)
  };

  int depth() const { return static_cast<int>(blocks_.size()); }
  Block block() const { return blocks_.empty() ? Block::kTop : blocks_.back(); }
  bool in_statement() const { return !stmt_.empty(); }

  void Flush() {
    if (current_.pieces.empty() && current_.comment.empty()) return;
    lines_.push_back(std::move(current_));
    current_ = Line{};
    break_ = false;
  }

  // A comment ending the line of the previous token, or on a line of its own.
  void PlaceComment(const Comment& c) {
    // (A line has one trailing comment: a second one, after a ';' that fmt
    // drops, goes on a line of its own.)
    if (c.breaks_before == 0 && !current_.pieces.empty() && current_.comment.empty()) {
      // A statement broken here is no longer a row of its run.
      if (in_statement()) current_.kind = Kind::kOther;
      current_.comment = c.text;
      break_ = true;
      return;
    }
    Flush();
    Line line;
    line.kind = Kind::kComment;
    line.depth = depth() + (in_statement() ? 1 : 0);
    line.blank_before = c.breaks_before >= 2 && !in_statement();
    line.comment = c.text;
    lines_.push_back(std::move(line));
  }

  void StartLine(const Item& item, bool continuation) {
    Flush();
    current_.depth = depth() + (continuation ? 1 : 0);
    current_.continuation = continuation;
    current_.blank_before = !continuation && item.breaks_before >= 2;
  }

  void Append(const Item& item) {
    // A statement the user broke over lines stays broken there (not before
    // punctuation), the rest indented.
    Tok t = item.token.type;
    bool kept_break = in_statement() && item.breaks_before > 0 && t != Tok::kLBrace && t != Tok::kRBrace &&
                      t != Tok::kSemi && t != Tok::kComma;
    if (kept_break && !current_.pieces.empty()) current_.kind = Kind::kOther;  // no longer a row of its run
    if (current_.pieces.empty() || break_ || kept_break) StartLine(item, in_statement());
    current_.pieces.push_back({item.token.type, std::string(item.text)});
  }

  void EndStatement() {
    stmt_.clear();
    break_ = true;
  }

  void PlaceToken(size_t i) {
    const Item& item = items_[i];
    Tok t = item.token.type;
    bool stmt_start = !in_statement();
    if (t == Tok::kRBrace && !opens_.empty() && !opens_.back().inline_) {
      CloseBlock(item);
      return;
    }
    // An inline set has no trailing comma.
    if (t == Tok::kRBrace && !break_ && !current_.pieces.empty() && current_.pieces.back().type == Tok::kComma)
      current_.pieces.pop_back();
    Append(item);
    if (stmt_start) current_.kind = StatementKind(block(), t);
    stmt_.push_back(t);
    if (t == Tok::kLBrace) {
      OpenBrace(i);
    } else if (t == Tok::kRBrace) {
      Open o = opens_.back();
      opens_.pop_back();
      if (o.ends_statement) {
        EndStatement();
        skip_semi_ = true;
      }
    } else if (t == Tok::kSemi && inline_depth() == 0) {
      EndStatement();
    } else if (t == Tok::kComma && inline_depth() == 0 && block() == Block::kGroup) {
      EndStatement();  // one member a line
    }
  }

  int inline_depth() const {
    int n = 0;
    for (const Open& o : opens_) n += o.inline_;
    return n;
  }

  void OpenBrace(size_t i) {
    // The statement so far, the brace included.
    Tok head = stmt_.front();
    bool first_brace = inline_depth() == 0;
    Block opened = Block::kTop;
    if (first_brace && head == Tok::kCluster && block() == Block::kTop) opened = Block::kCluster;
    if (first_brace && head == Tok::kFirewall && (block() == Block::kTop || block() == Block::kCluster))
      opened = Block::kFirewall;
    if (first_brace && head == Tok::kPolicy && block() == Block::kTop) opened = Block::kPolicy;
    if (block() == Block::kPolicy && stmt_.size() == 2 && head == Tok::kNat) opened = Block::kNat;
    if (block() == Block::kPolicy && stmt_.size() == 2 && head == Tok::kMarks) opened = Block::kMarks;
    bool group = block() == Block::kTop && head == Tok::kGroup && stmt_.size() == 3;
    if (group) {
      // Written over several lines: one member a line; else inline.
      const Item& next = items_[i + 1];
      bool multiline = next.comments.empty() ? next.breaks_before > 0 : next.comments.front().breaks_before > 0;
      if (next.token.type == Tok::kRBrace) multiline = false;
      if (multiline) {
        opened = Block::kGroup;
        current_.kind = Kind::kOther;
      }
      opens_.push_back({opened, !multiline, true});
    } else {
      opens_.push_back({opened, opened == Block::kTop, false});
    }
    if (opened != Block::kTop) {
      current_.opens_block = true;
      blocks_.push_back(opened);
      stmt_.clear();
      break_ = true;
    }
  }

  void CloseBlock(const Item& item) {
    Open o = opens_.back();
    opens_.pop_back();
    // A group written a member a line ends each member with a comma.
    if (o.block == Block::kGroup && !stmt_.empty() && stmt_.back() != Tok::kComma && !current_.pieces.empty())
      current_.pieces.push_back({Tok::kComma, ","});
    blocks_.pop_back();
    stmt_.clear();
    StartLine(item, false);
    current_.blank_before = false;
    current_.pieces.push_back({Tok::kRBrace, "}"});
    break_ = true;
    skip_semi_ = true;
  }

  const std::vector<Item>& items_;
  std::vector<Line> lines_;
  Line current_;
  bool break_ = false;      // the next token starts a new line
  bool skip_semi_ = false;  // the optional ';' after a closing brace
  std::vector<Block> blocks_;  // the blocks the next token is in
  std::vector<Open> opens_;    // every open brace
  std::vector<Tok> stmt_;      // the tokens of the statement so far
};

bool NoSpaceBefore(Tok t) { return t == Tok::kComma || t == Tok::kSemi || t == Tok::kDash || t == Tok::kSlash; }
bool NoSpaceAfter(Tok t) { return t == Tok::kDash || t == Tok::kSlash; }

std::string Join(const std::vector<Piece>& pieces, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    if (i > from && !NoSpaceBefore(pieces[i].type) && !NoSpaceAfter(pieces[i - 1].type)) out += ' ';
    out += pieces[i].text;
  }
  return out;
}

// The columns of a line: where its pieces are cut for alignment. A rule is
// action | services | from ... | to ... | options | comment ...; a declaration
// keyword | name | the rest.
std::vector<std::string> Cells(const Line& line) {
  const auto& p = line.pieces;
  std::vector<size_t> cuts;
  auto depth_at = [&](size_t i) {
    int d = 0;
    for (size_t k = 0; k < i; ++k) d += p[k].type == Tok::kLBrace ? 1 : p[k].type == Tok::kRBrace ? -1 : 0;
    return d;
  };
  auto first = [&](size_t from, auto pred) {
    for (size_t i = from; i < p.size(); ++i)
      if (depth_at(i) == 0 && pred(p[i].type)) return i;
    return p.size();
  };
  switch (line.kind) {
    case Kind::kDecl: cuts = {1, 2}; break;
    case Kind::kInterface: cuts = {1, 2, 3}; break;
    case Kind::kOption: cuts = {1, 2}; break;
    case Kind::kRule:
    case Kind::kExpect:
    case Kind::kNatRule:
    case Kind::kMarkRule: {
      // "expect accept" is one cell, as a rule's action is.
      if (line.kind == Kind::kRule || line.kind == Kind::kExpect) cuts.push_back(line.kind == Kind::kRule ? 1 : 2);
      size_t from = first(0, [](Tok t) { return t == Tok::kFrom; });
      size_t to = first(from, [](Tok t) { return t == Tok::kTo; });
      size_t opts = first(to + 1, [](Tok t) { return IsRuleOption(t) || t == Tok::kSemi; });
      if (opts < p.size() && p[opts].type == Tok::kSemi) opts = p.size();
      // The comment of a rule is a column of its own, as people align it.
      size_t comment = first(opts, [](Tok t) { return t == Tok::kComment; });
      cuts.insert(cuts.end(), {from, to, opts, comment});
      break;
    }
    default: break;
  }
  std::vector<std::string> cells;
  size_t at = 0;
  for (size_t cut : cuts) {
    cut = std::min(std::max(cut, at), p.size());
    cells.push_back(Join(p, at, cut));
    at = cut;
  }
  cells.push_back(Join(p, at, p.size()));
  // Trailing empty cells are no columns.
  while (cells.size() > 1 && cells.back().empty()) cells.pop_back();
  return cells;
}

bool Alignable(const Line& line) { return line.kind != Kind::kComment && line.kind != Kind::kOther && !line.continuation; }

// The lines of one run, rendered with their columns aligned.
void RenderRun(const std::vector<Line>& lines, size_t begin, size_t end, std::vector<std::string>& out) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  for (size_t i = begin; i < end; ++i) {
    cells.push_back(Alignable(lines[i]) ? Cells(lines[i]) : std::vector<std::string>{Join(lines[i].pieces, 0, lines[i].pieces.size())});
    const auto& c = cells.back();
    if (widths.size() < c.size()) widths.resize(c.size(), 0);
    // The last cell of a line is never padded; it does not widen its column.
    for (size_t k = 0; k + 1 < c.size(); ++k)
      if (c[k].size() <= kMaxAlignedCell) widths[k] = std::max(widths[k], c[k].size());
  }
  std::vector<std::string> texts;
  size_t comment_col = 0;
  for (size_t i = begin; i < end; ++i) {
    const Line& line = lines[i];
    const auto& c = cells[i - begin];
    std::string text(static_cast<size_t>(line.depth) * kIndent, ' ');
    if (line.kind == Kind::kComment) {
      text += line.comment;
      texts.push_back(text);
      continue;
    }
    for (size_t k = 0; k < c.size(); ++k) {
      bool last = k + 1 == c.size();
      if (c[k].empty() && widths[k] == 0) continue;  // a column no line of the run has
      if (k > 0) text += ' ';
      text += c[k];
      if (!last && c[k].size() < widths[k]) text.append(widths[k] - c[k].size(), ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    if (!line.comment.empty() && text.size() <= kMaxCommentColumn) comment_col = std::max(comment_col, text.size());
    texts.push_back(text);
  }
  for (size_t i = begin; i < end; ++i) {
    std::string& text = texts[i - begin];
    const Line& line = lines[i];
    if (line.kind != Kind::kComment && !line.comment.empty()) {
      if (text.size() < comment_col) text.append(comment_col - text.size(), ' ');
      text += text.empty() ? "" : "  ";
      text += line.comment;
    }
    if (line.blank_before && !out.empty()) out.push_back("");
    out.push_back(std::move(text));
  }
}

std::string Render(std::vector<Line> lines) {
  // No blank line at the start of a block or before its end.
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 0 || lines[i - 1].opens_block) lines[i].blank_before = false;
  }
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin < lines.size()) {
    // A run: consecutive alignable lines of one kind and depth, no blank
    // line between them. Anything else is a run of its own.
    size_t end = begin + 1;
    if (Alignable(lines[begin]))
      while (end < lines.size() && Alignable(lines[end]) && lines[end].kind == lines[begin].kind &&
             lines[end].depth == lines[begin].depth && !lines[end].blank_before)
        ++end;
    RenderRun(lines, begin, end, out);
    begin = end;
  }
  std::string text;
  for (const auto& l : out) text += l + "\n";
  return text;
}

// The significant tokens, with what fmt may change taken out: the optional
// ';' after a '}' and a ',' before a '}'.
std::vector<std::string> Normalized(const std::vector<Item>& items) {
  std::vector<std::string> out;
  for (size_t i = 0; i < items.size(); ++i) {
    Tok t = items[i].token.type;
    if (t == Tok::kEof) break;
    if (t == Tok::kSemi && i > 0 && items[i - 1].token.type == Tok::kRBrace) continue;
    if (t == Tok::kComma && items[i + 1].token.type == Tok::kRBrace) continue;
    out.emplace_back(items[i].text);
  }
  return out;
}

std::vector<std::string> Comments(const std::vector<Item>& items) {
  std::vector<std::string> out;
  for (const Item& item : items)
    for (const Comment& c : item.comments) out.push_back(c.text);
  return out;
}

std::string Dump(int file, std::string_view text, Diagnostics* diags, bool* ok) {
  ast::Unit unit;
  std::vector<IncludeRef> includes;
  *ok = ParseFile(file, text, unit, includes, diags);
  std::string dump = DumpAst(unit);
  for (const auto& inc : includes) dump += "include " + inc.path + "\n";
  return dump;
}

}  // namespace

std::optional<std::string> FormatPolicy(int file, std::string_view text, Diagnostics& diags) {
  if (ReportInvalidUtf8(file, text, diags)) return std::nullopt;
  bool ok = false;
  std::string before = Dump(file, text, &diags, &ok);
  if (!ok) return std::nullopt;
  std::vector<Item> items = ReadItems(text);
  std::string formatted = Render(LineBuilder(items).Build());

  std::vector<Item> again = ReadItems(formatted);
  bool same_ast = false;
  std::string after = Dump(file, formatted, nullptr, &same_ast);
  same_ast = same_ast && after == before;
  const char* broken = !same_ast                                    ? "its statements"
                       : Normalized(again) != Normalized(items)     ? "its tokens"
                       : Comments(again) != Comments(items)         ? "its comments"
                                                                    : nullptr;
  if (broken) {
    diags.Error("fmt-changed-meaning", Loc{file, 1, 1, 1},
                std::string("fwc fmt would change this policy (") + broken + "); the file is left as it is",
                "this is a bug in fwc fmt: please report it with the file");
    return std::nullopt;
  }
  return formatted;
}

}  // namespace fwc::syntax
