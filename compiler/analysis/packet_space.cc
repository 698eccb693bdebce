#include "compiler/analysis/packet_space.h"

#include <algorithm>

#include "compiler/protocols.h"

namespace fwc::analysis {

FieldLimits FieldLimits::For(Family f, int interface_ids) {
  FieldLimits l;
  l.max[kIif] = l.max[kOif] = static_cast<U128>(interface_ids);
  l.max[kSrc] = l.max[kDst] = FamilyMax(f);
  l.max[kProto] = 255;
  l.max[kSport] = l.max[kDport] = 65535;
  l.max[kIcmp] = 65535;  // type << 8 | code
  return l;
}

Cube Cube::Full(const FieldLimits& lim) {
  Cube c;
  for (int i = 0; i < kFieldCount; ++i) c.f[i] = IntervalSet::Range(0, lim.max[i]);
  return c;
}

bool Cube::Empty() const {
  for (const auto& s : f)
    if (s.empty()) return true;
  return false;
}

bool Cube::Intersects(const Cube& o) const {
  for (int i = 0; i < kFieldCount; ++i)
    if (!f[i].Intersects(o.f[i])) return false;
  return true;
}

Cube Cube::Intersect(const Cube& o) const {
  Cube r;
  for (int i = 0; i < kFieldCount; ++i) r.f[i] = f[i].Intersect(o.f[i]);
  return r;
}

bool Cube::Contains(const Cube& o) const {
  for (int i = 0; i < kFieldCount; ++i)
    if (!f[i].Contains(o.f[i])) return false;
  return true;
}

bool CubeContains(const Cube& c, const Point& p) {
  for (int i = 0; i < kFieldCount; ++i)
    if (!c.f[i].Intersects(IntervalSet::Range(p[i], p[i]))) return false;
  return true;
}

void Subtract(const Cube& a, const Cube& b, std::vector<Cube>& out) {
  if (!a.Intersects(b)) {
    out.push_back(a);
    return;
  }
  // a - b = union over fields i of: (a ∩ b on fields < i) x (a_i - b_i) x
  // (a on fields > i). The pieces are disjoint.
  Cube prefix = a;
  for (int i = 0; i < kFieldCount; ++i) {
    // a_i - b_i = a_i ∩ complement(b_i); the complement bound only needs to
    // reach a_i's top.
    const auto& ai = a.f[i].intervals();
    U128 top = ai.empty() ? 0 : ai.back().hi;
    IntervalSet rest = a.f[i].Intersect(b.f[i].Complement(top));
    if (!rest.empty()) {
      Cube piece = prefix;
      piece.f[i] = std::move(rest);
      out.push_back(std::move(piece));
    }
    prefix.f[i] = a.f[i].Intersect(b.f[i]);
  }
}

void SubtractAll(std::vector<Cube>& pieces, const Cube& b) {
  std::vector<Cube> out;
  out.reserve(pieces.size());
  for (const auto& p : pieces) Subtract(p, b, out);
  pieces.swap(out);
}

bool Hull::Intersects(const Hull& o) const {
  for (int i = 0; i < kFieldCount; ++i)
    if (f[i].hi < o.f[i].lo || o.f[i].hi < f[i].lo) return false;
  return true;
}

Hull HullOf(const std::vector<Cube>& cubes) {
  Hull h;
  bool first = true;
  for (const auto& c : cubes) {
    if (c.Empty()) continue;
    for (int i = 0; i < kFieldCount; ++i) {
      const auto& iv = c.f[i].intervals();
      Interval span{iv.front().lo, iv.back().hi};
      if (first) {
        h.f[i] = span;
      } else {
        h.f[i].lo = std::min(h.f[i].lo, span.lo);
        h.f[i].hi = std::max(h.f[i].hi, span.hi);
      }
    }
    first = false;
  }
  if (first)  // no packets at all: an inverted hull intersects nothing
    for (auto& iv : h.f) iv = {1, 0};
  return h;
}

namespace {

bool Has(const IntervalSet& s, U128 v) { return s.Intersects(IntervalSet::Range(v, v)); }

U128 Prefer(const IntervalSet& s, std::initializer_list<U128> preferred) {
  for (U128 v : preferred)
    if (Has(s, v)) return v;
  return s.intervals().front().lo;
}

}  // namespace

Point Sample(const Cube& c, const SampleHints& hints) {
  Point p;
  for (int i = 0; i < kFieldCount; ++i) p[i] = c.f[i].intervals().front().lo;
  // 203.0.113.10 / 2001:db8:ffff::10 (documentation ranges) stand for "any".
  bool v6 = c.f[kSrc].intervals().back().hi > 0xffffffffu || c.f[kDst].intervals().back().hi > 0xffffffffu;
  U128 doc = v6 ? (U128{0x20010db8ffffULL} << 80) | 0x10 : U128{0xcb00710au};
  auto pick = [&](Field f, const std::vector<U128>& hinted) {
    for (U128 v : hinted)
      if (Has(c.f[f], v)) return v;
    return Has(c.f[f], doc) ? doc : c.f[f].intervals().front().lo;
  };
  p[kSrc] = pick(kSrc, hints.src);
  p[kDst] = pick(kDst, hints.dst);
  p[kProto] = Prefer(c.f[kProto], {kProtoTcp, kProtoUdp, kProtoIcmp, kProtoIcmpv6});
  // An ephemeral source port reads like real traffic; otherwise the lowest.
  const auto& sp = c.f[kSport].intervals();
  for (const auto& iv : sp)
    if (iv.hi >= 40000) {
      p[kSport] = std::max<U128>(iv.lo, 40000);
      break;
    }
  if (p[kProto] == kProtoIcmp || p[kProto] == kProtoIcmpv6) {
    // echo-request if allowed, so examples look like pings.
    U128 echo = (p[kProto] == kProtoIcmp ? 8 : 128) << 8;
    if (Has(c.f[kIcmp], echo)) p[kIcmp] = echo;
  }
  return p;
}

}  // namespace fwc::analysis
