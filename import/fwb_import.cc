#include "import/fwb_import.h"

#include <expat.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "compiler/base/address.h"
#include "compiler/base/protocols.h"

namespace fwc::import {

namespace {

// Address family masks: what a rule set, an object or a slot covers.
constexpr int kV4 = 1;
constexpr int kV6 = 2;
constexpr int kBoth = kV4 | kV6;

constexpr size_t kMaxDepth = 256;      // XML elements inside each other
constexpr int kMaxGroupDepth = 48;     // groups inside groups (fwc takes 64)
constexpr size_t kMaxText = 1 << 16;   // text kept of one element (options, custom services)
constexpr size_t kChunk = 1 << 20;     // bytes handed to expat at a time

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}
bool IsTrue(const std::string& s) {
  std::string v = Trim(s);
  return v == "True" || v == "true" || v == "TRUE" || v == "1";
}
bool IsFalse(const std::string& s) {
  std::string v = Trim(s);
  return v == "False" || v == "false" || v == "FALSE" || v == "0";
}

// ---------------------------------------------------------------------------
// The document: every element with its attributes, its location and, for
// the few elements whose text matters, its text.

struct Node {
  std::string tag;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::vector<Node*> kids;
  Node* parent = nullptr;
  std::string text;
  Loc loc;
  size_t index = 0;  // document order

  const std::string* Find(const char* name) const {
    for (const auto& [k, v] : attrs)
      if (k == name) return &v;
    return nullptr;
  }
  std::string Get(const char* name) const {
    const std::string* v = Find(name);
    return v ? *v : std::string();
  }
  bool Has(const char* name) const { return Find(name) != nullptr; }
  bool Bool(const char* name) const {
    const std::string* v = Find(name);
    return v && IsTrue(*v);
  }
  const Node* Child(const char* tag) const {
    for (const Node* k : kids)
      if (k->tag == tag) return k;
    return nullptr;
  }
  std::string Name() const { return Get("name"); }
};

struct Document {
  std::deque<Node> nodes;
  Node* root = nullptr;
};

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// Reads the XML with expat into a Document. Entity declarations are refused
// (Firewall Builder never writes one, and they are how an XML file expands
// into gigabytes); the DTD that files name is never loaded.
class XmlReader {
 public:
  XmlReader(int file, ImportReporter& report) : file_(file), report_(report) {}

  bool Read(const std::string& text, Document& doc) {
    doc_ = &doc;
    XML_Parser p = XML_ParserCreate(nullptr);
    if (!p) {
      report_.Malformed(Loc{file_, 1, 1, 1}, "cannot start the XML parser (out of memory)");
      return false;
    }
    p_ = p;
    XML_SetUserData(p, this);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetElementHandler(p, &XmlReader::Start, &XmlReader::End);
    XML_SetCharacterDataHandler(p, &XmlReader::Chars);
    XML_SetEntityDeclHandler(p, &XmlReader::EntityDecl);
    XML_SetSkippedEntityHandler(p, &XmlReader::Skipped);
    bool ok = true;
    size_t off = 0;
    do {
      size_t n = std::min(kChunk, text.size() - off);
      bool last = off + n == text.size();
      if (XML_Parse(p, text.data() + off, static_cast<int>(n), last ? 1 : 0) != XML_STATUS_OK) {
        ok = false;
        break;
      }
      off += n;
    } while (off < text.size());
    if (!ok) {
      if (aborted_) {
        report_.Malformed(where_, why_, help_);
      } else {
        XML_Error code = XML_GetErrorCode(p);
        Loc at{file_, Clamp(XML_GetErrorLineNumber(p)), Clamp(XML_GetErrorColumnNumber(p)) + 1, 1};
        std::string what = XML_ErrorString(code) ? XML_ErrorString(code) : "error";
        report_.Malformed(at, "not well-formed XML: " + what,
                          code == XML_ERROR_NO_ELEMENTS || code == XML_ERROR_UNCLOSED_TOKEN
                              ? "the file ends too early: it may have been cut short"
                              : "Firewall Builder writes well-formed XML; the file is damaged or not a .fwb file");
      }
    }
    XML_ParserFree(p);
    p_ = nullptr;
    return ok;
  }

 private:
  static int Clamp(XML_Size v) { return v > static_cast<XML_Size>(INT_MAX / 2) ? INT_MAX / 2 : static_cast<int>(v); }

  Loc Here(int len = 1) const {
    return Loc{file_, Clamp(XML_GetCurrentLineNumber(p_)), Clamp(XML_GetCurrentColumnNumber(p_)) + 1, len};
  }

  void Abort(std::string why, std::string help) {
    if (aborted_) return;
    aborted_ = true;
    where_ = Here();
    why_ = std::move(why);
    help_ = std::move(help);
    XML_StopParser(p_, XML_FALSE);
  }

  static void XMLCALL Start(void* ud, const XML_Char* name, const XML_Char** atts) {
    auto* r = static_cast<XmlReader*>(ud);
    if (r->aborted_) return;
    if (r->stack_.size() >= kMaxDepth) {
      r->Abort("elements are nested more than " + std::to_string(kMaxDepth) + " deep",
               "Firewall Builder files nest a few levels; this is not one");
      return;
    }
    Node& n = r->doc_->nodes.emplace_back();
    n.index = r->doc_->nodes.size() - 1;
    const char* local = std::strrchr(name, ':');  // no namespace processing: drop a prefix
    n.tag = local ? local + 1 : name;
    size_t len = std::strlen(name) + 1;
    n.loc = r->Here(static_cast<int>(std::min<size_t>(len, 64)));
    for (size_t i = 0; atts[i]; i += 2) n.attrs.emplace_back(atts[i], atts[i + 1]);
    if (!r->stack_.empty()) {
      n.parent = r->stack_.back();
      r->stack_.back()->kids.push_back(&n);
    } else {
      r->doc_->root = &n;
    }
    r->stack_.push_back(&n);
  }

  static void XMLCALL End(void* ud, const XML_Char*) {
    auto* r = static_cast<XmlReader*>(ud);
    if (r->aborted_ || r->stack_.empty()) return;
    r->stack_.pop_back();
  }

  static void XMLCALL Chars(void* ud, const XML_Char* s, int len) {
    auto* r = static_cast<XmlReader*>(ud);
    if (r->aborted_ || r->stack_.empty() || len <= 0) return;
    Node* n = r->stack_.back();
    if (n->tag != "Option" && n->tag != "CustomServiceCommand") return;
    size_t room = kMaxText > n->text.size() ? kMaxText - n->text.size() : 0;
    n->text.append(s, std::min(room, static_cast<size_t>(len)));
  }

  static void XMLCALL EntityDecl(void* ud, const XML_Char* name, int, const XML_Char*, int, const XML_Char*,
                                 const XML_Char*, const XML_Char*, const XML_Char*) {
    auto* r = static_cast<XmlReader*>(ud);
    r->Abort("the document declares the entity '" + std::string(name ? name : "") + "'; entity declarations are not read",
             "Firewall Builder never writes entity declarations: remove the document type's internal subset");
  }

  static void XMLCALL Skipped(void* ud, const XML_Char* name, int) {
    auto* r = static_cast<XmlReader*>(ud);
    r->Abort("reference to the undeclared entity '&" + std::string(name ? name : "") + ";'",
             "only the five predefined entities and character references (&#10;) can be used");
  }

  int file_;
  ImportReporter& report_;
  XML_Parser p_ = nullptr;
  Document* doc_ = nullptr;
  std::vector<Node*> stack_;
  bool aborted_ = false;
  Loc where_;
  std::string why_, help_;
};

// ---------------------------------------------------------------------------
// Small parsers for attribute values.

std::optional<long> Int(const std::string& text) {
  std::string s = Trim(text);
  long v = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e || b == e) return std::nullopt;
  return v;
}

int Popcount(U128 v) {
  return __builtin_popcountll(static_cast<unsigned long long>(v)) +
         __builtin_popcountll(static_cast<unsigned long long>(v >> 64));
}

// A netmask as a prefix length: "255.255.255.0", "24", "ffff:ffff::" or "64".
std::optional<int> MaskLength(const std::string& mask, Family f) {
  int bits = FamilyBits(f);
  if (auto n = Int(mask)) {
    if (*n < 0 || *n > bits) return std::nullopt;
    return static_cast<int>(*n);
  }
  std::string err;
  auto m = ParseAddress(mask, &err);
  if (!m || m->family != f || m->prefix >= 0) return std::nullopt;
  U128 inv = ~m->addr & FamilyMax(f);
  if ((inv & (inv + 1)) != 0) return std::nullopt;  // not contiguous
  return bits - Popcount(inv);
}

std::optional<ParsedAddress> Address(const std::string& text) {
  std::string err;
  auto a = ParseAddress(text, &err);
  if (!a || a->prefix >= 0) return std::nullopt;
  return a;
}

int FamilyBit(Family f) { return f == Family::kV4 ? kV4 : kV6; }
int MaskOf(const AddressSet& s) { return (s.v4.empty() ? 0 : kV4) | (s.v6.empty() ? 0 : kV6); }
const char* FamilyWord(int fam) { return fam == kV4 ? "IPv4" : fam == kV6 ? "IPv6" : "IPv4 and IPv6"; }
const char* FamilySuffix(int fam) { return fam == kV4 ? "v4" : "v6"; }

bool IsLoopback(Family f, U128 a) {
  return f == Family::kV4 ? (a >> 24) == 127 : a == 1;
}

// A name the policy language can take as a device: an identifier of at
// most 15 characters (the kernel's limit).
bool IsDeviceName(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(s[0])) return false;
  for (char c : s)
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '-') return false;
  return !IsReservedWord(s);
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// At most n bytes of s, not cutting a UTF-8 sequence.
std::string Truncate(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!cur.empty()) out.push_back(cur), cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// ---------------------------------------------------------------------------
// What an object of the file becomes.

struct AddrRes {
  enum class Kind { kAny, kName, kNone, kError };
  Kind kind = Kind::kError;
  std::string name;  // kName: the fwc name
  AddressSet set;    // kName: the addresses it stands for
  std::string why, help;
  bool reported = false;            // kError already reported (a dangling reference)
  bool self = false;                // the firewall being imported
  const Node* own_iface = nullptr;  // one of its interfaces
};

struct SvcRes {
  enum class Kind { kAny, kName, kState, kNone, kError };
  Kind kind = Kind::kError;
  std::string name;
  int fam = kBoth;               // the families its items exist in
  bool ports_only = true;        // every item is tcp or udp
  std::vector<std::string> states;  // kState
  std::string why, help;
  bool reported = false;
};

struct Problem {
  Loc loc;
  std::string why, help;
  bool reported = false;
};

// One interface of the firewall being imported.
struct Iface {
  const Node* node = nullptr;
  std::string device, logical;
  bool loopback = false;
  bool usable = true;  // in the firewall block
  bool dynamic = false;
  std::vector<ParsedAddress> addrs;  // with prefix lengths
  AddressSet set;                    // the addresses themselves
};

// An address slot of a rule (Src, Dst, OSrc, ...).
struct Slot {
  std::vector<std::string> names;
  bool any = true;
  bool neg = false;
  bool empty = false;  // every object in it fell away (nothing of the rule set's family)
  int fam = kBoth;
  AddressSet set;
  std::vector<AddrRes> items;  // the objects, for NAT targets
};

struct SvcSlot {
  std::vector<std::string> names;
  bool any = true;
  bool neg = false;
  bool empty = false;
  int fam = kBoth;
  bool ports_only = true;
  std::vector<std::string> states;
  std::vector<const Node*> nodes;  // the services, for NAT port translations
};

struct RuleSet {
  const Node* node = nullptr;
  std::string name;
  int fam = kV4;
};

class FirewallImporter {
 public:
  // (Locations come from the nodes, which name their file.)
  FirewallImporter(const std::unordered_map<std::string, const Node*>& ids, const Node* fw,
                   const ImportOptions& opts, ImportReporter& report, const std::string& fw_name)
      : ids_(ids), fw_(fw), opts_(opts), report_(report) {
    d_.firewall_name = fw_name;
    names_.Reserve(fw_name);
  }

  PolicyDraft Run();

 private:
  // ---- setup
  void ReadOptions();
  void ReadInterfaces(const Node* parent);
  void ApplyAddressOptions();
  // ---- objects
  const Node* Lookup(const Node* ref, const char* attr, Problem* problem);
  AddrRes ResolveAddr(const Node* o, int fam, int depth);
  AddrRes BuildAddr(const Node* o, int fam, int depth);
  AddrRes Leaf(const Node* o, int fam, DraftObject::Kind kind, const std::vector<std::pair<Family, std::string>>& items,
               const AddressSet& full, const std::string& wanted);
  AddrRes HostLike(const Node* o, int fam, const std::string& wanted, bool own_iface);
  AddrRes GroupAddr(const Node* o, int fam, int depth);
  SvcRes ResolveSvc(const Node* o, int depth);
  SvcRes BuildSvc(const Node* o, int depth);
  std::string Key(const Node* o) const { return o->Has("id") ? o->Get("id") : "#" + std::to_string(o->index); }
  std::string Take(const Node* o, int fam, const std::string& wanted) {
    std::string key = Key(o), want = wanted.empty() ? o->tag : wanted;
    if (fam != kBoth) key += std::string("/") + FamilySuffix(fam), want += std::string("-") + FamilySuffix(fam);
    return names_.Take(key, want);
  }
  void Pool(const Node* o, int fam, DraftObject obj, std::vector<std::string> deps) {
    if (pool_.count(obj.name)) return;
    std::string name = obj.name;
    pool_.emplace(name, Pooled{std::move(obj), o->index * 4 + static_cast<size_t>(fam), std::move(deps), false});
  }
  void Use(const std::string& name, int depth = 0);
  // ---- rules
  void AddrSlotOf(const Node* re, int fam, Slot& out, std::vector<Problem>& problems);
  void SvcSlotOf(const Node* re, SvcSlot& out, std::vector<Problem>& problems);
  std::vector<const Iface*> Interfaces(const Node* re, std::vector<Problem>& problems, bool* any);
  bool RestrictFamily(const Node* rule, int fam, Slot& src, Slot& dst, const SvcSlot& svc, std::vector<std::string>& from,
                      std::vector<std::string>& to, std::vector<Problem>& problems, std::string* nothing);
  void PolicyRule(const RuleSet& rs, const Node* rule);
  void NatRule(const RuleSet& rs, const Node* rule);
  void Refuse(const Node* rule, bool nat, const std::string& what, std::vector<Problem>& problems, bool disabled);
  std::string LogPrefix(const Node* rule, const std::string& action, const std::string& ruleset,
                        const std::string& iface, const Node* opts);
  void MgmtSshRule();
  std::string What(const RuleSet& rs, const Node* rule, bool nat) const {
    return std::string(nat ? "NAT" : "Policy") + " rule " + rule->Get("position") +
           (rs.name.empty() || rs.name == (nat ? "NAT" : "Policy") ? "" : " of rule set " + Quoted(rs.name));
  }

  struct Pooled {
    DraftObject obj;
    size_t order;
    std::vector<std::string> deps;
    bool used;
  };

  const std::unordered_map<std::string, const Node*>& ids_;
  const Node* fw_;
  const ImportOptions& opts_;
  ImportReporter& report_;
  PolicyDraft d_;
  NameTable names_, iface_names_;
  std::vector<Iface> ifaces_;
  std::map<const Node*, size_t> iface_by_node_;
  AddressSet fw_set_;
  bool fw_dynamic_ = false;  // an interface whose address is known only at run time
  std::string fw_incomplete_;  // an interface with addresses that is not imported
  std::map<std::pair<const Node*, int>, AddrRes> addr_memo_;
  std::map<const Node*, SvcRes> svc_memo_;
  std::set<const Node*> visiting_;
  std::map<std::string, Pooled> pool_;
  std::set<const Node*> dangling_reported_;
  // Options of the firewall.
  std::map<std::string, std::string> fwopt_;
  bool any_includes_fw_ = true;
  bool ignore_empty_groups_ = false;
  bool log_all_ = false;
  std::string loopback_ = "lo";
  bool has_dnat_ = false;
};

// ---------------------------------------------------------------------------
// Setup: options and interfaces.

void FirewallImporter::ReadOptions() {
  if (const Node* o = fw_->Child("FirewallOptions"))
    for (const Node* k : o->kids)
      if (k->tag == "Option") fwopt_[k->Get("name")] = k->text;
  auto opt = [&](const char* n) -> std::string {
    auto it = fwopt_.find(n);
    return it == fwopt_.end() ? "" : it->second;
  };
  if (IsFalse(opt("firewall_is_part_of_any_and_networks"))) any_includes_fw_ = false;
  ignore_empty_groups_ = IsTrue(opt("ignore_empty_groups"));
  log_all_ = IsTrue(opt("log_all"));
  if (!opt("loopback_interface").empty()) loopback_ = opt("loopback_interface");
}

void FirewallImporter::ReadInterfaces(const Node* parent) {
  for (const Node* k : parent->kids) {
    if (k->tag != "Interface") continue;
    Iface i;
    i.node = k;
    i.device = k->Name();
    i.dynamic = k->Bool("dyn");
    bool unnum = k->Bool("unnum");
    bool bad_address = false;
    if (!i.dynamic && !unnum) {
      for (const Node* a : k->kids) {
        if (a->tag != "IPv4" && a->tag != "IPv6") continue;
        auto p = Address(a->Get("address"));
        Family want = a->tag == "IPv4" ? Family::kV4 : Family::kV6;
        std::optional<int> len = p ? MaskLength(a->Get("netmask"), want) : std::nullopt;
        if (!p || p->family != want || !len) {
          report_.Unmapped(a->loc,
                           "address " + Quoted(a->Get("address")) + " netmask " + Quoted(a->Get("netmask")) +
                               " of interface " + Quoted(i.device) + " of firewall " + Quoted(fw_->Name()) +
                               " is not an " + (want == Family::kV4 ? "IPv4" : "IPv6") + " address and netmask",
                           "correct the address in Firewall Builder");
          bad_address = true;
          continue;
        }
        if (want == Family::kV4 && *len == 0) *len = 32;
        p->prefix = *len;
        i.addrs.push_back(*p);
        i.set.of(p->family).Add(p->addr, p->addr);
      }
    }
    bool all_loop = !i.addrs.empty();
    for (const auto& a : i.addrs) all_loop &= IsLoopback(a.family, a.addr);
    i.loopback = i.device == loopback_ || i.device == "lo" || all_loop;
    if (!i.loopback) {
      bool dup = false;
      for (const auto& o : ifaces_) dup |= o.usable && !o.loopback && o.device == i.device;
      if (!IsDeviceName(i.device) || dup) {
        i.usable = false;
        std::string why = "interface " + Quoted(i.device) + " of firewall " + Quoted(fw_->Name()) + " is not imported: ";
        why += dup ? "another interface has the same name"
                   : "fwc device names are letters, digits, '_' and '-', at most 15, starting with a letter";
        report_.Unmapped(k->loc, why,
                         "rename the interface in Firewall Builder (VLAN and alias interfaces such as eth0.100 or "
                         "eth0:1 cannot be named in fwc)");
        d_.gaps.push_back({false, 0, "line " + std::to_string(k->loc.line) + ": " + why});
        if (!i.addrs.empty() && fw_incomplete_.empty()) fw_incomplete_ = i.device;
      } else if (!bad_address) {
        DraftInterface di;
        std::string label = k->Get("label");
        i.logical = iface_names_.Take(Key(k), label.empty() ? i.device : label);
        di.logical = i.logical;
        di.device = i.device;
        for (const auto& a : i.addrs) di.addresses.push_back(FormatAddress(a.family, a.addr) + "/" + std::to_string(a.prefix));
        di.comment = k->Get("comment");
        d_.interfaces.push_back(std::move(di));
        fw_set_.AddAll(i.set);
        fw_dynamic_ |= i.dynamic;
      } else {
        i.usable = false;
        if (fw_incomplete_.empty()) fw_incomplete_ = i.device;
      }
    }
    iface_by_node_[k] = ifaces_.size();
    ifaces_.push_back(std::move(i));
    ReadInterfaces(k);  // VLANs, bridge ports, bonding slaves
  }
}

// --address DEV=ADDR/LEN gives an interface whose address Firewall Builder
// takes at run time (dyn="True") the address fwc needs for it.
void FirewallImporter::ApplyAddressOptions() {
  for (const std::string& spec : opts_.addresses) {
    size_t eq = spec.find('=');
    std::string dev = eq == std::string::npos ? "" : spec.substr(0, eq);
    std::string err;
    auto a = eq == std::string::npos ? std::nullopt : ParseAddress(spec.substr(eq + 1), &err);
    if (!a || a->prefix < 0) {
      report_.Malformed(Loc{}, "--address " + Quoted(spec) + " is not DEVICE=ADDRESS/LENGTH");
      continue;
    }
    Iface* hit = nullptr;
    for (auto& i : ifaces_)
      if (i.device == dev && i.usable && !i.loopback) hit = &i;
    if (!hit) continue;  // another firewall's device, perhaps
    if (!hit->dynamic) {
      report_.Note(hit->node->loc, "--address " + Quoted(spec) + " ignored: interface " + Quoted(dev) +
                                       " of firewall " + Quoted(fw_->Name()) + " has its addresses in the file");
      continue;
    }
    hit->addrs.push_back(*a);
    hit->set.of(a->family).Add(a->addr, a->addr);
    fw_set_.of(a->family).Add(a->addr, a->addr);
    for (auto& di : d_.interfaces)
      if (di.device == dev) di.addresses.push_back(FormatAddress(a->family, a->addr) + "/" + std::to_string(a->prefix));
  }
  fw_dynamic_ = false;
  for (auto& i : ifaces_) {
    if (i.dynamic && !i.addrs.empty()) i.dynamic = false;
    fw_dynamic_ |= i.dynamic && i.usable && !i.loopback;
  }
}

// ---------------------------------------------------------------------------
// Objects.

const Node* FirewallImporter::Lookup(const Node* ref, const char* attr, Problem* problem) {
  std::string id = ref->Get(attr);
  auto it = ids_.find(id);
  if (it != ids_.end()) return it->second;
  if (!dangling_reported_.count(ref)) {
    dangling_reported_.insert(ref);
    report_.Malformed(ref->loc, "reference to the object id " + Quoted(id) + ", which the file does not have",
                      "the file is damaged: Firewall Builder refuses to open it too");
  }
  problem->loc = ref->loc;
  problem->why = "it refers to a missing object";
  problem->reported = true;
  return nullptr;
}

void FirewallImporter::Use(const std::string& name, int depth) {
  auto it = pool_.find(name);
  if (it == pool_.end() || it->second.used || depth > kMaxGroupDepth + 2) return;
  it->second.used = true;
  for (const auto& dep : it->second.deps) Use(dep, depth + 1);
}

AddrRes FirewallImporter::ResolveAddr(const Node* o, int fam, int depth) {
  if (fam != kBoth) {
    // The object as a whole first: when it has nothing of the other
    // family it is used as it is, under its own name.
    AddrRes full = ResolveAddr(o, kBoth, depth);
    if (full.kind != AddrRes::Kind::kName) return full;
    int m = MaskOf(full.set);
    if ((m & ~fam) == 0) return full;
    if ((m & fam) == 0) {
      AddrRes none;
      none.kind = AddrRes::Kind::kNone;
      return none;
    }
  }
  auto key = std::make_pair(o, fam);
  auto it = addr_memo_.find(key);
  if (it != addr_memo_.end()) return it->second;
  AddrRes r;
  if (visiting_.count(o)) {
    r.why = "group " + Quoted(o->Name()) + " (line " + std::to_string(o->loc.line) + ") contains itself";
    r.help = "remove the reference that closes the cycle";
    return r;
  }
  if (depth > kMaxGroupDepth) {
    r.why = "groups are nested more than " + std::to_string(kMaxGroupDepth) + " deep";
    r.help = "flatten the groups";
    return r;
  }
  visiting_.insert(o);
  r = BuildAddr(o, fam, depth);
  visiting_.erase(o);
  addr_memo_[key] = r;
  return r;
}

AddrRes FirewallImporter::Leaf(const Node* o, int fam, DraftObject::Kind kind,
                               const std::vector<std::pair<Family, std::string>>& items, const AddressSet& full,
                               const std::string& wanted) {
  AddrRes r;
  r.kind = AddrRes::Kind::kName;
  DraftObject obj;
  obj.kind = kind;
  std::set<std::string> seen;
  for (const auto& [f, text] : items)
    if ((FamilyBit(f) & fam) && seen.insert(text).second) obj.items.push_back(text);
  r.set.v4 = (fam & kV4) ? full.v4 : IntervalSet();
  r.set.v6 = (fam & kV6) ? full.v6 : IntervalSet();
  if (obj.items.empty()) {
    r.kind = AddrRes::Kind::kNone;
    return r;
  }
  obj.name = r.name = Take(o, fam, wanted);
  obj.comment = o->Get("comment");
  Pool(o, fam, std::move(obj), {});
  return r;
}

// The addresses of a host, of another firewall or of one interface.
AddrRes FirewallImporter::HostLike(const Node* o, int fam, const std::string& wanted, bool own) {
  AddrRes r;
  std::vector<std::pair<Family, std::string>> items;
  AddressSet set;
  bool dynamic = false, any_iface = false;
  std::vector<const Node*> todo;
  if (o->tag == "Interface") todo.push_back(o);
  else
    for (const Node* k : o->kids)
      if (k->tag == "Interface") todo.push_back(k);
  for (size_t n = 0; n < todo.size() && n < 100000; ++n) {
    const Node* i = todo[n];
    any_iface = true;
    auto own_it = own ? iface_by_node_.find(i) : iface_by_node_.end();
    if (own_it != iface_by_node_.end()) {
      const Iface& fi = ifaces_[own_it->second];
      if (fi.dynamic) dynamic = true;
      for (const auto& a : fi.addrs) {
        items.push_back({a.family, FormatAddress(a.family, a.addr)});
        set.of(a.family).Add(a.addr, a.addr);
      }
    } else {
      if (i->Bool("dyn")) dynamic = true;
      bool loop_iface = i->Name() == "lo";
      for (const Node* a : i->kids) {
        if (a->tag != "IPv4" && a->tag != "IPv6") continue;
        auto p = Address(a->Get("address"));
        if (!p || p->family != (a->tag == "IPv4" ? Family::kV4 : Family::kV6)) {
          r.why = Quoted(o->Name()) + " has the address " + Quoted(a->Get("address")) + " (line " +
                  std::to_string(a->loc.line) + "), which is not an address";
          r.help = "correct it in Firewall Builder";
          return r;
        }
        if (loop_iface || IsLoopback(p->family, p->addr)) continue;
        items.push_back({p->family, FormatAddress(p->family, p->addr)});
        set.of(p->family).Add(p->addr, p->addr);
      }
    }
    if (o->tag != "Interface")  // a host's VLANs and the like
      for (const Node* k : i->kids)
        if (k->tag == "Interface") todo.push_back(k);
  }
  if (const Node* ho = o->Child("HostOptions"))
    for (const Node* k : ho->kids)
      if (k->tag == "Option" && k->Get("name") == "use_mac_addr_filter" && IsTrue(k->text)) {
        r.why = "host " + Quoted(o->Name()) + " is matched by its MAC address too (use_mac_addr_filter)";
        r.help = "fwc matches IP addresses only: clear the option in Firewall Builder";
        return r;
      }
  std::string what = o->tag == "Interface" ? "interface " + Quoted(o->Name()) : Quoted(o->Name());
  if (dynamic) {
    r.why = what + " has an address that is known only at run time (a dynamic interface)";
    r.help = own ? "give the interface's address with --address DEVICE=ADDRESS/LENGTH"
                 : "give the host a fixed address in Firewall Builder";
    return r;
  }
  if (items.empty()) {
    r.why = what + " has no IP address" + (any_iface ? "" : " (no interfaces)");
    r.help = "give it an address in Firewall Builder";
    return r;
  }
  return Leaf(o, fam, DraftObject::Kind::kHost, items, set, wanted);
}

AddrRes FirewallImporter::GroupAddr(const Node* o, int fam, int depth) {
  AddrRes r;
  std::vector<std::string> members;
  std::set<std::string> seen;
  bool had = false, any = false;
  for (const Node* k : o->kids) {
    const Node* target = k;
    if (k->tag == "ObjectRef") {
      Problem p;
      target = Lookup(k, "ref", &p);
      if (!target) {
        r.why = p.why;
        r.reported = true;
        return r;
      }
    } else if (k->tag == "ServiceRef" || k->tag == "IntervalRef" || k->tag == "SelectionCriteria") {
      continue;
    }
    had = true;
    AddrRes m = ResolveAddr(target, fam, depth + 1);
    switch (m.kind) {
      case AddrRes::Kind::kError:
        r.why = "group " + Quoted(o->Name()) + ": " + m.why;
        r.help = m.help;
        r.reported = m.reported;
        return r;
      case AddrRes::Kind::kAny: any = true; break;
      case AddrRes::Kind::kNone: break;
      case AddrRes::Kind::kName:
        if (seen.insert(m.name).second) members.push_back(m.name);
        r.set.AddAll(m.set);
        break;
    }
  }
  if (any) {
    r.kind = AddrRes::Kind::kAny;
    return r;
  }
  if (!had) {
    if (ignore_empty_groups_) {
      r.kind = AddrRes::Kind::kNone;
      return r;
    }
    r.why = "group " + Quoted(o->Name()) + " (line " + std::to_string(o->loc.line) + ") is empty";
    r.help = "give it members, or remove it from the rule (Firewall Builder refuses it too unless its option "
             "'ignore empty groups' is set)";
    return r;
  }
  if (members.empty()) {
    r.kind = AddrRes::Kind::kNone;
    return r;
  }
  r.kind = AddrRes::Kind::kName;
  DraftObject obj;
  obj.kind = DraftObject::Kind::kGroup;
  obj.name = r.name = Take(o, fam, o->Name());
  obj.items = members;
  obj.comment = o->Get("comment");
  Pool(o, fam, std::move(obj), members);
  return r;
}

AddrRes FirewallImporter::BuildAddr(const Node* o, int fam, int depth) {
  AddrRes r;
  const std::string& t = o->tag;
  std::string name = o->Name();
  if (t == "AnyNetwork") {
    r.kind = AddrRes::Kind::kAny;
    return r;
  }
  if (t == "Firewall" && o == fw_) {
    if (fw_dynamic_) {
      for (const auto& i : ifaces_)
        if (i.dynamic && i.usable && !i.loopback) {
          r.why = "the firewall's address on " + Quoted(i.device) + " is known only at run time (a dynamic interface)";
          r.help = "give that address with --address " + i.device + "=ADDRESS/LENGTH";
          return r;
        }
    }
    if (!fw_incomplete_.empty()) {
      r.why = "the firewall's addresses on interface " + Quoted(fw_incomplete_) + " are not imported";
      r.help = "see the error about the interface";
      return r;
    }
    if (fw_set_.empty()) {
      r.why = "firewall " + Quoted(o->Name()) + " has no IP address";
      r.help = "give its interfaces their addresses in Firewall Builder";
      return r;
    }
    if (fam == kBoth) {
      r.kind = AddrRes::Kind::kName;
      r.name = d_.firewall_name;
      r.self = true;
      r.set = fw_set_;
      return r;
    }
    std::vector<std::pair<Family, std::string>> items;
    for (const auto& i : ifaces_)
      if (i.usable && !i.loopback)
        for (const auto& a : i.addrs) items.push_back({a.family, FormatAddress(a.family, a.addr)});
    r = Leaf(o, fam, DraftObject::Kind::kHost, items, fw_set_, d_.firewall_name);
    r.self = true;
    return r;
  }
  if (t == "Host" || t == "Firewall") return HostLike(o, fam, name, false);
  if (t == "Interface") {
    auto it = iface_by_node_.find(o);
    if (it != iface_by_node_.end()) {
      const Iface& i = ifaces_[it->second];
      if (i.loopback) {
        r.why = "the loopback interface " + Quoted(i.device) + " is not imported (fwc always lets loopback traffic pass)";
        r.help = "remove it from the rule";
        return r;
      }
      if (!i.usable) {
        r.why = "interface " + Quoted(i.device) + " is not imported";
        r.help = "see the error about the interface";
        return r;
      }
      r = HostLike(o, fam, d_.firewall_name + ":" + (i.logical.empty() ? i.device : i.logical), true);
      if (r.kind == AddrRes::Kind::kName) r.own_iface = o;
      return r;
    }
    std::string owner = o->parent ? o->parent->Name() : "";
    if (o->parent && o->parent->tag == "Cluster") {
      r.why = "interface " + Quoted(name) + " belongs to the cluster " + Quoted(owner) + "; clusters are not imported";
      r.help = "import the member firewalls and name their interfaces";
      return r;
    }
    return HostLike(o, fam, owner + ":" + name, false);
  }
  if (t == "IPv4" || t == "IPv6") {
    auto p = Address(o->Get("address"));
    if (!p || p->family != (t == "IPv4" ? Family::kV4 : Family::kV6)) {
      r.why = "address object " + Quoted(name) + " holds " + Quoted(o->Get("address")) + ", which is not an address";
      r.help = "correct it in Firewall Builder";
      return r;
    }
    AddressSet s;
    s.of(p->family).Add(p->addr, p->addr);
    return Leaf(o, fam, DraftObject::Kind::kHost, {{p->family, FormatAddress(p->family, p->addr)}}, s, name);
  }
  if (t == "Network" || t == "NetworkIPv6") {
    auto p = Address(o->Get("address"));
    Family want = t == "Network" ? Family::kV4 : Family::kV6;
    std::optional<int> len = p && p->family == want ? MaskLength(o->Get("netmask"), want) : std::nullopt;
    if (!len) {
      r.why = "network " + Quoted(name) + " is " + Quoted(o->Get("address")) + " netmask " + Quoted(o->Get("netmask")) +
              ", which is not a network";
      r.help = "correct it in Firewall Builder (netmasks must be contiguous)";
      return r;
    }
    Interval iv = PrefixInterval(want, p->addr, *len);
    if (iv.lo != p->addr)
      report_.Note(o->loc, "network " + Quoted(name) + " has host bits set: imported as " +
                               FormatAddress(want, iv.lo) + "/" + std::to_string(*len) + ", as iptables reads it");
    AddressSet s;
    s.of(want).Add(iv.lo, iv.hi);
    return Leaf(o, fam, DraftObject::Kind::kNetwork,
                {{want, FormatAddress(want, iv.lo) + "/" + std::to_string(*len)}}, s, name);
  }
  if (t == "AddressRange") {
    auto a = Address(o->Get("start_address"));
    auto b = Address(o->Get("end_address"));
    if (!a || !b || a->family != b->family || a->addr > b->addr) {
      r.why = "address range " + Quoted(name) + " (" + o->Get("start_address") + " - " + o->Get("end_address") +
              ") is not a range of addresses of one family, first to last";
      r.help = "correct it in Firewall Builder";
      return r;
    }
    AddressSet s;
    s.of(a->family).Add(a->addr, b->addr);
    return Leaf(o, fam, DraftObject::Kind::kRange,
                {{a->family, FormatAddress(a->family, a->addr) + " - " + FormatAddress(b->family, b->addr)}}, s, name);
  }
  if (t == "AttachedNetworks") {
    const Node* i = o->parent;
    auto it = i ? iface_by_node_.find(i) : iface_by_node_.end();
    std::vector<std::pair<Family, std::string>> items;
    AddressSet s;
    bool dynamic = i && i->Bool("dyn");
    if (it != iface_by_node_.end()) {
      dynamic = ifaces_[it->second].dynamic;
      for (const auto& a : ifaces_[it->second].addrs) {
        Interval iv = PrefixInterval(a.family, a.addr, a.prefix);
        items.push_back({a.family, FormatAddress(a.family, iv.lo) + "/" + std::to_string(a.prefix)});
        s.of(a.family).Add(iv.lo, iv.hi);
      }
    } else if (i) {
      for (const Node* a : i->kids) {
        if (a->tag != "IPv4" && a->tag != "IPv6") continue;
        auto p = Address(a->Get("address"));
        auto len = p ? MaskLength(a->Get("netmask"), p->family) : std::nullopt;
        if (!len) continue;
        Interval iv = PrefixInterval(p->family, p->addr, *len);
        items.push_back({p->family, FormatAddress(p->family, iv.lo) + "/" + std::to_string(*len)});
        s.of(p->family).Add(iv.lo, iv.hi);
      }
    }
    if (dynamic || items.empty()) {
      r.why = "the networks attached to interface " + Quoted(i ? i->Name() : "") +
              (dynamic ? " are known only at run time (a dynamic interface)" : " are unknown: it has no address");
      r.help = "use a network object instead";
      return r;
    }
    return Leaf(o, fam, DraftObject::Kind::kNetwork, items, s, name.empty() ? (i ? i->Name() : "") + "-nets" : name);
  }
  if (t == "ObjectGroup") return GroupAddr(o, fam, depth);
  if (t == "DNSName") {
    r.why = "DNS name object " + Quoted(name) + " (" + o->Get("dnsrec") + ") is resolved by Firewall Builder " +
            (o->Bool("run_time") ? "when the script runs" : "when it compiles") + "; fwc has no DNS objects";
    r.help = "replace it with a host that lists the addresses";
    return r;
  }
  if (t == "AddressTable") {
    r.why = "address table " + Quoted(name) + " reads its addresses from " + Quoted(o->Get("filename")) +
            (o->Bool("run_time") ? " when the script runs" : " when Firewall Builder compiles");
    r.help = o->Bool("run_time") ? "declare a runtime set ('set NAME runtime;') and fill it from that file"
                                 : "replace it with a group of the file's addresses";
    return r;
  }
  if (t == "DynamicGroup") {
    r.why = "dynamic group " + Quoted(name) + " selects its members by keyword";
    r.help = "replace it with a group of its members";
    return r;
  }
  if (t == "Cluster") {
    r.why = "cluster " + Quoted(name) + " is not imported";
    r.help = "name the member firewalls' addresses instead";
    return r;
  }
  if (t == "physAddress") {
    r.why = "MAC address object " + Quoted(name) + " cannot be matched by fwc";
    r.help = "remove it from the rule";
    return r;
  }
  r.why = Quoted(name) + " is a " + t + " object, not an address object fwc can use";
  r.help = "replace it in Firewall Builder";
  return r;
}

std::string PortItem(const std::string& proto, long dlo, long dhi, long slo, long shi) {
  auto ports = [](long lo, long hi) { return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi); };
  std::string out = proto;
  if (!(dlo == 0 && dhi == 65535)) out += " " + ports(dlo, dhi);
  if (!(slo == 0 && shi == 65535)) out += " sport " + ports(slo, shi);
  return out;
}

// A port range of a TCP or UDP service: 0-0 is any port, an end of 0 is
// the start alone.
bool PortRange(const Node* o, const char* start, const char* end, long* lo, long* hi) {
  auto a = Int(o->Get(start)), b = Int(o->Get(end));
  if (!a) a = 0;
  if (!b) b = 0;
  if (*a == 0 && *b == 0) {
    *lo = 0, *hi = 65535;
    return true;
  }
  if (*b == 0) b = a;
  if (*a < 0 || *b > 65535 || *a > *b) return false;
  *lo = *a, *hi = *b;
  return true;
}

SvcRes FirewallImporter::ResolveSvc(const Node* o, int depth) {
  auto it = svc_memo_.find(o);
  if (it != svc_memo_.end()) return it->second;
  SvcRes r;
  if (visiting_.count(o)) {
    r.why = "service group " + Quoted(o->Name()) + " (line " + std::to_string(o->loc.line) + ") contains itself";
    r.help = "remove the reference that closes the cycle";
    return r;
  }
  if (depth > kMaxGroupDepth) {
    r.why = "service groups are nested more than " + std::to_string(kMaxGroupDepth) + " deep";
    r.help = "flatten the groups";
    return r;
  }
  visiting_.insert(o);
  r = BuildSvc(o, depth);
  visiting_.erase(o);
  svc_memo_[o] = r;
  return r;
}

SvcRes FirewallImporter::BuildSvc(const Node* o, int depth) {
  SvcRes r;
  const std::string& t = o->tag;
  std::string name = o->Name();
  std::vector<std::string> items;
  auto named = [&](int fam, bool ports_only) {
    r.kind = SvcRes::Kind::kName;
    r.fam = fam;
    r.ports_only = ports_only;
    DraftObject obj;
    obj.kind = DraftObject::Kind::kService;
    obj.name = r.name = Take(o, kBoth, name);
    obj.items = items;
    obj.comment = o->Get("comment");
    Pool(o, kBoth, std::move(obj), {});
    return r;
  };
  if (t == "AnyIPService") {
    r.kind = SvcRes::Kind::kAny;
    return r;
  }
  if (t == "TCPService" || t == "UDPService") {
    bool tcp = t == "TCPService";
    long dlo, dhi, slo, shi;
    if (!PortRange(o, "dst_range_start", "dst_range_end", &dlo, &dhi) ||
        !PortRange(o, "src_range_start", "src_range_end", &slo, &shi)) {
      r.why = "service " + Quoted(name) + " has a port range that is not one (" + o->Get("src_range_start") + "-" +
              o->Get("src_range_end") + " to " + o->Get("dst_range_start") + "-" + o->Get("dst_range_end") + ")";
      r.help = "correct it in Firewall Builder";
      return r;
    }
    if (tcp) {
      for (const char* f : {"urg_flag_mask", "ack_flag_mask", "psh_flag_mask", "rst_flag_mask", "syn_flag_mask",
                            "fin_flag_mask"})
        if (o->Bool(f)) {
          r.why = "TCP service " + Quoted(name) + " matches TCP flags, which fwc cannot match";
          r.help = "use a service without flags; with fwc's stateful filtering, rules see only new connections";
          return r;
        }
      if (o->Bool("established")) {
        r.why = "TCP service " + Quoted(name) + " matches only established connections ('established' flag)";
        r.help = "remove it: with fwc's stateful filtering, replies to allowed connections pass anyway";
        return r;
      }
    }
    items.push_back(PortItem(tcp ? "tcp" : "udp", dlo, dhi, slo, shi));
    return named(kBoth, true);
  }
  if (t == "ICMPService" || t == "ICMP6Service") {
    bool v6 = t == "ICMP6Service";
    auto type = Int(o->Get("type")), code = Int(o->Get("code"));
    if (!type || !code || *type < -1 || *type > 255 || *code < -1 || *code > 255) {
      r.why = "ICMP service " + Quoted(name) + " has type " + Quoted(o->Get("type")) + " code " +
              Quoted(o->Get("code")) + ", which are not ICMP types and codes";
      r.help = "correct it in Firewall Builder";
      return r;
    }
    std::string item = v6 ? "icmpv6" : "icmp";
    if (*type >= 0) {
      std::string tn = IcmpTypeName(v6 ? Family::kV6 : Family::kV4, static_cast<int>(*type));
      item += " " + (tn.empty() ? std::to_string(*type) : tn);
      if (*code >= 0) item += " code " + std::to_string(*code);
    }
    items.push_back(item);
    return named(v6 ? kV6 : kV4, false);
  }
  if (t == "IPService") {
    for (const char* f : {"fragm", "short_fragm", "any_opt", "lsrr", "rr", "ssrr", "ts", "rtralt"})
      if (o->Bool(f)) {
        r.why = "IP service " + Quoted(name) + " matches IP options or fragments (" + f + "), which fwc cannot match";
        r.help = "remove it from the rule";
        return r;
      }
    for (const char* f : {"tos", "dscp"})
      if (!o->Get(f).empty()) {
        r.why = "IP service " + Quoted(name) + " matches the " + Upper(f) + " field, which fwc cannot match";
        r.help = "remove it from the rule";
        return r;
      }
    auto p = Int(o->Get("protocol_num"));
    if (!p || *p < 0 || *p > 255) {
      r.why = "IP service " + Quoted(name) + " has the protocol number " + Quoted(o->Get("protocol_num"));
      r.help = "correct it in Firewall Builder";
      return r;
    }
    if (*p == 0) {
      r.kind = SvcRes::Kind::kAny;
      return r;
    }
    int fam = kBoth;
    if (*p == kProtoTcp) items.push_back("tcp");
    else if (*p == kProtoUdp) items.push_back("udp");
    else if (*p == kProtoIcmp) items.push_back("icmp"), fam = kV4;
    else if (*p == kProtoIcmpv6) items.push_back("icmpv6"), fam = kV6;
    else {
      std::string pn = ProtocolName(static_cast<int>(*p));
      items.push_back("proto " + (pn.empty() || IsReservedWord(pn) ? std::to_string(*p) : pn));
    }
    return named(fam, *p == kProtoTcp || *p == kProtoUdp);
  }
  if (t == "CustomService") {
    // The one custom service with an fwc meaning: Firewall Builder's own
    // "ESTABLISHED" (-m state --state ESTABLISHED,RELATED), a state match.
    std::string code;
    bool have = false;
    for (const Node* k : o->kids)
      if (k->tag == "CustomServiceCommand" && k->Get("platform") == "iptables") code = k->text, have = true;
    auto w = Words(code);
    if (have && w.size() == 4 && w[0] == "-m" &&
        ((w[1] == "state" && w[2] == "--state") || (w[1] == "conntrack" && w[2] == "--ctstate"))) {
      std::vector<std::string> states;
      std::string s = w[3] + ",";
      bool ok = true;
      for (size_t at = 0, comma; (comma = s.find(',', at)) != std::string::npos; at = comma + 1) {
        std::string st = s.substr(at, comma - at);
        for (char& c : st) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        ok &= st == "new" || st == "established" || st == "related" || st == "invalid" || st == "untracked";
        states.push_back(st);
      }
      if (ok && !states.empty()) {
        r.kind = SvcRes::Kind::kState;
        r.states = states;
        return r;
      }
    }
    r.why = "custom service " + Quoted(name) + (have ? " is the iptables code '" + Truncate(code, 80) + "'"
                                                     : " has no iptables code");
    r.help = "replace it with TCP, UDP, ICMP or IP services";
    return r;
  }
  if (t == "ServiceGroup") {
    std::vector<std::string> members;
    std::set<std::string> seen;
    bool had = false;
    int fam = 0;
    bool ports_only = true;
    for (const Node* k : o->kids) {
      const Node* target = k;
      if (k->tag == "ServiceRef") {
        Problem p;
        target = Lookup(k, "ref", &p);
        if (!target) {
          r.why = p.why;
          r.reported = true;
          return r;
        }
      } else if (k->tag == "ObjectRef" || k->tag == "IntervalRef") {
        continue;
      }
      had = true;
      SvcRes m = ResolveSvc(target, depth + 1);
      switch (m.kind) {
        case SvcRes::Kind::kError:
          r.why = "service group " + Quoted(name) + ": " + m.why;
          r.help = m.help;
          r.reported = m.reported;
          return r;
        case SvcRes::Kind::kAny: r.kind = SvcRes::Kind::kAny; return r;
        case SvcRes::Kind::kState:
          r.why = "service group " + Quoted(name) + " holds a connection state match";
          r.help = "put the state service in the rule by itself";
          return r;
        case SvcRes::Kind::kNone: break;
        case SvcRes::Kind::kName:
          if (seen.insert(m.name).second) members.push_back(m.name);
          fam |= m.fam;
          ports_only &= m.ports_only;
          break;
      }
    }
    if (!had && !ignore_empty_groups_) {
      r.why = "service group " + Quoted(name) + " (line " + std::to_string(o->loc.line) + ") is empty";
      r.help = "give it members, or remove it from the rule";
      return r;
    }
    if (members.empty()) {
      r.kind = SvcRes::Kind::kNone;
      return r;
    }
    r.kind = SvcRes::Kind::kName;
    r.fam = fam;
    r.ports_only = ports_only;
    DraftObject obj;
    obj.kind = DraftObject::Kind::kGroup;
    obj.name = r.name = Take(o, kBoth, name);
    obj.items = members;
    obj.comment = o->Get("comment");
    Pool(o, kBoth, std::move(obj), members);
    return r;
  }
  if (t == "TagService") {
    r.why = "tag service " + Quoted(name) + " matches a packet mark set by a tagging rule";
    r.help = "use fwc's marks section and the 'mark' rule option instead";
    return r;
  }
  if (t == "UserService") {
    r.why = "user service " + Quoted(name) + " matches the owner of local processes, which fwc cannot match";
    r.help = "remove it from the rule";
    return r;
  }
  r.why = Quoted(name) + " is a " + t + " object, not a service fwc can use";
  r.help = "replace it in Firewall Builder";
  return r;
}

// ---------------------------------------------------------------------------
// Rules.

void FirewallImporter::AddrSlotOf(const Node* re, int fam, Slot& out, std::vector<Problem>& problems) {
  out = Slot();
  if (!re) return;
  out.neg = re->Bool("neg");
  size_t before = problems.size();
  bool had = false, any = false;
  std::set<std::string> seen;
  for (const Node* k : re->kids) {
    if (k->tag != "ObjectRef") continue;
    Problem p;
    const Node* o = Lookup(k, "ref", &p);
    if (!o) {
      problems.push_back(p);
      continue;
    }
    if (o->tag == "AnyNetwork") {
      any = true;
      continue;
    }
    had = true;
    AddrRes r = ResolveAddr(o, fam, 0);
    switch (r.kind) {
      case AddrRes::Kind::kError: problems.push_back({k->loc, r.why, r.help, r.reported}); break;
      case AddrRes::Kind::kAny: any = true; break;
      case AddrRes::Kind::kNone: break;
      case AddrRes::Kind::kName:
        if (seen.insert(r.name).second) out.names.push_back(r.name);
        out.set.AddAll(r.set);
        out.items.push_back(r);
        break;
    }
  }
  if (any || !had) {
    out.names.clear();
    out.items.clear();
    out.any = true;
    out.fam = kBoth;
    if (out.neg)
      problems.push_back({re->loc, "its " + re->tag + " column is a negated 'any', which matches nothing",
                          "clear the negation in Firewall Builder"});
    out.neg = false;
    return;
  }
  if (out.names.empty()) {
    if (problems.size() > before) return;  // the objects could not be imported
    // Every object fell away: nothing of the rule set's family is left.
    if (out.neg) {
      out.any = true;
      out.neg = false;
      out.fam = kBoth;
    } else {
      out.any = false;
      out.empty = true;
      out.fam = 0;
    }
    return;
  }
  out.any = false;
  out.fam = out.neg ? kBoth : MaskOf(out.set);
}

void FirewallImporter::SvcSlotOf(const Node* re, SvcSlot& out, std::vector<Problem>& problems) {
  out = SvcSlot();
  if (!re) return;
  out.neg = re->Bool("neg");
  size_t before = problems.size();
  bool had = false, any = false;
  std::set<std::string> seen;
  int fam = 0, refs = 0;
  for (const Node* k : re->kids) refs += k->tag == "ServiceRef";
  for (const Node* k : re->kids) {
    if (k->tag != "ServiceRef") continue;
    Problem p;
    const Node* o = Lookup(k, "ref", &p);
    if (!o) {
      problems.push_back(p);
      continue;
    }
    if (o->tag == "AnyIPService") {
      any = true;
      continue;
    }
    had = true;
    SvcRes r = ResolveSvc(o, 0);
    switch (r.kind) {
      case SvcRes::Kind::kError: problems.push_back({k->loc, r.why, r.help, r.reported}); break;
      case SvcRes::Kind::kAny: any = true; break;
      case SvcRes::Kind::kNone: break;
      case SvcRes::Kind::kState:
        if (out.neg || refs > 1)
          problems.push_back({k->loc,
                              "the connection state match " + Quoted(o->Name()) +
                                  " is combined with other services or negated",
                              "put it in a rule of its own, alone in the service column"});
        out.states = r.states;
        break;
      case SvcRes::Kind::kName:
        if (seen.insert(r.name).second) out.names.push_back(r.name);
        out.nodes.push_back(o);
        fam |= r.fam;
        out.ports_only &= r.ports_only;
        break;
    }
  }
  if (any || !had || !out.states.empty()) {
    if (out.neg && (any || !had))
      problems.push_back({re->loc, "its service column is a negated 'any', which matches nothing",
                          "clear the negation in Firewall Builder"});
    out.names.clear();
    out.nodes.clear();
    out.any = true;
    out.neg = false;
    out.fam = kBoth;
    return;
  }
  if (out.names.empty()) {
    if (problems.size() > before) return;
    // Only empty groups, which the firewall's options say to ignore.
    out.empty = !out.neg;
    out.any = out.neg;
    out.neg = false;
    out.fam = out.empty ? 0 : kBoth;
    return;
  }
  out.any = false;
  out.fam = out.neg ? kBoth : fam;
}

// The interfaces of an Itf (ItfInb, ItfOutb) column: none is any.
std::vector<const Iface*> FirewallImporter::Interfaces(const Node* re, std::vector<Problem>& problems, bool* loop) {
  std::vector<const Iface*> out;
  *loop = false;
  if (!re) return out;
  if (re->Bool("neg"))
    problems.push_back({re->loc, "its interface column is negated", "fwc's 'in' and 'out' name one interface each: "
                                                                    "list the other interfaces instead"});
  std::vector<const Node*> todo;
  for (const Node* k : re->kids)
    if (k->tag == "ObjectRef") todo.push_back(k);
  std::set<const Node*> seen;
  for (size_t n = 0; n < todo.size() && n < 10000; ++n) {
    Problem p;
    const Node* o = todo[n]->tag == "ObjectRef" ? Lookup(todo[n], "ref", &p) : todo[n];
    if (!o) {
      problems.push_back(p);
      continue;
    }
    if (o->tag == "AnyNetwork" || !seen.insert(o).second) continue;
    if (o->tag == "ObjectGroup") {
      for (const Node* k : o->kids)
        if (k->tag == "ObjectRef") todo.push_back(k);
      continue;
    }
    auto it = o->tag == "Interface" ? iface_by_node_.find(o) : iface_by_node_.end();
    if (it == iface_by_node_.end()) {
      problems.push_back({todo[n]->loc,
                          Quoted(o->Name()) + " in its interface column is not an interface of firewall " +
                              Quoted(fw_->Name()),
                          "name one of the firewall's own interfaces"});
      continue;
    }
    const Iface& i = ifaces_[it->second];
    if (i.loopback) {
      *loop = true;
      continue;
    }
    if (!i.usable) {
      problems.push_back({todo[n]->loc, "interface " + Quoted(i.device) + " is not imported",
                          "see the error about the interface"});
      continue;
    }
    out.push_back(&i);
  }
  return out;
}

// A rule of a rule set of one family must stay in that family: fwc compiles
// each rule for every family its objects have.
bool FirewallImporter::RestrictFamily(const Node* rule, int fam, Slot& src, Slot& dst, const SvcSlot& svc,
                                      std::vector<std::string>& from, std::vector<std::string>& to,
                                      std::vector<Problem>& problems, std::string* nothing) {
  int s = src.any || src.neg ? kBoth : src.fam;
  int d = dst.any || dst.neg ? kBoth : dst.fam;
  int v = svc.any || svc.neg ? kBoth : svc.fam;
  if (src.empty || dst.empty || svc.empty || (s & d & v & fam) == 0) {
    *nothing = src.empty || dst.empty || svc.empty
                   ? std::string("an object in it has no address of the rule set's family (") + FamilyWord(fam) + ")"
                   : (s & d & v) == 0 ? "its source, destination and service have no address family in common"
                                      : std::string("it matches no ") + FamilyWord(fam) + " traffic";
    return false;
  }
  int leak = s & d & v & ~fam;
  if (!leak) return true;
  // Both addresses are any (or negated): say the family with a literal.
  if (!any_includes_fw_) {
    problems.push_back({rule->loc,
                        std::string("the rule set is ") + FamilyWord(fam) +
                            " only, and fwc can restrict a rule with 'any' to one family only with a prefix, "
                            "which includes the firewall (its option 'firewall is part of any' is off)",
                        "name the networks in the rule, or make the rule set IPv4 and IPv6"});
    return true;
  }
  std::string literal = fam == kV4 ? "0.0.0.0/0" : "::/0";
  if (dst.any && !dst.neg) to = {literal};
  else if (src.any && !src.neg) from = {literal};
  else
    problems.push_back({rule->loc,
                        std::string("the rule set is ") + FamilyWord(fam) +
                            " only, but both addresses of the rule are negated, which fwc applies to both families",
                        "name the objects of the family in the rule"});
  return true;
}

void FirewallImporter::Refuse(const Node* rule, bool nat, const std::string& what, std::vector<Problem>& problems,
                              bool disabled) {
  std::set<std::string> said;
  for (const auto& p : problems) {
    if (!said.insert(p.why).second) continue;
    std::string text = what + " of firewall " + Quoted(fw_->Name()) + " is not imported: " + p.why;
    if (disabled) {
      report_.Note(p.loc.valid() ? p.loc : rule->loc, what + " (disabled) is left out: " + p.why);
      continue;
    }
    if (!p.reported) report_.Unmapped(p.loc.valid() ? p.loc : rule->loc, text, p.help);
    d_.gaps.push_back({nat, nat ? d_.nat_rules.size() : d_.rules.size(),
                       "line " + std::to_string((p.loc.valid() ? p.loc : rule->loc).line) + ": " + text});
  }
}

std::string FirewallImporter::LogPrefix(const Node* rule, const std::string& action, const std::string& ruleset,
                                        const std::string& iface, const Node* opts) {
  std::string s;
  if (opts)
    for (const Node* k : opts->kids)
      if (k->tag == "Option" && k->Get("name") == "log_prefix") s = k->text;
  if (s.empty()) {
    auto it = fwopt_.find("log_prefix");
    if (it != fwopt_.end()) s = it->second;
  }
  // Firewall Builder's macros, each replaced once as fwb_ipt does: %N rule
  // number, %A action, %I interface, %C chain (which fwc decides: left out),
  // %R rule set.
  auto sub = [&](const char* macro, const std::string& value) {
    size_t n = s.find(macro);
    if (n != std::string::npos) s.replace(n, 2, value);
  };
  sub("%N", rule->Get("position"));
  sub("%A", Upper(action));
  sub("%I", iface.empty() ? "global" : iface);
  sub("%C", "");
  sub("%R", ruleset);
  if (s.find('$') != std::string::npos) {
    std::replace(s.begin(), s.end(), '$', '_');
    report_.Note(rule->loc, "'$' in the log prefix replaced by '_' (nft cannot take it)");
  }
  return Truncate(s, 29);  // fwb_ipt truncates to 29 too
}

void FirewallImporter::PolicyRule(const RuleSet& rs, const Node* rule) {
  std::vector<Problem> problems;
  bool disabled = rule->Bool("disabled");
  std::string what = What(rs, rule, false);
  std::string action = rule->Get("action"), verdict;
  if (action == "Accept") verdict = "accept";
  else if (action == "Deny") verdict = "drop";
  else if (action == "Reject") verdict = "reject";
  else {
    std::string help = action == "Branch" ? "fwc has one rule list: move the branch's rules into the policy"
                       : action == "Accounting" || action == "Continue"
                           ? "the rule decides nothing: leave it out, or log in the rules that decide"
                           : "replace it with an Accept, Deny or Reject rule";
    problems.push_back({rule->loc, "its action is " + action + ", which fwc has no counterpart of", help});
  }
  Slot src, dst;
  SvcSlot svc;
  AddrSlotOf(rule->Child("Src"), rs.fam, src, problems);
  AddrSlotOf(rule->Child("Dst"), rs.fam, dst, problems);
  SvcSlotOf(rule->Child("Srv"), svc, problems);
  bool loop = false;
  std::vector<const Iface*> itf = Interfaces(rule->Child("Itf"), problems, &loop);
  if (const Node* when = rule->Child("When"))
    for (const Node* k : when->kids) {
      if (k->tag != "IntervalRef") continue;
      Problem p;
      const Node* o = Lookup(k, "ref", &p);
      if (!o) problems.push_back(p);
      else if (o->tag != "AnyInterval")
        problems.push_back({k->loc, "it applies only at the times of " + Quoted(o->Name()),
                            "fwc rules apply at all times: load a different policy when the time comes"});
    }
  // Options of the rule.
  const Node* ropt = rule->Child("PolicyRuleOptions");
  std::map<std::string, std::string> o;
  if (ropt)
    for (const Node* k : ropt->kids)
      if (k->tag == "Option") o[k->Get("name")] = k->text;
  auto on = [&](const char* n) { auto it = o.find(n); return it != o.end() && IsTrue(it->second); };
  auto val = [&](const char* n) { auto it = o.find(n); return it == o.end() ? std::string() : Trim(it->second); };
  std::string limit;
  if (auto lv = Int(val("limit_value")); lv && *lv > 0) {
    std::string suffix = val("limit_suffix");
    std::string unit = suffix == "/second" ? "second" : suffix == "/minute" ? "minute" : suffix == "/day" ? "day" : "hour";
    if (*lv > 1000000 || on("limit_value_not"))
      problems.push_back({rule->loc, on("limit_value_not") ? "it matches packets over a rate limit (negated limit)"
                                                           : "its rate limit is over 1000000",
                          "fwc's 'limit' matches packets under a rate of 1 to 1000000"});
    limit = std::to_string(*lv) + "/" + unit;
    if (auto b = Int(val("limit_burst")); b && *b > 0)
      report_.Note(rule->loc, what + ": the limit's burst of " + val("limit_burst") + " is not imported");
  }
  if (auto c = Int(val("connlimit_value")); c && *c > 0)
    problems.push_back({rule->loc, "it limits the number of connections (connlimit)",
                        "add 'connlimit N' to the imported rule by hand"});
  if (auto h = Int(val("hashlimit_value")); h && *h > 0)
    problems.push_back({rule->loc, "it has a per-address rate limit (hashlimit)", "fwc's 'limit' counts all packets"});
  if (on("tagging") || on("ipt_mark_connections"))
    problems.push_back({rule->loc, "it marks packets (tagging)", "use fwc's marks section"});
  if (on("classification")) problems.push_back({rule->loc, "it classifies packets for traffic shaping", ""});
  if (on("routing") || !val("ipt_iif").empty() || !val("ipt_oif").empty() || !val("ipt_gw").empty() || on("ipt_tee"))
    problems.push_back({rule->loc, "it routes packets (route or tee options)", "configure policy routing outside fwc"});
  if (on("ipt_continue")) problems.push_back({rule->loc, "it does not stop the rule list (continue option)", ""});
  if (verdict == "reject") {
    // The rule's own answer, else the firewall's (fwb_ipt's order); fwc
    // answers as fwb_ipt does by default: a port-unreachable, or a reset.
    std::string how = val("action_on_reject");
    if (how.empty()) {
      auto it = fwopt_.find("action_on_reject");
      if (it != fwopt_.end()) how = Trim(it->second);
    }
    if (!how.empty() && how != "ICMP port unreachable" && how != "TCP RST")
      problems.push_back({rule->loc, "it rejects with " + how + ", and fwc rejects with a port-unreachable (TCP with a reset)",
                          "set its reject action to 'ICMP port unreachable' or 'TCP RST' in Firewall Builder, the "
                          "answers fwc sends"});
  }
  if (o.count("firewall_is_part_of_any_and_networks") && !val("firewall_is_part_of_any_and_networks").empty() &&
      IsTrue(val("firewall_is_part_of_any_and_networks")) != any_includes_fw_)
    problems.push_back({rule->loc, "it says differently from the firewall whether 'any' includes the firewall",
                        "fwc has one setting for the whole policy (option any-includes-firewall)"});
  if (loop) {
    if (verdict != "accept") {
      problems.push_back({rule->Child("Itf") ? rule->Child("Itf")->loc : rule->loc,
                          "it is about the loopback interface, whose traffic fwc always lets pass",
                          "remove the rule: loopback traffic cannot be filtered in fwc"});
    } else if (itf.empty()) {
      report_.Note(rule->loc, what + " (accept on the loopback interface) is left out: fwc always lets loopback "
                                     "traffic pass");
      return;
    } else {
      report_.Note(rule->loc, what + ": its loopback interface is left out: fwc always lets loopback traffic pass");
    }
  }
  // Interfaces and direction: one fwc rule per interface (and per
  // direction for "Both"), in the order of the file, which first-match
  // semantics makes the same as one rule over all of them.
  std::string direction = rule->Get("direction");
  struct Dir {
    std::string in, out;
  };
  std::vector<Dir> dirs;
  if (itf.empty()) {
    if (direction == "Inbound" || direction == "Outbound") {
      // fwb_ipt: "-i +" / "-o +", any interface but no local traffic.
      for (const auto& i : ifaces_)
        if (i.usable && !i.loopback)
          dirs.push_back(direction == "Inbound" ? Dir{i.logical, ""} : Dir{"", i.logical});
      if (dirs.empty())
        problems.push_back({rule->loc, "it is " + direction + " on any interface, and the firewall has no interfaces",
                            "give the firewall its interfaces in Firewall Builder"});
    } else {
      dirs.push_back({"", ""});
    }
  } else {
    for (const Iface* i : itf) {
      if (direction != "Outbound") dirs.push_back({i->logical, ""});
      if (direction != "Inbound") dirs.push_back({"", i->logical});
    }
  }
  DraftRule base;
  base.action = verdict;
  base.services = svc.names;
  base.not_services = svc.neg && !svc.any;
  base.from = src.names;
  base.not_from = src.neg && !src.any;
  base.to = dst.names;
  base.not_to = dst.neg && !dst.any;
  base.states = svc.states;
  base.limit = limit;
  base.disabled = disabled;
  base.comment = rule->Get("comment");
  base.log = rule->Bool("log") || log_all_;
  base.trace = "fwbuilder: firewall " + fw_->Name() + ", " + (rs.name.empty() ? "Policy" : rs.name) + " rule " +
               rule->Get("position");
  if (!rule->Get("group").empty()) base.trace += ", group " + Quoted(rule->Get("group"));
  std::string nothing;
  if (!RestrictFamily(rule, rs.fam, src, dst, svc, base.from, base.to, problems, &nothing)) {
    if (problems.empty()) {
      report_.Note(rule->loc, what + " is left out: it can never match: " + nothing);
      return;
    }
  }
  if (!problems.empty()) {
    Refuse(rule, false, what, problems, disabled);
    return;
  }
  for (const auto& n : base.from) Use(n);
  for (const auto& n : base.to) Use(n);
  for (const auto& n : base.services) Use(n);
  for (const Dir& dir : dirs) {
    DraftRule r = base;
    r.in = dir.in;
    r.out = dir.out;
    if (r.log) {
      std::string dev;
      for (const auto& i : ifaces_)
        if (!i.logical.empty() && (i.logical == dir.in || i.logical == dir.out)) dev = i.device;
      r.log_prefix = LogPrefix(rule, action, rs.name, dev, ropt);
    }
    d_.rules.push_back(std::move(r));
  }
}

// The port range of the one TCP or UDP service of a translated-service
// column: the destination ports (dnat, redirect) or the source ports (snat).
struct PortMap {
  bool any = true;
  long dlo = 0, dhi = 65535, slo = 0, shi = 65535;
  std::string why;
};

PortMap TranslatedPorts(const SvcSlot& tsrv) {
  PortMap m;
  if (tsrv.any) return m;
  m.any = false;
  if (tsrv.neg || tsrv.nodes.size() != 1) {
    m.why = "its translated service is not one TCP or UDP service";
    return m;
  }
  const Node* s = tsrv.nodes[0];
  if (s->tag != "TCPService" && s->tag != "UDPService") {
    m.why = "its translated service " + Quoted(s->Name()) + " is not a TCP or UDP service";
    return m;
  }
  PortRange(s, "dst_range_start", "dst_range_end", &m.dlo, &m.dhi);
  PortRange(s, "src_range_start", "src_range_end", &m.slo, &m.shi);
  return m;
}

std::string Ports(long lo, long hi) { return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi); }

void FirewallImporter::NatRule(const RuleSet& rs, const Node* rule) {
  std::vector<Problem> problems;
  bool disabled = rule->Bool("disabled");
  std::string what = What(rs, rule, true);
  if (rule->Get("action") != "Translate" && !rule->Get("action").empty())
    problems.push_back({rule->loc, "its action is " + rule->Get("action"),
                        "fwc has one NAT list: move the branch's rules into the nat section"});
  Slot osrc, odst, tsrc, tdst;
  SvcSlot osrv, tsrv;
  AddrSlotOf(rule->Child("OSrc"), rs.fam, osrc, problems);
  AddrSlotOf(rule->Child("ODst"), rs.fam, odst, problems);
  SvcSlotOf(rule->Child("OSrv"), osrv, problems);
  AddrSlotOf(rule->Child("TSrc"), rs.fam, tsrc, problems);
  AddrSlotOf(rule->Child("TDst"), rs.fam, tdst, problems);
  SvcSlotOf(rule->Child("TSrv"), tsrv, problems);
  bool loop_in = false, loop_out = false;
  std::vector<const Iface*> inb = Interfaces(rule->Child("ItfInb"), problems, &loop_in);
  std::vector<const Iface*> outb = Interfaces(rule->Child("ItfOutb"), problems, &loop_out);
  if (loop_in || loop_out)
    problems.push_back({rule->loc, "it names the loopback interface", "fwc does not translate loopback traffic"});
  if (!osrv.states.empty()) problems.push_back({rule->loc, "its service is a connection state match", ""});
  if (tsrc.neg || tdst.neg || tsrv.neg)
    problems.push_back({rule->loc, "a translated column is negated", "clear the negation in Firewall Builder"});
  if (tsrc.names.size() > 1 || tdst.names.size() > 1)
    problems.push_back({rule->loc, "it translates to several objects", "translate to one host or range"});
  const Node* ropt = rule->Child("NATRuleOptions");
  std::map<std::string, std::string> o;
  if (ropt)
    for (const Node* k : ropt->kids)
      if (k->tag == "Option") o[k->Get("name")] = k->text;
  auto on = [&](const char* n) { auto it = o.find(n); return it != o.end() && IsTrue(it->second); };
  for (const char* f : {"ipt_nat_random", "ipt_nat_persistent", "ipt_snat_random"})
    if (on(f)) problems.push_back({rule->loc, std::string("it has the option ") + f, "fwc's NAT has no such option"});

  DraftRule base;
  base.nat = true;
  base.services = osrv.names;
  base.not_services = osrv.neg && !osrv.any;
  base.from = osrc.names;
  base.not_from = osrc.neg && !osrc.any;
  base.to = odst.names;
  base.not_to = odst.neg && !odst.any;
  base.disabled = disabled;
  base.comment = rule->Get("comment");
  base.trace = "fwbuilder: firewall " + fw_->Name() + ", " + (rs.name.empty() ? "NAT" : rs.name) + " rule " +
               rule->Get("position");
  if (!rule->Get("group").empty()) base.trace += ", group " + Quoted(rule->Get("group"));

  const AddrRes* ts = tsrc.items.empty() ? nullptr : &tsrc.items[0];
  const AddrRes* td = tdst.items.empty() ? nullptr : &tdst.items[0];
  PortMap pm = TranslatedPorts(tsrv);
  if (!pm.why.empty()) problems.push_back({rule->loc, pm.why, "translate to one TCP or UDP service's ports"});
  auto one_block = [&](const Slot& s, const char* col) {
    for (Family f : {Family::kV4, Family::kV6})
      if (s.set.of(f).intervals().size() > 1)
        problems.push_back({rule->loc, std::string("its ") + col + " " + Quoted(s.names[0]) + " has " +
                                           std::to_string(s.set.of(f).intervals().size()) + " separate " +
                                           (f == Family::kV4 ? "IPv4" : "IPv6") + " blocks of addresses",
                            "translate to one address or range per family"});
  };
  auto port_ok = [&]() {
    if (osrv.any || osrv.neg || !osrv.ports_only)
      problems.push_back({rule->loc, "it translates ports of services that are not all TCP or UDP",
                          "name the TCP or UDP service whose port it translates"});
  };
  // One rule per interface named (first match makes it the same).
  std::vector<std::pair<std::string, std::string>> dirs;  // in, out
  std::string kind;
  bool tsrc_any = tsrc.any && !tsrc.empty, tdst_any = tdst.any && !tdst.empty;
  if (tsrc.empty || tdst.empty) {
    kind = "none";
  } else if (tsrc_any && tdst_any && pm.any) {
    kind = "no nat";
    if (!inb.empty() && !outb.empty())
      problems.push_back({rule->loc, "it names both an inbound and an outbound interface",
                          "fwc's 'no nat' takes 'in' (before routing) or 'out' (after it), not both"});
    for (const Iface* i : inb) dirs.push_back({i->logical, ""});
    for (const Iface* i : outb) dirs.push_back({"", i->logical});
    if (dirs.empty()) dirs.push_back({"", ""});
    base.action = "no nat";
  } else if (!tsrc_any && tdst_any) {
    kind = "snat";
    if (!inb.empty())
      problems.push_back({rule->loc, "it translates the source of packets by their inbound interface",
                          "fwc's source NAT is applied on the way out: name the outbound interface"});
    if (pm.dhi - pm.dlo != 65535)
      problems.push_back({rule->loc, "it translates the destination port in a source NAT rule", ""});
    std::string port = pm.any || (pm.slo == 0 && pm.shi == 65535) ? "" : " port " + Ports(pm.slo, pm.shi);
    if (!port.empty()) port_ok();
    bool masq = on("ipt_use_masq");
    if (ts && ts->self && !ts->own_iface) {
      // The firewall: its address on the interface the packet leaves by.
      std::vector<const Iface*> via = outb;
      if (via.empty())
        for (const auto& i : ifaces_)
          if (i.usable && !i.loopback && !i.addrs.empty()) via.push_back(&i);
      for (const Iface* i : via) {
        if (i->addrs.empty())
          problems.push_back({rule->loc, "it masquerades behind interface " + Quoted(i->device) + ", which has no address",
                              "give its address with --address " + i->device + "=ADDRESS/LENGTH"});
        dirs.push_back({"", i->logical});
      }
      if (via.empty()) problems.push_back({rule->loc, "the firewall has no interface with an address to translate to", ""});
      base.action = "masquerade" + port;
    } else if (ts && ts->own_iface) {
      const Iface& i = ifaces_[iface_by_node_.at(ts->own_iface)];
      if (outb.empty() || (outb.size() == 1 && outb[0] == &i)) {
        dirs.push_back({"", i.logical});
        base.action = "masquerade" + port;
      } else {
        one_block(tsrc, "translated source");
        for (const Iface* x : outb) dirs.push_back({"", x->logical});
        base.action = "snat to " + tsrc.names[0] + port;
      }
    } else if (!tsrc.names.empty()) {
      one_block(tsrc, "translated source");
      for (const Iface* x : outb) dirs.push_back({"", x->logical});
      if (dirs.empty()) dirs.push_back({"", ""});
      if (masq && outb.empty())
        problems.push_back({rule->loc, "it masquerades with no outbound interface", "name the outbound interface"});
      base.action = masq ? "masquerade" + port : "snat to " + tsrc.names[0] + port;
    }
  } else if (tsrc_any && (!tdst_any || !pm.any)) {
    kind = "dnat";
    if (!outb.empty())
      problems.push_back({rule->loc, "it translates the destination of packets by their outbound interface",
                          "fwc's destination NAT is applied before routing: name the inbound interface"});
    if (!pm.any && !(pm.slo == 0 && pm.shi == 65535))
      problems.push_back({rule->loc, "it translates the source port in a destination NAT rule", ""});
    std::string port = pm.any || (pm.dlo == 0 && pm.dhi == 65535) ? "" : " port " + Ports(pm.dlo, pm.dhi);
    if (!port.empty()) port_ok();
    bool to_fw = tdst_any ? (odst.items.size() == 1 && !odst.neg && (odst.items[0].self || odst.items[0].own_iface))
                          : (td && (td->self || td->own_iface));
    for (const Iface* i : inb) dirs.push_back({i->logical, ""});
    if (dirs.empty()) dirs.push_back({"", ""});
    if (to_fw) {
      // To the firewall itself: redirect, which needs the port.
      if (port.empty() && osrv.nodes.size() == 1 && !osrv.neg) {
        PortMap orig;
        SvcSlot one = osrv;
        orig = TranslatedPorts(one);
        if (orig.why.empty() && orig.dlo == orig.dhi) port = " port " + Ports(orig.dlo, orig.dhi);
      }
      if (port.empty())
        problems.push_back({rule->loc, "it redirects to the firewall without saying the port",
                            "fwc's redirect names the port: translate to a TCP or UDP service"});
      base.action = "redirect to" + port;
    } else if (tdst_any) {
      problems.push_back({rule->loc, "it translates the port alone, to a destination that is not one object",
                          "name the destination host as the translated destination"});
    } else {
      one_block(tdst, "translated destination");
      base.action = "dnat to " + tdst.names[0] + port;
    }
  } else {
    kind = "snat+dnat";
    problems.push_back({rule->loc, "it translates both the source and the destination",
                        "split it into a dnat rule and an snat rule (the snat rule sees the translated destination)"});
  }
  if (kind == "none") {
    if (problems.empty()) {
      report_.Note(rule->loc, what + " is left out: its translation has no address of the rule set's family");
      return;
    }
    Refuse(rule, true, what, problems, disabled);
    return;
  }
  // A translation to an address of no family the rule matches.
  std::string nothing;
  SvcSlot svc_for_family = osrv;
  if (problems.empty() && !RestrictFamily(rule, rs.fam, osrc, odst, svc_for_family, base.from, base.to, problems, &nothing)) {
    report_.Note(rule->loc, what + " is left out: it can never match: " + nothing);
    return;
  }
  // A translation to an address of no family the rule matches.
  if (problems.empty() && (kind == "snat" || kind == "dnat")) {
    const Slot& target = kind == "snat" ? tsrc : tdst;
    if (!target.any && !target.names.empty() && !(ts && ts->self) && !(td && td->self) &&
        base.action.rfind("masquerade", 0) != 0 && base.action.rfind("redirect", 0) != 0) {
      int s = osrc.any || osrc.neg ? kBoth : osrc.fam;
      int d = odst.any || odst.neg ? kBoth : odst.fam;
      int v = osrv.any || osrv.neg ? kBoth : osrv.fam;
      if ((s & d & v & rs.fam & MaskOf(target.set)) == 0) {
        report_.Note(rule->loc, what + " is left out: it translates to " + Quoted(target.names[0]) +
                                    ", which has no address of the family of the traffic it matches");
        return;
      }
    }
  }
  if (problems.empty() && kind == "dnat") {
    has_dnat_ = true;
    // Firewall Builder's policy rules see the translated destination (the
    // iptables filter runs after PREROUTING); fwc's name the original one.
    if (!disabled) {
      problems.push_back({rule->loc,
                          "Firewall Builder's policy rules see the destination this rule translates to, fwc's the "
                          "original one: the policy rules that let this traffic pass must be rewritten",
                          "import with --partial and write the accept rules for the original destination (" +
                              (odst.names.empty() ? std::string("any") : odst.names[0]) +
                              "), as fwc.policy(5) shows under NAT"});
      for (const auto& n : base.from) Use(n);
      for (const auto& n : base.to) Use(n);
      for (const auto& n : base.services) Use(n);
      for (const auto& n : tdst.names) Use(n);
      Refuse(rule, true, what, problems, false);
      for (const auto& dir : dirs) {
        DraftRule r = base;
        r.in = dir.first;
        r.out = dir.second;
        d_.nat_rules.push_back(std::move(r));
      }
      return;
    }
  }
  if (!problems.empty()) {
    Refuse(rule, true, what, problems, disabled);
    return;
  }
  for (const auto& n : base.from) Use(n);
  for (const auto& n : base.to) Use(n);
  for (const auto& n : base.services) Use(n);
  for (const auto& n : tsrc.names) Use(n);
  for (const auto& n : tdst.names) Use(n);
  for (const auto& dir : dirs) {
    DraftRule r = base;
    r.in = dir.first;
    r.out = dir.second;
    d_.nat_rules.push_back(std::move(r));
  }
}

// Firewall Builder's "always permit SSH from the management workstation":
// a rule before all others.
void FirewallImporter::MgmtSshRule() {
  auto it = fwopt_.find("mgmt_ssh");
  auto ad = fwopt_.find("mgmt_addr");
  if (it == fwopt_.end() || !IsTrue(it->second) || ad == fwopt_.end() || ad->second.empty()) return;
  std::string err;
  auto a = ParseAddress(ad->second, &err);
  const Node* opts = fw_->Child("FirewallOptions");
  Loc loc = opts ? opts->loc : fw_->loc;
  if (!a) {
    report_.Note(loc, "the management workstation address " + Quoted(ad->second) +
                          " is not an address: its SSH rule is not imported (fwb_ipt skips it too)");
    return;
  }
  std::string why;
  if (!fw_incomplete_.empty()) why = "the firewall's addresses on interface " + Quoted(fw_incomplete_) + " are not imported";
  else if (fw_dynamic_) why = "the firewall has an interface whose address is known only at run time";
  else if (fw_set_.of(a->family).empty())
    why = std::string("the firewall has no ") + (a->family == Family::kV4 ? "IPv4" : "IPv6") + " address";
  if (!why.empty()) {
    why = "the rule of option 'always permit ssh access from the management workstation' (" + ad->second +
          ") of firewall " + Quoted(fw_->Name()) + " is not imported: " + why;
    report_.Unmapped(loc, why, "write the rule by hand: accept tcp 22 from " + ad->second + " to the firewall");
    d_.gaps.push_back({false, 0, "line " + std::to_string(loc.line) + ": " + why});
    return;
  }
  std::string text = FormatAddress(a->family, a->addr);
  if (a->prefix >= 0 && a->prefix < FamilyBits(a->family)) {
    Interval iv = PrefixInterval(a->family, a->addr, a->prefix);
    text = FormatAddress(a->family, iv.lo) + "/" + std::to_string(a->prefix);
  }
  DraftRule r;
  r.action = "accept";
  r.services = {"tcp 22"};
  r.from = {text};
  r.to = {d_.firewall_name};
  r.trace = "fwbuilder: firewall " + fw_->Name() + ", option 'always permit ssh access from the management workstation'";
  d_.rules.insert(d_.rules.begin(), r);
  for (auto& g : d_.gaps)
    if (!g.nat && g.before > 0) ++g.before;
}

PolicyDraft FirewallImporter::Run() {
  ReadOptions();
  ReadInterfaces(fw_);
  ApplyAddressOptions();
  std::string platform = fw_->Get("platform");
  d_.source = "Firewall Builder, firewall " + Quoted(fw_->Name());
  d_.header_notes.push_back("Firewall Builder firewall " + Quoted(fw_->Name()) + ": platform " +
                            (platform.empty() ? "unknown" : platform) +
                            (fw_->Get("host_OS").empty() ? "" : ", host OS " + fw_->Get("host_OS")) +
                            (fw_->Get("version").empty() ? "" : ", version " + fw_->Get("version")) + ".");
  if (!fw_->Get("comment").empty()) d_.header_notes.push_back("Its comment: " + Truncate(fw_->Get("comment"), 400));
  d_.header_notes.push_back("Firewall Builder's implicit last rule drops everything: the policy's default is drop.");
  if (platform != "iptables" && !platform.empty())
    report_.Note(fw_->loc, "firewall " + Quoted(fw_->Name()) + " is for the platform " + Quoted(platform) +
                               "; its rules are imported with the meaning fwb_ipt gives them");
  // Rule sets: the top ones are what the firewall runs; the others are
  // reached only by branch rules, which are not imported.
  std::vector<RuleSet> policies, nats;
  bool first_policy = true, first_nat = true;
  for (const Node* k : fw_->kids) {
    if (k->tag != "Policy" && k->tag != "NAT") continue;
    bool& first = k->tag == "Policy" ? first_policy : first_nat;
    bool top = k->Has("top_rule_set") ? k->Bool("top_rule_set") : first;
    first = false;
    if (!top) continue;
    RuleSet rs;
    rs.node = k;
    rs.name = k->Name();
    bool v4 = k->Bool("ipv4_rule_set"), v6 = k->Bool("ipv6_rule_set");
    rs.fam = v4 && v6 ? kBoth : v6 ? kV6 : kV4;
    (k->tag == "Policy" ? policies : nats).push_back(rs);
  }
  const std::string& pname = policies.empty() ? std::string("Policy") : policies[0].name;
  d_.policy_name = names_.Take(":policy", pname.empty() ? "Policy" : pname);
  int families = 0;
  for (const auto& rs : policies) families |= rs.fam;
  if (families == kV4)
    d_.header_notes.push_back("Its rule sets are IPv4 only: IPv6 traffic gets the default (drop).");
  else if (families == kV6)
    d_.header_notes.push_back("Its rule sets are IPv6 only: IPv4 traffic gets the default (drop).");
  // Options.
  auto opt = [&](const char* n) {
    auto it = fwopt_.find(n);
    return it == fwopt_.end() ? std::string() : it->second;
  };
  const Node* fo = fw_->Child("FirewallOptions");
  Loc oloc = fo ? fo->loc : fw_->loc;
  if (!any_includes_fw_) d_.options.push_back({"any-includes-firewall", "no"});
  if (IsFalse(opt("accept_established"))) d_.options.push_back({"stateful", "no"});
  std::string fwd = opt("linux24_ip_forward"), fwd6 = opt("linux24_ipv6_forward");
  if (fwd == "1" || fwd == "0") {
    d_.options.push_back({"forwarding", fwd == "1" ? "yes" : "no"});
    if ((fwd6 == "1" || fwd6 == "0") && fwd6 != fwd)
      report_.Note(oloc, "IPv4 forwarding is " + std::string(fwd == "1" ? "on" : "off") + " and IPv6 forwarding " +
                             (fwd6 == "1" ? "on" : "off") + "; fwc's option forwarding sets both, as IPv4's");
  } else if (fwd6 == "1" || fwd6 == "0") {
    d_.options.push_back({"forwarding", fwd6 == "1" ? "yes" : "no"});
  }
  if (IsTrue(opt("clamp_mss_to_mtu"))) d_.options.push_back({"clamp-mss", "yes"});
  if (IsTrue(opt("bridging_fw"))) {
    std::string why = "firewall " + Quoted(fw_->Name()) + " is a bridging firewall, which fwc cannot compile";
    report_.Unmapped(oloc, why, "fwc filters routed traffic only");
    d_.gaps.push_back({false, 0, "line " + std::to_string(oloc.line) + ": " + why});
  }
  if (auto lv = Int(opt("log_limit_value")); lv && *lv > 0)
    report_.Note(oloc, "the rate limit of log lines (" + opt("log_limit_value") + opt("log_limit_suffix") +
                           ") is not imported");
  // Rules.
  for (const auto& rs : nats)
    for (const Node* k : rs.node->kids)
      if (k->tag == "NATRule") NatRule(rs, k);
  for (const auto& rs : policies)
    for (const Node* k : rs.node->kids)
      if (k->tag == "PolicyRule") PolicyRule(rs, k);
  if (has_dnat_ && IsTrue(opt("local_nat")))
    report_.Note(oloc, "Firewall Builder translates the firewall's own connections too (local_nat); fwc's "
                       "destination NAT applies only to packets that arrive on an interface");
  MgmtSshRule();
  // The objects the imported rules use, in the order of the file.
  std::vector<const Pooled*> used;
  for (const auto& [name, p] : pool_)
    if (p.used) used.push_back(&p);
  std::sort(used.begin(), used.end(), [](const Pooled* a, const Pooled* b) { return a->order < b->order; });
  for (const Pooled* p : used) d_.objects.push_back(p->obj);
  return std::move(d_);
}

}  // namespace

std::vector<PolicyDraft> ImportFwb(const std::string& text, int file, const ImportOptions& opts,
                                   ImportReporter& report) {
  std::vector<PolicyDraft> out;
  Document doc;
  XmlReader reader(file, report);
  if (!reader.Read(text, doc) || !doc.root) return out;
  if (doc.root->tag != "FWObjectDatabase") {
    report.Malformed(doc.root->loc, "the document is <" + doc.root->tag + ">, not a Firewall Builder object database",
                     "a .fwb file starts with <FWObjectDatabase>");
    return out;
  }
  std::string version = doc.root->Get("version");
  if (version != "24")
    report.Note(doc.root->loc, "data format version " + (version.empty() ? std::string("(none)") : version) +
                                   "; fwc reads version 24 (fwbuilder 5.3.7) and the older formats it can");
  // Every object by id.
  std::unordered_map<std::string, const Node*> ids;
  for (const Node& n : doc.nodes) {
    if (n.tag == "ObjectRef" || n.tag == "ServiceRef" || n.tag == "IntervalRef") continue;
    const std::string* id = n.Find("id");
    if (!id) continue;
    auto [it, fresh] = ids.emplace(*id, &n);
    if (!fresh)
      report.Malformed(n.loc, "the object id " + Quoted(*id) + " is used twice (first at line " +
                                  std::to_string(it->second->loc.line) + ")",
                       "the file is damaged: Firewall Builder refuses to open it too");
  }
  // The firewalls, but not those in the library of deleted objects.
  auto deleted = [](const Node* n) {
    for (const Node* p = n->parent; p; p = p->parent)
      if (p->tag == "Library") return p->Get("id") == "sysid99";
    return false;
  };
  NameTable fw_names;  // one policy each: their names must differ
  for (const Node& n : doc.nodes) {
    if (n.tag != "Firewall" && n.tag != "Cluster") continue;
    std::string name = n.Name();
    bool wanted = opts.firewall.empty() || opts.firewall == name;
    if (!wanted) {
      NameTable probe;
      wanted = probe.Take("x", name) == opts.firewall;
    }
    if (!wanted) continue;
    if (deleted(&n)) {
      // Asked for by name, it gets a reason; otherwise it is simply not there.
      if (!opts.firewall.empty())
        report.Note(n.loc, "firewall " + Quoted(name) + " is in the library of deleted objects, which is not imported");
      continue;
    }
    if (n.tag == "Cluster") {
      if (!opts.firewall.empty()) {
        report.Unmapped(n.loc, "cluster " + Quoted(name) + " is not imported: fwc compiles one firewall at a time",
                        "import each member firewall, with the cluster's rules");
      } else {
        report.Note(n.loc, "cluster " + Quoted(name) + " is not imported (its member firewalls are, without the "
                           "cluster's rules)");
      }
      continue;
    }
    std::string fw_name = fw_names.Take(n.Has("id") ? n.Get("id") : "#" + std::to_string(n.index), name);
    FirewallImporter imp(ids, &n, opts, report, fw_name);
    out.push_back(imp.Run());
  }
  return out;
}

}  // namespace fwc::import
