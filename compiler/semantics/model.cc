#include "compiler/semantics/model.h"

#include "compiler/base/protocols.h"

namespace fwc {

std::optional<Family> ServiceAtom::family() const {
  if (proto == kProtoIcmp) return Family::kV4;
  if (proto == kProtoIcmpv6) return Family::kV6;
  return std::nullopt;
}

bool ServiceSlot::Allows(Family f) const {
  if (any || negated) return true;
  for (const auto& a : atoms)
    if (!a.family() || *a.family() == f) return true;
  return false;
}

}  // namespace fwc
