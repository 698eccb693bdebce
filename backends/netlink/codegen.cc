#include "backends/netlink/codegen.h"

#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>

#include "backends/netlink/netlink_backend.h"
#include "backends/nftables/model.h"
#include "compiler/base/protocols.h"

namespace fwc::netlink {
namespace {

constexpr int kTypeBits = 6;  // concatenated types: (a << 6) | b

using nftables::kOrderBig;
using nftables::kOrderHost;
using nftables::kOrderInvalid;
enum ExprType : uint32_t { kExprVerdict = 1, kExprPayload = 7, kExprMeta = 9, kExprCt = 12, kExprConcat = 13 };

// One thing a rule loads, as the kernel sees it: a row of the fields table
// (backends/nftables/fields.h), or a payload window merged from several.
struct Field {
  bool meta = false;
  uint32_t meta_key = 0;
  bool ct = false;  // a ct expression: ct_key, in the original direction if ct_original
  uint32_t ct_key = 0;
  bool ct_original = false;
  uint32_t base = 0, offset = 0, len = 0;  // payload; len = value bytes
  uint32_t type = 0;                       // datatype
  uint32_t expr_order = kOrderBig;         // byte order of the expression
  uint32_t type_order = kOrderBig;         // byte order of the datatype
  uint32_t desc = 0, tmpl = 0;             // payload description and field
  int need_net = 0;                        // NFPROTO_IPV4/IPV6 the field needs
  int need_l4 = -1;                        // transport protocol it needs
};

Field FieldOf(nftables::Field id) {
  const nftables::FieldInfo& i = nftables::Info(id);
  Field f;
  f.meta = i.meta;
  f.meta_key = i.meta_key;
  f.ct = i.ct;
  f.ct_key = i.ct_key;
  f.ct_original = i.ct_original;
  f.base = i.base;
  f.offset = i.offset;
  f.len = i.len;
  f.type = i.type;
  f.expr_order = i.expr_order;
  f.type_order = i.type_order;
  f.desc = i.desc;
  f.tmpl = i.tmpl;
  f.need_net = i.need_net;
  f.need_l4 = i.need_l4;
  return f;
}

std::vector<Field> FieldsOf(const std::vector<nftables::Field>& ids) {
  std::vector<Field> out;
  for (nftables::Field id : ids) out.push_back(FieldOf(id));
  return out;
}

Field MetaField(uint32_t key, uint32_t len, uint32_t type, uint32_t type_order) {
  Field f;
  f.meta = true;
  f.meta_key = key;
  f.len = len;
  f.type = type;
  f.expr_order = kOrderHost;
  f.type_order = type_order;
  return f;
}

// --- values -----------------------------------------------------------------

std::string BigEndian(U128 v, uint32_t len) {
  std::string out(len, '\0');
  for (uint32_t i = 0; i < len; ++i) out[len - 1 - i] = static_cast<char>(static_cast<unsigned>(v >> (8 * i)) & 0xff);
  return out;
}

std::string IfnameBytes(const std::string& name) {
  std::string out(16, '\0');
  std::memcpy(out.data(), name.data(), std::min<size_t>(name.size(), 15));
  return out;
}

uint32_t Slots(uint32_t len) { return (len + 3) / 4; }
std::string Padded(std::string v) {
  v.append(Slots(static_cast<uint32_t>(v.size())) * 4 - v.size(), '\0');
  return v;
}

// nft's register numbering: 128-bit registers where aligned, 32-bit ones
// otherwise; slot counts 32-bit words from the first register.
uint32_t Register(uint32_t slot) {
  return slot % 4 == 0 ? NFT_REG_1 + slot / 4 : NFT_REG32_00 + slot;
}

// --- expressions ------------------------------------------------------------

ExprPtr Load(const Field& f, uint32_t reg, uint32_t len_override = 0) {
  if (f.ct) {
    ExprPtr e = NewExpr("ct");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_DREG, reg);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_KEY, f.ct_key);
    if (f.ct_original) nftnl_expr_set_u8(e.get(), NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
    return e;
  }
  if (f.meta) {
    ExprPtr e = NewExpr("meta");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, reg);
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, f.meta_key);
    return e;
  }
  ExprPtr e = NewExpr("payload");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, reg);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, f.base);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, f.offset);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len_override ? len_override : f.len);
  return e;
}

ExprPtr Cmp(uint32_t op, const std::string& data) {
  ExprPtr e = NewExpr("cmp");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data.data(), static_cast<uint32_t>(data.size()));
  return e;
}

ExprPtr Bitwise(const std::string& mask) {
  ExprPtr e = NewExpr("bitwise");
  std::string zero(mask.size(), '\0');
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, static_cast<uint32_t>(mask.size()));
  nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask.data(), static_cast<uint32_t>(mask.size()));
  nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), static_cast<uint32_t>(zero.size()));
  return e;
}

// A value into a data register, for a statement that sets or translates.
ExprPtr ImmediateData(uint32_t reg, const std::string& data) {
  ExprPtr e = NewExpr("immediate");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, reg);
  nftnl_expr_set(e.get(), NFTNL_EXPR_IMM_DATA, data.data(), static_cast<uint32_t>(data.size()));
  return e;
}

std::string HostU32(uint32_t v) {
  std::string out(4, '\0');
  std::memcpy(out.data(), &v, 4);
  return out;
}

ExprPtr Immediate(uint32_t verdict, const std::string& chain = "") {
  ExprPtr e = NewExpr("immediate");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, verdict);
  if (!chain.empty()) nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain.c_str());
  return e;
}

// --- statements before linearization --------------------------------------
//
// nft merges "payload == constant" matches on adjacent header fields into one
// load (tcp sport 53 tcp dport 80 -> one 4-byte compare) and never across a
// non-match statement. Such matches stay abstract until the rule is done.

struct Stmt {
  bool payload_value = false;  // a mergeable payload match
  uint32_t base = 0, offset = 0, len = 0, op = NFT_CMP_EQ;
  std::string value;
  std::vector<ExprPtr> exprs;  // everything else, ready
  bool barrier = false;        // not a match: ends a merge window
};

class RuleBuilder {
 public:

  // Protocol context, as nft tracks it while evaluating a rule.
  void Need(const Field& f) {
    if (f.need_net && net_ != f.need_net) MetaEq(NFT_META_NFPROTO, std::string(1, static_cast<char>(f.need_net)));
    if (f.need_l4 >= 0 && l4_ != f.need_l4) MetaEq(NFT_META_L4PROTO, std::string(1, static_cast<char>(f.need_l4)));
  }

  void MetaEq(uint32_t key, const std::string& value) {
    Stmt s;
    Field f = MetaField(key, static_cast<uint32_t>(value.size()), 0, kOrderHost);
    s.exprs.push_back(Load(f, NFT_REG_1));
    s.exprs.push_back(Cmp(NFT_CMP_EQ, value));
    stmts_.push_back(std::move(s));
    if (key == NFT_META_NFPROTO) net_ = static_cast<unsigned char>(value[0]);
    if (key == NFT_META_L4PROTO) l4_ = static_cast<unsigned char>(value[0]);
  }

  void Ifname(const Field& f, const std::string& name) {
    Stmt s;
    s.exprs.push_back(Load(f, NFT_REG_1));
    s.exprs.push_back(Cmp(NFT_CMP_EQ, IfnameBytes(name)));
    stmts_.push_back(std::move(s));
  }

  // A meta or ct value compared as it is loaded (not a mergeable payload).
  void LoadCompare(const Field& f, const std::string& value, bool negated) {
    Need(f);
    Stmt s;
    s.exprs.push_back(Load(f, NFT_REG_1));
    s.exprs.push_back(Cmp(negated ? NFT_CMP_NEQ : NFT_CMP_EQ, value));
    stmts_.push_back(std::move(s));
  }

  // field == value (a constant): mergeable.
  void PayloadValue(const Field& f, const std::string& value, bool negated) {
    if (f.ct || f.meta) return LoadCompare(f, value, negated);
    Need(f);
    Stmt s;
    s.payload_value = true;
    s.base = f.base;
    s.offset = f.offset;
    s.len = f.len;
    s.op = negated ? NFT_CMP_NEQ : NFT_CMP_EQ;
    s.value = value;
    stmts_.push_back(std::move(s));
  }

  // An address interval as nft compiles "ip saddr X": a constant, a prefix
  // (shortened load when byte-aligned, else a mask), or a range.
  void AddressInterval(const Field& f, Family fam, const Interval& iv, bool negated) {
    if (iv.lo == iv.hi) return PayloadValue(f, BigEndian(iv.lo, f.len), negated);
    Need(f);
    Stmt s;
    uint32_t op = negated ? NFT_CMP_NEQ : NFT_CMP_EQ;
    if (auto p = IntervalPrefix(fam, iv)) {
      if (*p > 0 && *p % 8 == 0) {
        // A payload load is shortened to the prefix; a ct load cannot be,
        // and only the compare is.
        uint32_t bytes = static_cast<uint32_t>(*p / 8);
        s.exprs.push_back(f.ct ? Load(f, NFT_REG_1) : Load(f, NFT_REG_1, bytes));
        s.exprs.push_back(Cmp(op, BigEndian(iv.lo, f.len).substr(0, bytes)));
      } else {
        s.exprs.push_back(Load(f, NFT_REG_1));
        U128 mask = ~(iv.hi - iv.lo);
        s.exprs.push_back(Bitwise(BigEndian(mask, f.len)));
        s.exprs.push_back(Cmp(op, BigEndian(iv.lo, f.len)));
      }
    } else {
      s.exprs.push_back(Load(f, NFT_REG_1));
      Range(s, iv, f.len, negated);
    }
    stmts_.push_back(std::move(s));
  }

  // A port range: two compares, or one range expression when negated.
  void PortInterval(const Field& f, const Interval& iv) {
    if (iv.lo == iv.hi) return PayloadValue(f, BigEndian(iv.lo, 2), false);
    Need(f);
    Stmt s;
    s.exprs.push_back(Load(f, NFT_REG_1));
    Range(s, iv, 2, false);
    stmts_.push_back(std::move(s));
  }

  static void Range(Stmt& s, const Interval& iv, uint32_t len, bool negated) {
    if (negated) {
      ExprPtr e = NewExpr("range");
      std::string lo = BigEndian(iv.lo, len), hi = BigEndian(iv.hi, len);
      nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
      nftnl_expr_set_u32(e.get(), NFTNL_EXPR_RANGE_OP, NFT_RANGE_NEQ);
      nftnl_expr_set(e.get(), NFTNL_EXPR_RANGE_FROM_DATA, lo.data(), len);
      nftnl_expr_set(e.get(), NFTNL_EXPR_RANGE_TO_DATA, hi.data(), len);
      s.exprs.push_back(std::move(e));
      return;
    }
    s.exprs.push_back(Cmp(NFT_CMP_GTE, BigEndian(iv.lo, len)));
    s.exprs.push_back(Cmp(NFT_CMP_LTE, BigEndian(iv.hi, len)));
  }

  // Loads the key fields into consecutive registers (after their
  // dependencies) and looks them up: in a set (verdict == nullptr) or in a
  // verdict map.
  void Lookup(const std::vector<Field>& key, const std::string& set_name, uint32_t set_id, bool negated, bool map) {
    for (const Field& f : key) Need(f);
    Stmt s;
    uint32_t slot = 0;
    for (const Field& f : key) {
      uint32_t reg = Register(slot);
      s.exprs.push_back(Load(f, reg));
      if (key.size() > 1 && f.meta && f.meta_key == NFT_META_L4PROTO && set_name.find("%d") != std::string::npos) {
        // A host-order integer inside the concatenated key of an anonymous
        // set is converted (a named set's declared type has no byte order
        // for inet_proto, so nft leaves it).
        ExprPtr b = NewExpr("byteorder");
        nftnl_expr_set_u32(b.get(), NFTNL_EXPR_BYTEORDER_SREG, reg);
        nftnl_expr_set_u32(b.get(), NFTNL_EXPR_BYTEORDER_DREG, reg);
        nftnl_expr_set_u32(b.get(), NFTNL_EXPR_BYTEORDER_LEN, f.len);
        nftnl_expr_set_u32(b.get(), NFTNL_EXPR_BYTEORDER_SIZE, 2);
        nftnl_expr_set_u32(b.get(), NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
        s.exprs.push_back(std::move(b));
      }
      slot += Slots(f.len);
    }
    ExprPtr e = NewExpr("lookup");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
    nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set_name.c_str());
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, set_id);
    if (map) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
    if (negated) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
    s.exprs.push_back(std::move(e));
    stmts_.push_back(std::move(s));
  }

  void CtState(uint32_t mask) {
    Stmt s;
    ExprPtr ct = NewExpr("ct");
    nftnl_expr_set_u32(ct.get(), NFTNL_EXPR_CT_DREG, NFT_REG_1);
    nftnl_expr_set_u32(ct.get(), NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
    s.exprs.push_back(std::move(ct));
    std::string m(4, '\0');
    std::memcpy(m.data(), &mask, 4);  // ct state is host order
    s.exprs.push_back(Bitwise(m));
    s.exprs.push_back(Cmp(NFT_CMP_NEQ, std::string(4, '\0')));
    stmts_.push_back(std::move(s));
  }

  void Statement(ExprPtr e) {
    Stmt s;
    s.barrier = true;
    s.exprs.push_back(std::move(e));
    stmts_.push_back(std::move(s));
  }

  // Several expressions that make one statement (immediates, then the
  // statement that reads them).
  void Statement(std::vector<ExprPtr> exprs) {
    Stmt s;
    s.barrier = true;
    s.exprs = std::move(exprs);
    stmts_.push_back(std::move(s));
  }

  // A dependency nft inserts at the head of the rule (for reject).
  void Prepend(uint32_t key, int value) {
    if (key == NFT_META_NFPROTO && net_ == value) return;
    if (key == NFT_META_L4PROTO && l4_ == value) return;
    Stmt s;
    Field f = MetaField(key, 1, 0, kOrderHost);
    s.exprs.push_back(Load(f, NFT_REG_1));
    s.exprs.push_back(Cmp(NFT_CMP_EQ, std::string(1, static_cast<char>(value))));
    stmts_.insert(stmts_.begin(), std::move(s));
    if (key == NFT_META_NFPROTO) net_ = value;
    else l4_ = value;
  }

  // Merges adjacent payload constants as nft does, then adds every
  // expression to the rule.
  void Finish(nftnl_rule* rule) {
    MergePayloads();
    for (Stmt& s : stmts_) {
      if (s.payload_value) {
        Field f;
        f.base = s.base;
        f.offset = s.offset;
        f.len = s.len;
        nftnl_rule_add_expr(rule, Load(f, NFT_REG_1).release());
        nftnl_rule_add_expr(rule, Cmp(s.op, s.value).release());
        continue;
      }
      for (ExprPtr& e : s.exprs) nftnl_rule_add_expr(rule, e.release());
    }
    stmts_.clear();
  }

 private:
  void MergePayloads() {
    size_t begin = 0;
    for (size_t i = 0; i <= stmts_.size(); ++i) {
      if (i < stmts_.size() && !stmts_[i].barrier) continue;
      MergeWindow(begin, i);
      begin = i + 1;
    }
    stmts_.erase(std::remove_if(stmts_.begin(), stmts_.end(),
                                [](const Stmt& s) { return s.payload_value && s.len == 0; }),
                 stmts_.end());
  }

  // nft's payload_do_merge: sorted by (base, offset), a run of adjacent
  // byte-aligned fields with the same operator that fits in 4 bytes (or 16
  // when one of them is already longer than 4) becomes one.
  void MergeWindow(size_t begin, size_t end) {
    std::vector<Stmt*> sa;
    for (size_t i = begin; i < end; ++i)
      if (stmts_[i].payload_value) sa.push_back(&stmts_[i]);
    if (sa.size() < 2) return;
    std::stable_sort(sa.begin(), sa.end(), [](const Stmt* a, const Stmt* b) {
      if (a->base != b->base) return a->base < b->base;
      return a->offset < b->offset;
    });
    Stmt* last = sa[0];
    for (size_t i = 1; i < sa.size(); ++i) {
      Stmt* cur = sa[i];
      uint32_t total = last->len + cur->len;
      bool adjacent = last->base == cur->base && last->offset + last->len == cur->offset;
      bool fits = total <= 16 && (total <= 4 || last->len > 4 || cur->len > 4);
      if (!adjacent || !fits || last->op != cur->op) {
        last = cur;
        continue;
      }
      last->value += cur->value;
      last->len = total;
      cur->len = 0;  // removed
    }
  }

  std::vector<Stmt> stmts_;
  int net_ = 0;
  int l4_ = -1;
};

// --- sets -------------------------------------------------------------------

struct Udata {
  nftnl_udata_buf* buf;
  Udata() : buf(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)) {
    if (!buf) throw std::bad_alloc();
  }
  ~Udata() { nftnl_udata_buf_free(buf); }
  Udata(const Udata&) = delete;
  Udata& operator=(const Udata&) = delete;
};

// nft's typeof description of an expression (NFTNL_UDATA_SET_KEY_TYPEOF).
uint32_t ExprTypeOf(const Field& f) { return f.ct ? kExprCt : f.meta ? kExprMeta : kExprPayload; }

void TypeofData(nftnl_udata_buf* b, const Field& f) {
  if (f.ct) {
    nftnl_udata_put_u32(b, 0, f.ct_key);  // NFTNL_UDATA_CT_KEY
    nftnl_udata_put_u32(b, 1, f.ct_original ? uint32_t{IP_CT_DIR_ORIGINAL} : UINT32_MAX);  // NFTNL_UDATA_CT_DIR
  } else if (f.meta) {
    nftnl_udata_put_u32(b, 0, f.meta_key);  // NFTNL_UDATA_META_KEY
  } else {
    nftnl_udata_put_u32(b, 0, f.desc);      // NFTNL_UDATA_SET_KEY_PAYLOAD_DESC
    nftnl_udata_put_u32(b, 1, f.tmpl);      // NFTNL_UDATA_SET_KEY_PAYLOAD_TYPE
  }
}

void KeyTypeof(nftnl_udata_buf* b, const std::vector<Field>& key, bool from_expressions) {
  nftnl_udata* n1 = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_KEY_TYPEOF);
  if (key.size() == 1) {
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, ExprTypeOf(key[0]));
    nftnl_udata* n2 = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    TypeofData(b, key[0]);
    nftnl_udata_nest_end(b, n2);
  } else {
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprConcat);
    nftnl_udata* n2 = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    if (from_expressions) {
      // nft describes at most four fields (and silently stops there).
      for (size_t i = 0; i < key.size() && i < 4; ++i) {
        nftnl_udata* n3 = nftnl_udata_nest_start(b, static_cast<uint8_t>(i));  // CONCAT_NEST + i
        nftnl_udata_put_u32(b, 0, ExprTypeOf(key[i]));  // CONCAT_SUB_TYPE
        nftnl_udata* n4 = nftnl_udata_nest_start(b, 1);                      // CONCAT_SUB_DATA
        TypeofData(b, key[i]);
        nftnl_udata_nest_end(b, n4);
        nftnl_udata_nest_end(b, n3);
      }
    }
    nftnl_udata_nest_end(b, n2);
  }
  nftnl_udata_nest_end(b, n1);
}

struct SetSpec {
  std::string name;  // "" for anonymous
  std::vector<Field> key;
  bool interval = false;
  bool map = false;
  bool counter = false;  // a named set declared with counters
  std::string comment;   // a named set's comment (nft's NFTNL_UDATA_SET_COMMENT)
  std::string origin;
};

uint32_t KeyType(const std::vector<Field>& key) {
  uint32_t t = 0;
  for (const Field& f : key) t = (t << kTypeBits) | f.type;
  return t;
}

uint32_t KeyLen(const std::vector<Field>& key) {
  if (key.size() == 1) return key[0].len;
  uint32_t n = 0;
  for (const Field& f : key) n += Slots(f.len) * 4;
  return n;
}

// A set without elements yet, with nft's attributes and userdata.
SetPtr MakeSet(const SetSpec& spec, uint32_t id, size_t anon_size) {
  SetPtr s = NewSet();
  bool anon = spec.name.empty();
  bool concat = spec.key.size() > 1;
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, kFamily);
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, anon ? (spec.map ? "__map%d" : "__set%d") : spec.name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  uint32_t flags = 0;
  if (anon) flags |= NFT_SET_ANONYMOUS | NFT_SET_CONSTANT;
  if (spec.interval) flags |= NFT_SET_INTERVAL;
  if (spec.map) flags |= NFT_SET_MAP;
  if (spec.interval && concat) flags |= NFT_SET_CONCAT;
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, flags);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, KeyType(spec.key));
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, KeyLen(spec.key));
  if (spec.map) {
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, 16);
  }
  if (anon) nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, static_cast<uint32_t>(anon_size));
  if (spec.interval && concat) {
    uint8_t lens[16] = {};
    for (size_t i = 0; i < spec.key.size() && i < 16; ++i) lens[i] = static_cast<uint8_t>(spec.key[i].len);
    nftnl_set_set_data(s.get(), NFTNL_SET_DESC_CONCAT, lens, static_cast<uint32_t>(spec.key.size()));
  }
  Udata u;
  uint32_t key_order = concat ? kOrderInvalid : anon ? spec.key[0].expr_order : spec.key[0].type_order;
  nftnl_udata_put_u32(u.buf, NFTNL_UDATA_SET_KEYBYTEORDER, key_order);
  if (spec.map) nftnl_udata_put_u32(u.buf, NFTNL_UDATA_SET_DATABYTEORDER, kOrderInvalid);
  if (anon && spec.interval && !spec.map) nftnl_udata_put_u32(u.buf, NFTNL_UDATA_SET_MERGE_ELEMENTS, 1);
  // Anonymous sets describe the expressions of their key; named ones are
  // declared by type, which nft describes only for concatenations.
  if (anon) KeyTypeof(u.buf, spec.key, true);
  else if (concat) KeyTypeof(u.buf, spec.key, false);
  if (spec.map) {
    if (anon) {
      nftnl_udata* n1 = nftnl_udata_nest_start(u.buf, NFTNL_UDATA_SET_DATA_TYPEOF);
      nftnl_udata_put_u32(u.buf, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprVerdict);
      nftnl_udata* n2 = nftnl_udata_nest_start(u.buf, NFTNL_UDATA_SET_TYPEOF_DATA);
      nftnl_udata_nest_end(u.buf, n2);
      nftnl_udata_nest_end(u.buf, n1);
    }
    nftnl_udata_put_u32(u.buf, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
  }
  if (!spec.comment.empty()) nftnl_udata_put_strz(u.buf, NFTNL_UDATA_SET_COMMENT, spec.comment.c_str());
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(u.buf), nftnl_udata_buf_len(u.buf));
  if (spec.counter) nftnl_set_set_data(s.get(), NFTNL_SET_EXPR, NewExpr("counter").release(), 0);
  return s;
}

// One element before encoding: per key field an interval of values, and for
// maps a verdict.
struct Elem {
  std::vector<Interval> key;
  bool counter = false;
  bool has_verdict = false;
  int32_t verdict = 0;
  std::string chain;
};

std::string FieldValue(const Field& f, U128 v, const std::vector<std::string>& ifnames) {
  if (f.meta && (f.meta_key == NFT_META_IIFNAME || f.meta_key == NFT_META_OIFNAME))
    return IfnameBytes(ifnames.at(static_cast<size_t>(v)));
  return BigEndian(v, f.len);
}

nftnl_set_elem* NewElem() {
  nftnl_set_elem* e = nftnl_set_elem_alloc();
  if (!e) throw std::bad_alloc();
  return e;
}

void SetKey(nftnl_set_elem* e, uint16_t attr, const std::string& bytes) {
  nftnl_set_elem_set(e, attr, bytes.data(), static_cast<uint32_t>(bytes.size()));
}

void SetVerdict(nftnl_set_elem* e, const Elem& el) {
  if (!el.has_verdict) return;
  nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(el.verdict));
  if (!el.chain.empty()) nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, el.chain.c_str());
}

void SetCounter(nftnl_set_elem* e, const Elem& el) {
  if (el.counter) nftnl_set_elem_set(e, NFTNL_SET_ELEM_EXPR, NewExpr("counter").release(), 0);
}

// The elements nft sends for a set: single values as they are; an interval
// set of one field as boundaries (a leading end at zero, each interval's
// start, and its end unless it reaches the top); a concatenation with
// intervals as key/key-end pairs.
// *size: what nft declares as the anonymous set's size (for an interval set
// of one field it counts an open interval's missing end too).
std::vector<nftnl_set_elem*> Encode(const SetSpec& spec, std::vector<Elem> elems,
                                    const std::vector<std::string>& ifnames, size_t* size) {
  std::vector<nftnl_set_elem*> out;
  *size = elems.size();
  bool anon = spec.name.empty();
  if (spec.key.size() > 1 || !spec.interval) {
    for (const Elem& el : elems) {
      nftnl_set_elem* e = NewElem();
      std::string key, end;
      for (size_t i = 0; i < spec.key.size(); ++i) {
        std::string lo = FieldValue(spec.key[i], el.key[i].lo, ifnames);
        std::string hi = FieldValue(spec.key[i], el.key[i].hi, ifnames);
        key += spec.key.size() > 1 ? Padded(lo) : lo;
        end += spec.key.size() > 1 ? Padded(hi) : hi;
      }
      SetKey(e, NFTNL_SET_ELEM_KEY, key);
      if (spec.interval) SetKey(e, NFTNL_SET_ELEM_KEY_END, end);
      SetCounter(e, el);
      SetVerdict(e, el);
      out.push_back(e);
    }
    return out;
  }
  const Field& f = spec.key[0];
  U128 top = f.len >= 16 ? ~U128{0} : (U128{1} << (8 * f.len)) - 1;
  std::stable_sort(elems.begin(), elems.end(), [](const Elem& a, const Elem& b) { return a.key[0].lo < b.key[0].lo; });
  if (anon) {
    // nft merges overlapping and adjacent intervals of an anonymous set.
    std::vector<Elem> merged;
    for (Elem& el : elems) {
      // (Maps are only sorted.)
      if (!spec.map && !merged.empty() && merged.back().key[0].hi != top &&
          merged.back().key[0].hi + 1 >= el.key[0].lo) {
        merged.back().key[0].hi = std::max(merged.back().key[0].hi, el.key[0].hi);
        continue;
      }
      merged.push_back(std::move(el));
    }
    elems = std::move(merged);
  }
  *size = 2 * elems.size() + (!elems.empty() && elems[0].key[0].lo != 0 ? 1 : 0);
  bool have_end = false;
  std::string end_key;
  for (size_t i = 0; i < elems.size(); ++i) {
    const Elem& el = elems[i];
    if (i == 0 && el.key[0].lo != 0) {
      nftnl_set_elem* z = NewElem();
      SetKey(z, NFTNL_SET_ELEM_KEY, FieldValue(f, 0, ifnames));
      nftnl_set_elem_set_u32(z, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
      out.push_back(z);
    }
    std::string start = FieldValue(f, el.key[0].lo, ifnames);
    if (have_end) {
      // The previous interval's end; an anonymous set drops it where the
      // next interval starts.
      if (!anon || end_key != start) {
        nftnl_set_elem* x = NewElem();
        SetKey(x, NFTNL_SET_ELEM_KEY, end_key);
        nftnl_set_elem_set_u32(x, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        out.push_back(x);
      }
      have_end = false;
    }
    nftnl_set_elem* e = NewElem();
    SetKey(e, NFTNL_SET_ELEM_KEY, start);
    SetCounter(e, el);
    SetVerdict(e, el);
    if (el.key[0].hi == top) {
      // An interval that reaches the top has no end element; nft notes it
      // in the element's userdata.
      Udata u;
      nftnl_udata_put_u32(u.buf, NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(u.buf), nftnl_udata_buf_len(u.buf));
    } else {
      have_end = true;
      end_key = FieldValue(f, el.key[0].hi + 1, ifnames);
    }
    out.push_back(e);
  }
  if (have_end) {
    nftnl_set_elem* x = NewElem();
    SetKey(x, NFTNL_SET_ELEM_KEY, end_key);
    nftnl_set_elem_set_u32(x, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
    out.push_back(x);
  }
  return out;
}

// --- the ruleset ------------------------------------------------------------

// "crm.fw:23-24 (rule in chain forward)": where a kernel rule comes from.
std::string Origin(const std::string& comment, const std::string& chain) {
  std::string where = "rule in chain " + chain;
  size_t colon = comment.find(':');
  if (colon != std::string::npos && colon + 1 < comment.size() && isdigit(static_cast<unsigned char>(comment[colon + 1]))) {
    size_t end = comment.find(' ', colon);
    return comment.substr(0, end) + " (" + where + ")";
  }
  return where + (comment.empty() ? "" : " \"" + comment + "\"");
}

int32_t KernelVerdict(const nftables::Verdict& v) {
  using K = nftables::Verdict::Kind;
  switch (v.kind) {
    case K::kAccept: return NF_ACCEPT;
    case K::kDrop: return NF_DROP;
    case K::kReturn: return NFT_RETURN;
    case K::kJump: return NFT_JUMP;
    case K::kGoto: return NFT_GOTO;
    case K::kNone: break;
  }
  return NFT_CONTINUE;
}

// The nftables model (backends/nftables/model.h) as libnftnl objects: each
// statement becomes the expressions nft makes of it.
class Linearizer {
 public:
  explicit Linearizer(const nftables::Table& t) : t_(t) {}

  TableImage Build() {
    image_.present = true;
    image_.table = NewTable();
    nftnl_table_set_u32(image_.table.get(), NFTNL_TABLE_FAMILY, kFamily);
    nftnl_table_set_str(image_.table.get(), NFTNL_TABLE_NAME, kTableName);
    for (const auto& c : t_.chains) image_.chains.push_back(Chain(c));
    for (const auto& h : t_.helpers) image_.objects.push_back(Helper(h));
    for (const auto& s : t_.sets) NamedSet(s);
    for (const auto& c : t_.chains)
      for (const auto& r : c.rules) Rule(c.name, r);
    return std::move(image_);
  }

 private:
  static ObjPtr Helper(const nftables::Helper& h) {
    ObjPtr o = NewObj();
    nftnl_obj_set_u32(o.get(), NFTNL_OBJ_FAMILY, kFamily);
    nftnl_obj_set_str(o.get(), NFTNL_OBJ_TABLE, kTableName);
    nftnl_obj_set_str(o.get(), NFTNL_OBJ_NAME, h.name.c_str());
    nftnl_obj_set_u32(o.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_CT_HELPER);
    nftnl_obj_set_str(o.get(), NFTNL_OBJ_CT_HELPER_NAME, h.kind.c_str());
    nftnl_obj_set_u8(o.get(), NFTNL_OBJ_CT_HELPER_L4PROTO, static_cast<uint8_t>(h.proto));
    nftnl_obj_set_u16(o.get(), NFTNL_OBJ_CT_HELPER_L3PROTO, NFPROTO_INET);
    return o;
  }

  static ChainPtr Chain(const nftables::Chain& c) {
    ChainPtr ch = NewChain();
    nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, kFamily);
    nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, kTableName);
    nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
    if (c.hook != ir::Hook::kNone) {
      uint32_t hook = 0;
      switch (c.hook) {
        case ir::Hook::kInput: hook = NF_INET_LOCAL_IN; break;
        case ir::Hook::kForward: hook = NF_INET_FORWARD; break;
        case ir::Hook::kOutput: hook = NF_INET_LOCAL_OUT; break;
        case ir::Hook::kMarks:
        case ir::Hook::kDnat: hook = NF_INET_PRE_ROUTING; break;
        case ir::Hook::kSnat: hook = NF_INET_POST_ROUTING; break;
        case ir::Hook::kMss: hook = NF_INET_FORWARD; break;
        case ir::Hook::kHelpers: hook = NF_INET_PRE_ROUTING; break;
        case ir::Hook::kNone: break;
      }
      const ir::HookInfo& info = ir::Info(c.hook);
      nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, hook);
      nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, info.priority);
      nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, info.type);
      nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, c.policy == ir::Verdict::kAccept ? NF_ACCEPT : NF_DROP);
    }
    return ch;
  }

  uint32_t AddSet(const SetSpec& spec, std::vector<Elem> elems) {
    uint32_t id = ++next_set_id_;
    size_t size = 0;
    std::vector<nftnl_set_elem*> encoded = Encode(spec, std::move(elems), t_.ifnames, &size);
    SetPtr s = MakeSet(spec, id, size);
    for (nftnl_set_elem* e : encoded) nftnl_set_elem_add(s.get(), e);
    named_ids_[spec.name] = id;
    image_.sets.push_back(std::move(s));
    image_.set_origins.push_back(spec.origin);
    return id;
  }

  // The elements of an anonymous or named set: intervals of one field, or a
  // merged rule's elements with their verdicts.
  static std::vector<Elem> Elements(const nftables::Elements& from, bool inline_set) {
    std::vector<Elem> out;
    if (const nftables::MergedRule* m = from.merged) {
      out.reserve(m->elements.size());
      for (size_t i = 0; i < m->elements.size(); ++i) {
        const nftables::Element& e = m->elements[i];
        Elem el;
        el.key.assign(m->key_of(i), m->key_of(i) + m->key.size());
        el.counter = e.counter && inline_set;
        if (m->is_map()) {
          nftables::Verdict v = nftables::ActionVerdict(m->actions[e.action]);
          el.has_verdict = true;
          el.verdict = KernelVerdict(v);
          el.chain = v.chain;
        }
        out.push_back(std::move(el));
      }
      return out;
    }
    for (const auto& iv : from.Intervals()) {
      Elem e;
      e.key = {iv};
      out.push_back(std::move(e));
    }
    return out;
  }

  void NamedSet(const nftables::Set& s) {
    SetSpec spec;
    spec.name = s.name;
    spec.key = FieldsOf(s.key);
    spec.interval = s.interval;
    spec.map = s.map;
    spec.counter = s.counters;
    spec.comment = s.comment;
    spec.origin = s.origin;
    if (s.runtime) image_.runtime_sets.push_back(s.name);
    AddSet(spec, s.runtime ? std::vector<Elem>{} : Elements(s.elements, false));
  }

  void Lookup(RuleBuilder& b, const nftables::Stmt& s, const std::string& origin) {
    std::vector<Field> key = FieldsOf(s.fields);
    if (!s.name.empty()) {
      b.Lookup(key, s.name, named_ids_.count(s.name) ? named_ids_[s.name] : 0, s.negated, s.map);
      return;
    }
    SetSpec spec;
    spec.key = key;
    spec.interval = s.interval;
    spec.map = s.map;
    spec.origin = origin;
    uint32_t id = AddSet(spec, Elements(s.elements, true));
    b.Lookup(key, s.map ? "__map%d" : "__set%d", id, s.negated, s.map);
  }

  // field == value, as nft compiles it: a constant, a prefix, a range.
  static void Match(RuleBuilder& b, const nftables::Stmt& s) {
    nftables::Field id = s.fields[0];
    Field f = FieldOf(id);
    switch (nftables::Info(id).values) {
      case nftables::ValueKind::kIfname: return b.Ifname(f, s.name);
      case nftables::ValueKind::kNfproto:
      case nftables::ValueKind::kProto:
        return b.MetaEq(f.meta_key, std::string(1, static_cast<char>(s.value.lo)));
      case nftables::ValueKind::kIpv4: return b.AddressInterval(f, Family::kV4, s.value, s.negated);
      case nftables::ValueKind::kIpv6: return b.AddressInterval(f, Family::kV6, s.value, s.negated);
      case nftables::ValueKind::kPort: return b.PortInterval(f, s.value);
      case nftables::ValueKind::kIcmpType:
      case nftables::ValueKind::kIcmpv6Type:
      case nftables::ValueKind::kNumber:
        return b.PayloadValue(f, BigEndian(s.value.lo, f.len), s.negated);
      case nftables::ValueKind::kMark:
        return b.LoadCompare(f, HostU32(static_cast<uint32_t>(s.value.lo)), s.negated);
    }
  }

  // nft's registers for a NAT statement's values: one 128-bit register each,
  // in order (address min, max, port min, max).
  static void Nat(RuleBuilder& b, const nftables::Stmt& s) {
    const Translation& x = *s.xlate;
    std::vector<ExprPtr> exprs;
    uint32_t reg = NFT_REG_1;
    uint32_t addr_min = 0, addr_max = 0, port_min = 0, port_max = 0;
    Family f = s.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4;
    uint32_t alen = f == Family::kV6 ? 16 : 4;
    if (x.has_address()) {
      const Interval& iv = *x.to(f);
      addr_min = reg++;
      exprs.push_back(ImmediateData(addr_min, BigEndian(iv.lo, alen)));
      if (iv.hi != iv.lo) {
        addr_max = reg++;
        exprs.push_back(ImmediateData(addr_max, BigEndian(iv.hi, alen)));
      }
    }
    if (x.port_lo) {
      port_min = reg++;
      exprs.push_back(ImmediateData(port_min, BigEndian(x.port_lo, 2)));
      if (x.port_hi != x.port_lo) {
        port_max = reg++;
        exprs.push_back(ImmediateData(port_max, BigEndian(x.port_hi, 2)));
      }
    }
    ExprPtr e;
    switch (x.kind) {
      case Translation::Kind::kSnat:
      case Translation::Kind::kDnat: {
        e = NewExpr("nat");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_TYPE,
                           x.kind == Translation::Kind::kSnat ? NFT_NAT_SNAT : NFT_NAT_DNAT);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_FAMILY, f == Family::kV6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
        // The kernel reports a missing maximum as the minimum: the image
        // says so too, so that fwc verify finds it equal.
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_min);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_ADDR_MAX, addr_max ? addr_max : addr_min);
        if (port_min) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_PROTO_MIN, port_min);
        if (port_min) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_PROTO_MAX, port_max ? port_max : port_min);
        // What the kernel reports back: it adds these flags for the
        // registers it is given.
        uint32_t flags = NF_NAT_RANGE_MAP_IPS | (port_min ? NF_NAT_RANGE_PROTO_SPECIFIED : 0);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_FLAGS, flags);
        break;
      }
      case Translation::Kind::kMasquerade:
        e = NewExpr("masq");
        if (port_min) {
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_MASQ_REG_PROTO_MIN, port_min);
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_MASQ_REG_PROTO_MAX, port_max ? port_max : port_min);
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
        }
        break;
      case Translation::Kind::kRedirect:
        e = NewExpr("redir");
        if (port_min) {
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_REDIR_REG_PROTO_MIN, port_min);
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_REDIR_REG_PROTO_MAX, port_max ? port_max : port_min);
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
        }
        break;
      default: return;
    }
    exprs.push_back(std::move(e));
    b.Statement(std::move(exprs));
  }

  static uint32_t StateMask(uint8_t states) {
    uint32_t m = 0;
    if (states & kStateNew) m |= NF_CT_STATE_BIT(IP_CT_NEW);
    if (states & kStateEstablished) m |= NF_CT_STATE_BIT(IP_CT_ESTABLISHED);
    if (states & kStateRelated) m |= NF_CT_STATE_BIT(IP_CT_RELATED);
    if (states & kStateInvalid) m |= NF_CT_STATE_INVALID_BIT;
    if (states & kStateUntracked) m |= NF_CT_STATE_UNTRACKED_BIT;
    return m;
  }

  static ExprPtr Reject(uint32_t type, uint8_t code) {
    ExprPtr e = NewExpr("reject");
    nftnl_expr_set_u32(e.get(), NFTNL_EXPR_REJECT_TYPE, type);
    nftnl_expr_set_u8(e.get(), NFTNL_EXPR_REJECT_CODE, code);
    return e;
  }

  void Statement(RuleBuilder& b, const nftables::Stmt& s, const std::string& origin) {
    using K = nftables::Stmt::Kind;
    switch (s.kind) {
      case K::kMatch: return Match(b, s);
      case K::kLookup: return Lookup(b, s, origin);
      case K::kCt:
        if (s.ct == ir::CtState::kEstablishedRelated)
          b.CtState(NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
        else
          b.CtState(NF_CT_STATE_INVALID_BIT);
        return;
      case K::kLimit: {
        ExprPtr e = NewExpr("limit");
        uint64_t unit = s.unit == "second" ? 1 : s.unit == "minute" ? 60 : s.unit == "hour" ? 3600
                        : s.unit == "day"  ? 86400
                                           : 604800;
        nftnl_expr_set_u64(e.get(), NFTNL_EXPR_LIMIT_RATE, s.rate);
        nftnl_expr_set_u64(e.get(), NFTNL_EXPR_LIMIT_UNIT, unit);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_BURST, 5);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_FLAGS, 0);
        return b.Statement(std::move(e));
      }
      case K::kCounter: return b.Statement(NewExpr("counter"));
      case K::kLog: {
        ExprPtr e = NewExpr("log");
        if (!s.prefix.empty()) nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOG_PREFIX, s.prefix.c_str());
        return b.Statement(std::move(e));
      }
      case K::kVerdict:
        return b.Statement(Immediate(static_cast<uint32_t>(KernelVerdict(s.verdict)), s.verdict.chain));
      case K::kCtStates: return b.CtState(StateMask(s.states));
      case K::kSetMark: {
        Field f = FieldOf(s.fields[0]);
        std::vector<ExprPtr> exprs;
        exprs.push_back(ImmediateData(NFT_REG_1, HostU32(s.mark)));
        ExprPtr e = NewExpr(f.ct ? "ct" : "meta");
        if (f.ct) {
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_KEY, f.ct_key);
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_SREG, NFT_REG_1);
        } else {
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, f.meta_key);
          nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_SREG, NFT_REG_1);
        }
        exprs.push_back(std::move(e));
        return b.Statement(std::move(exprs));
      }
      case K::kNat: return Nat(b, s);
      case K::kSetHelper: {
        ExprPtr e = NewExpr("objref");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_CT_HELPER);
        nftnl_expr_set_str(e.get(), NFTNL_EXPR_OBJREF_IMM_NAME, s.name.c_str());
        return b.Statement(std::move(e));
      }
      case K::kClampMss: {
        // As nft compiles "tcp flags syn tcp option maxseg size set rt mtu".
        b.MetaEq(NFT_META_L4PROTO, std::string(1, static_cast<char>(kProtoTcp)));
        Field flags;
        flags.base = NFT_PAYLOAD_TRANSPORT_HEADER;
        flags.offset = 13;
        flags.len = 1;
        std::vector<ExprPtr> match;
        match.push_back(Load(flags, NFT_REG_1));
        match.push_back(Bitwise(std::string(1, '\x02')));
        match.push_back(Cmp(NFT_CMP_NEQ, std::string(1, '\0')));
        b.Statement(std::move(match));
        std::vector<ExprPtr> set;
        ExprPtr rt = NewExpr("rt");
        nftnl_expr_set_u32(rt.get(), NFTNL_EXPR_RT_DREG, NFT_REG_1);
        nftnl_expr_set_u32(rt.get(), NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
        set.push_back(std::move(rt));
        ExprPtr order = NewExpr("byteorder");
        nftnl_expr_set_u32(order.get(), NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
        nftnl_expr_set_u32(order.get(), NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
        nftnl_expr_set_u32(order.get(), NFTNL_EXPR_BYTEORDER_LEN, 2);
        nftnl_expr_set_u32(order.get(), NFTNL_EXPR_BYTEORDER_SIZE, 2);
        nftnl_expr_set_u32(order.get(), NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
        set.push_back(std::move(order));
        ExprPtr x = NewExpr("exthdr");
        nftnl_expr_set_u32(x.get(), NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
        nftnl_expr_set_u8(x.get(), NFTNL_EXPR_EXTHDR_TYPE, 2);  // TCPOPT_MAXSEG
        nftnl_expr_set_u32(x.get(), NFTNL_EXPR_EXTHDR_OFFSET, 2);
        nftnl_expr_set_u32(x.get(), NFTNL_EXPR_EXTHDR_LEN, 2);
        nftnl_expr_set_u32(x.get(), NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
        set.push_back(std::move(x));
        return b.Statement(std::move(set));
      }
      case K::kConnlimit: {
        ExprPtr e = NewExpr("connlimit");
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CONNLIMIT_COUNT, static_cast<uint32_t>(s.rate));
        nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CONNLIMIT_FLAGS, 0);
        return b.Statement(std::move(e));
      }
      case K::kReject:
        // nft puts the protocol a reject needs at the head of the rule.
        if (s.reject == ir::Verdict::kRejectTcpReset) {
          b.Prepend(NFT_META_L4PROTO, kProtoTcp);
          b.Statement(Reject(NFT_REJECT_TCP_RST, 0));
        } else if (s.family == ir::RuleFamily::kV4) {
          b.Prepend(NFT_META_NFPROTO, NFPROTO_IPV4);
          b.Statement(Reject(NFT_REJECT_ICMP_UNREACH, 3));  // port-unreachable
        } else if (s.family == ir::RuleFamily::kV6) {
          b.Prepend(NFT_META_NFPROTO, NFPROTO_IPV6);
          b.Statement(Reject(NFT_REJECT_ICMP_UNREACH, 4));  // ICMPV6_PORT_UNREACH
        } else {
          b.Statement(Reject(NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_PORT_UNREACH));
        }
        return;
    }
  }

  void Rule(const std::string& chain, const nftables::Rule& r) {
    RulePtr rule = NewRule();
    nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, kFamily);
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, kTableName);
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, chain.c_str());
    std::string origin = Origin(r.ir_comment, chain);
    RuleBuilder b;
    for (const auto& s : r.stmts) Statement(b, s, origin);
    b.Finish(rule.get());
    Udata u;
    nftnl_udata_put_strz(u.buf, NFTNL_UDATA_RULE_COMMENT, r.comment.c_str());
    nftnl_rule_set_data(rule.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u.buf), nftnl_udata_buf_len(u.buf));
    image_.rules.push_back(std::move(rule));
    image_.rule_origins.push_back(origin);
  }

  const nftables::Table& t_;
  TableImage image_;
  uint32_t next_set_id_ = 0;
  std::map<std::string, uint32_t> named_ids_;
};

}  // namespace

TableImage BuildImage(const ir::Ruleset& rs, const CodegenOptions& options) {
  nftables::MergeOptions mo;
  mo.enabled = options.merge_sets;
  nftables::MergedRuleset ms = nftables::MergeSets(rs, mo);
  return Linearizer(nftables::BuildTable(rs, ms)).Build();
}

}  // namespace fwc::netlink
