#include "compiler/base/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace fwc {

void IntervalSet::Add(U128 lo, U128 hi) {
  if (lo > hi) return;
  // Insert, then merge with every neighbour that overlaps or touches.
  auto it = std::lower_bound(
      iv_.begin(), iv_.end(), lo,
      [](const Interval& a, U128 v) { return a.hi < v && a.hi + 1 < v; });
  Interval merged{lo, hi};
  auto first = it;
  while (it != iv_.end() && (it->lo <= merged.hi || it->lo == merged.hi + 1)) {
    merged.lo = std::min(merged.lo, it->lo);
    merged.hi = std::max(merged.hi, it->hi);
    ++it;
  }
  it = iv_.erase(first, it);
  iv_.insert(it, merged);
}

void IntervalSet::AddAll(const IntervalSet& other) {
  for (const auto& i : other.iv_) Add(i.lo, i.hi);
}

IntervalSet IntervalSet::Complement(U128 max) const {
  IntervalSet out;
  U128 next = 0;
  bool done = false;
  for (const auto& i : iv_) {
    if (i.lo > next) out.iv_.push_back({next, i.lo - 1});
    if (i.hi >= max) {
      done = true;
      break;
    }
    next = i.hi + 1;
  }
  if (!done) out.iv_.push_back({next, max});
  return out;
}

IntervalSet IntervalSet::Intersect(const IntervalSet& other) const {
  IntervalSet out;
  size_t a = 0, b = 0;
  while (a < iv_.size() && b < other.iv_.size()) {
    U128 lo = std::max(iv_[a].lo, other.iv_[b].lo);
    U128 hi = std::min(iv_[a].hi, other.iv_[b].hi);
    if (lo <= hi) out.iv_.push_back({lo, hi});
    if (iv_[a].hi < other.iv_[b].hi) ++a; else ++b;
  }
  return out;
}

bool IntervalSet::Intersects(const IntervalSet& other) const {
  return !Intersect(other).empty();
}

bool IntervalSet::Contains(const IntervalSet& other) const {
  return other.Intersect(*this) == other;
}

Interval PrefixInterval(Family f, U128 addr, int prefix) {
  int host_bits = FamilyBits(f) - prefix;
  U128 mask = host_bits >= 128 ? ~U128{0} : ((U128{1} << host_bits) - 1);
  return {addr & ~mask & FamilyMax(f), (addr | mask) & FamilyMax(f)};
}

U128 HostBits(Family f, U128 addr, int prefix) {
  U128 host_mask = PrefixInterval(f, 0, prefix).hi;
  return addr & host_mask;
}

std::optional<ParsedAddress> ParseAddress(const std::string& text,
                                          std::string* error) {
  ParsedAddress out;
  std::string host = text;
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    host = text.substr(0, slash);
    std::string len = text.substr(slash + 1);
    // Checked by hand: std::stoi throws on text the parser's error
    // recovery can leave here (fuzzer finding F12: "2001:db8::1/]64").
    if (len.empty() || len.size() > 3 ||
        !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      *error = "'" + text + "' has an invalid prefix length";
      return std::nullopt;
    }
    out.prefix = std::stoi(len);
  }
  unsigned char buf[16];
  if (host.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, host.c_str(), buf) != 1) {
      *error = "'" + host + "' is not a valid IPv6 address";
      return std::nullopt;
    }
    out.family = Family::kV6;
    for (int i = 0; i < 16; ++i) out.addr = (out.addr << 8) | buf[i];
  } else {
    // inet_pton rejects the shorthand forms ("10.1") and leading zeros that
    // inet_aton would silently reinterpret.
    if (inet_pton(AF_INET, host.c_str(), buf) != 1) {
      *error = "'" + host + "' is not a valid IPv4 address";
      return std::nullopt;
    }
    out.family = Family::kV4;
    for (int i = 0; i < 4; ++i) out.addr = (out.addr << 8) | buf[i];
  }
  if (out.prefix > FamilyBits(out.family)) {
    *error = "prefix length /" + std::to_string(out.prefix) + " is too long for " +
             (out.family == Family::kV4 ? "IPv4 (at most /32)" : "IPv6 (at most /128)");
    return std::nullopt;
  }
  return out;
}

std::string FormatAddress(Family f, U128 addr) {
  char buf[INET6_ADDRSTRLEN];
  if (f == Family::kV4) {
    unsigned char b[4];
    for (int i = 3; i >= 0; --i, addr >>= 8) b[i] = static_cast<unsigned char>(addr & 0xff);
    inet_ntop(AF_INET, b, buf, sizeof buf);
  } else {
    unsigned char b[16];
    for (int i = 15; i >= 0; --i, addr >>= 8) b[i] = static_cast<unsigned char>(addr & 0xff);
    inet_ntop(AF_INET6, b, buf, sizeof buf);
  }
  return buf;
}

std::optional<int> IntervalPrefix(Family f, const Interval& iv) {
  U128 size_minus_one = iv.hi - iv.lo;
  // size must be a power of two and lo aligned to it.
  if ((size_minus_one & (size_minus_one + 1)) != 0 && size_minus_one != ~U128{0})
    return std::nullopt;
  if ((iv.lo & size_minus_one) != 0) return std::nullopt;
  int host_bits = 0;
  while (host_bits < 128 && ((size_minus_one >> host_bits) & 1)) ++host_bits;
  return FamilyBits(f) - host_bits;
}

std::string FormatInterval(Family f, const Interval& iv) {
  if (iv.lo == iv.hi) return FormatAddress(f, iv.lo);
  if (auto p = IntervalPrefix(f, iv))
    return FormatAddress(f, iv.lo) + "/" + std::to_string(*p);
  return FormatAddress(f, iv.lo) + "-" + FormatAddress(f, iv.hi);
}

}  // namespace fwc
