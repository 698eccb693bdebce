#include "backends/netlink/table_delta.h"

#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "backends/netlink/netlink_backend.h"

namespace fwc::netlink {
namespace {

const char* Str(const char* s) { return s ? s : ""; }

uint64_t DigestOf(const std::string& s, uint64_t h = 14695981039346656037ull) { return Digest(s.data(), s.size(), h); }

constexpr const char* kMagic = "fwc-table-index 2";

std::string Hex(const void* data, uint32_t len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  const auto* p = static_cast<const unsigned char*>(data);
  for (uint32_t i = 0; i < len; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

bool Unhex(const std::string& text, std::string& out) {
  if (text.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < text.size(); i += 2) {
    auto v = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int hi = v(text[i]), lo = v(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
  }
  return true;
}

uint32_t ElemFlags(const nftnl_set_elem* e) {
  return nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ? nftnl_set_elem_get_u32(const_cast<nftnl_set_elem*>(e), NFTNL_SET_ELEM_FLAGS) : 0;
}

// What an element is: everything the kernel keeps of it.
uint64_t ElemDigest(const nftnl_set_elem* e, uint64_t h) {
  for (uint16_t attr : {NFTNL_SET_ELEM_KEY, NFTNL_SET_ELEM_KEY_END, NFTNL_SET_ELEM_DATA, NFTNL_SET_ELEM_USERDATA,
                        NFTNL_SET_ELEM_CHAIN, NFTNL_SET_ELEM_OBJREF, NFTNL_SET_ELEM_VERDICT, NFTNL_SET_ELEM_TIMEOUT}) {
    h = Digest(&attr, sizeof attr, h);
    if (!nftnl_set_elem_is_set(e, attr)) continue;
    uint32_t len = 0;
    const void* d = nftnl_set_elem_get(const_cast<nftnl_set_elem*>(e), attr, &len);
    h = Digest(d, len, h);
  }
  uint32_t f = ElemFlags(e);
  return Digest(&f, sizeof f, h);
}

// What DELSETELEM needs to find an element: "FLAGS:KEY[:KEY_END]".
std::string ElemText(const nftnl_set_elem* e) {
  uint32_t len = 0;
  std::string out = std::to_string(ElemFlags(e)) + ":";
  const void* k = nftnl_set_elem_get(const_cast<nftnl_set_elem*>(e), NFTNL_SET_ELEM_KEY, &len);
  out += Hex(k, len);
  if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
    const void* ke = nftnl_set_elem_get(const_cast<nftnl_set_elem*>(e), NFTNL_SET_ELEM_KEY_END, &len);
    out += ":" + Hex(ke, len);
  }
  return out;
}

// A set's elements in units: an interval's start with the end that follows
// it, else one element.
TableIndex::Set SetUnits(const nftnl_set* s) {
  TableIndex::Set out;
  out.name = Str(nftnl_set_get_str(s, NFTNL_SET_NAME));
  std::vector<nftnl_set_elem*> all;
  nftnl_set_elems_iter* it = nftnl_set_elems_iter_create(s);
  if (!it) throw std::bad_alloc();
  for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) all.push_back(e);
  nftnl_set_elems_iter_destroy(it);
  for (size_t i = 0; i < all.size(); ++i) {
    std::vector<nftnl_set_elem*> unit = {all[i]};
    if (!(ElemFlags(all[i]) & NFT_SET_ELEM_INTERVAL_END) && i + 1 < all.size() &&
        (ElemFlags(all[i + 1]) & NFT_SET_ELEM_INTERVAL_END))
      unit.push_back(all[++i]);
    uint64_t h = Digest("unit", 4);
    std::string text;
    for (nftnl_set_elem* e : unit) {
      h = ElemDigest(e, h);
      text += (text.empty() ? "" : " ") + ElemText(e);
    }
    out.keys.push_back(h);
    out.units.push_back(std::move(text));
    out.elements.push_back(std::move(unit));
  }
  return out;
}

// libnftnl 1.2.4 does not export nftnl_set_elem_clone: what the kernel
// keeps of an element, attribute by attribute (the same list the digest
// covers).
nftnl_set_elem* CopyElem(nftnl_set_elem* e) {
  nftnl_set_elem* out = nftnl_set_elem_alloc();
  if (!out) throw std::bad_alloc();
  for (uint16_t attr : {NFTNL_SET_ELEM_KEY, NFTNL_SET_ELEM_KEY_END, NFTNL_SET_ELEM_DATA, NFTNL_SET_ELEM_USERDATA,
                        NFTNL_SET_ELEM_CHAIN, NFTNL_SET_ELEM_OBJREF, NFTNL_SET_ELEM_VERDICT, NFTNL_SET_ELEM_TIMEOUT,
                        NFTNL_SET_ELEM_FLAGS}) {
    if (!nftnl_set_elem_is_set(e, attr)) continue;
    uint32_t len = 0;
    const void* d = nftnl_set_elem_get(e, attr, &len);
    if (attr == NFTNL_SET_ELEM_CHAIN || attr == NFTNL_SET_ELEM_OBJREF)
      nftnl_set_elem_set_str(out, attr, static_cast<const char*>(d));
    else
      nftnl_set_elem_set(out, attr, d, len);
  }
  return out;
}

// An empty set of fwc's table, to carry elements to add or delete.
SetPtr ElementsOf(const std::string& name) {
  SetPtr s = NewSet();
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  return s;
}

// The element a unit's text describes, for DELSETELEM.
bool ParseElem(const std::string& text, nftnl_set* into) {
  size_t c1 = text.find(':');
  if (c1 == std::string::npos) return false;
  size_t c2 = text.find(':', c1 + 1);
  std::string key, key_end;
  if (!Unhex(text.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1), key) || key.empty())
    return false;
  if (c2 != std::string::npos && !Unhex(text.substr(c2 + 1), key_end)) return false;
  nftnl_set_elem* e = nftnl_set_elem_alloc();
  if (!e) throw std::bad_alloc();
  nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
  if (!key_end.empty()) nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, key_end.data(), static_cast<uint32_t>(key_end.size()));
  uint32_t flags = static_cast<uint32_t>(strtoul(text.c_str(), nullptr, 10));
  if (flags) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
  nftnl_set_elem_add(into, e);
  return true;
}

}  // namespace

size_t TableIndex::RuleCount() const {
  size_t n = 0;
  for (const auto& c : chains) n += c.keys.size();
  return n;
}

bool TableIndex::HasHandles() const {
  for (const auto& c : chains)
    if (c.handles.size() != c.keys.size()) return false;
  return true;
}

std::string TableIndex::Encode() const {
  std::string out = std::string(kMagic) + "\n" + "netns " + netns + "\n";
  char line[96];
  snprintf(line, sizeof line, "genid %" PRIu32 "\ntable %" PRIu64 "\nhead %016" PRIx64 "\n", genid, table, head);
  out += line;
  out.reserve(out.size() + RuleCount() * 36);
  for (const auto& c : chains) {
    out += "chain " + c.name + " " + std::to_string(c.keys.size()) + "\n";
    for (size_t i = 0; i < c.keys.size(); ++i) {
      snprintf(line, sizeof line, "%016" PRIx64 " %" PRIu64 "\n", c.keys[i], i < c.handles.size() ? c.handles[i] : 0);
      out += line;
    }
  }
  for (const auto& st : sets) {
    out += "set " + st.name + " " + std::to_string(st.keys.size()) + "\n";
    for (size_t i = 0; i < st.keys.size(); ++i) {
      snprintf(line, sizeof line, "%016" PRIx64 " ", st.keys[i]);
      out += line + st.units[i] + "\n";
    }
  }
  return out;
}

TableIndex TableIndex::Decode(const std::string& text) {
  TableIndex index;
  size_t pos = 0;
  auto next_line = [&]() -> std::string {
    if (pos >= text.size()) throw NetlinkError("the table index ends too early");
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) throw NetlinkError("the table index ends too early");
    std::string l = text.substr(pos, nl - pos);
    pos = nl + 1;
    return l;
  };
  if (next_line() != kMagic) throw NetlinkError("not a table index of this fwc");
  std::string l = next_line();
  if (l.rfind("netns ", 0) != 0 || l.size() == 6 || l.find(' ', 6) != std::string::npos)
    throw NetlinkError("the table index has no network namespace");
  index.netns = l.substr(6);
  l = next_line();
  char* end = nullptr;
  if (l.rfind("genid ", 0) != 0) throw NetlinkError("the table index has no generation");
  index.genid = static_cast<uint32_t>(strtoul(l.c_str() + 6, &end, 10));
  l = next_line();
  if (l.rfind("table ", 0) != 0) throw NetlinkError("the table index has no table handle");
  index.table = strtoull(l.c_str() + 6, &end, 10);
  l = next_line();
  if (l.rfind("head ", 0) != 0 || l.size() != 21) throw NetlinkError("the table index has no head digest");
  index.head = strtoull(l.c_str() + 5, &end, 16);
  while (pos < text.size()) {
    l = next_line();
    size_t sp = l.rfind(' ');
    if (l.rfind("set ", 0) == 0 && sp != std::string::npos && sp > 4) {
      Set st;
      st.name = l.substr(4, sp - 4);
      size_t n = strtoull(l.c_str() + sp + 1, &end, 10);
      if (*end || n > text.size()) throw NetlinkError("the table index has a malformed set line");
      for (size_t i = 0; i < n; ++i) {
        std::string u = next_line();
        uint64_t key = strtoull(u.c_str(), &end, 16);
        if (end != u.c_str() + 16 || *end != ' ' || u.size() < 20) throw NetlinkError("the table index has a malformed element line");
        st.keys.push_back(key);
        st.units.push_back(u.substr(17));
      }
      index.sets.push_back(std::move(st));
      continue;
    }
    if (!index.sets.empty()) throw NetlinkError("the table index has a chain after its sets");
    if (l.rfind("chain ", 0) != 0 || sp == std::string::npos || sp <= 6)
      throw NetlinkError("the table index has a malformed chain line");
    Chain c;
    c.name = l.substr(6, sp - 6);
    size_t n = strtoull(l.c_str() + sp + 1, &end, 10);
    if (*end || n > text.size()) throw NetlinkError("the table index has a malformed chain line");
    c.keys.reserve(n);
    c.handles.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (pos >= text.size()) throw NetlinkError("the table index ends too early");
      const char* p = text.c_str() + pos;
      uint64_t key = strtoull(p, &end, 16);
      if (end != p + 16 || *end != ' ') throw NetlinkError("the table index has a malformed rule line");
      p = end + 1;
      uint64_t handle = strtoull(p, &end, 10);
      if (end == p || *end != '\n' || handle == 0) throw NetlinkError("the table index has a malformed rule line");
      pos = static_cast<size_t>(end - text.c_str()) + 1;
      c.keys.push_back(key);
      c.handles.push_back(handle);
    }
    index.chains.push_back(std::move(c));
  }
  return index;
}

TableIndex IndexImage(const TableImage& image) {
  TableIndex index;
  if (!image.present) return index;
  // The head leaves out every named set's elements: runtime sets' are the
  // kernel's, the others are compared unit by unit.
  std::vector<std::string> named;
  for (const auto& st : image.sets)
    if (!(nftnl_set_get_u32(st.get(), NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
      named.push_back(Str(nftnl_set_get_str(st.get(), NFTNL_SET_NAME)));
  CanonicalParts parts = CanonicalSplit(image, named, false);
  for (const auto& st : image.sets) {
    std::string name = Str(nftnl_set_get_str(st.get(), NFTNL_SET_NAME));
    if ((nftnl_set_get_u32(st.get(), NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) ||
        std::find(image.runtime_sets.begin(), image.runtime_sets.end(), name) != image.runtime_sets.end())
      continue;
    index.sets.push_back(SetUnits(st.get()));
  }
  uint64_t h = DigestOf("");
  for (const auto& l : parts.head) h = DigestOf(l + "\n", h);
  index.head = h;
  std::vector<uint64_t> digests = RuleDigests(image);
  std::map<std::string, size_t> by_name;
  for (const auto& c : image.chains) {
    by_name.emplace(Str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME)), index.chains.size());
    index.chains.push_back({Str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME)), {}, {}, {}});
  }
  for (size_t i = 0; i < image.rules.size(); ++i) {
    auto it = by_name.find(Str(nftnl_rule_get_str(image.rules[i].get(), NFTNL_RULE_CHAIN)));
    if (it == by_name.end()) throw NetlinkError("a rule of the table is in a chain it does not have");
    index.chains[it->second].keys.push_back(digests[i]);
    index.chains[it->second].rules.push_back(i);
  }
  return index;
}

void PredictHandles(const Batch& replace, TableIndex& index) {
  std::vector<uint64_t> rule_handles;
  uint64_t next = 0;
  for (size_t i = 0; i < replace.size(); ++i) {
    switch (replace.type(i) & 0xff) {
      case NFT_MSG_NEWCHAIN:
      case NFT_MSG_NEWSET:
      case NFT_MSG_NEWOBJ:
      case NFT_MSG_NEWFLOWTABLE: ++next; break;
      case NFT_MSG_NEWRULE: rule_handles.push_back(++next); break;
      default: break;
    }
  }
  for (auto& c : index.chains) {
    c.handles.clear();
    for (size_t r : c.rules) c.handles.push_back(r < rule_handles.size() ? rule_handles[r] : 0);
  }
}

bool MatchRules(const std::vector<uint64_t>& from, const std::vector<uint64_t>& to, size_t max_edits,
                std::vector<std::pair<size_t, size_t>>& kept) {
  kept.clear();
  size_t pre = 0;
  while (pre < from.size() && pre < to.size() && from[pre] == to[pre]) ++pre;
  size_t suf = 0;
  while (suf < from.size() - pre && suf < to.size() - pre && from[from.size() - 1 - suf] == to[to.size() - 1 - suf])
    ++suf;
  for (size_t i = 0; i < pre; ++i) kept.emplace_back(i, i);
  const long n = static_cast<long>(from.size() - pre - suf), m = static_cast<long>(to.size() - pre - suf);
  const uint64_t* a = from.data() + pre;
  const uint64_t* b = to.data() + pre;
  const long max_d = std::min<long>(static_cast<long>(max_edits), n + m);
  // Myers: v[k] is the furthest x reached on diagonal k = x - y; trace[d]
  // keeps v as it was before step d, to walk back the path.
  const long off = max_d + 1;
  std::vector<long> v(2 * max_d + 3, 0);
  std::vector<std::vector<long>> trace;
  long found = -1;
  for (long d = 0; d <= max_d && found < 0; ++d) {
    trace.push_back(v);
    for (long k = -d; k <= d; k += 2) {
      long x = (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1] : v[off + k - 1] + 1;
      long y = x - k;
      while (x < n && y < m && a[x] == b[y]) ++x, ++y;
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return false;
  std::vector<std::pair<size_t, size_t>> middle;
  long x = n, y = m;
  for (long d = found; d > 0; --d) {
    const std::vector<long>& pv = trace[d];
    long k = x - y;
    long prev_k = (k == -d || (k != d && pv[off + k - 1] < pv[off + k + 1])) ? k + 1 : k - 1;
    long prev_x = pv[off + prev_k], prev_y = prev_x - prev_k;
    // The snake after the edit of step d.
    long start_x = prev_k == k + 1 ? prev_x : prev_x + 1;
    while (x > start_x) {
      --x, --y;
      middle.emplace_back(pre + x, pre + y);
    }
    x = prev_x, y = prev_y;
  }
  while (x > 0 && y > 0) {
    --x, --y;
    middle.emplace_back(pre + x, pre + y);
  }
  kept.insert(kept.end(), middle.rbegin(), middle.rend());
  for (size_t i = 0; i < suf; ++i) kept.emplace_back(from.size() - suf + i, to.size() - suf + i);
  return true;
}

size_t MaxEdits(size_t rules) { return std::min<size_t>(2000, std::max<size_t>(16, rules / 4)); }

DeltaPlan PlanDelta(const TableIndex& loaded, const TableIndex& next, const TableImage& image, size_t max_edits) {
  DeltaPlan plan;
  if (!loaded.HasHandles()) {
    plan.reason = "the handles of the loaded rules are not known";
    return plan;
  }
  if (loaded.head != next.head || loaded.chains.size() != next.chains.size()) {
    plan.reason = "the chains, sets or table differ, not only rules";
    return plan;
  }
  plan.after = next;
  std::vector<std::vector<std::pair<size_t, size_t>>> kept(next.chains.size());
  size_t edits = 0;
  for (size_t c = 0; c < next.chains.size(); ++c) {
    const auto& from = loaded.chains[c];
    const auto& to = next.chains[c];
    if (from.name != to.name) {
      plan.reason = "the chains differ";
      return plan;
    }
    size_t left = edits <= max_edits ? max_edits - edits : 0;
    if (!MatchRules(from.keys, to.keys, left, kept[c])) {
      plan.reason = "more than " + std::to_string(max_edits) + " rules change";
      return plan;
    }
    edits += from.keys.size() + to.keys.size() - 2 * kept[c].size();
  }
  // Set elements: the units of each set as multisets of digests.
  if (loaded.sets.size() != next.sets.size()) {
    plan.reason = "the sets differ";
    return plan;
  }
  std::vector<std::vector<size_t>> gone(next.sets.size()), come(next.sets.size());
  size_t units = 0, changed = 0;
  for (size_t k = 0; k < next.sets.size(); ++k) {
    const auto& from = loaded.sets[k];
    const auto& to = next.sets[k];
    if (from.name != to.name || from.keys.size() != from.units.size()) {
      plan.reason = "the sets differ";
      return plan;
    }
    std::unordered_map<uint64_t, std::vector<size_t>> old_units;
    for (size_t i = 0; i < from.keys.size(); ++i) old_units[from.keys[i]].push_back(i);
    for (size_t j = 0; j < to.keys.size(); ++j) {
      auto it = old_units.find(to.keys[j]);
      if (it != old_units.end() && !it->second.empty()) it->second.pop_back();
      else come[k].push_back(j);
    }
    for (const auto& [key, left] : old_units) gone[k].insert(gone[k].end(), left.begin(), left.end());
    std::sort(gone[k].begin(), gone[k].end());
    units += std::max(from.keys.size(), to.keys.size());
    changed += gone[k].size() + come[k].size();
  }
  // Elements are cheap to change (a hash or tree operation each), but past
  // half of them a replacement is as cheap.
  const size_t max_units = std::max<size_t>(1000, units / 2);
  if (changed > max_units) {
    plan.reason = "more than " + std::to_string(max_units) + " set elements change";
    return plan;
  }
  MessageWriter w;
  for (size_t k = 0; k < next.sets.size(); ++k) {
    if (gone[k].empty()) continue;
    const auto& from = loaded.sets[k];
    SetPtr del = ElementsOf(from.name);
    for (size_t i : gone[k]) {
      size_t start = 0;
      const std::string& u = from.units[i];
      while (start < u.size()) {
        size_t sp = u.find(' ', start);
        if (!ParseElem(u.substr(start, sp == std::string::npos ? std::string::npos : sp - start), del.get())) {
          plan.reason = "the index of set " + from.name + " is malformed";
          return plan;
        }
        start = sp == std::string::npos ? u.size() : sp + 1;
      }
    }
    for (auto& m : ElementMessages(w, del.get(), kFamily, 0, NFT_MSG_DELSETELEM))
      plan.batch.Add(std::move(m), "the old elements of set " + from.name);
    plan.elements_deleted += gone[k].size();
  }
  // Rules: deletions first, by handle.
  for (size_t c = 0; c < next.chains.size(); ++c) {
    const auto& from = loaded.chains[c];
    std::vector<bool> stays(from.keys.size(), false);
    for (const auto& [i, j] : kept[c]) stays[i] = true;
    for (size_t i = 0; i < from.keys.size(); ++i) {
      if (stays[i]) continue;
      RulePtr r = NewRule();
      nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTableName);
      nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, from.name.c_str());
      nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, from.handles[i]);
      nlmsghdr* nlh = nftnl_nlmsg_build_hdr(w.Begin(), NFT_MSG_DELRULE, kFamily, 0, 0);
      nftnl_rule_nlmsg_build_payload(nlh, r.get());
      plan.batch.Add(w.Take(nlh), "the old rule " + std::to_string(i + 1) + " of chain " + from.name);
      ++plan.deleted;
    }
  }
  // The new elements, before the rules that may need them.
  for (size_t k = 0; k < next.sets.size(); ++k) {
    if (come[k].empty()) continue;
    const auto& to = next.sets[k];
    SetPtr add = ElementsOf(to.name);
    for (size_t j : come[k]) {
      if (j >= to.elements.size()) {
        plan.reason = "set " + to.name + " has no elements to add from";
        return plan;
      }
      for (nftnl_set_elem* e : to.elements[j]) {
        nftnl_set_elem_add(add.get(), CopyElem(e));
      }
    }
    for (auto& m : ElementMessages(w, add.get(), kFamily, NLM_F_CREATE))
      plan.batch.Add(std::move(m), "the new elements of set " + to.name);
    plan.elements_added += come[k].size();
  }
  // Then each new rule right before the next rule that stays (in order, so
  // that a run of new rules keeps its order), or at the chain's end.
  RuleMessages rules(image);
  for (size_t c = 0; c < next.chains.size(); ++c) {
    const auto& from = loaded.chains[c];
    const auto& to = next.chains[c];
    auto& handles = plan.after.chains[c].handles;
    handles.assign(to.keys.size(), 0);
    std::vector<size_t> old_of(to.keys.size(), SIZE_MAX);
    for (const auto& [i, j] : kept[c]) {
      old_of[j] = i;
      handles[j] = from.handles[i];
    }
    uint64_t anchor = 0;  // the handle of the next rule that stays, 0: none
    std::vector<uint64_t> anchor_of(to.keys.size(), 0);
    for (size_t j = to.keys.size(); j-- > 0;) {
      if (old_of[j] != SIZE_MAX) anchor = from.handles[old_of[j]];
      else anchor_of[j] = anchor;
    }
    for (size_t j = 0; j < to.keys.size(); ++j) {
      if (old_of[j] != SIZE_MAX) continue;
      uint16_t flags = NLM_F_CREATE | NLM_F_ECHO | (anchor_of[j] ? 0 : NLM_F_APPEND);
      rules.Add(plan.batch, w, to.rules[j], flags, anchor_of[j]);
      plan.added_at.emplace_back(c, j);
      ++plan.added;
    }
  }
  plan.possible = true;
  return plan;
}

bool TakeEchoes(DeltaPlan& plan, const std::vector<std::string>& echoes) {
  std::vector<const std::string*> rules;
  for (const auto& m : echoes) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
    if ((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWRULE) rules.push_back(&m);
  }
  if (rules.size() != plan.added_at.size()) return false;
  for (size_t k = 0; k < rules.size(); ++k) {
    RulePtr r = NewRule();
    if (nftnl_rule_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(rules[k]->data()), r.get()) < 0) return false;
    auto [c, j] = plan.added_at[k];
    if (plan.after.chains[c].name != Str(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN))) return false;
    if (!nftnl_rule_is_set(r.get(), NFTNL_RULE_HANDLE)) return false;
    plan.after.chains[c].handles[j] = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
  }
  return plan.after.HasHandles();
}

}  // namespace fwc::netlink
