// Addresses and ports as exact sets of integers. Both families share one
// 128-bit representation (IPv4 in the low 32 bits); an AddressSet keeps the
// families apart so an object of one family never leaks into the other's
// rules. Sets are kept canonical (sorted, disjoint, non-adjacent), which makes
// the output deterministic and lets the analysis compare them exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fwc {

using U128 = unsigned __int128;

enum class Family { kV4, kV6 };

inline U128 FamilyMax(Family f) {
  return f == Family::kV4 ? U128{0xffffffffu} : ~U128{0};
}
inline int FamilyBits(Family f) { return f == Family::kV4 ? 32 : 128; }

struct Interval {
  U128 lo = 0;
  U128 hi = 0;
  bool operator==(const Interval& o) const { return lo == o.lo && hi == o.hi; }
  bool operator<(const Interval& o) const { return lo < o.lo || (lo == o.lo && hi < o.hi); }
};

class IntervalSet {
 public:
  IntervalSet() = default;
  static IntervalSet Range(U128 lo, U128 hi) {
    IntervalSet s;
    s.Add(lo, hi);
    return s;
  }

  void Add(U128 lo, U128 hi);
  void AddAll(const IntervalSet& other);
  IntervalSet Complement(U128 max) const;
  IntervalSet Intersect(const IntervalSet& other) const;
  bool Intersects(const IntervalSet& other) const;
  // True when every element of other is in this set.
  bool Contains(const IntervalSet& other) const;
  bool IsFull(U128 max) const {
    return iv_.size() == 1 && iv_[0].lo == 0 && iv_[0].hi == max;
  }
  bool empty() const { return iv_.empty(); }
  const std::vector<Interval>& intervals() const { return iv_; }
  bool operator==(const IntervalSet& o) const { return iv_ == o.iv_; }
  bool operator!=(const IntervalSet& o) const { return !(iv_ == o.iv_); }

 private:
  std::vector<Interval> iv_;
};

struct AddressSet {
  IntervalSet v4, v6;
  IntervalSet& of(Family f) { return f == Family::kV4 ? v4 : v6; }
  const IntervalSet& of(Family f) const { return f == Family::kV4 ? v4 : v6; }
  void AddAll(const AddressSet& o) {
    v4.AddAll(o.v4);
    v6.AddAll(o.v6);
  }
  bool empty() const { return v4.empty() && v6.empty(); }
};

// One parsed address token: "10.0.0.1", "10.0.0.0/24", "2001:db8::/32".
struct ParsedAddress {
  Family family = Family::kV4;
  U128 addr = 0;
  int prefix = -1;  // -1: no "/len" was written
};

// Parses an address with an optional prefix length. On failure returns
// nullopt and sets *error to a sentence saying what is wrong.
std::optional<ParsedAddress> ParseAddress(const std::string& text,
                                          std::string* error);

// The block [first, last] of a prefix.
Interval PrefixInterval(Family f, U128 addr, int prefix);
U128 HostBits(Family f, U128 addr, int prefix);

std::string FormatAddress(Family f, U128 addr);
// "10.0.0.1", "10.0.0.0/24" or "10.0.0.5-10.0.0.9": a prefix when the
// interval is one, a range otherwise.
std::string FormatInterval(Family f, const Interval& iv);
// The prefix length if iv is exactly one CIDR block.
std::optional<int> IntervalPrefix(Family f, const Interval& iv);

}  // namespace fwc
