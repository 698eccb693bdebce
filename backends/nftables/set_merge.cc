#include "backends/nftables/set_merge.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory_resource>
#include <unordered_map>

#include "compiler/base/protocols.h"

namespace fwc::nftables {
namespace {

constexpr unsigned Bit(Dim d) { return 1u << static_cast<int>(d); }
constexpr Dim kAllDims[kNumDims] = {Dim::kIif,   Dim::kOif,   Dim::kSrc,      Dim::kDst,     Dim::kProto,
                                    Dim::kSport, Dim::kDport, Dim::kIcmpType, Dim::kIcmpCode};

// The kernel builds a set's key in its registers: 16 of 4 bytes, each
// field of a concatenation rounded up to whole registers. A wider key loads
// (nft accepts it) but nft cannot linearize the lookup.
constexpr unsigned kMaxKeyBytes = 64;

unsigned KeyBytes(unsigned varying, ir::RuleFamily family) {
  unsigned bytes = 0;
  for (Dim d : kAllDims) {
    if (!(varying & Bit(d))) continue;
    if (d == Dim::kIif || d == Dim::kOif) bytes += 16;  // IFNAMSIZ
    else if (d == Dim::kSrc || d == Dim::kDst) bytes += family == ir::RuleFamily::kV4 ? 4 : 16;
    else bytes += 4;
  }
  return bytes;
}

// How a rule matches the protocol, which decides its service dimensions.
enum class SvcKind {
  kNone,   // no protocol match
  kPorts,  // tcp/udp with source and/or destination ports: proto, sport, dport
  kProto,  // a protocol alone ("meta l4proto gre"): proto
  kIcmp,   // ICMP/ICMPv6 types, maybe one code: type [, code]
};

SvcKind KindOf(const ir::Rule& r) {
  if (!r.has_service) return SvcKind::kNone;
  const ir::ServiceMatch& s = r.service;
  if ((s.proto == kProtoTcp || s.proto == kProtoUdp) && (!s.sports.empty() || !s.dports.empty()))
    return SvcKind::kPorts;
  if ((s.proto == kProtoIcmp || s.proto == kProtoIcmpv6) && !s.icmp_types.empty()) return SvcKind::kIcmp;
  return SvcKind::kProto;
}

// An address match that cannot become a key: a negation, or a named set
// (a group the user may want to see, and update, as a set of its own).
bool FixedAddress(const ir::Rule& r, const ir::AddrMatch& a) {
  return r.family == ir::RuleFamily::kAny || (a.present && (a.negated || !a.set_name.empty()));
}

bool SameAddress(const ir::AddrMatch& a, const ir::AddrMatch& b) {
  return a.present == b.present && a.negated == b.negated && a.set_name == b.set_name && a.set == b.set;
}

// The dimensions a rule can be keyed on.
unsigned KeyableDims(const ir::Rule& r) {
  unsigned dims = 0;
  if (!r.iif.empty()) dims |= Bit(Dim::kIif);
  if (!r.oif.empty()) dims |= Bit(Dim::kOif);
  if (!FixedAddress(r, r.src)) dims |= Bit(Dim::kSrc);
  if (!FixedAddress(r, r.dst)) dims |= Bit(Dim::kDst);
  switch (KindOf(r)) {
    case SvcKind::kNone: break;
    case SvcKind::kPorts: dims |= Bit(Dim::kProto) | Bit(Dim::kSport) | Bit(Dim::kDport); break;
    case SvcKind::kProto: dims |= Bit(Dim::kProto); break;
    case SvcKind::kIcmp:
      dims |= Bit(Dim::kIcmpType);
      if (r.service.icmp_code >= 0) dims |= Bit(Dim::kIcmpCode);
      break;
  }
  return dims;
}

// Rules may share a run only when they differ in nothing but the values of
// their keyable dimensions and in their action.
bool SameShape(const ir::Rule& a, const ir::Rule& b) {
  if (a.family != b.family || a.ct != b.ct) return false;
  unsigned dims = KeyableDims(a);
  if (dims != KeyableDims(b)) return false;
  if (KindOf(a) != KindOf(b)) return false;
  if (KindOf(a) == SvcKind::kIcmp && a.service.proto != b.service.proto) return false;
  if (!(dims & Bit(Dim::kSrc)) && !SameAddress(a.src, b.src)) return false;
  if (!(dims & Bit(Dim::kDst)) && !SameAddress(a.dst, b.dst)) return false;
  return true;
}

// Whether a rule may be merged at all: not fwc's own rules (their comments
// explain them one by one), nothing with state of its own (a rate limit) and
// no log-only rule (each would log once per packet).
bool Mergeable(const ir::Rule& r) {
  if (r.verdict == ir::Verdict::kContinue) return false;
  if (r.log.enabled && r.log.rate != 0) return false;
  if (r.comment.rfind("fwc:", 0) == 0) return false;
  // Marks, states, limits, translations and original destinations are not
  // set dimensions: such rules stay as they are.
  if (r.xlate || r.extras.any() || r.original_dst) return false;
  return true;
}

Action ActionOf(const ir::Rule& r) {
  Action a;
  a.verdict = r.verdict;
  a.target = r.target;
  a.log = r.log.enabled;
  a.log_prefix = r.log.prefix;
  return a;
}

class Interner {
 public:
  explicit Interner(std::vector<std::string>& names) : names_(names) {}
  int Index(const std::string& s) {
    auto [it, added] = index_.emplace(s, static_cast<int>(names_.size()));
    if (added) names_.push_back(s);
    return it->second;
  }

 private:
  std::vector<std::string>& names_;
  std::unordered_map<std::string, int> index_;
};

// Sorted, disjoint intervals: one dimension of one rule.
struct Span {
  const Interval* b = nullptr;
  const Interval* e = nullptr;
  size_t size() const { return static_cast<size_t>(e - b); }
  const Interval* begin() const { return b; }
  const Interval* end() const { return e; }
  bool operator==(const Span& o) const { return std::equal(b, e, o.b, o.e); }
  bool operator!=(const Span& o) const { return !(*this == o); }
};

bool Intersects(Span a, Span b) {
  const Interval *x = a.b, *y = b.b;
  while (x != a.e && y != b.e) {
    if (x->hi < y->lo) ++x;
    else if (y->hi < x->lo) ++y;
    else return true;
  }
  return false;
}

// Whether every value of inner is in outer.
bool Contains(Span outer, Span inner) {
  const Interval* x = outer.b;
  for (const Interval& iv : inner) {
    while (x != outer.e && x->hi < iv.lo) ++x;
    if (x == outer.e || x->lo > iv.lo || x->hi < iv.hi) return false;
  }
  return true;
}

// What one rule matches in each keyable dimension, in one allocation.
class Values {
 public:
  Span operator[](int d) const { return {all_.data() + start_[d], all_.data() + start_[d + 1]}; }

  void Build(const ir::Rule& r, unsigned dims, Interner& ifnames) {
    all_.clear();
    for (int d = 0; d < kNumDims; ++d) {
      start_[d] = static_cast<uint32_t>(all_.size());
      if (!(dims & (1u << d))) continue;
      auto point = [&](U128 v) { all_.push_back({v, v}); };
      auto set = [&](const IntervalSet& s) { all_.insert(all_.end(), s.intervals().begin(), s.intervals().end()); };
      switch (static_cast<Dim>(d)) {
        case Dim::kIif: point(ifnames.Index(r.iif)); break;
        case Dim::kOif: point(ifnames.Index(r.oif)); break;
        case Dim::kSrc:
        case Dim::kDst: {
          const ir::AddrMatch& a = d == static_cast<int>(Dim::kSrc) ? r.src : r.dst;
          if (a.present) set(a.set);
          else all_.push_back({0, DimMax(r, static_cast<Dim>(d))});
          break;
        }
        case Dim::kProto: point(r.service.proto); break;
        case Dim::kSport:
        case Dim::kDport: {
          const IntervalSet& ports = d == static_cast<int>(Dim::kSport) ? r.service.sports : r.service.dports;
          if (ports.empty()) all_.push_back({0, 65535});
          else set(ports);
          break;
        }
        case Dim::kIcmpType: {
          std::vector<int> types = r.service.icmp_types;
          std::sort(types.begin(), types.end());
          types.erase(std::unique(types.begin(), types.end()), types.end());
          for (int t : types) point(t);
          break;
        }
        case Dim::kIcmpCode: point(r.service.icmp_code); break;
      }
    }
    start_[kNumDims] = static_cast<uint32_t>(all_.size());
  }

  bool HasRange(unsigned dims) const {
    for (int d = 0; d < kNumDims; ++d)
      if (dims & (1u << d))
        for (const Interval& iv : (*this)[d])
          if (iv.lo != iv.hi) return true;
    return false;
  }

  U128 Product(unsigned dims) const {
    U128 n = 1;
    for (int d = 0; d < kNumDims; ++d)
      if (dims & (1u << d)) n *= (*this)[d].size();
    return n;
  }

 private:
  std::vector<Interval> all_;
  std::array<uint32_t, kNumDims + 1> start_{};
};

// IR rule i of a chain emitted as it is.
MergedRule AsItIs(const std::vector<ir::Rule>& rules, size_t i) {
  MergedRule m;
  m.base = rules[i];
  m.origins = {i};
  return m;
}

// One run being built: consecutive rules of one shape, the kept ones pairwise
// disjoint.
class Run {
 public:
  Run(const std::vector<ir::Rule>& rules, Interner& ifnames, const MergeOptions& opt)
      : rules_(rules), ifnames_(ifnames), opt_(opt) {}

  bool empty() const { return origins_.empty(); }
  void Clear() { origins_.clear(); }

  void Start(size_t idx) {
    origins_.assign(1, idx);
    kept_.clear();
    vals_.clear();
    dims_ = KeyableDims(rules_[idx]);
    varying_ = 0;
    interval_ = false;
    for (int d = 0; d < kNumDims; ++d) {
      index_[d].clear();
      usable_[d] = (dims_ & (1u << d)) != 0;
    }
    arena_.release();
    Values v;
    v.Build(rules_[idx], dims_, ifnames_);
    Keep(idx, std::move(v));
  }

  // Adds the next rule of the chain if it fits; false leaves the run as it
  // was.
  bool Add(size_t idx) {
    const ir::Rule& r = rules_[idx];
    if (!SameShape(rules_[origins_.front()], r)) return false;
    Values vals;
    vals.Build(r, dims_, ifnames_);
    switch (Probe(vals)) {
      case Overlap::kConflict: return false;
      case Overlap::kContained:  // shadowed inside the run: never matches first
        origins_.push_back(idx);
        return true;
      case Overlap::kDisjoint: break;
    }
    unsigned varying = varying_;
    for (int d = 0; d < kNumDims; ++d)
      if ((dims_ & (1u << d)) && vals[d] != vals_.front()[d]) varying |= 1u << d;
    if (vals.Product(varying) > opt_.max_elements_per_rule) return false;
    if (KeyBytes(varying, r.family) > kMaxKeyBytes) return false;
    bool settled = kept_.size() >= opt_.settle_after;
    if (settled && varying != varying_) return false;
    bool interval = interval_ || vals.HasRange(varying);
    if (settled && !interval_ && interval && __builtin_popcount(varying) > 1) return false;
    if (varying != varying_) {
      // The new keyed dimensions expand the rules already kept too.
      for (const Values& kv : vals_) {
        if (kv.Product(varying) > opt_.max_elements_per_rule) return false;
        interval = interval || kv.HasRange(varying);
      }
      varying_ = varying;
    }
    interval_ = interval;
    origins_.push_back(idx);
    Keep(idx, std::move(vals));
    return true;
  }

  // The run as merged rules: one, or its rules one by one when merging would
  // only make them harder to read.
  void Finish(std::vector<MergedRule>& out) const {
    if (origins_.size() > 1 && __builtin_popcount(varying_) > 1 && origins_.size() < opt_.min_concat_rules) {
      for (size_t i : origins_) out.push_back(AsItIs(rules_, i));
      return;
    }
    out.push_back(Merged());
  }

 private:
  MergedRule Merged() const {
    MergedRule m;
    m.origins = origins_;
    m.base = rules_[kept_.front()];
    if (origins_.size() == 1) return m;  // a rule alone stays as it is
    std::vector<const ir::Rule*> all;
    for (size_t i : origins_) all.push_back(&rules_[i]);
    m.base.comment = MergedComment(all);
    if (varying_ == 0) return m;  // the others were shadowed by the first
    std::vector<int> key;
    for (Dim d : kAllDims)
      if (varying_ & Bit(d)) {
        m.key.push_back(d);
        key.push_back(static_cast<int>(d));
      }
    size_t total = 0;
    for (const Values& v : vals_) total += static_cast<size_t>(v.Product(varying_));
    m.elements.reserve(total);
    std::vector<size_t> pos(key.size());
    for (size_t k = 0; k < kept_.size(); ++k) {
      const ir::Rule& r = rules_[kept_[k]];
      const Values& vals = vals_[k];
      Action a = ActionOf(r);
      size_t ai = std::find(m.actions.begin(), m.actions.end(), a) - m.actions.begin();
      if (ai == m.actions.size()) m.actions.push_back(a);
      // The product of the rule's intervals over the keyed dimensions.
      std::fill(pos.begin(), pos.end(), 0);
      for (;;) {
        Element e;
        e.action = ai;
        e.counter = r.counter;
        e.origin = kept_[k];
        e.key.reserve(key.size());
        for (size_t i = 0; i < key.size(); ++i) {
          const Interval& iv = vals[key[i]].b[pos[i]];
          if (iv.lo != iv.hi) m.interval = true;
          e.key.push_back(iv);
        }
        m.elements.push_back(std::move(e));
        size_t i = key.size();
        while (i > 0 && ++pos[i - 1] == vals[key[i - 1]].size()) {
          pos[i - 1] = 0;
          --i;
        }
        if (i == 0) break;
      }
    }
    return m;
  }

  enum class Overlap { kDisjoint, kContained, kConflict };
  struct Entry {
    U128 hi;
    std::pmr::vector<uint32_t> kept;  // positions in kept_
  };
  using Index = std::pmr::map<U128, Entry>;

  // The interval of the index that overlaps iv, if any: with the index's
  // intervals pairwise disjoint it is the last one starting at or before
  // iv.lo or the first one after it. *partial: it overlaps without being
  // equal.
  static const Entry* Find(const Index& index, const Interval& iv, bool* partial) {
    *partial = false;
    auto next = index.upper_bound(iv.lo);
    if (next != index.end() && next->first <= iv.hi) {
      *partial = true;
      return nullptr;
    }
    if (next == index.begin()) return nullptr;
    auto prev = std::prev(next);
    if (prev->second.hi < iv.lo) return nullptr;
    if (prev->first != iv.lo || prev->second.hi != iv.hi) {
      *partial = true;
      return nullptr;
    }
    return &prev->second;
  }

  // Which kept rules the new one overlaps. A dimension whose intervals are
  // pairwise equal or disjoint names exactly the rules the new one meets in
  // it; the dimension that names the fewest is checked in full.
  Overlap Probe(const Values& vals) const {
    int best = -1;
    size_t best_count = SIZE_MAX;
    for (int d = 0; d < kNumDims; ++d) {
      if (!usable_[d]) continue;
      size_t count = 0;
      bool partial = false;
      for (const Interval& iv : vals[d]) {
        const Entry* e = Find(index_[d], iv, &partial);
        if (partial) break;
        if (e) count += e->kept.size();
      }
      if (partial) continue;
      if (count == 0) return Overlap::kDisjoint;
      if (count < best_count) {
        best = d;
        best_count = count;
      }
    }
    if (best < 0 || best_count > opt_.max_candidates) return Overlap::kConflict;
    std::vector<uint32_t> candidates;
    for (const Interval& iv : vals[best]) {
      bool partial = false;
      if (const Entry* e = Find(index_[best], iv, &partial))
        candidates.insert(candidates.end(), e->kept.begin(), e->kept.end());
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    for (uint32_t c : candidates) {
      const Values& other = vals_[c];
      bool meets = true, inside = true;
      for (int d = 0; d < kNumDims && meets; ++d) {
        if (!(dims_ & (1u << d))) continue;
        meets = Intersects(other[d], vals[d]);
        inside = inside && Contains(other[d], vals[d]);
      }
      // Inside a rule whose verdict ends the chain's evaluation, the new
      // rule can never match first; after a jump, evaluation comes back.
      if (meets)
        return inside && rules_[kept_[c]].verdict != ir::Verdict::kJump ? Overlap::kContained : Overlap::kConflict;
    }
    return Overlap::kDisjoint;
  }

  void Keep(size_t idx, Values vals) {
    uint32_t pos = static_cast<uint32_t>(kept_.size());
    kept_.push_back(idx);
    for (int d = 0; d < kNumDims; ++d) {
      if (!usable_[d]) continue;
      for (const Interval& iv : vals[d]) {
        bool partial = false;
        if (Entry* e = const_cast<Entry*>(Find(index_[d], iv, &partial))) {
          e->kept.push_back(pos);
        } else if (partial) {
          usable_[d] = false;  // no longer tells overlaps apart
          index_[d].clear();
          break;
        } else {
          auto it = index_[d].emplace_hint(index_[d].upper_bound(iv.lo), iv.lo, Entry{iv.hi, std::pmr::vector<uint32_t>(&arena_)});
          it->second.kept.push_back(pos);
        }
      }
    }
    vals_.push_back(std::move(vals));
  }

  const std::vector<ir::Rule>& rules_;
  Interner& ifnames_;
  const MergeOptions& opt_;
  std::vector<size_t> origins_;  // every rule of the run, in chain order
  std::vector<size_t> kept_;     // those not shadowed inside the run
  std::vector<Values> vals_;     // parallel to kept_
  unsigned dims_ = 0, varying_ = 0;
  bool interval_ = false;  // a kept rule has a range in a keyed dimension
  // The index lives in an arena released at the start of each run.
  std::pmr::monotonic_buffer_resource arena_;
  std::array<Index, kNumDims> index_{Index(&arena_), Index(&arena_), Index(&arena_), Index(&arena_), Index(&arena_),
                                     Index(&arena_), Index(&arena_), Index(&arena_), Index(&arena_)};
  std::array<bool, kNumDims> usable_{};
};

// Merges the rules at the given chain indices (in order) into runs.
std::vector<MergedRule> BuildRuns(const std::vector<ir::Rule>& rules, const std::vector<size_t>& indices,
                                  Interner& ifnames, const MergeOptions& opt) {
  std::vector<MergedRule> out;
  Run run(rules, ifnames, opt);
  for (size_t idx : indices) {
    if (!opt.enabled || !Mergeable(rules[idx])) {
      if (!run.empty()) run.Finish(out);
      run.Clear();
      out.push_back(AsItIs(rules, idx));
      continue;
    }
    if (run.empty()) {
      run.Start(idx);
    } else if (!run.Add(idx)) {
      run.Finish(out);
      run.Start(idx);
    }
  }
  if (!run.empty()) run.Finish(out);
  return out;
}

std::vector<MergedRule> MergeChain(const std::vector<ir::Rule>& rules, Interner& ifnames,
                                   const MergeOptions& opt) {
  std::vector<MergedRule> out;
  size_t i = 0;
  while (i < rules.size()) {
    bool both = rules[i].family == ir::RuleFamily::kAny;
    size_t j = i;
    while (j < rules.size() && (rules[j].family == ir::RuleFamily::kAny) == both) ++j;
    if (both) {
      std::vector<size_t> all;
      for (size_t k = i; k < j; ++k) all.push_back(k);
      for (auto& m : BuildRuns(rules, all, ifnames, opt)) out.push_back(std::move(m));
    } else {
      // Between two rules for both families, the IPv4 and the IPv6 rules
      // commute: merge each family on its own, then interleave the results
      // by where each started.
      std::vector<size_t> v4, v6;
      for (size_t k = i; k < j; ++k) (rules[k].family == ir::RuleFamily::kV4 ? v4 : v6).push_back(k);
      auto a = BuildRuns(rules, v4, ifnames, opt);
      auto b = BuildRuns(rules, v6, ifnames, opt);
      size_t x = 0, y = 0;
      while (x < a.size() || y < b.size()) {
        bool take_a = y == b.size() || (x < a.size() && a[x].origins.front() < b[y].origins.front());
        out.push_back(std::move(take_a ? a[x++] : b[y++]));
      }
    }
    i = j;
  }
  return out;
}

// Whether a verdict-map element needs a chain of its own for its action.
bool NeedsChain(const Action& a) {
  return a.log || a.verdict == ir::Verdict::kRejectTcpReset || a.verdict == ir::Verdict::kRejectIcmp ||
         a.verdict == ir::Verdict::kContinue;
}

// In a table crowded with sets, the runs whose sets would be inline (small)
// as their rules, one by one in chain order (the rules shadowed inside a run
// included, as a short concatenation's are).
std::vector<MergedRule> KeepNamedSets(std::vector<MergedRule> merged, const std::vector<ir::Rule>& rules,
                                      size_t inline_max) {
  std::vector<MergedRule> out;
  out.reserve(merged.size());
  for (MergedRule& m : merged) {
    if (m.key.empty() || m.elements.size() > inline_max) {
      out.push_back(std::move(m));
      continue;
    }
    for (size_t o : m.origins) out.push_back(AsItIs(rules, o));
  }
  return out;
}

}  // namespace

U128 DimMax(const ir::Rule& r, Dim d) {
  switch (d) {
    case Dim::kSrc:
    case Dim::kDst: return FamilyMax(r.family == ir::RuleFamily::kV6 ? Family::kV6 : Family::kV4);
    case Dim::kSport:
    case Dim::kDport: return 65535;
    case Dim::kProto:
    case Dim::kIcmpType:
    case Dim::kIcmpCode: return 255;
    case Dim::kIif:
    case Dim::kOif: break;
  }
  return ~U128{0};
}

IntervalSet DimValues(const ir::Rule& r, Dim d, int ifname_index) {
  IntervalSet s;
  switch (d) {
    case Dim::kIif:
    case Dim::kOif: s.Add(ifname_index, ifname_index); break;
    case Dim::kSrc:
    case Dim::kDst: {
      const ir::AddrMatch& a = d == Dim::kSrc ? r.src : r.dst;
      s = a.present ? a.set : IntervalSet::Range(0, DimMax(r, d));
      break;
    }
    case Dim::kProto: s.Add(r.service.proto, r.service.proto); break;
    case Dim::kSport:
    case Dim::kDport: {
      const IntervalSet& p = d == Dim::kSport ? r.service.sports : r.service.dports;
      s = p.empty() ? IntervalSet::Range(0, 65535) : p;
      break;
    }
    case Dim::kIcmpType:
      for (int t : r.service.icmp_types) s.Add(t, t);
      break;
    case Dim::kIcmpCode: s.Add(r.service.icmp_code, r.service.icmp_code); break;
  }
  return s;
}

std::string MergedComment(const std::vector<const ir::Rule*>& rules) {
  if (rules.empty()) return "";
  bool same = std::all_of(rules.begin(), rules.end(), [&](const ir::Rule* r) { return r->comment == rules[0]->comment; });
  if (same) return rules[0]->comment;
  // "file:line[ text]" -> file and line, per file the lowest and highest line.
  struct Lines {
    std::string file;
    int lo, hi;
  };
  std::vector<Lines> files;
  std::vector<std::string> other;
  for (const ir::Rule* r : rules) {
    const std::string& c = r->comment;
    size_t colon = std::string::npos;
    int line = 0;
    for (size_t p = c.find(':'); p != std::string::npos; p = c.find(':', p + 1)) {
      size_t q = p + 1;
      while (q < c.size() && c[q] >= '0' && c[q] <= '9') ++q;
      if (q > p + 1 && q - p <= 10 && (q == c.size() || c[q] == ' ')) {
        colon = p;
        line = std::stoi(c.substr(p + 1, q - p - 1));
        break;
      }
    }
    if (colon == std::string::npos) {
      if (std::find(other.begin(), other.end(), c) == other.end()) other.push_back(c);
      continue;
    }
    std::string file = c.substr(0, colon);
    auto it = std::find_if(files.begin(), files.end(), [&](const Lines& l) { return l.file == file; });
    if (it == files.end()) {
      files.push_back({file, line, line});
    } else {
      it->lo = std::min(it->lo, line);
      it->hi = std::max(it->hi, line);
    }
  }
  std::string out;
  for (const Lines& l : files) {
    if (!out.empty()) out += ", ";
    out += l.file + ":" + std::to_string(l.lo);
    if (l.hi != l.lo) out += "-" + std::to_string(l.hi);
  }
  for (const std::string& c : other) out += (out.empty() ? "" : ", ") + c;
  return out;
}

MergedRuleset MergeSets(const ir::Ruleset& rs, const MergeOptions& options) {
  MergedRuleset out;
  out.ir = &rs;
  Interner ifnames(out.ifnames);
  std::vector<std::vector<MergedRule>> merged;
  size_t keyed = 0;  // sets and maps in the table
  for (const ir::Chain& c : rs.chains) {
    merged.push_back(MergeChain(c.rules, ifnames, options));
    for (const MergedRule& m : merged.back()) keyed += !m.key.empty();
  }
  bool crowded = keyed > options.max_sets;
  for (size_t ci = 0; ci < rs.chains.size(); ++ci) {
    const ir::Chain& c = rs.chains[ci];
    MergedChain mc;
    mc.name = c.name;
    mc.hook = c.hook;
    mc.policy = c.policy;
    mc.rules = crowded ? KeepNamedSets(std::move(merged[ci]), c.rules, options.inline_max) : std::move(merged[ci]);
    int sets = 0, maps = 0, actions = 0;
    for (MergedRule& m : mc.rules) {
      if (m.key.empty()) continue;
      bool counted = std::any_of(m.elements.begin(), m.elements.end(), [](const Element& e) { return e.counter; });
      // nft counts elements one by one only in an inline set, or in a
      // named set or map declared with counters on all of them.
      if (m.elements.size() > options.inline_max || (m.is_map() && counted)) {
        m.name = c.name + (m.is_map() ? "_map" + std::to_string(++maps) : "_set" + std::to_string(++sets));
        m.counters = counted;
      }
      if (!m.is_map()) continue;
      for (size_t ai = 0; ai < m.actions.size(); ++ai) {
        Action& a = m.actions[ai];
        if (!NeedsChain(a)) continue;
        // The chain's comment names the rules whose action it is.
        std::vector<const ir::Rule*> users;
        std::vector<size_t> origins;
        for (const Element& e : m.elements)
          if (e.action == ai && (origins.empty() || origins.back() != e.origin)) {
            origins.push_back(e.origin);
            users.push_back(&c.rules[e.origin]);
          }
        a.chain = c.name + "_act" + std::to_string(++actions);
        a.go_to = a.verdict == ir::Verdict::kReturn;
        MergedChain ac;
        ac.name = a.chain;
        MergedRule r;
        r.base.family = m.base.family;
        r.base.log.enabled = a.log;
        r.base.log.prefix = a.log_prefix;
        r.base.verdict = a.verdict;
        r.base.target = a.target;
        r.base.comment = MergedComment(users);
        if (a.verdict == ir::Verdict::kRejectTcpReset) {
          r.base.has_service = true;
          r.base.service.proto = kProtoTcp;
        }
        r.origins = std::move(origins);
        ac.rules.push_back(std::move(r));
        out.action_chains.push_back(std::move(ac));
      }
    }
    out.chains.push_back(std::move(mc));
  }
  return out;
}

}  // namespace fwc::nftables
