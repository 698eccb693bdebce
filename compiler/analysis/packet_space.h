// The space of packets a rule can match, as exact sets. A Cube is a product
// of one IntervalSet per field (interface in, interface out, source,
// destination, protocol, source port, destination port, ICMP type/code); a
// rule's match is a union of cubes. Everything the analysis proves is
// proved with these few operations: intersect, subtract, test for empty.
//
// Fields that do not apply to a protocol (ports for ICMP, ICMP for TCP) are
// left full in every cube, so no cube ever separates packets that differ
// only in a field they do not have.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "compiler/address.h"

namespace fwc::analysis {

enum Field { kIif, kOif, kSrc, kDst, kProto, kSport, kDport, kIcmp, kFieldCount };

// The largest value of each field; addresses depend on the family and
// interfaces on how many names the policy uses.
struct FieldLimits {
  std::array<U128, kFieldCount> max{};
  static FieldLimits For(Family f, int interface_ids);
};

struct Cube {
  std::array<IntervalSet, kFieldCount> f;

  static Cube Full(const FieldLimits& lim);
  bool Empty() const;
  bool Intersects(const Cube& o) const;
  Cube Intersect(const Cube& o) const;
  bool Contains(const Cube& o) const;
};

// A concrete packet: one value per field.
using Point = std::array<U128, kFieldCount>;

bool CubeContains(const Cube& c, const Point& p);

// Appends the pieces of a - b (disjoint, product-shaped) to out.
void Subtract(const Cube& a, const Cube& b, std::vector<Cube>& out);

// Removes b from every piece; pieces stays a disjoint union of cubes.
void SubtractAll(std::vector<Cube>& pieces, const Cube& b);

// The bounding box of a union of cubes, one interval per field, for quick
// rejection before the exact operations.
struct Hull {
  std::array<Interval, kFieldCount> f;
  bool Intersects(const Hull& o) const;
};
Hull HullOf(const std::vector<Cube>& cubes);

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
