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
#include <cassert>
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/base/address.h"

namespace fwc::analysis {

enum Field { kIif, kOif, kSrc, kDst, kProto, kSport, kDport, kIcmp, kFieldCount };
static_assert(kSrc == 2 && kDst == 3, "Cube keeps the addresses between the interfaces and the rest");

// The largest value of each field; addresses depend on the family and
// interfaces on how many names the policy uses.
struct FieldLimits {
  std::array<U128, kFieldCount> max{};
  static FieldLimits For(Family f, int interface_ids);
};

// Addresses take 128 bits; the other six fields fit in 32, and are held so:
// at 1M rules the analysis holds 2M boxes, 224 MB instead of 512 with every
// bound 128 bits wide. Read a field with field(i) (or lo/hi), change it with
// set, set_lo, set_hi.
class Cube {
 public:
  static Cube Full(const FieldLimits& lim);

  static constexpr bool IsAddress(int i) { return i == kSrc || i == kDst; }
  U128 lo(int i) const { return IsAddress(i) ? addr_[i - kSrc].lo : small_[Small(i)].lo; }
  U128 hi(int i) const { return IsAddress(i) ? addr_[i - kSrc].hi : small_[Small(i)].hi; }
  Interval field(int i) const { return {lo(i), hi(i)}; }
  void set_lo(int i, U128 v) {
    if (IsAddress(i)) addr_[i - kSrc].lo = v;
    else small_[Small(i)].lo = Narrow(v);
  }
  void set_hi(int i, U128 v) {
    if (IsAddress(i)) addr_[i - kSrc].hi = v;
    else small_[Small(i)].hi = Narrow(v);
  }
  void set(int i, const Interval& v) {
    set_lo(i, v.lo);
    set_hi(i, v.hi);
  }
  void set_single(int i, U128 v) { set(i, {v, v}); }

  bool Empty() const {
    for (const auto& a : addr_)
      if (a.lo > a.hi) return true;
    for (const auto& s : small_)
      if (s.lo > s.hi) return true;
    return false;
  }
  bool Intersects(const Cube& o) const {
    for (int i = 0; i < kSmall; ++i)
      if (small_[i].hi < o.small_[i].lo || o.small_[i].hi < small_[i].lo) return false;
    for (int i = 0; i < 2; ++i)
      if (addr_[i].hi < o.addr_[i].lo || o.addr_[i].hi < addr_[i].lo) return false;
    return true;
  }
  Cube Intersect(const Cube& o) const;
  bool Contains(const Cube& o) const {
    for (int i = 0; i < kSmall; ++i)
      if (o.small_[i].lo < small_[i].lo || o.small_[i].hi > small_[i].hi) return false;
    for (int i = 0; i < 2; ++i)
      if (o.addr_[i].lo < addr_[i].lo || o.addr_[i].hi > addr_[i].hi) return false;
    return true;
  }

 private:
  static constexpr int kSmall = kFieldCount - 2;
  // kIif, kOif, then kProto .. kIcmp: the fields around the two addresses.
  static constexpr int Small(int i) { return i < kSrc ? i : i - 2; }
  // Every bound of these fields is at most its FieldLimits::max, which fits
  // (interface ids count the policy's interfaces); the empty box {1, 0} too.
  static uint32_t Narrow(U128 v) {
    assert(v <= 0xffffffffu);
    return static_cast<uint32_t>(v);
  }
  struct Small32 {
    uint32_t lo = 0, hi = 0;
  };
  Interval addr_[2];  // kSrc, kDst
  Small32 small_[kSmall];
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
