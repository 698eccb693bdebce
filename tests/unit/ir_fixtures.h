// IR built by hand, for the backends' tests: what a backend receives,
// without a policy to parse, resolve and lower first.
#pragma once

#include <string>
#include <utility>

#include "compiler/base/protocols.h"
#include "compiler/ir/ir.h"

namespace fwc::test {

// A ruleset with the three base chains, empty, policy drop.
inline ir::Ruleset EmptyRuleset() {
  ir::Ruleset rs;
  rs.source = "fixture.fw";
  rs.policy_name = "p";
  for (ir::Hook h : {ir::Hook::kInput, ir::Hook::kForward, ir::Hook::kOutput})
    rs.chains.push_back({ir::HookName(h), h, ir::Verdict::kDrop, {}});
  return rs;
}

inline ir::Chain& Base(ir::Ruleset& rs, ir::Hook h) {
  for (auto& c : rs.chains)
    if (c.hook == h) return c;
  return rs.chains.front();
}

// "accept tcp dport PORT to ADDR" of one family.
inline ir::Rule TcpTo(Family f, U128 addr, U128 port, std::string comment,
                      ir::Verdict v = ir::Verdict::kAccept) {
  ir::Rule r;
  r.family = f == Family::kV4 ? ir::RuleFamily::kV4 : ir::RuleFamily::kV6;
  r.dst.present = true;
  r.dst.set.Add(addr, addr);
  r.has_service = true;
  r.service.proto = kProtoTcp;
  r.service.dports.Add(port, port);
  r.verdict = v;
  r.comment = std::move(comment);
  return r;
}

inline U128 V4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return (U128{a} << 24) | (b << 16) | (c << 8) | d; }

}  // namespace fwc::test
