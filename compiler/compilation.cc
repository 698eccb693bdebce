#include "compiler/compilation.h"

#include <algorithm>

namespace fwc {

bool Compilation::Check(const std::string& path, std::string text, SourceLoader& loader,
                        const std::set<std::string>& defines) {
  defines_ = defines;
  unit_ = ParsePolicy(path, std::move(text), loader, sources_, diags_);
  // Resolve even after syntax errors: the parts that parsed may hold more
  // mistakes, and reporting them all at once saves the user round trips.
  model_ = Resolve(unit_, diags_);
  for (const auto& d : defines) {
    const auto& used = model_.conditions;
    if (std::find(used.begin(), used.end(), d) != used.end()) continue;
    std::string near = ClosestName(d, used);
    diags_.Warning("unused-define", Loc{}, "-D " + d + " is not tested by any rule",
                   near.empty() ? "rules test names with 'if NAME'" : "did you mean -D " + near + "?");
  }
  return !diags_.has_errors();
}

ir::Ruleset Compilation::Lower(const LoweringCaps& caps) {
  return fwc::Lower(model_, defines_, caps, sources_, diags_);
}

}  // namespace fwc
