// Test helpers: compile policies from memory, find diagnostics.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "backends/registry.h"
#include "compiler/compilation.h"

namespace fwc::test {

// Files served from a map, so include tests need no disk.
class MemoryLoader : public SourceLoader {
 public:
  std::map<std::string, std::string> files;
  std::optional<std::string> Read(const std::string& path, std::string* error) override {
    auto it = files.find(path);
    if (it == files.end()) {
      *error = "No such file or directory";
      return std::nullopt;
    }
    return it->second;
  }
};

// A firewall block most tests share: outside eth1, dmz eth2, dual stack.
inline const char* kFirewall =
    "firewall fw {\n"
    "  interface outside eth1 10.1.1.1/24, 2001:db8:1::1/64;\n"
    "  interface dmz eth2 10.1.2.1/24, 2001:db8:2::1/64;\n"
    "}\n";

struct Result {
  std::unique_ptr<Compilation> c = std::make_unique<Compilation>();
  bool ok = false;
  ir::Ruleset rs;
  std::string output;

  const Diagnostic* Find(const std::string& code) const {
    for (const auto& d : c->diags().all())
      if (d.code == code) return &d;
    return nullptr;
  }
  std::string Rendered() const { return c->diags().Render(); }
};

inline Result Compile(const std::string& text, const std::string& target = "nft",
                      const std::set<std::string>& defines = {}, MemoryLoader* loader = nullptr) {
  Result r;
  MemoryLoader local;
  MemoryLoader& l = loader ? *loader : local;
  auto backend = MakeBackend(target);
  r.ok = r.c->Check("test.fw", text, l, defines);
  if (r.ok) {
    r.rs = r.c->Lower(backend->caps());
    r.output = backend->Emit(r.rs);
  }
  return r;
}

// The policy text with the shared firewall and a one-rule-or-more policy.
inline std::string Policy(const std::string& objects, const std::string& rules,
                          const std::string& dflt = "drop") {
  return std::string(kFirewall) + objects + "\npolicy p default " + dflt + " {\n" + rules + "}\n";
}

inline const ir::Chain* FindChain(const ir::Ruleset& rs, const std::string& name) {
  for (const auto& c : rs.chains)
    if (c.name == name) return &c;
  return nullptr;
}

// The policy's own rules in a chain (those whose comment names test.fw).
inline std::vector<ir::Rule> PolicyRules(const ir::Ruleset& rs, const std::string& chain) {
  std::vector<ir::Rule> out;
  if (const ir::Chain* c = FindChain(rs, chain))
    for (const auto& r : c->rules)
      if (r.comment.rfind("test.fw:", 0) == 0) out.push_back(r);
  return out;
}

}  // namespace fwc::test
