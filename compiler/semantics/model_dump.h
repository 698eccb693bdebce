// The resolved policy, readable (fwc compile --dump model): every name
// replaced by the firewall's addresses and each rule's exact sets.
#pragma once

#include <string>

#include "compiler/base/source.h"
#include "compiler/semantics/model.h"

namespace fwc {

std::string DumpModel(const Model& model, const SourceManager& sources);

}  // namespace fwc
