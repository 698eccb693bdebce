// The space of packets a rule can match, as exact sets. A Cube is a box: one
// closed interval per field (interface in, interface out, source,
// destination, protocol, source port, destination port, ICMP type/code); a
// rule's match is a union of cubes. Everything the analysis proves is
// proved with a few operations on boxes: intersect, contain, subtract, and
// "is this box covered by those".
//
// Fields that do not apply to a protocol (ports for ICMP, ICMP for TCP) are
// left full in every cube, so no cube ever separates packets that differ
// only in a field they do not have.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "compiler/base/address.h"

namespace fwc::analysis {

enum Field { kIif, kOif, kSrc, kDst, kProto, kSport, kDport, kIcmp, kFieldCount };

// The largest value of each field; addresses depend on the family and
// interfaces on how many names the policy uses.
struct FieldLimits {
  std::array<U128, kFieldCount> max{};
  static FieldLimits For(Family f, int interface_ids);
};

struct Cube {
  std::array<Interval, kFieldCount> f;

  static Cube Full(const FieldLimits& lim);
  bool Empty() const {
    for (const auto& i : f)
      if (i.lo > i.hi) return true;
    return false;
  }
  bool Intersects(const Cube& o) const {
    for (int i = 0; i < kFieldCount; ++i)
      if (f[i].hi < o.f[i].lo || o.f[i].hi < f[i].lo) return false;
    return true;
  }
  Cube Intersect(const Cube& o) const;
  bool Contains(const Cube& o) const {
    for (int i = 0; i < kFieldCount; ++i)
      if (o.f[i].lo < f[i].lo || o.f[i].hi > f[i].hi) return false;
    return true;
  }
};

// A concrete packet: one value per field.
using Point = std::array<U128, kFieldCount>;

bool CubeContains(const Cube& c, const Point& p);

// Adds to out the boxes of a product of per-field sets (one box per
// combination of intervals).
void AddProduct(const std::array<IntervalSet, kFieldCount>& sets, std::vector<Cube>& out);

// Appends the pieces of a - b (disjoint boxes, at most two per field).
void Subtract(const Cube& a, const Cube& b, std::vector<Cube>& out);
// Removes b from every piece; pieces stays a disjoint union of boxes.
void SubtractAll(std::vector<Cube>& pieces, const Cube& b);

// Whether some point of x lies in none of `by`; if so, one such point goes
// to *witness. Depth-first: it splits x along the boundaries of the boxes
// that meet it and stops at the first uncovered point, so the common "not
// covered" answer is fast.
bool FindUncovered(const Cube& x, const Cube* const* by, size_t n, Point* witness);
inline bool FindUncovered(const Cube& x, const std::vector<const Cube*>& by, Point* witness) {
  return FindUncovered(x, by.data(), by.size(), witness);
}

// The bounding box of a union of cubes (an inverted box if empty).
Cube HullOf(const std::vector<Cube>& cubes);

// Values a sample should prefer for a field when the cube allows them, e.g.
// the firewall's own addresses as destinations in the input chain.
struct SampleHints {
  std::vector<U128> src, dst;
};

// A representative packet of a non-empty cube, chosen to read naturally
// (TCP before UDP before ICMP, an ephemeral source port when allowed, the
// hinted addresses, otherwise documentation addresses rather than 0.0.0.0).
Point Sample(const Cube& c, const SampleHints& hints = {});

}  // namespace fwc::analysis
