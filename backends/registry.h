// The text backends by name, for `fwc compile --target NAME`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace fwc {

// nullptr for an unknown name.
std::unique_ptr<Backend> MakeBackend(const std::string& name);
std::vector<std::string> BackendNames();

}  // namespace fwc
