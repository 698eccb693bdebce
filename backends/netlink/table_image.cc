#include "backends/netlink/table_image.h"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "backends/netlink/nl_message.h"

namespace fwc::netlink {

TablePtr NewTable() { if (auto* p = nftnl_table_alloc()) return TablePtr(p); throw std::bad_alloc(); }
ChainPtr NewChain() { if (auto* p = nftnl_chain_alloc()) return ChainPtr(p); throw std::bad_alloc(); }
SetPtr NewSet() { if (auto* p = nftnl_set_alloc()) return SetPtr(p); throw std::bad_alloc(); }
RulePtr NewRule() { if (auto* p = nftnl_rule_alloc()) return RulePtr(p); throw std::bad_alloc(); }
ObjPtr NewObj() { if (auto* p = nftnl_obj_alloc()) return ObjPtr(p); throw std::bad_alloc(); }
FlowtablePtr NewFlowtable() { if (auto* p = nftnl_flowtable_alloc()) return FlowtablePtr(p); throw std::bad_alloc(); }
ExprPtr NewExpr(const char* name) {
  if (auto* p = nftnl_expr_alloc(name)) return ExprPtr(p);
  throw std::bad_alloc();
}

namespace {

const char* Str(const char* s) { return s ? s : ""; }

bool IsAnonymous(const nftnl_set* s) {
  return nftnl_set_is_set(s, NFTNL_SET_FLAGS) && (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS);
}

std::string Hex(const void* data, uint32_t len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  const auto* p = static_cast<const unsigned char*>(data);
  for (uint32_t i = 0; i < len; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

// Userdata as a comment when it is exactly one comment, else as hex.
std::string Userdata(const void* data, uint32_t len, uint8_t comment_type) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (len >= 3 && p[0] == comment_type && p[1] + 2u == len && p[len - 1] == 0 &&
      std::memchr(p + 2, 0, len - 3) == nullptr)
    return "comment \"" + std::string(reinterpret_cast<const char*>(p + 2), len - 3) + "\"";
  return "udata " + Hex(data, len);
}

std::string ExprText(const nftnl_expr* e) {
  char buf[4096];
  buf[0] = 0;
  nftnl_expr_snprintf(buf, sizeof buf, e, NFTNL_OUTPUT_DEFAULT, 0);
  std::string s = buf;
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

class Renderer {
 public:
  explicit Renderer(const TableImage& image) : image_(image) {}

  std::string Set(const nftnl_set* s, bool with_name, bool with_elements = true) {
    std::string out;
    if (with_name) out += std::string("set ") + Str(nftnl_set_get_str(s, NFTNL_SET_NAME)) + " ";
    out += "flags 0x" + HexU32(nftnl_set_get_u32(s, NFTNL_SET_FLAGS));
    out += " key " + std::to_string(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE)) + "/" +
           std::to_string(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
    if (nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE))
      out += " data " + HexU32(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE)) + "/" +
             std::to_string(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN));
    if (nftnl_set_is_set(s, NFTNL_SET_OBJ_TYPE)) out += " obj " + std::to_string(nftnl_set_get_u32(s, NFTNL_SET_OBJ_TYPE));
    if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
      out += " timeout " + std::to_string(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT));
    if (nftnl_set_is_set(s, NFTNL_SET_GC_INTERVAL) && nftnl_set_get_u32(s, NFTNL_SET_GC_INTERVAL))
      out += " gc " + std::to_string(nftnl_set_get_u32(s, NFTNL_SET_GC_INTERVAL));
    if (nftnl_set_is_set(s, NFTNL_SET_POLICY) && nftnl_set_get_u32(s, NFTNL_SET_POLICY) != NFT_SET_POL_PERFORMANCE)
      out += " policy " + std::to_string(nftnl_set_get_u32(s, NFTNL_SET_POLICY));
    if (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE) && nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE))
      out += " size " + std::to_string(nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE));
    if (nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT)) {
      uint32_t len = 0;
      const auto* f = static_cast<const uint8_t*>(nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &len));
      out += " concat";
      for (uint32_t i = 0; i < len && f[i]; ++i) out += (i ? "," : " ") + std::to_string(f[i]);
    }
    if (nftnl_set_is_set(s, NFTNL_SET_USERDATA)) {
      uint32_t len = 0;
      const void* d = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
      out += " udata " + Hex(d, len);
    }
    std::string set_exprs;
    nftnl_set_expr_foreach(s, [](nftnl_expr* e, void* data) {
      *static_cast<std::string*>(data) += std::string(" expr ") + Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
      return 0;
    }, &set_exprs);
    out += set_exprs;
    // The elements of a set with expressions get copies of them from the
    // kernel: only the set's are shown.
    struct Acc {
      std::vector<std::string> elems;
      bool with_exprs;
    } acc{{}, set_exprs.empty()};
    nftnl_set_elem_foreach(const_cast<nftnl_set*>(s), [](nftnl_set_elem* e, void* data) {
      auto* a = static_cast<Acc*>(data);
      a->elems.push_back(Element(e, a->with_exprs));
      return 0;
    }, &acc);
    std::vector<std::string>& elems = acc.elems;
    if (!with_elements) return out + " elements not compared";
    std::sort(elems.begin(), elems.end());
    out += " elements {";
    for (size_t i = 0; i < elems.size(); ++i) out += (i ? ", " : " ") + elems[i];
    out += " }";
    return out;
  }

  std::string Rule(const nftnl_rule* r) {
    std::string out = std::string("rule ") + Str(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)) + ":";
    nftnl_expr_iter* it = nftnl_expr_iter_create(r);
    if (!it) throw std::bad_alloc();
    for (nftnl_expr* e = nftnl_expr_iter_next(it); e; e = nftnl_expr_iter_next(it)) out += " [ " + Expr(e) + " ]";
    nftnl_expr_iter_destroy(it);
    if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
      uint32_t len = 0;
      const void* d = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
      out += " " + Userdata(d, len, NFTNL_UDATA_RULE_COMMENT);
    }
    return out;
  }

 private:
  static std::string HexU32(uint32_t v) {
    char b[16];
    snprintf(b, sizeof b, "%x", v);
    return b;
  }

  static std::string Element(nftnl_set_elem* e, bool with_exprs) {
    std::string out;
    uint32_t len = 0;
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY)) {
      const void* k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
      out += Hex(k, len);
    } else {
      out += "*";
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
      const void* k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
      out += "-" + Hex(k, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) && nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS))
      out += " flags " + std::to_string(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS));
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
      out += " verdict " + std::to_string(static_cast<int32_t>(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT)));
      if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
        out += std::string(" ") + Str(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
      const void* d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
      out += " data " + Hex(d, len);
    }
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_OBJREF))
      out += std::string(" obj ") + Str(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_OBJREF));
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
      out += " timeout " + std::to_string(nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT));
    if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
      const void* d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
      out += " udata " + Hex(d, len);
    }
    if (with_exprs)
      nftnl_set_elem_expr_foreach(e, [](nftnl_expr* x, void* data) {
        *static_cast<std::string*>(data) += std::string(" expr ") + Str(nftnl_expr_get_str(x, NFTNL_EXPR_NAME));
        return 0;
      }, &out);
    return out;
  }

  std::string Expr(const nftnl_expr* e) {
    std::string name = Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
    // Counters and quotas carry state that changes with traffic.
    if (name == "counter") return name;
    if (name == "log") {
      // The kernel reports the default level (warning) even when none was
      // given.
      std::string out = "log";
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_PREFIX))
        out += std::string(" prefix \"") + Str(nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX)) + "\"";
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_GROUP))
        out += " group " + std::to_string(nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_GROUP));
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_SNAPLEN))
        out += " snaplen " + std::to_string(nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_SNAPLEN));
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_QTHRESHOLD))
        out += " qthreshold " + std::to_string(nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_QTHRESHOLD));
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_LEVEL) && nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_LEVEL) != 4)
        out += " level " + std::to_string(nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_LEVEL));
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_FLAGS) && nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_FLAGS))
        out += " flags " + std::to_string(nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_FLAGS));
      return out;
    }
    if (name == "lookup") {
      std::string out = "lookup reg " + std::to_string(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG)) + " set ";
      out += SetRef(Str(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET)), e, NFTNL_EXPR_LOOKUP_SET_ID);
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG))
        out += " dreg " + std::to_string(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG));
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) && nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS))
        out += " flags 0x" + HexU32(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS));
      return out;
    }
    return name + " " + ExprText(e);
  }

  // A named set by name; an anonymous one by its content.
  std::string SetRef(const std::string& name, const nftnl_expr* e, uint16_t id_attr) {
    uint32_t id = 0;
    const uint32_t* idp = nullptr;
    if (nftnl_expr_is_set(e, id_attr)) {
      id = nftnl_expr_get_u32(e, id_attr);
      idp = &id;
    }
    const nftnl_set* s = image_.FindSet(name, idp);
    if (!s) return name + " (missing)";
    if (!IsAnonymous(s)) return name;
    return "{ " + Set(s, false) + " }";
  }

  const TableImage& image_;
};

}  // namespace

const nftnl_set* TableImage::FindSet(const std::string& name, const uint32_t* id) const {
  if (id && *id) {
    for (const auto& s : sets)
      if (nftnl_set_is_set(s.get(), NFTNL_SET_ID) && nftnl_set_get_u32(s.get(), NFTNL_SET_ID) == *id) return s.get();
  }
  for (const auto& s : sets)
    if (name == Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME))) return s.get();
  return nullptr;
}

namespace {

// The string attribute `type` of nftnl userdata (a TLV list), "" if none.
std::string UdataString(const void* data, uint32_t len, uint8_t type) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (uint32_t off = 0; off + 2 <= len;) {
    uint8_t t = p[off], l = p[off + 1];
    if (off + 2 + l > len) break;
    if (t == type && l > 0)
      return std::string(reinterpret_cast<const char*>(p + off + 2), strnlen(reinterpret_cast<const char*>(p + off + 2), l));
    off += 2 + l;
  }
  return "";
}

}  // namespace

std::string RuleComment(const nftnl_rule* rule) {
  if (!nftnl_rule_is_set(rule, NFTNL_RULE_USERDATA)) return "";
  uint32_t len = 0;
  const void* d = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
  return UdataString(d, len, NFTNL_UDATA_RULE_COMMENT);
}

std::string SetComment(const nftnl_set* set) {
  if (!nftnl_set_is_set(set, NFTNL_SET_USERDATA)) return "";
  uint32_t len = 0;
  const void* d = nftnl_set_get_data(set, NFTNL_SET_USERDATA, &len);
  return UdataString(d, len, NFTNL_UDATA_SET_COMMENT);
}

CanonicalParts CanonicalSplit(const TableImage& image, const std::vector<std::string>& without_elements,
                              bool with_rules) {
  CanonicalParts parts;
  std::vector<std::string>& out = parts.head;
  if (!image.present) return parts;
  Renderer r(image);
  std::string t = "table";
  uint32_t flags = nftnl_table_is_set(image.table.get(), NFTNL_TABLE_FLAGS)
                       ? nftnl_table_get_u32(image.table.get(), NFTNL_TABLE_FLAGS) : 0;
  t += " flags " + std::to_string(flags);
  if (nftnl_table_is_set(image.table.get(), NFTNL_TABLE_USERDATA)) {
    uint32_t len = 0;
    const void* d = nftnl_table_get_data(image.table.get(), NFTNL_TABLE_USERDATA, &len);
    t += " udata " + Hex(d, len);
  }
  out.push_back(t);
  for (const auto& s : image.sets) {
    if (IsAnonymous(s.get())) continue;
    std::string name = Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
    bool elements = std::find(without_elements.begin(), without_elements.end(), name) == without_elements.end();
    out.push_back(r.Set(s.get(), true, elements));
  }
  for (const auto& o : image.objects) {
    char buf[4096];
    buf[0] = 0;
    nftnl_obj_snprintf(buf, sizeof buf, o.get(), NFTNL_OUTPUT_DEFAULT, 0);
    // Without its reference count: the kernel's, how many rules use it.
    std::string text = buf;
    if (size_t u = text.find(" use "); u != std::string::npos) {
      size_t end = text.find(' ', u + 5);
      text.erase(u, end == std::string::npos ? std::string::npos : end - u);
    }
    out.push_back("object " + text);
  }
  for (const auto& f : image.flowtables) {
    char buf[4096];
    buf[0] = 0;
    nftnl_flowtable_snprintf(buf, sizeof buf, f.get(), NFTNL_OUTPUT_DEFAULT, 0);
    out.push_back(std::string("flowtable ") + buf);
  }
  for (const auto& c : image.chains) {
    const nftnl_chain* ch = c.get();
    std::string line = std::string("chain ") + Str(nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME));
    if (nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM)) {
      line += std::string(" type ") + Str(nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE));
      line += " hook " + std::to_string(nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM));
      line += " prio " + std::to_string(static_cast<int32_t>(nftnl_chain_get_u32(ch, NFTNL_CHAIN_PRIO)));
      if (nftnl_chain_is_set(ch, NFTNL_CHAIN_POLICY))
        line += nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) == NF_ACCEPT ? " policy accept" : " policy drop";
      if (nftnl_chain_is_set(ch, NFTNL_CHAIN_DEV)) line += std::string(" dev ") + Str(nftnl_chain_get_str(ch, NFTNL_CHAIN_DEV));
    }
    if (nftnl_chain_is_set(ch, NFTNL_CHAIN_FLAGS)) {
      uint32_t f = nftnl_chain_get_u32(ch, NFTNL_CHAIN_FLAGS) & ~static_cast<uint32_t>(NFT_CHAIN_BASE);
      if (f) line += " flags " + std::to_string(f);
    }
    if (nftnl_chain_is_set(ch, NFTNL_CHAIN_USERDATA)) {
      uint32_t len = 0;
      const void* d = nftnl_chain_get_data(ch, NFTNL_CHAIN_USERDATA, &len);
      line += " udata " + Hex(d, len);
    }
    out.push_back(line);
  }
  if (!with_rules) return parts;
  parts.rules.reserve(image.rules.size());
  for (const auto& rule : image.rules) parts.rules.push_back(r.Rule(rule.get()));
  return parts;
}

uint64_t Digest(const void* data, size_t len, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<uint64_t> RuleDigests(const TableImage& image) {
  Renderer r(image);
  std::map<uint32_t, const nftnl_set*> by_id;
  std::map<std::string, const nftnl_set*> by_name;
  for (const auto& s : image.sets) {
    if (nftnl_set_is_set(s.get(), NFTNL_SET_ID)) by_id.emplace(nftnl_set_get_u32(s.get(), NFTNL_SET_ID), s.get());
    by_name.emplace(Str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME)), s.get());
  }
  std::map<const nftnl_set*, uint64_t> anonymous;  // content digests
  std::vector<char> buf(256 * 1024);
  auto mix_u32 = [](uint64_t h, const nftnl_expr* e, uint16_t attr) {
    uint32_t v = nftnl_expr_is_set(e, attr) ? nftnl_expr_get_u32(e, attr) : 0xffffffffu;
    return Digest(&v, sizeof v, h);
  };
  std::vector<uint64_t> out;
  out.reserve(image.rules.size());
  for (const auto& rule : image.rules) {
    const nftnl_rule* rl = rule.get();
    const char* chain = Str(nftnl_rule_get_str(rl, NFTNL_RULE_CHAIN));
    uint64_t h = Digest(chain, strlen(chain) + 1);
    bool fallback = false;
    nftnl_expr_iter* it = nftnl_expr_iter_create(rl);
    if (!it) throw std::bad_alloc();
    for (nftnl_expr* e = nftnl_expr_iter_next(it); e && !fallback; e = nftnl_expr_iter_next(it)) {
      std::string name = Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
      if (name == "dynset" || name == "objref") {
        fallback = true;  // rare: the canonical line says it all
        break;
      }
      if (name != "lookup") {
        // The expression as libnftnl sends it.
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
        nftnl_expr_build_payload(nlh, e);
        h = Digest(mnl_nlmsg_get_payload(nlh), mnl_nlmsg_get_payload_len(nlh), h);
        continue;
      }
      // A lookup by what it looks in: a named set by name, an anonymous
      // one by its content (not the number it got in this build).
      h = Digest("lookup", 7, h);
      h = mix_u32(h, e, NFTNL_EXPR_LOOKUP_SREG);
      h = mix_u32(h, e, NFTNL_EXPR_LOOKUP_DREG);
      h = mix_u32(h, e, NFTNL_EXPR_LOOKUP_FLAGS);
      const nftnl_set* s = nullptr;
      if (nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_SET_ID)) {
        auto f = by_id.find(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SET_ID));
        if (f != by_id.end()) s = f->second;
      }
      const char* set_name = Str(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
      if (!s) {
        auto f = by_name.find(set_name);
        if (f != by_name.end()) s = f->second;
      }
      if (s && IsAnonymous(s)) {
        auto [f, fresh] = anonymous.emplace(s, 0);
        if (fresh) {
          std::string content = r.Set(s, false);
          f->second = Digest(content.data(), content.size());
        }
        h = Digest(&f->second, sizeof f->second, h);
      } else {
        h = Digest(set_name, strlen(set_name) + 1, h);
      }
    }
    nftnl_expr_iter_destroy(it);
    if (fallback) {
      std::string line = r.Rule(rl);
      h = Digest(line.data(), line.size());
    } else if (nftnl_rule_is_set(rl, NFTNL_RULE_USERDATA)) {
      uint32_t len = 0;
      const void* d = nftnl_rule_get_data(rl, NFTNL_RULE_USERDATA, &len);
      h = Digest(d, len, Digest("udata", 6, h));
    }
    out.push_back(h);
  }
  return out;
}

std::vector<std::string> CanonicalLines(const TableImage& image, const std::vector<std::string>& without_elements) {
  CanonicalParts parts = CanonicalSplit(image, without_elements);
  std::vector<std::string> out = std::move(parts.head);
  if (!image.present) return out;
  std::map<std::string, size_t> chain_index;
  for (const auto& c : image.chains) chain_index.emplace(Str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME)), chain_index.size());
  // Rules chain by chain, in chain order, each chain's rules in order.
  std::vector<std::pair<size_t, size_t>> order;
  for (size_t i = 0; i < image.rules.size(); ++i) {
    auto it = chain_index.find(Str(nftnl_rule_get_str(image.rules[i].get(), NFTNL_RULE_CHAIN)));
    order.emplace_back(it == chain_index.end() ? SIZE_MAX : it->second, i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  out.reserve(out.size() + order.size());
  for (const auto& [chain, i] : order) out.push_back(std::move(parts.rules[i]));
  return out;
}

std::string Canonical(const TableImage& image) {
  std::string out;
  for (const auto& l : CanonicalLines(image)) out += l + "\n";
  return out;
}

TableImage ParseImage(const std::vector<std::string>& messages, uint16_t family, const std::string& table) {
  TableImage image;
  auto mine = [&](const char* t, uint32_t fam) { return fam == family && table == Str(t); };
  for (const std::string& m : messages) {
    if (m.size() < sizeof(nlmsghdr) + sizeof(nfgenmsg)) throw NetlinkError("short netlink message");
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
    if (nlh->nlmsg_len > m.size()) throw NetlinkError("truncated netlink message");
    if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) continue;
    int type = nlh->nlmsg_type & 0xff;
    switch (type) {
      case NFT_MSG_NEWTABLE: {
        TablePtr t = NewTable();
        if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) throw NetlinkError("cannot parse a table message");
        if (!mine(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME), nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY))) break;
        image.table = std::move(t);
        image.present = true;
        break;
      }
      case NFT_MSG_NEWCHAIN: {
        ChainPtr c = NewChain();
        if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) throw NetlinkError("cannot parse a chain message");
        if (!mine(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE), nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY))) break;
        image.chains.push_back(std::move(c));
        break;
      }
      case NFT_MSG_NEWSET: {
        SetPtr s = NewSet();
        if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0) throw NetlinkError("cannot parse a set message");
        if (!mine(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE), nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY))) break;
        image.sets.push_back(std::move(s));
        break;
      }
      case NFT_MSG_NEWSETELEM: {
        SetPtr probe = NewSet();
        if (nftnl_set_elems_nlmsg_parse(nlh, probe.get()) < 0) throw NetlinkError("cannot parse a set element message");
        if (!mine(nftnl_set_get_str(probe.get(), NFTNL_SET_TABLE), family)) break;
        uint32_t id = nftnl_set_is_set(probe.get(), NFTNL_SET_ID) ? nftnl_set_get_u32(probe.get(), NFTNL_SET_ID) : 0;
        const nftnl_set* target = image.FindSet(Str(nftnl_set_get_str(probe.get(), NFTNL_SET_NAME)), id ? &id : nullptr);
        if (!target) throw NetlinkError("set elements of an unknown set");
        // The parse sets the table and set names again (libnftnl 1.2.4 does
        // not free the old ones itself).
        nftnl_set_unset(const_cast<nftnl_set*>(target), NFTNL_SET_TABLE);
        nftnl_set_unset(const_cast<nftnl_set*>(target), NFTNL_SET_NAME);
        if (nftnl_set_elems_nlmsg_parse(nlh, const_cast<nftnl_set*>(target)) < 0)
          throw NetlinkError("cannot parse a set element message");
        break;
      }
      case NFT_MSG_NEWRULE: {
        RulePtr r = NewRule();
        if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) throw NetlinkError("cannot parse a rule message");
        if (!mine(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE), nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY))) break;
        image.rules.push_back(std::move(r));
        break;
      }
      case NFT_MSG_NEWOBJ: {
        ObjPtr o = NewObj();
        if (nftnl_obj_nlmsg_parse(nlh, o.get()) < 0) throw NetlinkError("cannot parse an object message");
        if (!mine(nftnl_obj_get_str(o.get(), NFTNL_OBJ_TABLE), nftnl_obj_get_u32(o.get(), NFTNL_OBJ_FAMILY))) break;
        image.objects.push_back(std::move(o));
        break;
      }
      case NFT_MSG_NEWFLOWTABLE: {
        FlowtablePtr f = NewFlowtable();
        if (nftnl_flowtable_nlmsg_parse(nlh, f.get()) < 0) throw NetlinkError("cannot parse a flowtable message");
        if (!mine(nftnl_flowtable_get_str(f.get(), NFTNL_FLOWTABLE_TABLE),
                  nftnl_flowtable_get_u32(f.get(), NFTNL_FLOWTABLE_FAMILY)))
          break;
        image.flowtables.push_back(std::move(f));
        break;
      }
      default: break;
    }
  }
  return image;
}

std::vector<std::string> ImageMessages(const TableImage& image, uint16_t family) {
  std::vector<std::string> out;
  if (!image.present) return out;
  MessageWriter w;
  auto hdr = [&](uint16_t type) { return nftnl_nlmsg_build_hdr(w.Begin(), type, family, 0, 0); };
  {
    nlmsghdr* nlh = hdr(NFT_MSG_NEWTABLE);
    nftnl_table_nlmsg_build_payload(nlh, image.table.get());
    out.push_back(w.Take(nlh));
  }
  for (const auto& c : image.chains) {
    nlmsghdr* nlh = hdr(NFT_MSG_NEWCHAIN);
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
    out.push_back(w.Take(nlh));
  }
  for (const auto& s : image.sets) {
    nlmsghdr* nlh = hdr(NFT_MSG_NEWSET);
    nftnl_set_nlmsg_build_payload(nlh, s.get());
    out.push_back(w.Take(nlh));
    for (auto& m : ElementMessages(w, s.get(), family, 0)) out.push_back(std::move(m));
  }
  for (const auto& o : image.objects) {
    nlmsghdr* nlh = hdr(NFT_MSG_NEWOBJ);
    nftnl_obj_nlmsg_build_payload(nlh, o.get());
    out.push_back(w.Take(nlh));
  }
  for (const auto& f : image.flowtables) {
    nlmsghdr* nlh = hdr(NFT_MSG_NEWFLOWTABLE);
    nftnl_flowtable_nlmsg_build_payload(nlh, f.get());
    out.push_back(w.Take(nlh));
  }
  for (const auto& r : image.rules) {
    nlmsghdr* nlh = hdr(NFT_MSG_NEWRULE);
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    out.push_back(w.Take(nlh));
  }
  return out;
}

namespace {
constexpr char kSnapshotMagic[] = "fwc-netlink-snapshot 1\n";
}

std::string EncodeSnapshot(const std::vector<std::string>& dump) {
  std::string out = kSnapshotMagic;
  for (const auto& m : dump) {
    out += m;
    out.append(MNL_ALIGN(m.size()) - m.size(), '\0');
  }
  return out;
}

TableImage DecodeSnapshot(const std::string& data, uint16_t family, const std::string& table) {
  size_t magic = sizeof(kSnapshotMagic) - 1;
  if (data.compare(0, magic, kSnapshotMagic) != 0) throw NetlinkError("not a fwc snapshot");
  std::vector<std::string> messages;
  size_t off = magic;
  while (off < data.size()) {
    if (data.size() - off < sizeof(nlmsghdr)) throw NetlinkError("truncated snapshot");
    nlmsghdr h;
    std::memcpy(&h, data.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > data.size() - off) throw NetlinkError("corrupt snapshot");
    messages.push_back(data.substr(off, h.nlmsg_len));
    off += MNL_ALIGN(h.nlmsg_len);
  }
  return ParseImage(messages, family, table);
}

}  // namespace fwc::netlink
