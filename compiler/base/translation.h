// What the nat and marks sections do, and the matches any rule may add to
// its addresses and services (mark, connmark, state, limit): plain values
// shared by the model, the placed rules and the IR.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "compiler/base/address.h"

namespace fwc {

// Connection-tracking states a rule may match ("state new,established").
enum StateBit : uint8_t {
  kStateNew = 1,
  kStateEstablished = 2,
  kStateRelated = 4,
  kStateInvalid = 8,
  kStateUntracked = 16,
};
inline constexpr struct {
  StateBit bit;
  const char* name;
} kStateNames[] = {{kStateNew, "new"},
                   {kStateEstablished, "established"},
                   {kStateRelated, "related"},
                   {kStateInvalid, "invalid"},
                   {kStateUntracked, "untracked"}};

// The rate units of "limit N/unit" and "log rate N/unit".
inline constexpr const char* kRateUnits[] = {"second", "minute", "hour", "day"};

// Matches beyond addresses, services and interfaces; all optional.
struct MatchExtras {
  bool has_mark = false, has_ctmark = false;
  uint8_t states = 0;      // StateBit mask; 0: any state
  uint8_t limit_unit = 0;  // index into kRateUnits
  uint32_t mark = 0, ctmark = 0;
  uint32_t limit_rate = 0;  // packets per unit; 0: no limit
  uint32_t connlimit = 0;   // at most this many connections (of the rule); 0: no limit

  bool any() const { return has_mark || has_ctmark || states || limit_rate || connlimit; }
  bool operator==(const MatchExtras& o) const {
    return has_mark == o.has_mark && has_ctmark == o.has_ctmark && states == o.states && mark == o.mark &&
           ctmark == o.ctmark && limit_rate == o.limit_rate && (!limit_rate || limit_unit == o.limit_unit) &&
           connlimit == o.connlimit;
  }
  bool operator!=(const MatchExtras& o) const { return !(*this == o); }
};

// What a rule of the nat or marks section does, in place of a verdict.
struct Translation {
  enum class Kind : uint8_t { kSnat, kMasquerade, kDnat, kRedirect, kNoNat, kMark, kConnmark };
  Kind kind = Kind::kNoNat;
  // snat, dnat: the address or range translated to, in each family it has.
  std::optional<Interval> to_v4, to_v6;
  uint16_t port_lo = 0, port_hi = 0;  // 0: the port is kept
  uint32_t mark = 0;                  // mark, connmark

  const std::optional<Interval>& to(Family f) const { return f == Family::kV4 ? to_v4 : to_v6; }
  bool has_address() const { return kind == Kind::kSnat || kind == Kind::kDnat; }
  // Rewrites the destination (before routing) rather than the source.
  bool destination() const { return kind == Kind::kDnat || kind == Kind::kRedirect; }
  bool nat() const { return kind != Kind::kMark && kind != Kind::kConnmark; }
};

// A conntrack helper the policy declares (helper tftp udp 69;): the kernel
// object named `name` of type `kind`, assigned to the traffic of `proto`
// and `ports` before routing.
struct HelperSpec {
  std::string name;  // "tftp_udp": kind and protocol, one object each
  std::string kind;  // "tftp"
  int proto = 0;
  IntervalSet ports;
};

// "snat", "dnat", ..., "mark", "connmark".
inline const char* TranslationName(Translation::Kind k) {
  switch (k) {
    case Translation::Kind::kSnat: return "snat";
    case Translation::Kind::kMasquerade: return "masquerade";
    case Translation::Kind::kDnat: return "dnat";
    case Translation::Kind::kRedirect: return "redirect";
    case Translation::Kind::kNoNat: return "no nat";
    case Translation::Kind::kMark: return "mark";
    case Translation::Kind::kConnmark: return "connmark";
  }
  return "";
}

}  // namespace fwc
