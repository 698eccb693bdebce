#include <catch2/catch.hpp>

#include "compiler/base/address.h"

using namespace fwc;

TEST_CASE("IntervalSet merges overlapping and adjacent intervals", "[address]") {
  IntervalSet s;
  s.Add(10, 20);
  s.Add(21, 30);  // adjacent
  s.Add(5, 12);   // overlapping
  s.Add(40, 50);
  REQUIRE(s.intervals().size() == 2);
  CHECK(s.intervals()[0] == Interval{5, 30});
  CHECK(s.intervals()[1] == Interval{40, 50});
  s.Add(31, 39);
  REQUIRE(s.intervals().size() == 1);
  CHECK(s.intervals()[0] == Interval{5, 50});
}

TEST_CASE("IntervalSet complement, intersection and containment", "[address]") {
  IntervalSet s = IntervalSet::Range(10, 20);
  s.Add(30, 40);
  IntervalSet c = s.Complement(100);
  REQUIRE(c.intervals().size() == 3);
  CHECK(c.intervals()[0] == Interval{0, 9});
  CHECK(c.intervals()[2] == Interval{41, 100});
  CHECK_FALSE(c.Intersects(s));
  CHECK(s.Contains(IntervalSet::Range(12, 18)));
  CHECK_FALSE(s.Contains(IntervalSet::Range(18, 32)));
  CHECK(s.Intersect(IntervalSet::Range(15, 35)).intervals().size() == 2);
  CHECK(IntervalSet().Complement(FamilyMax(Family::kV6)).IsFull(FamilyMax(Family::kV6)));
  CHECK(IntervalSet::Range(0, FamilyMax(Family::kV6)).Complement(FamilyMax(Family::kV6)).empty());
}

TEST_CASE("ParseAddress accepts both families and rejects malformed text", "[address]") {
  std::string err;
  auto a = ParseAddress("10.1.2.0/24", &err);
  REQUIRE(a);
  CHECK(a->family == Family::kV4);
  CHECK(a->prefix == 24);
  auto b = ParseAddress("2001:db8::1", &err);
  REQUIRE(b);
  CHECK(b->family == Family::kV6);
  CHECK(b->prefix == -1);
  CHECK_FALSE(ParseAddress("10.1.2", &err));
  CHECK(err.find("not a valid IPv4 address") != std::string::npos);
  CHECK_FALSE(ParseAddress("10.1.2.3/33", &err));
  CHECK(err.find("too long") != std::string::npos);
  CHECK_FALSE(ParseAddress("2001:db8:::1", &err));
  CHECK_FALSE(ParseAddress("2001:db8::/129", &err));
}

TEST_CASE("FormatInterval prints a prefix when it can and a range otherwise", "[address]") {
  std::string err;
  auto net = ParseAddress("10.1.2.0/24", &err);
  Interval iv = PrefixInterval(Family::kV4, net->addr, 24);
  CHECK(FormatInterval(Family::kV4, iv) == "10.1.2.0/24");
  CHECK(FormatInterval(Family::kV4, {iv.lo + 5, iv.lo + 9}) == "10.1.2.5-10.1.2.9");
  CHECK(FormatInterval(Family::kV4, {iv.lo + 5, iv.lo + 5}) == "10.1.2.5");
  CHECK(FormatInterval(Family::kV6, {0, FamilyMax(Family::kV6)}) == "::/0");
  CHECK(HostBits(Family::kV4, net->addr + 5, 24) == 5);
  CHECK(HostBits(Family::kV4, net->addr, 24) == 0);
}
