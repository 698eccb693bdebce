#include "compiler/analysis/packet_space.h"

#include <algorithm>

#include "compiler/base/protocols.h"

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
  for (int i = 0; i < kFieldCount; ++i) c.f[i] = {0, lim.max[i]};
  return c;
}

Cube Cube::Intersect(const Cube& o) const {
  Cube r;
  for (int i = 0; i < kFieldCount; ++i) r.f[i] = {std::max(f[i].lo, o.f[i].lo), std::min(f[i].hi, o.f[i].hi)};
  return r;
}

bool CubeContains(const Cube& c, const Point& p) {
  for (int i = 0; i < kFieldCount; ++i)
    if (p[i] < c.f[i].lo || p[i] > c.f[i].hi) return false;
  return true;
}

void AddProduct(const std::array<IntervalSet, kFieldCount>& sets, std::vector<Cube>& out) {
  for (const auto& s : sets)
    if (s.empty()) return;
  std::array<size_t, kFieldCount> idx{};
  while (true) {
    Cube c;
    for (int i = 0; i < kFieldCount; ++i) c.f[i] = sets[i].intervals()[idx[i]];
    out.push_back(c);
    int i = kFieldCount - 1;
    while (i >= 0 && ++idx[i] == sets[i].intervals().size()) idx[i--] = 0;
    if (i < 0) return;
  }
}

void Subtract(const Cube& a, const Cube& b, std::vector<Cube>& out) {
  if (!a.Intersects(b)) {
    out.push_back(a);
    return;
  }
  // Peel off, field by field, the parts of a below and above b; what is
  // left at the end lies inside b.
  Cube rest = a;
  for (int i = 0; i < kFieldCount; ++i) {
    if (rest.f[i].lo < b.f[i].lo) {
      Cube below = rest;
      below.f[i].hi = b.f[i].lo - 1;
      out.push_back(below);
      rest.f[i].lo = b.f[i].lo;
    }
    if (rest.f[i].hi > b.f[i].hi) {
      Cube above = rest;
      above.f[i].lo = b.f[i].hi + 1;
      out.push_back(above);
      rest.f[i].hi = b.f[i].hi;
    }
  }
}

void SubtractAll(std::vector<Cube>& pieces, const Cube& b) {
  std::vector<Cube> out;
  out.reserve(pieces.size() + 4);
  for (const auto& p : pieces) Subtract(p, b, out);
  pieces.swap(out);
}

namespace {

bool Uncovered(const Cube& x, const Cube* const* by, size_t n, Point* witness) {
  // Only the boxes that meet x matter below this point.
  std::vector<const Cube*> meet;
  for (size_t k = 0; k < n; ++k) {
    const Cube* b = by[k];
    if (b->Intersects(x)) {
      if (b->Contains(x)) return false;
      meet.push_back(b);
    }
  }
  if (meet.empty()) {
    for (int i = 0; i < kFieldCount; ++i) (*witness)[i] = x.f[i].lo;
    return true;
  }
  // A cheap try first: x's lowest corner.
  Point corner;
  for (int i = 0; i < kFieldCount; ++i) corner[i] = x.f[i].lo;
  bool corner_free = true;
  for (const Cube* b : meet)
    if (CubeContains(*b, corner)) {
      corner_free = false;
      break;
    }
  if (corner_free) {
    *witness = corner;
    return true;
  }
  // Split x at a boundary of the first box that meets it but does not
  // contain it: the inside part is then one field closer to being
  // contained, so the recursion ends.
  const Cube& b = *meet.front();
  for (int i = 0; i < kFieldCount; ++i) {
    Interval xi = x.f[i];
    U128 cut;
    if (b.f[i].lo > xi.lo) cut = b.f[i].lo - 1;       // [lo, b.lo-1] | [b.lo, hi]
    else if (b.f[i].hi < xi.hi) cut = b.f[i].hi;      // [lo, b.hi] | [b.hi+1, hi]
    else continue;
    Cube left = x, right = x;
    left.f[i].hi = cut;
    right.f[i].lo = cut + 1;
    return Uncovered(left, meet.data(), meet.size(), witness) || Uncovered(right, meet.data(), meet.size(), witness);
  }
  return false;  // b contains x: unreachable, handled above
}

}  // namespace

bool FindUncovered(const Cube& x, const Cube* const* by, size_t n, Point* witness) {
  if (x.Empty()) return false;
  return Uncovered(x, by, n, witness);
}

Cube HullOf(const std::vector<Cube>& cubes) {
  Cube h;
  bool first = true;
  for (const auto& c : cubes) {
    if (c.Empty()) continue;
    for (int i = 0; i < kFieldCount; ++i) {
      if (first) {
        h.f[i] = c.f[i];
      } else {
        h.f[i].lo = std::min(h.f[i].lo, c.f[i].lo);
        h.f[i].hi = std::max(h.f[i].hi, c.f[i].hi);
      }
    }
    first = false;
  }
  if (first)  // no packets at all: an inverted box meets nothing
    for (auto& iv : h.f) iv = {1, 0};
  return h;
}

namespace {

bool Has(const Interval& i, U128 v) { return i.lo <= v && v <= i.hi; }

U128 Prefer(const Interval& s, std::initializer_list<U128> preferred) {
  for (U128 v : preferred)
    if (Has(s, v)) return v;
  return s.lo;
}

}  // namespace

Point Sample(const Cube& c, const SampleHints& hints) {
  Point p;
  for (int i = 0; i < kFieldCount; ++i) p[i] = c.f[i].lo;
  // 203.0.113.10 / 2001:db8:ffff::10 (documentation ranges) stand for "any".
  bool v6 = c.f[kSrc].hi > 0xffffffffu || c.f[kDst].hi > 0xffffffffu;
  U128 doc = v6 ? (U128{0x20010db8ffffULL} << 80) | 0x10 : U128{0xcb00710au};
  auto pick = [&](Field f, const std::vector<U128>& hinted) {
    for (U128 v : hinted)
      if (Has(c.f[f], v)) return v;
    return Has(c.f[f], doc) ? doc : c.f[f].lo;
  };
  p[kSrc] = pick(kSrc, hints.src);
  p[kDst] = pick(kDst, hints.dst);
  p[kProto] = Prefer(c.f[kProto], {kProtoTcp, kProtoUdp, kProtoIcmp, kProtoIcmpv6});
  // An ephemeral source port reads like real traffic; otherwise the lowest.
  if (c.f[kSport].hi >= 40000) p[kSport] = std::max<U128>(c.f[kSport].lo, 40000);
  if (p[kProto] == kProtoIcmp || p[kProto] == kProtoIcmpv6) {
    // echo-request if allowed, so examples look like pings.
    U128 echo = (p[kProto] == kProtoIcmp ? 8 : 128) << 8;
    if (Has(c.f[kIcmp], echo)) p[kIcmp] = echo;
  }
  return p;
}

}  // namespace fwc::analysis
