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
  for (int i = 0; i < kFieldCount; ++i) c.set(i, {0, lim.max[i]});
  return c;
}

Cube Cube::Intersect(const Cube& o) const {
  Cube r;
  for (int i = 0; i < kFieldCount; ++i) r.set(i, {std::max(lo(i), o.lo(i)), std::min(hi(i), o.hi(i))});
  return r;
}

bool CubeContains(const Cube& c, const Point& p) {
  for (int i = 0; i < kFieldCount; ++i)
    if (p[i] < c.lo(i) || p[i] > c.hi(i)) return false;
  return true;
}

void AddProduct(const std::array<IntervalSet, kFieldCount>& sets, std::vector<Cube>& out) {
  for (const auto& s : sets)
    if (s.empty()) return;
  std::array<size_t, kFieldCount> idx{};
  while (true) {
    Cube c;
    for (int i = 0; i < kFieldCount; ++i) c.set(i, sets[i].intervals()[idx[i]]);
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
    if (rest.lo(i) < b.lo(i)) {
      Cube below = rest;
      below.set_hi(i, b.lo(i) - 1);
      out.push_back(below);
      rest.set_lo(i, b.lo(i));
    }
    if (rest.hi(i) > b.hi(i)) {
      Cube above = rest;
      above.set_lo(i, b.hi(i) + 1);
      out.push_back(above);
      rest.set_hi(i, b.hi(i));
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
    for (int i = 0; i < kFieldCount; ++i) (*witness)[i] = x.lo(i);
    return true;
  }
  // A cheap try first: x's lowest corner.
  Point corner;
  for (int i = 0; i < kFieldCount; ++i) corner[i] = x.lo(i);
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
    Interval xi = x.field(i);
    U128 cut;
    if (b.lo(i) > xi.lo) cut = b.lo(i) - 1;       // [lo, b.lo-1] | [b.lo, hi]
    else if (b.hi(i) < xi.hi) cut = b.hi(i);      // [lo, b.hi] | [b.hi+1, hi]
    else continue;
    Cube left = x, right = x;
    left.set_hi(i, cut);
    right.set_lo(i, cut + 1);
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
        h.set(i, c.field(i));
      } else {
        h.set_lo(i, std::min(h.lo(i), c.lo(i)));
        h.set_hi(i, std::max(h.hi(i), c.hi(i)));
      }
    }
    first = false;
  }
  if (first)  // no packets at all: an inverted box, which contains no point
    for (int i = 0; i < kFieldCount; ++i) h.set(i, {1, 0});
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
  for (int i = 0; i < kFieldCount; ++i) p[i] = c.lo(i);
  // 203.0.113.10 / 2001:db8:ffff::10 (documentation ranges) stand for "any".
  bool v6 = c.hi(kSrc) > 0xffffffffu || c.hi(kDst) > 0xffffffffu;
  U128 doc = v6 ? (U128{0x20010db8ffffULL} << 80) | 0x10 : U128{0xcb00710au};
  auto pick = [&](Field f, const std::vector<U128>& hinted) {
    for (U128 v : hinted)
      if (Has(c.field(f), v)) return v;
    return Has(c.field(f), doc) ? doc : c.lo(f);
  };
  p[kSrc] = pick(kSrc, hints.src);
  p[kDst] = pick(kDst, hints.dst);
  p[kProto] = Prefer(c.field(kProto), {kProtoTcp, kProtoUdp, kProtoIcmp, kProtoIcmpv6});
  // An ephemeral source port reads like real traffic; otherwise the lowest.
  if (c.hi(kSport) >= 40000) p[kSport] = std::max<U128>(c.lo(kSport), 40000);
  if (p[kProto] == kProtoIcmp || p[kProto] == kProtoIcmpv6) {
    // echo-request if allowed, so examples look like pings.
    U128 echo = (p[kProto] == kProtoIcmp ? 8 : 128) << 8;
    if (Has(c.field(kIcmp), echo)) p[kIcmp] = echo;
  }
  return p;
}

}  // namespace fwc::analysis
