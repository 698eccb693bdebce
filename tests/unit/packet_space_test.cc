// The box algebra of the analysis (compiler/analysis/packet_space.h), on
// its own: every field keeps what is set in it whatever its width, and
// Subtract and FindUncovered agree with enumerating every point of a tiny
// space.
#include <catch2/catch.hpp>
#include <random>

#include "compiler/analysis/packet_space.h"

using namespace fwc;
using namespace fwc::analysis;

namespace {

// Every field 0..2: 3^8 points, small enough to visit them all.
constexpr U128 kTinyMax = 2;

FieldLimits Tiny() {
  FieldLimits l;
  for (auto& m : l.max) m = kTinyMax;
  return l;
}

Cube RandomBox(std::mt19937& rng) {
  Cube c = Cube::Full(Tiny());
  std::uniform_int_distribution<int> v(0, static_cast<int>(kTinyMax));
  for (int i = 0; i < kFieldCount; ++i) {
    U128 a = static_cast<U128>(v(rng)), b = static_cast<U128>(v(rng));
    c.set(i, {std::min(a, b), std::max(a, b)});
  }
  return c;
}

template <typename F>
void ForEachPoint(F f) {
  Point p{};
  for (;;) {
    f(p);
    int i = kFieldCount - 1;
    while (i >= 0 && ++p[i] > kTinyMax) p[i--] = 0;
    if (i < 0) return;
  }
}

}  // namespace

TEST_CASE("a cube keeps each field's bounds, 128-bit addresses and 32-bit others alike", "[analysis]") {
  const U128 v6_top = ~U128{0};
  struct Row {
    Field field;
    Interval iv;
  } rows[] = {
      {kIif, {3, 7}},
      {kOif, {0, 0xffffffffu}},
      {kSrc, {U128{1} << 100, v6_top}},
      {kDst, {0, v6_top - 1}},
      {kProto, {6, 6}},
      {kSport, {1024, 65535}},
      {kDport, {80, 80}},
      {kIcmp, {8 << 8, (8 << 8) | 0xff}},
  };
  for (const auto& row : rows) {
    CAPTURE(static_cast<int>(row.field));
    FieldLimits lim = FieldLimits::For(Family::kV6, 9);
    lim.max[kIif] = lim.max[kOif] = 0xffffffffu;  // the widest a 32-bit field holds
    Cube c = Cube::Full(lim);
    Cube before = c;
    c.set(row.field, row.iv);
    CHECK(c.field(row.field) == row.iv);
    CHECK(c.lo(row.field) == row.iv.lo);
    CHECK(c.hi(row.field) == row.iv.hi);
    for (int i = 0; i < kFieldCount; ++i)
      if (i != row.field) CHECK(c.field(i) == before.field(i));
    CHECK(before.Contains(c));
    CHECK(before.Intersects(c));
    CHECK(before.Intersect(c).field(row.field) == row.iv);
  }
}

TEST_CASE("cubes meet and contain only when every field does", "[analysis]") {
  const FieldLimits lim = FieldLimits::For(Family::kV6, 4);
  for (Field f : {kIif, kSrc, kDst, kProto, kIcmp}) {
    CAPTURE(static_cast<int>(f));
    Cube a = Cube::Full(lim), b = Cube::Full(lim);
    a.set(f, {0, 10});
    b.set(f, {11, 20});
    CHECK_FALSE(a.Intersects(b));
    CHECK(a.Intersect(b).Empty());
    b.set(f, {10, 20});
    CHECK(a.Intersects(b));
    CHECK(a.Intersect(b).field(f) == Interval{10, 10});
    CHECK_FALSE(a.Contains(b));
    b.set(f, {2, 3});
    CHECK(a.Contains(b));
    CHECK_FALSE(b.Contains(a));
  }
  Cube none = HullOf({});
  CHECK(none.Empty());
  CHECK_FALSE(none.Contains(Cube::Full(lim)));
  CHECK_FALSE(CubeContains(none, Point{}));
}

TEST_CASE("Subtract and FindUncovered agree with every point of a tiny space", "[analysis]") {
  std::mt19937 rng(20261208);
  for (int round = 0; round < 200; ++round) {
    Cube a = RandomBox(rng), b = RandomBox(rng);
    std::vector<Cube> pieces;
    Subtract(a, b, pieces);
    std::vector<Cube> cover;
    for (int k = 0; k < 1 + round % 4; ++k) cover.push_back(RandomBox(rng));
    std::vector<const Cube*> by;
    for (const auto& c : cover) by.push_back(&c);
    bool uncovered = false;
    ForEachPoint([&](const Point& p) {
      int in = 0;
      for (const auto& piece : pieces) in += CubeContains(piece, p);
      // Each point of a - b in exactly one piece, no other point in any.
      REQUIRE(in == (CubeContains(a, p) && !CubeContains(b, p) ? 1 : 0));
      bool covered = false;
      for (const auto& c : cover) covered = covered || CubeContains(c, p);
      if (CubeContains(a, p) && !covered) uncovered = true;
    });
    Point witness{};
    CAPTURE(round);
    REQUIRE(FindUncovered(a, by, &witness) == uncovered);
    if (uncovered) {
      CHECK(CubeContains(a, witness));
      for (const auto& c : cover) CHECK_FALSE(CubeContains(c, witness));
    }
    Cube hull = HullOf(pieces);
    for (const auto& piece : pieces) CHECK(hull.Contains(piece));
  }
}
