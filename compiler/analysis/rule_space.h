// Policy rules as sets of packets: after chain placement, each chain and
// family gets an ordered list of Units (one per placed rule piece), each an
// exact union of cubes. This is the common ground of the shadow analysis,
// queries and semantic diff.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/analysis/packet_space.h"
#include "compiler/placement/place.h"
#include "compiler/semantics/model.h"

namespace fwc::analysis {

// Interface names as small integers; 0 stands for every name the policy
// does not mention.
class InterfaceIds {
 public:
  int Id(const std::string& name);  // adds the name if new
  int Find(const std::string& name) const;  // 0 if unknown
  const std::string& Name(int id) const { return names_[id - 1]; }
  int count() const { return static_cast<int>(names_.size()); }

 private:
  std::map<std::string, int> ids_;
  std::vector<std::string> names_;
};

class Unit {
 public:
  const PolicyRule* origin = nullptr;
  ast::Action action = ast::Action::kAccept;

  const std::vector<Cube>& cubes() const { return cubes_; }
  void set_cubes(std::vector<Cube> cubes) {
    cubes_ = std::move(cubes);
    if (cubes_.size() > 1) hull_ = std::make_shared<const Cube>(HullOf(cubes_));
    else hull_.reset();
  }
  // The bounding box of the cubes (an inverted box if there are none).
  // Most units are one cube, which is then its own hull: only the others
  // store one, which saves a quarter of the memory at 100k rules.
  const Cube& hull() const { return cubes_.size() == 1 ? cubes_.front() : hull_ ? *hull_ : NoHull(); }

 private:
  static const Cube& NoHull() {
    static const Cube none = HullOf({});
    return none;
  }
  std::vector<Cube> cubes_;
  std::shared_ptr<const Cube> hull_;  // shared: units are copied with their lists
};

// A rule over a runtime set: it matches an unknown part of its cubes (they
// are computed with the set as any address). It is not among the units:
// what the analysis proves must hold whatever the set holds, so it neither
// covers nor decides anything there; findings that it could overturn are
// dropped afterwards (RuntimeCanOverturn).
struct RuntimeUnit {
  size_t before = 0;  // the index of the first unit after it
  Unit unit;
  // It matches while its sets are empty: every runtime set it names is
  // negated ("from not blocklist").
  bool when_empty = false;
  // Not over a runtime set but conditional: it also matches a mark,
  // connection mark, state or rate limit (its origin's extras), which the
  // cubes do not hold. fwc query decides it with the packet's marks.
  bool conditional = false;
};

struct RuleList {
  ir::Hook hook = ir::Hook::kNone;  // input, forward or output
  Family family = Family::kV4;
  FieldLimits limits;
  ast::Action default_action = ast::Action::kDrop;
  SampleHints hints;  // the firewall's addresses where the chain implies them
  std::vector<Unit> units;
  std::vector<RuntimeUnit> runtime;
};

using ir::InFamily;

// Gives every interface the rules name an id (before FieldLimits are
// taken from ifaces.count(), so that one set of limits serves them all).
void AddInterfaces(const std::vector<PlacedRule>& rules, InterfaceIds& ifaces);

// The six lists (3 chains x 2 families) of a placed policy. Interface ids
// are assigned in ifaces, which a diff shares between two policies.
std::vector<RuleList> BuildRuleLists(const Model& m, const std::vector<PlacedRule>& placed, InterfaceIds& ifaces);

// Whether some rule over a runtime set after `rule` in a list could decide
// part of what `rule` matches, if its set held the right addresses: then a
// finding that rests on what the later rules decide (redundant because of
// them) does not hold for every content of the set.
bool RuntimeCanOverturn(const std::vector<RuleList>& lists, const PolicyRule* rule);

// The cubes one placed rule matches (lim says which family's addresses).
std::vector<Cube> RuleCubes(const PlacedRule& w, const FieldLimits& lim, InterfaceIds& ifaces);

// "tcp 10.1.1.11:40000 -> 10.1.2.2:80 in eth1", the syntax fwc query reads.
std::string FormatPoint(const Point& p, Family f, const InterfaceIds& ifaces);
// A rule-like description of a cube: "tcp from 10.1.1.0/24 to 10.1.2.2 dport 22".
std::string DescribeCube(const Cube& c, Family f, const FieldLimits& lim, const InterfaceIds& ifaces);

}  // namespace fwc::analysis
