#include "import/iptables_save.h"

#include <algorithm>
#include <cctype>

#include "compiler/base/protocols.h"

namespace fwc::import {

SourceChain* SourceTable::Find(const std::string& chain) {
  for (auto& c : chains)
    if (c.name == chain) return &c;
  return nullptr;
}
const SourceChain* SourceTable::Find(const std::string& chain) const {
  return const_cast<SourceTable*>(this)->Find(chain);
}
const SourceTable* SourceRuleset::Find(Family f, const std::string& table) const {
  for (const auto& t : tables)
    if (t.family == f && t.name == table) return &t;
  return nullptr;
}

namespace {

bool IsBuiltinChain(const std::string& table, const std::string& chain) {
  static const std::pair<const char*, const char*> kBuiltin[] = {
      {"filter", "INPUT"},         {"filter", "FORWARD"},    {"filter", "OUTPUT"},     {"nat", "PREROUTING"},
      {"nat", "INPUT"},            {"nat", "OUTPUT"},        {"nat", "POSTROUTING"},   {"mangle", "PREROUTING"},
      {"mangle", "INPUT"},         {"mangle", "FORWARD"},    {"mangle", "OUTPUT"},     {"mangle", "POSTROUTING"},
      {"raw", "PREROUTING"},       {"raw", "OUTPUT"},        {"security", "INPUT"},    {"security", "FORWARD"},
      {"security", "OUTPUT"}};
  for (const auto& [t, c] : kBuiltin)
    if (table == t && chain == c) return true;
  return false;
}

struct Token {
  std::string text;
  int col = 1;  // 1-based
};

// Splits a line the way iptables-restore does: blanks separate words,
// double quotes group them, a backslash takes the next character.
bool Tokenize(const std::string& line, std::vector<Token>& out, std::string* error) {
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      ++i;
      continue;
    }
    Token t;
    t.col = static_cast<int>(i) + 1;
    bool quoted = false;
    while (i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t' && line[i] != '\r'))) {
      char c = line[i++];
      if (c == '"') quoted = !quoted;
      else if (c == '\\' && i < line.size()) t.text += line[i++];
      else t.text += c;
    }
    if (quoted) {
      *error = "unterminated quoted string";
      return false;
    }
    out.push_back(std::move(t));
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<unsigned> Number(const std::string& s, unsigned max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  unsigned long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<unsigned>(v);
}

int MaskBits(const std::string& mask) {
  std::string err;
  auto a = ParseAddress(mask, &err);
  if (!a || a->prefix >= 0) return -1;
  int bits = FamilyBits(a->family);
  U128 v = a->addr;
  int n = 0;
  for (int b = bits - 1; b >= 0 && ((v >> b) & 1); --b) ++n;
  U128 host = bits - n >= 128 ? ~U128{0} : (U128{1} << (bits - n)) - 1;  // a shift by 128 is undefined
  U128 rest = n == bits ? 0 : (v & host);
  return rest == 0 ? n : -1;
}

// One parsed line: the rule it builds and where it is.
class RuleReader {
 public:
  RuleReader(const std::vector<Token>& t, size_t i, SourceRule& r, int file, int line)
      : t_(t), i_(i), r_(r), file_(file), line_(line) {}

  // Returns false with *error for what is not a rule at all.
  bool Read(std::string* error);
  bool v6_hint = false, v4_hint = false;

 private:
  bool More() const { return i_ < t_.size(); }
  const std::string& Next() { return t_[i_++].text; }
  bool Value(std::string& v, const std::string& opt, std::string* error) {
    if (!More()) {
      *error = opt + " needs a value";
      return false;
    }
    v = Next();
    return true;
  }
  bool Addresses(const std::string& text, bool neg, std::optional<AddressMatch>& m, std::string* error);
  bool Range(const std::string& text, bool neg, std::optional<AddressMatch>& m, std::string* error);
  bool Ports(const std::string& text, bool neg, std::optional<PortMatch>& m, std::string* error);
  bool Icmp(const std::string& text, Family f, std::string* error);

  const std::vector<Token>& t_;
  size_t i_;
  SourceRule& r_;
  int file_, line_;
};

bool RuleReader::Addresses(const std::string& text, bool neg, std::optional<AddressMatch>& m,
                           std::string* error) {
  AddressMatch a;
  a.negated = neg;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    std::string addr = item;
    int prefix = -1;
    if (size_t slash = item.find('/'); slash != std::string::npos) {
      addr = item.substr(0, slash);
      std::string len = item.substr(slash + 1);
      if (auto n = Number(len, 128)) prefix = static_cast<int>(*n);
      else if ((prefix = MaskBits(len)) < 0) {
        *error = "'" + item + "': the mask is not a prefix length nor a contiguous netmask";
        return false;
      }
    }
    std::string err;
    auto p = ParseAddress(addr, &err);
    if (!p || p->prefix >= 0) {
      *error = "'" + item + "' is not an address" + (err.empty() ? "" : ": " + err);
      return false;
    }
    if (prefix > FamilyBits(p->family)) {
      *error = "'" + item + "': the prefix is longer than the address";
      return false;
    }
    (p->family == Family::kV6 ? v6_hint : v4_hint) = true;
    r_.family = p->family;
    int len = prefix < 0 ? FamilyBits(p->family) : prefix;
    Interval iv = PrefixInterval(p->family, p->addr, len);
    a.set.Add(iv.lo, iv.hi);
    a.text.push_back(FormatInterval(p->family, iv));
  }
  m = std::move(a);
  return true;
}

bool RuleReader::Range(const std::string& text, bool neg, std::optional<AddressMatch>& m, std::string* error) {
  size_t dash = text.find('-');
  std::string err;
  auto lo = dash == std::string::npos ? std::nullopt : ParseAddress(text.substr(0, dash), &err);
  auto hi = dash == std::string::npos ? std::nullopt : ParseAddress(text.substr(dash + 1), &err);
  if (!lo || !hi || lo->prefix >= 0 || hi->prefix >= 0 || lo->family != hi->family || lo->addr > hi->addr) {
    *error = "'" + text + "' is not an address range first-last";
    return false;
  }
  if (m) {
    *error = "a rule with both an address and an address range on one side";
    return false;
  }
  (lo->family == Family::kV6 ? v6_hint : v4_hint) = true;
  r_.family = lo->family;
  AddressMatch a;
  a.negated = neg;
  a.set.Add(lo->addr, hi->addr);
  a.text.push_back(FormatAddress(lo->family, lo->addr) + " - " + FormatAddress(lo->family, hi->addr));
  m = std::move(a);
  return true;
}

bool RuleReader::Ports(const std::string& text, bool neg, std::optional<PortMatch>& m, std::string* error) {
  PortMatch p;
  p.negated = neg;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    size_t colon = item.find(':');
    auto lo = Number(colon == std::string::npos ? item : item.substr(0, colon), 65535);
    auto hi = colon == std::string::npos ? lo : Number(item.substr(colon + 1), 65535);
    if (colon != std::string::npos && colon == 0) lo = 0;
    if (colon != std::string::npos && colon + 1 == item.size()) hi = 65535;
    if (!lo || !hi || *lo > *hi) {
      *error = "'" + item + "' is not a port or a port range (names are not read: iptables-save prints numbers)";
      return false;
    }
    p.ports.Add(*lo, *hi);
  }
  if (m) {
    *error = "two matches on the same ports";
    return false;
  }
  m = std::move(p);
  return true;
}

bool RuleReader::Icmp(const std::string& text, Family f, std::string* error) {
  std::string type = text, code;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    type = text.substr(0, slash);
    code = text.substr(slash + 1);
  }
  if (auto n = Number(type, 255)) r_.icmp_type = static_cast<int>(*n);
  else if (auto t = IcmpTypeByName(f, type)) r_.icmp_type = *t;
  else if (type == "any") r_.icmp_type = -1;
  else {
    // iptables names a few type/code pairs itself.
    struct Named {
      Family family;
      const char* name;
      int type, code;
    };
    static const Named kCodes[] = {
        {Family::kV4, "network-unreachable", 3, 0},   {Family::kV4, "host-unreachable", 3, 1},
        {Family::kV4, "protocol-unreachable", 3, 2},  {Family::kV4, "port-unreachable", 3, 3},
        {Family::kV4, "fragmentation-needed", 3, 4},  {Family::kV4, "ttl-zero-during-transit", 11, 0},
        {Family::kV4, "ping", 8, -1},                 {Family::kV4, "pong", 0, -1},
        {Family::kV6, "no-route", 1, 0},              {Family::kV6, "address-unreachable", 1, 3},
        {Family::kV6, "port-unreachable", 1, 4},      {Family::kV6, "ttl-zero-during-transit", 3, 0},
        // ip6tables' own names of the neighbour discovery messages.
        {Family::kV6, "router-solicitation", 133, -1},    {Family::kV6, "router-advertisement", 134, -1},
        {Family::kV6, "neighbour-solicitation", 135, -1}, {Family::kV6, "neighbor-solicitation", 135, -1},
        {Family::kV6, "neighbour-advertisement", 136, -1}, {Family::kV6, "neighbor-advertisement", 136, -1},
        {Family::kV6, "redirect", 137, -1}};
    bool found = false;
    for (const auto& k : kCodes)
      if (k.family == f && type == k.name) {
        r_.icmp_type = k.type;
        r_.icmp_code = k.code;
        found = true;
      }
    if (!found) {
      *error = "unknown ICMP type '" + type + "'";
      return false;
    }
  }
  if (!code.empty()) {
    auto c = Number(code, 255);
    if (!c) {
      *error = "'" + code + "' is not an ICMP code";
      return false;
    }
    r_.icmp_code = static_cast<int>(*c);
  }
  return true;
}

bool RuleReader::Read(std::string* error) {
  bool neg = false, hop_limit_255 = false;
  std::string module;
  while (More()) {
    std::string opt = Next();
    if (opt == "!") {
      neg = true;
      continue;
    }
    std::string v;
    auto take = [&]() { return Value(v, opt, error); };
    // "--sport ! 22", the old form, negates too.
    auto value_neg = [&]() {
      if (!take()) return false;
      if (v == "!") {
        neg = true;
        return take();
      }
      return true;
    };
    if (opt == "-s" || opt == "--source" || opt == "--src") {
      if (!value_neg() || !Addresses(v, neg, r_.src, error)) return false;
    } else if (opt == "-d" || opt == "--destination" || opt == "--dst") {
      if (!value_neg() || !Addresses(v, neg, r_.dst, error)) return false;
    } else if (opt == "-i" || opt == "--in-interface" || opt == "-o" || opt == "--out-interface") {
      if (!value_neg()) return false;
      auto& m = (opt == "-i" || opt == "--in-interface") ? r_.iif : r_.oif;
      m = InterfaceMatch{neg, v};
    } else if (opt == "-p" || opt == "--protocol") {
      if (!value_neg()) return false;
      std::string p = Lower(v);
      if (p == "all") r_.proto = -1;
      else if (p == "ipv6-icmp" || p == "icmpv6" || p == "icmp6") r_.proto = kProtoIcmpv6, v6_hint = true;
      else if (auto n = Number(p, 255)) r_.proto = static_cast<int>(*n);
      else if (auto k = ProtocolByName(p)) r_.proto = *k;
      else {
        *error = "unknown protocol '" + v + "'";
        return false;
      }
      if (r_.proto == kProtoIcmp) v4_hint = true;
      r_.proto_negated = neg;
    } else if (opt == "-m" || opt == "--match") {
      if (!take()) return false;
      module = v;
      static const char* kKnown[] = {"tcp", "udp", "icmp", "icmp6", "icmpv6", "multiport", "conntrack",
                                     "state", "comment", "limit", "iprange", "hl"};
      if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return v == k; }) ==
          std::end(kKnown))
        r_.unsupported.push_back("the match module '-m " + v + "'");
    } else if (opt == "--dport" || opt == "--destination-port" || opt == "--sport" || opt == "--source-port") {
      if (!value_neg()) return false;
      bool dst = opt == "--dport" || opt == "--destination-port";
      if (!Ports(v, neg, dst ? r_.dport : r_.sport, error)) return false;
    } else if (opt == "--dports" || opt == "--destination-ports" || opt == "--sports" || opt == "--source-ports") {
      if (!value_neg()) return false;
      bool dst = opt == "--dports" || opt == "--destination-ports";
      if (!Ports(v, neg, dst ? r_.dport : r_.sport, error)) return false;
    } else if (opt == "--icmp-type" || opt == "--icmpv6-type") {
      if (!value_neg()) return false;
      if (neg) r_.unsupported.push_back("a negated ICMP type");
      if (!Icmp(v, opt == "--icmp-type" ? Family::kV4 : Family::kV6, error)) return false;
      (opt == "--icmp-type" ? v4_hint : v6_hint) = true;
    } else if (opt == "--ctstate" || opt == "--state") {
      if (!value_neg()) return false;
      r_.states_negated = neg;
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        std::string s = Lower(v.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        start = comma == std::string::npos ? v.size() + 1 : comma + 1;
        if (s != "new" && s != "established" && s != "related" && s != "invalid" && s != "untracked") {
          r_.unsupported.push_back("the connection state '" + s + "'");
          continue;
        }
        r_.states.push_back(s);
      }
    } else if (opt == "--comment") {
      if (!take()) return false;
      r_.comment = v;
    } else if (opt == "--limit") {
      if (!take()) return false;
      size_t slash = v.find('/');
      std::string unit = slash == std::string::npos ? "sec" : v.substr(slash + 1);
      auto n = Number(v.substr(0, slash), 1000000);
      static const std::pair<const char*, const char*> kUnits[] = {
          {"s", "second"}, {"sec", "second"}, {"second", "second"}, {"m", "minute"}, {"min", "minute"},
          {"minute", "minute"}, {"h", "hour"}, {"hour", "hour"}, {"d", "day"}, {"day", "day"}};
      std::string word;
      for (const auto& [k, w] : kUnits)
        if (unit == k) word = w;
      if (!n || word.empty()) {
        *error = "'" + v + "' is not a rate N/unit";
        return false;
      }
      r_.limit = std::to_string(*n) + "/" + word;
    } else if (opt == "--limit-burst") {
      if (!take()) return false;
      if (v != "5") r_.unsupported.push_back("--limit-burst " + v + " (fwc's limit has the kernel's default burst)");
    } else if (opt == "--src-range" || opt == "--dst-range") {
      if (!value_neg() || !Range(v, neg, opt == "--src-range" ? r_.src : r_.dst, error)) return false;
    } else if (opt == "-j" || opt == "--jump" || opt == "-g" || opt == "--goto") {
      if (!take()) return false;
      using T = SourceRule::Target;
      static const std::pair<const char*, T> kTargets[] = {
          {"ACCEPT", T::kAccept}, {"DROP", T::kDrop},    {"REJECT", T::kReject},         {"RETURN", T::kReturn},
          {"LOG", T::kLog},       {"DNAT", T::kDnat},    {"SNAT", T::kSnat},             {"MASQUERADE", T::kMasquerade},
          {"REDIRECT", T::kRedirect}};
      r_.target = opt == "-g" || opt == "--goto" ? T::kGoto : T::kJump;
      r_.jump = v;
      for (const auto& [name, t] : kTargets)
        if (v == name && r_.target == T::kJump) r_.target = t, r_.jump.clear();
    } else if (opt == "--reject-with") {
      if (!take()) return false;
      static const char* kPlain[] = {"icmp-port-unreachable", "icmp6-port-unreachable", "port-unreach", "tcp-reset"};
      if (std::find(std::begin(kPlain), std::end(kPlain), v) == std::end(kPlain)) r_.reject_with = v;
    } else if ((opt == "--syn" && neg) || (opt == "--tcp-flags" && neg && More() && t_[i_].text == "SYN,RST,ACK")) {
      // The one flag test Firewall Builder writes ("drop TCP sessions
      // opened prior firewall restart"); any other stays unsupported.
      if (opt == "--tcp-flags") {
        if (!take() || !take()) return false;
        if (v != "SYN") r_.unsupported.push_back("the option '--tcp-flags SYN,RST,ACK " + v + "'");
      }
      r_.not_first_packet = true;
    } else if (opt == "--hl-eq" && !neg) {
      if (!take()) return false;
      hop_limit_255 = v == "255";
      if (!hop_limit_255) r_.unsupported.push_back("the hop limit test '--hl-eq " + v + "'");
    } else if (opt == "--log-prefix") {
      if (!take()) return false;
      r_.log_prefix = v;
    } else if (opt == "--log-level") {
      if (!take()) return false;  // the level only matters to syslog's filters
    } else if (opt == "--to-destination" || opt == "--to-source" || opt == "--to-ports" || opt == "--to") {
      if (!take()) return false;
      r_.to = v;
      if (v.find('[') != std::string::npos || std::count(v.begin(), v.end(), ':') > 1) v6_hint = true;
      else if (v.find('.') != std::string::npos) v4_hint = true;
    } else if (opt == "--random" || opt == "--persistent" || opt == "--fully-random") {
      // Port allocation hints: the translation is the same.
    } else {
      std::string what = "'" + opt + "'";
      if (!module.empty()) what += " (of -m " + module + ")";
      r_.unsupported.push_back("the option " + what);
      // Skip its values, up to the next option.
      while (More() && t_[i_].text.rfind("-", 0) != 0 && t_[i_].text != "!") ++i_;
    }
    neg = false;
  }
  if (r_.target == SourceRule::Target::kNone) r_.unsupported.push_back("a rule without a target (-j)");
  // "--hl-eq 255" on a neighbour discovery message passes every message the
  // kernel acts on (RFC 4861 has it discard the others): nothing to match.
  if (hop_limit_255 && !(r_.proto == kProtoIcmpv6 && r_.icmp_type >= 133 && r_.icmp_type <= 137))
    r_.unsupported.push_back("the hop limit test '--hl-eq 255' outside neighbour discovery");
  (void)file_;
  (void)line_;
  return true;
}

}  // namespace

bool ReadIptablesSave(const std::string& text, int file, Family fallback, SourceRuleset& out, ImportReporter& report) {
  // One part per "*table ... COMMIT"; the family of a part is settled at
  // its COMMIT, from the last header before it (iptables-save writes one
  // per file, before its first table) or else from its rules.
  Family header_family = fallback;
  bool has_header = false;
  SourceTable* table = nullptr;
  bool v4 = false, v6 = false;
  bool ok = true;
  size_t begin = 0;
  int line = 0;
  auto loc = [&](int col, int len) { return Loc{file, line, col, len}; };
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string l = text.substr(begin, end - begin);
    begin = end + 1;
    ++line;
    if (l.rfind("# Generated by ip6tables", 0) == 0) header_family = Family::kV6, has_header = true;
    else if (l.rfind("# Generated by iptables", 0) == 0) header_family = Family::kV4, has_header = true;
    size_t first = l.find_first_not_of(" \t\r");
    if (first == std::string::npos || l[first] == '#') continue;
    std::vector<Token> t;
    std::string error;
    if (!Tokenize(l, t, &error)) {
      report.Malformed(loc(1, static_cast<int>(l.size())), error);
      ok = false;
      continue;
    }
    size_t i = 0;
    // iptables-save -c puts the counters first.
    if (t[0].text.size() > 2 && t[0].text.front() == '[' && t[0].text.back() == ']') ++i;
    if (i >= t.size()) continue;
    const std::string& w = t[i].text;
    if (w[0] == '*') {
      if (table) {
        report.Malformed(loc(t[i].col, static_cast<int>(w.size())), "a table starts before the previous one's COMMIT",
                         "end each table with a COMMIT line");
        ok = false;
      }
      out.tables.push_back({});
      table = &out.tables.back();
      table->name = w.substr(1);
      table->loc = loc(t[i].col, static_cast<int>(w.size()));
      v4 = v6 = false;
      continue;
    }
    if (!table) {
      report.Malformed(loc(t[i].col, static_cast<int>(w.size())),
                       "'" + w + "' outside a table: iptables-save output starts each table with *filter, *nat ...");
      ok = false;
      break;
    }
    if (w == "COMMIT") {
      table->family = has_header ? header_family : v6 && !v4 ? Family::kV6 : v4 ? Family::kV4 : fallback;
      for (auto& c : table->chains)
        for (auto& r : c.rules) r.family = table->family;
      table = nullptr;
      continue;
    }
    if (w[0] == ':') {
      SourceChain c;
      c.name = w.substr(1);
      c.loc = loc(t[i].col + 1, static_cast<int>(c.name.size()));
      if (i + 1 < t.size() && t[i + 1].text != "-") c.policy = t[i + 1].text;
      if (table->Find(c.name)) {
        report.Malformed(c.loc, "chain '" + c.name + "' is declared twice");
        ok = false;
        continue;
      }
      table->chains.push_back(std::move(c));
      continue;
    }
    if (w == "-A" || w == "--append" || w == "-I" || w == "--insert") {
      if (i + 1 >= t.size()) {
        report.Malformed(loc(t[i].col, 2), w + " needs a chain");
        ok = false;
        continue;
      }
      SourceChain* c = table->Find(t[i + 1].text);
      if (!c && IsBuiltinChain(table->name, t[i + 1].text)) {
        // iptables-restore knows the built-in chains without a ':' line
        // (Firewall Builder's scripts leave it out for mangle).
        SourceChain b;
        b.name = t[i + 1].text;
        b.policy = "ACCEPT";
        b.loc = loc(t[i + 1].col, static_cast<int>(b.name.size()));
        table->chains.push_back(std::move(b));
        c = &table->chains.back();
      }
      if (!c) {
        report.Malformed(loc(t[i + 1].col, static_cast<int>(t[i + 1].text.size())),
                         "chain '" + t[i + 1].text + "' is not declared in table " + table->name,
                         "iptables-save declares every chain with a ':' line before its rules");
        ok = false;
        continue;
      }
      SourceRule r;
      r.loc = loc(t[i].col, static_cast<int>(l.size() - static_cast<size_t>(t[i].col - 1)));
      r.family = fallback;
      RuleReader reader(t, i + 2, r, file, line);
      if (!reader.Read(&error)) {
        report.Malformed(r.loc, error);
        ok = false;
        continue;
      }
      v4 |= reader.v4_hint;
      v6 |= reader.v6_hint;
      if (w == "-I" || w == "--insert") c->rules.insert(c->rules.begin(), std::move(r));
      else c->rules.push_back(std::move(r));
      continue;
    }
    report.Malformed(loc(t[i].col, static_cast<int>(w.size())),
                     "'" + w + "' is not a line of iptables-save output",
                     "expected *table, :CHAIN POLICY, -A CHAIN ..., COMMIT or a # comment");
    ok = false;
  }
  if (table) {
    report.Malformed(table->loc, "table " + table->name + " has no COMMIT", "end each table with a COMMIT line");
    ok = false;
  }
  return ok;
}

}  // namespace fwc::import
