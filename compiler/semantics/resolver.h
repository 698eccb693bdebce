// The Resolver: names -> exact sets, plus every semantic check of a policy.
// It visits declarations in file order so diagnostics come out in the order
// a reader meets the problems, and it reports each broken object once, where
// it is declared, rather than at every use.
#pragma once

#include <optional>
#include <string>

#include "compiler/semantics/model.h"
#include "compiler/syntax/ast.h"

namespace fwc {

class Diagnostics;

// Resolves names and runs every check of the policy. Errors go to diags;
// the model is meaningful only when diags has no errors.
// firewall: the firewall to compile, of a policy that declares several
// (--firewall NAME); "" for the only one.
Model Resolve(const ast::Unit& unit, Diagnostics& diags, const std::string& firewall = "");
// The same, consuming the unit: each policy rule's AST is released as soon
// as it is resolved, so that the AST's rules and the model's are not both
// whole in memory (at 100k rules the compile's peak is ~7% lower). The
// unit's rules are left empty; its declarations are as they were.
Model Resolve(ast::Unit&& unit, Diagnostics& diags, const std::string& firewall = "");

// The addresses a name of a checked unit stands for: a host, network,
// range, a group of them, or the firewall; nullopt for any other name.
std::optional<AddressSet> ResolveAddressName(const ast::Unit& unit, const std::string& name,
                                             const std::string& firewall = "");

}  // namespace fwc
