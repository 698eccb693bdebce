#include "compiler/semantics/resolver.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>

#include "compiler/base/diagnostics.h"
#include "compiler/base/protocols.h"
#include "compiler/syntax/lexer.h"

namespace fwc {

namespace {


const char* KindName(ast::ObjectDecl::Kind k) {
  switch (k) {
    case ast::ObjectDecl::Kind::kHost: return "host";
    case ast::ObjectDecl::Kind::kNetwork: return "network";
    case ast::ObjectDecl::Kind::kRange: return "range";
    case ast::ObjectDecl::Kind::kGroup: return "group";
    case ast::ObjectDecl::Kind::kService: return "service";
  }
  return "object";
}

// What a name stands for once resolved.
struct Value {
  enum class Kind { kInvalid, kAddress, kService, kRuntimeSet };
  Kind kind = Kind::kInvalid;
  AddressSet addresses;
  std::vector<ServiceAtom> services;
  const RuntimeSet* runtime = nullptr;  // kRuntimeSet
};

// "IPv4 only", "IPv6 only" or "" for both, to explain family errors.
std::string FamilyOnly(const AddressSlot& s) {
  bool v4 = s.Allows(Family::kV4), v6 = s.Allows(Family::kV6);
  if (v4 && !v6) return "IPv4 only";
  if (v6 && !v4) return "IPv6 only";
  return "";
}

// The cluster protocols 'protocols' names: what each one's traffic is, and
// the multicast groups its members send to besides each other.
struct ClusterProtocol {
  struct Ports {
    ast::SvcSpec::Kind kind;  // kTcp, kUdp; kProto: lo is the IP protocol
    uint64_t lo, hi;
  };
  const char* name;
  std::vector<Ports> traffic;
  std::vector<const char*> groups;
};

const std::vector<ClusterProtocol>& ClusterProtocols() {
  using K = ast::SvcSpec::Kind;
  static const std::vector<ClusterProtocol> table = {
      {"vrrp", {{K::kProto, 112, 112}}, {"224.0.0.18", "ff02::12"}},  // RFC 5798
      // corosync (knet, udpu), pcsd, pacemaker remote
      {"pacemaker", {{K::kUdp, 5404, 5406}, {K::kTcp, 2224, 2224}, {K::kTcp, 3121, 3121}}, {}},
      // state sync, unicast or multicast (conntrackd's example group)
      {"conntrackd", {{K::kUdp, 3780, 3780}, {K::kTcp, 3780, 3780}}, {"225.0.0.50"}},
      {"heartbeat", {{K::kUdp, 694, 694}}, {}},
  };
  return table;
}

const ClusterProtocol* FindClusterProtocol(const std::string& name) {
  for (const auto& p : ClusterProtocols())
    if (name == p.name) return &p;
  return nullptr;
}

class Resolver {
  // Each declared object, and its value once resolved: one lookup per
  // reference (a policy of 100k objects makes several hundred thousand).
  struct Named {
    const ast::ObjectDecl* decl = nullptr;
    std::optional<Value> value;
  };

 public:
  // consumed: null, or the same unit, whose policy rules may then be
  // released one by one as they are resolved.
  // firewall: the one to compile, by name; "" when the policy has one.
  Resolver(const ast::Unit& unit, ast::Unit* consumed, Diagnostics& diags, std::string firewall)
      : unit_(unit), consumed_(consumed), diags_(diags), selected_(std::move(firewall)) {}

  // What a declared name stands for, if it names addresses (a host,
  // network, range, group of them, or the firewall).
  std::optional<AddressSet> AddressesOf(const std::string& name) {
    Model m;
    IndexNames();
    Firewall(m);
    const Value* v = Object(name);
    if (!v || v->kind != Value::Kind::kAddress) return std::nullopt;
    return v->addresses;
  }

  Model Run() {
    Model m;
    IndexNames();
    Firewall(m);
    RuntimeSets(m);
    Helpers(m);
    for (Named* n : in_order_) Resolve(*n);
    Policy(m);
    Expectations(m);
    return m;
  }

 private:
  // --- names -----------------------------------------------------------

  void IndexNames() {
    for (const auto& fw : unit_.firewalls) Declare(fw.name, fw.loc, "firewall");
    for (const auto& c : unit_.clusters) Declare(c.name, c.loc, "cluster");
    for (const auto& r : unit_.runtime_sets)
      if (Declare(r.name, r.loc, "set")) runtime_decls_.push_back(&r);
    for (const auto& d : unit_.objects)
      if (Declare(d.name, d.loc, KindName(d.kind))) {
        Named& n = decls_[d.name];
        n.decl = &d;
        in_order_.push_back(&n);
      }
    for (const auto& mk : unit_.marks) {
      if (!Declare(mk.name, mk.loc, "mark")) continue;
      uint32_t value = 0;
      if (MarkNumber(mk.value, mk.text, mk.value_loc, &value)) marks_[mk.name] = value;
      else marks_[mk.name] = std::nullopt;  // reported: uses say nothing more
    }
  }

  bool Declare(const std::string& name, const Loc& loc, const char* kind) {
    if (name.empty()) return false;
    if (name == "any") {
      diags_.Error("reserved-name", loc, "'any' is reserved and cannot name an object",
                   "choose another name");
      return false;
    }
    auto [it, fresh] = declared_.emplace(name, loc);
    if (!fresh) {
      diags_.Error("duplicate-name", loc, std::string(kind) + " '" + name + "' is already defined",
                   "rename one of them; names are shared by all objects")
          .notes.push_back({it->second, "first defined here"});
      return false;
    }
    return true;
  }

  std::vector<std::string> AllNames() const {
    std::vector<std::string> out;
    for (const auto& [n, _] : declared_) out.push_back(n);
    return out;
  }

  void UnknownName(const std::string& name, const Loc& loc, const char* what) {
    // Past the cap nothing is shown, so skip the (costly) suggestion.
    if (diags_.at_cap()) {
      diags_.Error("unknown-name", loc, "unknown name '" + name + "'");
      return;
    }
    std::string help;
    if (all_names_.empty()) all_names_ = AllNames();
    std::string near = ClosestName(name, all_names_);
    // Where a service goes, a misspelt protocol ('tpc') reaches here as a
    // name: the protocol words are candidates too.
    if (near.empty() && std::string_view(what) == "service")
      near = ClosestName(name, {"tcp", "udp", "icmp", "icmpv6", "proto"});
    if (!near.empty()) help = "did you mean '" + near + "'?";
    for (const auto& i : model_interfaces_)
      if (i.name == name || i.device == name)
        help = "'" + name + "' is an interface; write 'in " + name + "' or 'out " + name +
               "' to match traffic by interface";
    if (help.empty()) help = std::string("declare it, e.g. '") + what + " " + name + " ...;'";
    diags_.Error("unknown-name", loc, "unknown name '" + name + "'", help);
  }

  // --- firewall ----------------------------------------------------------

  // The firewall this compile is for: the only one, or the one --firewall
  // names; nullptr (reported) when that is not clear.
  const ast::Firewall* SelectedFirewall() {
    const auto& fws = unit_.firewalls;
    std::vector<std::string> names;
    for (const auto& fw : fws) names.push_back(fw.name);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    if (!selected_.empty()) {
      for (const auto& fw : fws)
        if (fw.name == selected_) return &fw;
      std::string near = ClosestName(selected_, names);
      diags_.Error("unknown-firewall", fws[0].loc, "--firewall " + selected_ + ": the policy declares no firewall '" +
                                                       selected_ + "'",
                   near.empty() ? "it declares " + list : "did you mean '" + near + "'?");
      return nullptr;
    }
    if (fws.size() == 1) return &fws[0];
    diags_.Error("multiple-firewalls", fws[1].loc,
                 "the policy describes " + std::to_string(fws.size()) + " firewalls (" + list +
                     "); which one to compile?",
                 "name it with --firewall NAME, e.g. --firewall " + fws[0].name)
        .notes.push_back({fws[0].loc, "first firewall declared here"});
    return nullptr;
  }

  void Firewall(Model& m) {
    // After a file failed to parse, a missing firewall or policy is most
    // likely a consequence, not news.
    if (unit_.firewalls.empty() && !diags_.has_errors()) {
      Loc at = unit_.policies.empty() ? Loc{0, 1, 1, 1} : unit_.policies[0].loc;
      diags_.Error("missing-firewall", at, "the policy declares no firewall",
                   "declare it with its interfaces, e.g. 'firewall fw { interface outside eth0 "
                   "192.0.2.1/24; }'");
      return;
    }
    if (unit_.firewalls.empty()) return;
    Clusters();
    selected_fw_ = SelectedFirewall();
    // Reported; the first firewall stands in so that the rest is checked
    // without a cascade of unknown names.
    if (!selected_fw_) selected_fw_ = &unit_.firewalls[0];
    const ast::Firewall& fw = *selected_fw_;
    m.firewall_name = fw.name;
    if (fw.cluster >= 0) m.cluster_name = unit_.clusters[fw.cluster].name;
    std::map<std::string, Loc> seen;
    for (const auto& i : fw.interfaces) {
      FirewallInterface fi{i.name, i.device, {}, {}, i.loc};
      for (const auto* key : {&i.name, &i.device}) {
        if (key == &i.device && i.device == i.name) continue;
        auto [it, fresh] = seen.emplace(*key, key == &i.name ? i.loc : i.device_loc);
        if (!fresh)
          diags_.Error("duplicate-interface", key == &i.name ? i.loc : i.device_loc,
                       "interface '" + *key + "' is declared twice", "each interface name and device must be unique")
              .notes.push_back({it->second, "first declared here"});
      }
      if (i.device.size() > 15)
        diags_.Error("bad-interface", i.device_loc,
                     "interface device name '" + i.device + "' is longer than 15 characters",
                     "Linux interface names have at most 15 characters");
      for (const auto& a : i.addrs) {
        std::string err;
        auto p = ParseAddress(a.text, &err);
        if (!p) {
          diags_.Error("bad-address", a.loc, err, "write an address such as 192.0.2.1/24 or 2001:db8::1/64");
          continue;
        }
        int len = p->prefix < 0 ? FamilyBits(p->family) : p->prefix;
        fi.addresses.of(p->family).Add(p->addr, p->addr);
        Interval net = PrefixInterval(p->family, p->addr, len);
        fi.networks.of(p->family).Add(net.lo, net.hi);
        // The directed broadcast of an IPv4 subnet is delivered locally.
        if (p->family == Family::kV4 && len <= 30)
          m.local_destinations.v4.Add(net.hi, net.hi);
        // So is the subnet-router anycast address of an IPv6 subnet (RFC
        // 4291 2.6.1) on a router; Linux skips it on /127 links (RFC 6164).
        if (p->family == Family::kV6 && len < 127)
          m.local_destinations.v6.Add(net.lo, net.lo);
      }
      m.interfaces.push_back(std::move(fi));
    }
    if (fw.cluster >= 0) VirtualAddresses(fw, m);
    for (const auto& fi : m.interfaces) m.firewall_addresses.AddAll(fi.addresses);
    OtherFirewalls(fw);
    if (fw.cluster >= 0) ClusterRules(fw);
    model_interfaces_ = m.interfaces;
    firewall_value_.kind = Value::Kind::kAddress;
    firewall_value_.addresses = m.firewall_addresses;
    m.local_destinations.AddAll(m.firewall_addresses);
    m.local_destinations.v4.Add(0xffffffffu, 0xffffffffu);  // limited broadcast
    m.local_destinations.v4.Add(U128{0xe0000000u}, U128{0xefffffffu});  // 224.0.0.0/4
    m.local_destinations.v6.Add(U128{0xff} << 120, ~U128{0});  // ff00::/8
    // After a syntax error, the interfaces may be what failed to parse.
    if (fw.interfaces.empty() && !diags_.has_errors())
      diags_.Warning("no-interfaces", fw.loc, "firewall '" + fw.name + "' has no interfaces",
                     "without its addresses fwc cannot tell traffic to the firewall from traffic through it");
  }

  // --- clusters -------------------------------------------------------------

  // What every compile checks of every cluster: it has members, and its
  // protocols are known ones.
  void Clusters() {
    for (size_t c = 0; c < unit_.clusters.size(); ++c) {
      const ast::Cluster& cl = unit_.clusters[c];
      bool members = false;
      for (const auto& fw : unit_.firewalls) members |= fw.cluster == static_cast<int>(c);
      if (!members && !cl.name.empty())
        diags_.Error("empty-cluster", cl.loc, "cluster '" + cl.name + "' has no member firewall",
                     "declare its members in it: 'cluster " + cl.name + " { firewall NAME { interface ... } ... }'");
      for (const auto& [p, loc] : cl.protocols)
        if (!FindClusterProtocol(p)) {
          std::vector<std::string> names;
          for (const auto& known : ClusterProtocols()) names.emplace_back(known.name);
          std::string near = ClosestName(p, names);
          std::string list;
          for (size_t i = 0; i < names.size(); ++i)
            list += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
          diags_.Error("unknown-protocol", loc, "unknown cluster protocol '" + p + "'",
                       near.empty() ? "the cluster protocols are " + list : "did you mean '" + near + "'?");
        }
    }
  }

  // The addresses a cluster's 'interface' line names: literals, or hosts
  // (their addresses). report: diagnose what is wrong (the compiled member's
  // own cluster), or skip it silently (another cluster's).
  std::vector<ParsedAddress> ClusterAddresses(const ast::ClusterAddress& a, bool report) {
    std::vector<ParsedAddress> out;
    auto literal = [&](const std::string& text, const Loc& loc) {
      std::string err;
      auto p = ParseAddress(text, &err);
      if (p) out.push_back(*p);
      else if (report) diags_.Error("bad-address", loc, err, "write an address such as 192.0.2.10 or 2001:db8::10");
    };
    for (const auto& item : a.addrs) {
      if (item.kind == ast::AddrItem::Kind::kLiteral) {
        literal(item.text, item.loc);
        continue;
      }
      auto d = decls_.find(item.text);
      if (item.kind == ast::AddrItem::Kind::kName && d != decls_.end() &&
          d->second.decl->kind == ast::ObjectDecl::Kind::kHost) {
        for (const auto& x : d->second.decl->addrs) literal(x.text, x.loc);
        continue;
      }
      if (!report) continue;
      if (item.kind == ast::AddrItem::Kind::kName && d == decls_.end() && !declared_.count(item.text))
        UnknownName(item.text, item.loc, "host");
      else
        diags_.Error("bad-cluster-address", item.loc,
                     "a cluster's virtual addresses are addresses or hosts, not " +
                         std::string(item.kind == ast::AddrItem::Kind::kAny     ? "'any'"
                                     : item.kind == ast::AddrItem::Kind::kRange ? "a range"
                                     : d != decls_.end() ? std::string("a ") + KindName(d->second.decl->kind)
                                                         : "'" + item.text + "'"),
                     "write the address, e.g. 'interface public 192.0.2.10;', or a host's name");
    }
    return out;
  }

  // The cluster's virtual addresses join the compiled member's interfaces:
  // whichever member holds them now, the kernel delivers them locally there.
  void VirtualAddresses(const ast::Firewall& fw, Model& m) {
    const ast::Cluster& cl = unit_.clusters[fw.cluster];
    for (const auto& a : cl.addresses) {
      FirewallInterface* fi = nullptr;
      for (auto& i : m.interfaces)
        if (i.name == a.iface) fi = &i;
      auto addrs = ClusterAddresses(a, true);
      if (!fi) {
        std::vector<std::string> names;
        for (const auto& i : m.interfaces) names.push_back(i.name);
        std::string near = ClosestName(a.iface, names);
        diags_.Error("unknown-interface", a.iface_loc,
                     "firewall '" + fw.name + "' of cluster '" + cl.name + "' has no interface '" + a.iface + "'",
                     near.empty() ? "every member declares the interface that holds the virtual addresses"
                                  : "did you mean '" + near + "'?");
        continue;
      }
      for (const auto& p : addrs) {
        fi->addresses.of(p.family).Add(p.addr, p.addr);
        m.virtual_addresses.of(p.family).Add(p.addr, p.addr);
        if (p.prefix >= 0) {
          Interval net = PrefixInterval(p.family, p.addr, p.prefix);
          fi->networks.of(p.family).Add(net.lo, net.hi);
        }
      }
    }
  }

  // Every other firewall of the policy is a host to this one (its interface
  // addresses), and another cluster the addresses of all its members and
  // its virtual ones. Their mistakes are reported when they are compiled.
  void OtherFirewalls(const ast::Firewall& self) {
    auto addresses_of = [](const ast::Firewall& fw, AddressSet& into) {
      for (const auto& i : fw.interfaces)
        for (const auto& a : i.addrs)
          if (std::string err; auto p = ParseAddress(a.text, &err)) into.of(p->family).Add(p->addr, p->addr);
    };
    for (const auto& fw : unit_.firewalls) {
      if (&fw == &self) continue;
      Value v;
      v.kind = Value::Kind::kAddress;
      addresses_of(fw, v.addresses);
      peer_values_[fw.name] = std::move(v);
    }
    for (size_t c = 0; c < unit_.clusters.size(); ++c) {
      if (static_cast<int>(c) == self.cluster) continue;
      Value v;
      v.kind = Value::Kind::kAddress;
      for (const auto& fw : unit_.firewalls)
        if (fw.cluster == static_cast<int>(c)) addresses_of(fw, v.addresses);
      for (const auto& a : unit_.clusters[c].addresses)
        for (const auto& p : ClusterAddresses(a, false)) v.addresses.of(p.family).Add(p.addr, p.addr);
      peer_values_[unit_.clusters[c].name] = std::move(v);
    }
  }

  // The rules a cluster protocol needs, both ways between this member and
  // the others, ahead of the policy's own rules (the policy cannot cut the
  // cluster's heartbeat by mistake). Each says where it comes from.
  void ClusterRules(const ast::Firewall& self) {
    const ast::Cluster& cl = unit_.clusters[self.cluster];
    std::vector<std::string> peers;
    for (const auto& fw : unit_.firewalls)
      if (fw.cluster == self.cluster && &fw != &self && !fw.name.empty()) peers.push_back(fw.name);
    if (peers.empty()) return;
    for (const auto& p : cl.protocols) {
      // Not a structured binding: the lambda below captures loc.
      const std::string& proto = p.first;
      const Loc& loc = p.second;
      const ClusterProtocol* known = FindClusterProtocol(proto);
      if (!known) continue;  // reported
      ast::SvcSet svc;
      for (const auto& t : known->traffic) {
        ast::SvcItem item;
        item.kind = ast::SvcItem::Kind::kSpec;
        item.spec.kind = t.kind;
        if (t.kind == ast::SvcSpec::Kind::kProto) {
          item.spec.proto = std::to_string(t.lo);
          item.spec.proto_loc = loc;
        } else {
          item.spec.dports.push_back({t.lo, t.hi, "", loc});
        }
        item.spec.loc = item.loc = loc;
        svc.items.push_back(std::move(item));
      }
      // The multicast destinations of what this member sends.
      std::vector<std::string> groups(known->groups.begin(), known->groups.end());
      svc.loc = loc;
      auto set = [&](const std::vector<std::string>& names, const std::vector<std::string>& literals) {
        ast::AddrSet a;
        for (const auto& n : names) a.items.push_back({ast::AddrItem::Kind::kName, n, "", loc, {}});
        for (const auto& l : literals) a.items.push_back({ast::AddrItem::Kind::kLiteral, l, "", loc, {}});
        a.loc = loc;
        return a;
      };
      for (bool in : {true, false}) {
        ast::Rule r;
        r.action = ast::Action::kAccept;
        r.loc = r.span = loc;
        r.services = svc;
        r.src = in ? set(peers, {}) : set({cl.name}, {});
        r.dst = in ? set({cl.name}, {}) : set(peers, groups);
        r.comment = "cluster " + cl.name + ": " + proto + (in ? " from " : " to ") + "the other members";
        // The policy may also accept this traffic, more broadly: not a mistake.
        r.nowarn = {{"redundant-rule", loc}};
        cluster_rules_.push_back(std::move(r));
      }
    }
  }

  // --- runtime sets --------------------------------------------------------

  // ipset names have at most 31 bytes, and the kernel sets are NAME_v4 and
  // NAME_v6.
  static constexpr size_t kMaxSetName = 28;

  void RuntimeSets(Model& m) {
    m.runtime_sets.reserve(runtime_decls_.size());  // runtime_values_ points into it
    for (const ast::RuntimeSet* decl : runtime_decls_) {
      const ast::RuntimeSet& r = *decl;
      RuntimeSet set{r.name, true, true, r.loc};
      bool ok = true;
      if (r.name.size() > kMaxSetName) {
        diags_.Error("bad-set-name", r.loc,
                     "set name '" + r.name + "' is longer than " + std::to_string(kMaxSetName) + " characters",
                     "its kernel sets are " + r.name + "_v4 and _v6, and ipset names have at most 31");
        ok = false;
      }
      if (r.family == "ipv4") set.v6 = false;
      else if (r.family == "ipv6") set.v4 = false;
      else if (!r.family.empty()) {
        diags_.Error("bad-set-family", r.family_loc, "unknown address family '" + r.family + "'",
                     "write 'set " + r.name + " runtime ipv4;', '... ipv6;', or nothing for both families");
        ok = false;
      }
      if (!ok) continue;
      m.runtime_sets.push_back(set);
      Value v;
      v.kind = Value::Kind::kRuntimeSet;
      v.runtime = &m.runtime_sets.back();
      runtime_values_[r.name] = v;
    }
  }

  // --- objects -----------------------------------------------------------

  // Resolves a declared name, memoised; reports cycles. Returns nullptr for
  // unknown names (the caller reports them with its own context).
  const Value* Object(const std::string& name) {
    if (selected_fw_ && (name == selected_fw_->name ||
                         (selected_fw_->cluster >= 0 && name == unit_.clusters[selected_fw_->cluster].name)))
      return &firewall_value_;
    if (auto p = peer_values_.find(name); p != peer_values_.end()) return &p->second;
    if (auto r = runtime_values_.find(name); r != runtime_values_.end()) return &r->second;
    auto d = decls_.find(name);
    return d == decls_.end() ? nullptr : Resolve(d->second);
  }

  const Value* Resolve(Named& named) {
    if (named.value) return &*named.value;
    const std::string& name = named.decl->name;
    if (std::find(stack_.begin(), stack_.end(), name) != stack_.end()) return &cycle_;
    // Resolution recurses once per level of nesting; bound it so a
    // pathological file gets an error, not a stack overflow.
    if (stack_.size() >= kMaxNesting) {
      diags_.Error("nesting-too-deep", named.decl->loc,
                   "'" + name + "' is nested more than " + std::to_string(kMaxNesting) + " groups deep",
                   "flatten the groups");
      return &cycle_;
    }
    stack_.push_back(name);
    Value v = Decl(*named.decl);
    stack_.pop_back();
    named.value = std::move(v);
    return &*named.value;
  }

  Value Decl(const ast::ObjectDecl& d) {
    Value v;
    bool ok = true;
    switch (d.kind) {
      case ast::ObjectDecl::Kind::kHost:
      case ast::ObjectDecl::Kind::kNetwork:
      case ast::ObjectDecl::Kind::kRange:
        v.kind = Value::Kind::kAddress;
        for (const auto& a : d.addrs) ok &= Literal(a, d.kind, v.addresses);
        break;
      case ast::ObjectDecl::Kind::kService:
        v.kind = Value::Kind::kService;
        for (const auto& s : d.services) ok &= ServiceItem(s, v.services);
        break;
      case ast::ObjectDecl::Kind::kGroup:
        ok = Group(d, v);
        break;
    }
    if (!ok) v.kind = Value::Kind::kInvalid;
    return v;
  }

  bool Group(const ast::ObjectDecl& d, Value& v) {
    if (d.addrs.empty() && d.services.empty()) {
      diags_.Error("empty-group", d.loc, "group '" + d.name + "' is empty",
                   "add members, or remove the group and the rules that use it");
      return false;
    }
    bool ok = true;
    const Loc* first_addr = nullptr;
    const Loc* first_svc = nullptr;
    for (const auto& s : d.services) {
      ok &= ServiceItem(s, v.services);
      if (!first_svc) first_svc = &s.loc;
    }
    for (const auto& a : d.addrs) {
      if (a.kind != ast::AddrItem::Kind::kName) {
        if (a.kind == ast::AddrItem::Kind::kAny) {
          diags_.Error("any-in-group", a.loc, "'any' cannot be a group member",
                       "use 'any' directly in the rule");
          ok = false;
          continue;
        }
        ok &= Literal(a, ast::ObjectDecl::Kind::kGroup, v.addresses);
        if (!first_addr) first_addr = &a.loc;
        continue;
      }
      if (std::find(stack_.begin(), stack_.end(), a.text) != stack_.end()) {
        diags_.Error("cyclic-group", a.loc,
                     "group '" + d.name + "' contains itself through '" + a.text + "'",
                     "remove one of the memberships that form the cycle");
        ok = false;
        continue;
      }
      const Value* m = Object(a.text);
      if (!m) {
        UnknownName(a.text, a.loc, "host");
        ok = false;
        continue;
      }
      if (m->kind == Value::Kind::kInvalid) {
        ok = false;  // reported where it is declared
        continue;
      }
      if (m->kind == Value::Kind::kRuntimeSet) {
        diags_.Error("runtime-set-in-group", a.loc, "runtime set '" + a.text + "' cannot be a group member",
                     "its elements are not known when the policy is compiled; use it on its own in a rule");
        ok = false;
        continue;
      }
      if (m->kind == Value::Kind::kAddress) {
        v.addresses.AddAll(m->addresses);
        if (!first_addr) first_addr = &a.loc;
      } else {
        v.services.insert(v.services.end(), m->services.begin(), m->services.end());
        if (!first_svc) first_svc = &a.loc;
      }
    }
    if (first_addr && first_svc) {
      diags_.Error("mixed-group", d.loc, "group '" + d.name + "' mixes addresses and services",
                   "split it into an address group and a service group")
          .notes = {{*first_addr, "an address member"}, {*first_svc, "a service member"}};
      return false;
    }
    v.kind = first_svc ? Value::Kind::kService : Value::Kind::kAddress;
    return ok;
  }

  // Adds one literal address, prefix or range to out, checking it is of the
  // shape the declaration kind expects.
  bool Literal(const ast::AddrItem& a, ast::ObjectDecl::Kind kind, AddressSet& out) {
    std::string err;
    if (a.kind == ast::AddrItem::Kind::kName || a.kind == ast::AddrItem::Kind::kAny) return true;
    auto lo = ParseAddress(a.text, &err);
    if (!lo) {
      diags_.Error("bad-address", a.loc, err, "write an address such as 192.0.2.10 or 2001:db8::10");
      return false;
    }
    if (a.kind == ast::AddrItem::Kind::kRange) {
      auto hi = ParseAddress(a.text2, &err);
      if (!hi) {
        diags_.Error("bad-address", a.loc2, err, "write an address such as 192.0.2.20");
        return false;
      }
      if (lo->prefix >= 0 || hi->prefix >= 0) {
        diags_.Error("bad-range", lo->prefix >= 0 ? a.loc : a.loc2,
                     "a range is written between two plain addresses",
                     "remove the prefix length, e.g. 192.0.2.10 - 192.0.2.20");
        return false;
      }
      if (lo->family != hi->family) {
        diags_.Error("family-mismatch", a.loc2, "range mixes an IPv4 and an IPv6 address",
                     "write one range per family");
        return false;
      }
      if (lo->addr > hi->addr) {
        diags_.Error("inverted-range", a.loc, "range starts at " + a.text + ", after its end " + a.text2,
                     "write the lower address first: " + a.text2 + " - " + a.text);
        return false;
      }
      out.of(lo->family).Add(lo->addr, hi->addr);
      return true;
    }
    if (kind == ast::ObjectDecl::Kind::kRange) {
      diags_.Error("bad-range", a.loc, "a range needs two addresses", "write 'first - last'");
      return false;
    }
    int bits = FamilyBits(lo->family);
    if (kind == ast::ObjectDecl::Kind::kHost && lo->prefix >= 0 && lo->prefix != bits) {
      diags_.Error("host-with-prefix", a.loc, "'" + a.text + "' is a network, not a host address",
                   "declare it with 'network', or drop the prefix length");
      return false;
    }
    if (kind == ast::ObjectDecl::Kind::kNetwork && lo->prefix < 0) {
      diags_.Error("network-without-prefix", a.loc, "network '" + a.text + "' has no prefix length",
                   "write it as " + a.text + (lo->family == Family::kV4 ? "/24" : "/64") +
                       " (or the right length), or declare a host");
      return false;
    }
    int len = lo->prefix < 0 ? bits : lo->prefix;
    if (HostBits(lo->family, lo->addr, len) != 0) {
      Interval net = PrefixInterval(lo->family, lo->addr, len);
      diags_.Error("host-bits-set", a.loc, "'" + a.text + "' has host bits set",
                   "did you mean " + FormatAddress(lo->family, net.lo) + "/" + std::to_string(len) + "?");
      return false;
    }
    Interval iv = PrefixInterval(lo->family, lo->addr, len);
    out.of(lo->family).Add(iv.lo, iv.hi);
    return true;
  }

  // --- services ------------------------------------------------------------

  bool ServiceItem(const ast::SvcItem& s, std::vector<ServiceAtom>& out) {
    if (s.kind == ast::SvcItem::Kind::kSpec) return Spec(s.spec, out);
    if (s.kind == ast::SvcItem::Kind::kAny) {
      diags_.Error("any-in-group", s.loc, "'any' cannot be part of a service list",
                   "use 'any' (or nothing) as the rule's service instead");
      return false;
    }
    if (std::find(stack_.begin(), stack_.end(), s.name) != stack_.end()) {
      diags_.Error("cyclic-group", s.loc, "service '" + stack_.back() + "' contains itself through '" +
                                               s.name + "'",
                   "remove one of the memberships that form the cycle");
      return false;
    }
    const Value* v = Object(s.name);
    if (!v) {
      UnknownName(s.name, s.loc, "service");
      return false;
    }
    if (v->kind == Value::Kind::kInvalid) return false;
    if (v->kind != Value::Kind::kService) {
      diags_.Error("type-mismatch", s.loc, "'" + s.name + "' is an address, but a service is expected here",
                   "name a service (e.g. 'service http tcp 80;') here");
      return false;
    }
    out.insert(out.end(), v->services.begin(), v->services.end());
    return true;
  }

  bool Ports(const std::vector<ast::PortRange>& in, IntervalSet& out) {
    bool ok = true;
    for (const auto& p : in) {
      if (p.lo > 65535 || p.hi > 65535) {
        uint64_t bad = p.lo > 65535 ? p.lo : p.hi;
        std::string value = bad == UINT64_MAX ? p.text : std::to_string(bad);
        diags_.Error("port-range", p.loc, "port " + value + " is outside 0-65535",
                     "ports are 16-bit numbers");
        ok = false;
      } else if (p.lo > p.hi) {
        diags_.Error("inverted-range", p.loc,
                     "port range " + std::to_string(p.lo) + "-" + std::to_string(p.hi) + " is inverted",
                     "write the lower port first: " + std::to_string(p.hi) + "-" + std::to_string(p.lo));
        ok = false;
      } else {
        if (p.hi == 0)
          diags_.Warning("port-zero", p.loc, "port 0 is reserved: no TCP or UDP connection uses it",
                         "to match any port leave the port out (e.g. 'tcp'); for a range write e.g. 0-1023");
        out.Add(p.lo, p.hi);
      }
    }
    return ok;
  }

  bool Spec(const ast::SvcSpec& s, std::vector<ServiceAtom>& out) {
    ServiceAtom a;
    a.loc = s.loc;
    switch (s.kind) {
      case ast::SvcSpec::Kind::kTcp:
      case ast::SvcSpec::Kind::kUdp: {
        a.proto = s.kind == ast::SvcSpec::Kind::kTcp ? kProtoTcp : kProtoUdp;
        bool ok = Ports(s.dports, a.dports);
        ok &= Ports(s.sports, a.sports);
        if (!ok) return false;
        break;
      }
      case ast::SvcSpec::Kind::kIcmp:
      case ast::SvcSpec::Kind::kIcmpv6: {
        Family f = s.kind == ast::SvcSpec::Kind::kIcmp ? Family::kV4 : Family::kV6;
        a.proto = f == Family::kV4 ? kProtoIcmp : kProtoIcmpv6;
        const char* kw = f == Family::kV4 ? "icmp" : "icmpv6";
        if (!s.icmp_type.empty()) {
          if (std::isdigit(static_cast<unsigned char>(s.icmp_type[0]))) {
            if (s.icmp_type.size() > 3 || std::stoi(s.icmp_type) > 255) {
              diags_.Error("bad-icmp-type", s.icmp_type_loc, std::string(kw) + " type " + s.icmp_type +
                                                                   " is outside 0-255", "ICMP types are 8-bit numbers");
              return false;
            }
            a.icmp_type = std::stoi(s.icmp_type);
          } else if (auto t = IcmpTypeByName(f, s.icmp_type)) {
            a.icmp_type = *t;
          } else {
            std::string near = ClosestName(s.icmp_type, IcmpTypeNames(f));
            std::string other = IcmpTypeByName(f == Family::kV4 ? Family::kV6 : Family::kV4, s.icmp_type)
                                    ? std::string(" (it is an ") + (f == Family::kV4 ? "icmpv6" : "icmp") + " type)"
                                    : "";
            diags_.Error("unknown-icmp-type", s.icmp_type_loc,
                         "unknown " + std::string(kw) + " type '" + s.icmp_type + "'" + other,
                         near.empty() ? "give the type by number, or see fwc.policy(5) for the names"
                                      : "did you mean '" + near + "'?");
            return false;
          }
        }
        if (s.icmp_code) {
          if (*s.icmp_code > 255) {
            diags_.Error("bad-icmp-type", s.icmp_code_loc, std::string(kw) + " code " +
                                                               std::to_string(*s.icmp_code) + " is outside 0-255",
                         "ICMP codes are 8-bit numbers");
            return false;
          }
          a.icmp_code = static_cast<int>(*s.icmp_code);
        }
        break;
      }
      case ast::SvcSpec::Kind::kProto: {
        if (!s.proto.empty() && std::isdigit(static_cast<unsigned char>(s.proto[0]))) {
          if (s.proto.size() > 3 || std::stoi(s.proto) > 255) {
            diags_.Error("bad-protocol", s.proto_loc, "protocol number " + s.proto + " is outside 0-255",
                         "IP protocol numbers are 8-bit");
            return false;
          }
          a.proto = std::stoi(s.proto);
        } else if (auto p = ProtocolByName(s.proto)) {
          a.proto = *p;
        } else {
          std::string near = ClosestName(s.proto, ProtocolNames());
          diags_.Error("unknown-protocol", s.proto_loc, "unknown IP protocol '" + s.proto + "'",
                       near.empty() ? "give the protocol by number (0-255)" : "did you mean '" + near + "'?");
          return false;
        }
        break;
      }
    }
    out.push_back(std::move(a));
    return true;
  }

  // --- expectations ----------------------------------------------------------

  // expect VERDICT SERVICE from SRC to DST [in I] [out O] [state S] [if D]:
  // rule-shaped, but it must name exactly one packet (per family).
  void Expectations(Model& m) {
    for (const auto& e : unit_.expectations) {
      if (diags_.at_cap()) break;
      if (!e.condition.empty() && std::find(m.conditions.begin(), m.conditions.end(), e.condition) == m.conditions.end())
        m.conditions.push_back(e.condition);
      bool ok = true;
      auto refuse = [&](const Loc& at, const std::string& what, const std::string& help) {
        diags_.Error("expect-not-one-packet", at, what, help);
        ok = false;
      };
      const char* options = "an expectation takes in, out, state, comment and if";
      if (e.log.enabled || e.counter || e.disabled || !e.nowarn.empty() ||
          (e.matches && (!e.matches->mark.empty() || !e.matches->connmark.empty() || e.matches->limit_rate ||
                         e.matches->connlimit)))
      {
        diags_.Error("expect-option", e.span,
                     "an expectation names a packet: log, counter, disabled, nowarn, mark, connmark, limit and "
                     "connlimit have no meaning here",
                     options);
        ok = false;
      }
      auto r = Rule(e);
      if (!r) continue;
      auto one_address = [&](const AddressSlot& slot, const char* end) {
        if (slot.any || slot.negated || slot.runtime()) {
          refuse(slot.loc, std::string("an expectation names one packet, but its ") + end + " is " +
                               (slot.any ? "any address" : slot.negated ? "a negation" : "a runtime set"),
                 "write a host or an address");
          return;
        }
        for (Family f : {Family::kV4, Family::kV6}) {
          const auto& iv = slot.set.of(f).intervals();
          if (iv.empty() || (iv.size() == 1 && iv[0].lo == iv[0].hi)) continue;
          refuse(slot.loc, std::string("an expectation names one packet, but its ") + end + " is more than one " +
                               (f == Family::kV4 ? "IPv4" : "IPv6") + " address",
                 "write a host or an address (one per family)");
          return;
        }
      };
      one_address(r->src, "source");
      one_address(r->dst, "destination");
      // One service per family: 'ping' may be icmp and icmpv6 echo-request.
      const ServiceSlot& svc = r->services;
      bool one_each = !svc.any && !svc.negated && !svc.atoms.empty();
      for (Family f : {Family::kV4, Family::kV6}) {
        size_t n = 0;
        for (const auto& a : svc.atoms) n += !a.family() || *a.family() == f;
        one_each &= n <= 1;
      }
      if (!one_each) {
        refuse(svc.any ? r->span : svc.loc,
               svc.any ? "an expectation names one packet, but it has no service"
                       : "an expectation names one packet, but its service is more than one",
               "name one, e.g. 'expect accept tcp 80 from ...' or 'expect drop icmp echo-request from ...'");
      }
      for (const ServiceAtom& a : one_each ? svc.atoms : std::vector<ServiceAtom>{}) {
        auto one_port = [](const IntervalSet& ports) {
          return ports.intervals().size() == 1 && ports.intervals()[0].lo == ports.intervals()[0].hi;
        };
        bool ports = a.proto == kProtoTcp || a.proto == kProtoUdp;
        if (ports && !one_port(a.dports))
          refuse(svc.loc, "an expectation names one packet, but its service has " +
                              std::string(a.dports.empty() ? "no destination port" : "more than one destination port"),
                 "name the port, e.g. 'tcp 80'");
        else if (ports && !a.sports.empty() && !one_port(a.sports))
          refuse(svc.loc, "an expectation names one packet, but its service has more than one source port",
                 "name one source port, or none");
        else if ((a.proto == kProtoIcmp || a.proto == kProtoIcmpv6) && a.icmp_type < 0)
          refuse(svc.loc, "an expectation names one packet, but its service is any ICMP type",
                 "name the type, e.g. 'icmp echo-request'");
        if (!ok) break;
      }
      uint8_t states = r->extras.states;
      if (states && states != kStateNew && states != kStateEstablished)
        refuse(r->span, "an expectation names one packet: its state is new or established, one of them",
               "write 'state new' (the default) or 'state established'");
      if (ok) m.expectations.push_back(std::move(*r));
    }
  }

  // --- policy ----------------------------------------------------------------

  void Policy(Model& m) {
    if (unit_.policies.empty()) {
      if (diags_.has_errors()) return;
      Loc at = unit_.firewalls.empty() ? Loc{0, 1, 1, 1} : unit_.firewalls[0].loc;
      diags_.Error("missing-policy", at, "no policy block: nothing to compile",
                   "add 'policy NAME default drop { ... }' with the rules");
      return;
    }
    for (size_t i = 1; i < unit_.policies.size(); ++i)
      diags_.Error("multiple-policies", unit_.policies[i].loc, "a second policy block",
                   "put all rules of this firewall into one policy block")
          .notes.push_back({unit_.policies[0].loc, "the first policy block"});
    const ast::Policy& p = unit_.policies[0];
    m.policy_name = p.name;
    m.policy_loc = p.loc;
    m.default_action = p.default_action;
    std::map<std::string, Loc> options_seen;
    for (const auto& o : p.options) {
      auto [it, fresh] = options_seen.emplace(o.name, o.loc);
      if (!fresh)
        diags_.Warning("duplicate-option", o.loc, "option '" + o.name + "' is given again; the last one counts",
                       "keep one of them")
            .notes.push_back({it->second, "first given here"});
      Option(o, m);
    }
    std::set<std::string> conditions;
    m.rules.reserve(p.rules.size());
    m.has_nat = p.has_nat;
    m.has_marks = p.has_marks;
    for (const auto* section : {&p.marks, &p.nat}) {
      auto& out = section == &p.nat ? m.nat_rules : m.mark_rules;
      for (const auto& r : *section) {
        if (diags_.at_cap()) break;
        if (auto pr = Rule(r)) out.push_back(std::move(*pr));
        if (!r.condition.empty()) conditions.insert(r.condition);
      }
    }
    for (const ast::Rule& r : cluster_rules_)
      if (auto pr = Rule(r)) m.rules.push_back(std::move(*pr));
    for (size_t i = 0; i < p.rules.size(); ++i) {
      const ast::Rule& r = p.rules[i];
      if (diags_.at_cap()) break;
      if (auto pr = Rule(r)) m.rules.push_back(std::move(*pr));
      if (!r.condition.empty()) conditions.insert(r.condition);
      // Nothing refers to a rule's AST once it is resolved.
      if (consumed_) consumed_->policies[0].rules[i] = ast::Rule{};
    }
    m.conditions.assign(conditions.begin(), conditions.end());
  }

  void Option(const ast::Option& o, Model& m) {
    bool forwarding = false;
    bool* target = o.name == "any-includes-firewall" ? &m.any_includes_firewall
                   : o.name == "stateful"            ? &m.stateful
                   : o.name == "forwarding"          ? &forwarding
                   : o.name == "clamp-mss"           ? &m.clamp_mss
                                                     : nullptr;
    if (!target) {
      std::string near = ClosestName(o.name, {"any-includes-firewall", "stateful", "forwarding", "clamp-mss"});
      diags_.Error("unknown-option", o.loc, "unknown option '" + o.name + "'",
                   near.empty() ? "the options are any-includes-firewall, stateful, forwarding and clamp-mss"
                                : "did you mean '" + near + "'?");
      return;
    }
    auto set = [&](bool v) {
      *target = v;
      if (target == &forwarding) m.forwarding = v;
    };
    if (o.value == "yes" || o.value == "true" || o.value == "on") set(true);
    else if (o.value == "no" || o.value == "false" || o.value == "off") set(false);
    else
      diags_.Error("bad-option-value", o.value_loc, "option '" + o.name + "' takes yes or no, not '" + o.value + "'",
                   "write 'option " + o.name + " yes;' or '... no;'");
  }

  std::optional<AddressSlot> Addresses(const ast::AddrSet& s) {
    AddressSlot slot;
    slot.loc = s.loc;
    slot.negated = s.negated;
    bool ok = true;
    bool any = false;
    for (const auto& item : s.items) {
      switch (item.kind) {
        case ast::AddrItem::Kind::kAny:
          any = true;
          break;
        case ast::AddrItem::Kind::kLiteral:
        case ast::AddrItem::Kind::kRange:
          ok &= Literal(item, ast::ObjectDecl::Kind::kGroup, slot.set);
          break;
        case ast::AddrItem::Kind::kName: {
          const Value* v = Object(item.text);
          if (!v) {
            UnknownName(item.text, item.loc, "host");
            ok = false;
          } else if (v->kind == Value::Kind::kService) {
            diags_.Error("type-mismatch", item.loc,
                         "'" + item.text + "' is a service, but an address is expected here",
                         "services go right after the action: 'accept " + item.text + " from ... to ...'");
            ok = false;
          } else if (v->kind == Value::Kind::kInvalid) {
            ok = false;
          } else if (v->kind == Value::Kind::kRuntimeSet) {
            if (s.items.size() != 1) {
              diags_.Error("runtime-set-in-list", item.loc,
                           "runtime set '" + item.text + "' must stand alone in its address slot",
                           "write one rule for the set and another for the other addresses");
              ok = false;
              break;
            }
            slot.runtime_set = item.text;
            slot.runtime_v4 = v->runtime->v4;
            slot.runtime_v6 = v->runtime->v6;
          } else {
            slot.set.AddAll(v->addresses);
            slot.firewall = s.items.size() == 1 && !s.negated && v == &firewall_value_;
            if (auto it = decls_.find(item.text);
                s.items.size() == 1 && it != decls_.end() && it->second.decl->kind == ast::ObjectDecl::Kind::kGroup)
              slot.group = item.text;
          }
          break;
        }
      }
    }
    if (!ok) return std::nullopt;
    if (any && s.negated) {
      diags_.Error("empty-match", s.loc, "'not any' matches no address, so the rule can never apply",
                   "remove the rule, or negate a specific object");
      return std::nullopt;
    }
    slot.any = any;
    if (any) slot.set = {}, slot.group.clear();
    if (!any && s.negated && slot.set.v4.IsFull(FamilyMax(Family::kV4)) &&
        slot.set.v6.IsFull(FamilyMax(Family::kV6))) {
      diags_.Error("empty-match", s.loc, "this negation excludes every address, so the rule can never apply",
                   "remove the rule, or negate a narrower object");
      return std::nullopt;
    }
    return slot;
  }

  std::optional<ServiceSlot> Services(const ast::SvcSet& s) {
    ServiceSlot slot;
    slot.loc = s.loc;
    slot.negated = s.negated;
    bool ok = true;
    bool any = s.items.empty();
    for (const auto& item : s.items) {
      if (item.kind == ast::SvcItem::Kind::kAny) {
        any = true;
        continue;
      }
      if (item.kind == ast::SvcItem::Kind::kName) {
        const Value* v = Object(item.name);
        if (v && v->kind == Value::Kind::kAddress) {
          diags_.Error("type-mismatch", item.loc,
                       "'" + item.name + "' is an address, but a service is expected here",
                       "addresses go after 'from' and 'to'; did you forget 'from'?");
          ok = false;
          continue;
        }
      }
      ok &= ServiceItem(item, slot.atoms);
    }
    if (!ok) return std::nullopt;
    if (any && s.negated) {
      diags_.Error("empty-match", s.loc, "'not any' matches no service, so the rule can never apply",
                   "remove the rule, or negate a specific service");
      return std::nullopt;
    }
    slot.any = any;
    if (any) slot.atoms.clear();
    return slot;
  }

  std::string Interface(const std::string& name, const Loc& loc) {
    for (const auto& i : model_interfaces_)
      if (i.name == name || i.device == name) return i.device;
    std::vector<std::string> names;
    for (const auto& i : model_interfaces_) names.push_back(i.name);
    std::string near = ClosestName(name, names);
    diags_.Error("unknown-interface", loc, "firewall has no interface '" + name + "'",
                 near.empty() ? "declare it in the firewall block: 'interface " + name + " DEVICE ADDRESS;'"
                              : "did you mean '" + near + "'?");
    return "";
  }

  std::optional<PolicyRule> Rule(const ast::Rule& r) {
    PolicyRule out;
    out.action = r.action;
    out.loc = r.loc;
    out.log = {r.log.enabled, r.log.prefix, r.log.rate, r.log.rate_unit};
    out.counter = r.counter;
    out.comment = r.comment;
    out.disabled = r.disabled;
    out.condition = r.condition;
    out.condition_negated = r.condition_negated;
    out.span = r.span;
    for (const auto& [code, loc] : r.nowarn) {
      const auto& known = DiagnosticControl::ControllableCodes();
      if (std::find(known.begin(), known.end(), code) != known.end()) {
        out.nowarn.push_back(code);
        continue;
      }
      std::string near = ClosestName(code, known);
      diags_.Error("unknown-diagnostic", loc, "'" + code + "' is not a diagnostic that can be silenced",
                   near.empty() ? "silence one of: shadowed-rule, redundant-rule, conflicting-rule, empty-rule"
                                : "did you mean '" + near + "'?");
    }
    auto svc = Services(r.services);
    auto src = Addresses(r.src);
    auto dst = Addresses(r.dst);
    bool ok = svc && src && dst;
    if (!r.in_iface.empty()) {
      out.iif = Interface(r.in_iface, r.in_loc);
      ok &= !out.iif.empty();
    }
    if (!r.out_iface.empty()) {
      out.oif = Interface(r.out_iface, r.out_loc);
      ok &= !out.oif.empty();
    }
    if (r.log.enabled) ok &= Log(r.log);
    if (r.matches) ok &= Extras(*r.matches, out.extras);
    if (!ok) return std::nullopt;
    out.src = std::move(*src);
    out.dst = std::move(*dst);
    out.services = std::move(*svc);
    if (r.translation && !Translate(r, *r.translation, out)) return std::nullopt;

    // A rule must leave at least one family in which source, destination
    // and service can all match; otherwise it is a mistake, not a no-op.
    bool addr_family = false, full_family = false;
    for (Family f : {Family::kV4, Family::kV6}) {
      bool a = out.src.Allows(f) && out.dst.Allows(f);
      addr_family |= a;
      full_family |= a && out.services.Allows(f);
    }
    if (!addr_family) {
      diags_.Error("family-mismatch", r.loc, "source and destination have no address family in common",
                   "the source is " + FamilyOnly(out.src) + " and the destination " + FamilyOnly(out.dst) +
                       "; give both an address of the same family")
          .notes = {{out.src.loc, "source is " + FamilyOnly(out.src)},
                    {out.dst.loc, "destination is " + FamilyOnly(out.dst)}};
      return std::nullopt;
    }
    if (!full_family) {
      std::string fam = out.src.Allows(Family::kV4) && out.dst.Allows(Family::kV4) ? "IPv4" : "IPv6";
      diags_.Error("family-mismatch", out.services.loc,
                   "the service matches no " + fam + " traffic, but the addresses are " + fam + " only",
                   fam == std::string("IPv4") ? "use icmp, not icmpv6, for IPv4 addresses"
                                              : "use icmpv6, not icmp, for IPv6 addresses");
      return std::nullopt;
    }
    return out;
  }

  // --- conntrack helpers ---------------------------------------------------

  void Helpers(Model& m) {
    static const std::vector<std::string> kinds = {"ftp", "tftp", "irc", "sip", "sane", "amanda", "snmp", "pptp",
                                                   "netbios-ns"};
    for (const auto& h : unit_.helpers) {
      if (std::find(kinds.begin(), kinds.end(), h.kind) == kinds.end()) {
        std::string near = ClosestName(h.kind, kinds);
        diags_.Error("bad-helper", h.loc, "unknown conntrack helper '" + h.kind + "'",
                     near.empty() ? "the helpers are ftp, tftp, irc, sip, sane, amanda, snmp, pptp and netbios-ns"
                                  : "did you mean '" + near + "'?");
        continue;
      }
      const ast::SvcSpec& s = h.service;
      if ((s.kind != ast::SvcSpec::Kind::kTcp && s.kind != ast::SvcSpec::Kind::kUdp) || s.dports.empty() ||
          !s.sports.empty()) {
        diags_.Error("bad-helper", s.loc, "a helper watches a TCP or UDP port: write e.g. 'helper " + h.kind +
                     (h.kind == "ftp" ? " tcp 21;'" : " udp 69;'"), "give the protocol and the port(s) it serves");
        continue;
      }
      HelperSpec spec;
      spec.kind = h.kind;
      spec.proto = s.kind == ast::SvcSpec::Kind::kTcp ? kProtoTcp : kProtoUdp;
      spec.name = h.kind + (spec.proto == kProtoTcp ? "_tcp" : "_udp");
      if (!Ports(s.dports, spec.ports)) continue;
      // One object per kind and protocol: a second declaration adds ports.
      auto same = std::find_if(m.helpers.begin(), m.helpers.end(), [&](const HelperSpec& x) { return x.name == spec.name; });
      if (same != m.helpers.end()) same->ports.AddAll(spec.ports);
      else m.helpers.push_back(std::move(spec));
    }
  }

  // --- nat and marks ---------------------------------------------------------

  static constexpr uint64_t kMaxMark = 0xffffffffu;

  bool MarkNumber(uint64_t value, const std::string& text, const Loc& loc, uint32_t* out) {
    if (value > kMaxMark) {
      diags_.Error("mark-range", loc, "mark " + (value == UINT64_MAX ? text : std::to_string(value)) +
                   " is outside 0-4294967295", "marks are 32-bit numbers");
      return false;
    }
    *out = static_cast<uint32_t>(value);
    return true;
  }

  // A mark as written: a number or the name of a 'mark NAME VALUE;'.
  bool Mark(const std::string& text, const Loc& loc, uint32_t* out) {
    if (!text.empty() && text[0] >= '0' && text[0] <= '9') return MarkNumber(syntax::NumberValue(text), text, loc, out);
    auto it = marks_.find(text);
    if (it == marks_.end()) {
      std::vector<std::string> names;
      for (const auto& [n, _] : marks_) names.push_back(n);
      std::string near = ClosestName(text, names);
      diags_.Error("unknown-name", loc, "unknown mark '" + text + "'",
                   near.empty() ? "declare it, e.g. 'mark " + text + " 1;', or write the number"
                                : "did you mean '" + near + "'?");
      return false;
    }
    if (!it->second) return false;  // its declaration was reported
    *out = *it->second;
    return true;
  }

  bool Extras(const ast::RuleMatches& in, MatchExtras& out) {
    bool ok = true;
    if (!in.mark.empty()) {
      out.has_mark = Mark(in.mark, in.mark_loc, &out.mark);
      ok &= out.has_mark;
    }
    if (!in.connmark.empty()) {
      out.has_ctmark = Mark(in.connmark, in.connmark_loc, &out.ctmark);
      ok &= out.has_ctmark;
    }
    for (const auto& state : in.states) {
      // (Not a structured binding: a lambda may not capture one before C++20.)
      const std::string& name = state.first;
      const Loc& loc = state.second;
      auto it = std::find_if(std::begin(kStateNames), std::end(kStateNames),
                             [&](const auto& s) { return name == s.name; });
      if (it == std::end(kStateNames)) {
        std::string near = ClosestName(name, {"new", "established", "related", "invalid", "untracked"});
        diags_.Error("bad-state", loc, "unknown connection state '" + name + "'",
                     near.empty() ? "the states are new, established, related, invalid and untracked"
                                  : "did you mean '" + near + "'?");
        ok = false;
        continue;
      }
      out.states |= it->bit;
    }
    if (in.connlimit) {
      if (*in.connlimit == 0 || *in.connlimit > 1000000) {
        diags_.Error("bad-limit", in.connlimit_loc, "a connection limit must be between 1 and 1000000",
                     "write e.g. 'connlimit 10' (at most 10 connections of this rule at once)");
        ok = false;
      } else {
        out.connlimit = static_cast<uint32_t>(*in.connlimit);
      }
    }
    if (in.limit_rate || !in.limit_unit.empty()) {
      auto unit = std::find(std::begin(kRateUnits), std::end(kRateUnits), in.limit_unit);
      if (unit == std::end(kRateUnits)) {
        std::string near = ClosestName(in.limit_unit, {"second", "minute", "hour", "day"});
        diags_.Error("bad-limit", in.limit_loc, "unknown rate unit '" + in.limit_unit + "'",
                     near.empty() ? "write e.g. 'limit 10/second' (second, minute, hour or day)"
                                  : "did you mean '" + near + "'?");
        ok = false;
      } else if (in.limit_rate == 0 || in.limit_rate > 1000000) {
        diags_.Error("bad-limit", in.limit_loc, "a limit must be between 1 and 1000000 packets per unit",
                     "write e.g. 'limit 10/second'");
        ok = false;
      } else {
        out.limit_rate = static_cast<uint32_t>(in.limit_rate);
        out.limit_unit = static_cast<uint8_t>(unit - std::begin(kRateUnits));
      }
    }
    return ok;
  }

  const FirewallInterface* InterfaceByDevice(const std::string& device) const {
    for (const auto& i : model_interfaces_)
      if (i.device == device) return &i;
    return nullptr;
  }

  // The checks of a nat or marks rule, and what it translates to.
  bool Translate(const ast::Rule& r, const ast::Translation& t, PolicyRule& out) {
    using K = ast::Translation::Kind;
    auto x = std::make_shared<Translation>();
    x->kind = static_cast<Translation::Kind>(t.kind);
    const char* what = TranslationName(x->kind);
    bool ok = true;
    // Where each kind runs: before routing (no output interface known yet)
    // or after it (no input interface in the srcnat hook for local traffic).
    if ((t.kind == K::kDnat || t.kind == K::kRedirect || t.kind == K::kMark || t.kind == K::kConnmark) &&
        !r.out_iface.empty()) {
      diags_.Error(x->nat() ? "nat-interface" : "mark-interface", r.out_loc,
                   std::string("'") + what + "' happens before routing, so it cannot match an output interface",
                   "match the input interface with 'in', or the destination address");
      ok = false;
    }
    if ((t.kind == K::kSnat || t.kind == K::kMasquerade) && !r.in_iface.empty()) {
      diags_.Error("nat-interface", r.in_loc,
                   std::string("'") + what + "' happens after routing, on the way out: it matches 'out', not 'in'",
                   "match the output interface with 'out', or the source address");
      ok = false;
    }
    if (t.kind == K::kNoNat && !r.in_iface.empty() && !r.out_iface.empty()) {
      diags_.Error("nat-interface", r.out_loc, "'no nat' with both 'in' and 'out' matches in no NAT hook",
                   "'no nat ... in IFACE' stops destination NAT, 'no nat ... out IFACE' source NAT");
      ok = false;
    }
    if (t.kind == K::kMasquerade) {
      const FirewallInterface* i = out.oif.empty() ? nullptr : InterfaceByDevice(out.oif);
      if (r.out_iface.empty()) {
        diags_.Error("nat-interface", t.loc, "'masquerade' needs the interface whose address it takes",
                     "add 'out IFACE', e.g. 'masquerade from inside to any out outside;'");
        ok = false;
      } else if (i && i->addresses.empty()) {
        diags_.Error("masquerade-no-address", r.out_loc,
                     "interface '" + r.out_iface + "' has no address to masquerade with",
                     "declare its address in the firewall block, or use 'snat to ADDRESS'");
        ok = false;
      }
    }
    if (t.kind == K::kMark || t.kind == K::kConnmark) ok &= Mark(t.mark, t.mark_loc, &x->mark);
    if (t.has_to) {
      ast::AddrSet to;
      to.items.push_back(t.to);
      to.loc = t.to.loc;
      auto slot = Addresses(to);
      if (!slot) return false;
      if (slot->any || slot->runtime()) {
        diags_.Error("nat-target", t.to.loc, std::string("'") + what + "' needs an address or range to translate to",
                     "name a host, an address or a range");
        return false;
      }
      for (Family f : {Family::kV4, Family::kV6}) {
        const auto& iv = slot->set.of(f).intervals();
        if (iv.size() > 1) {
          diags_.Error("nat-target", t.to.loc,
                       "'" + t.to.text + "' has " + std::to_string(iv.size()) + " separate " +
                           (f == Family::kV4 ? "IPv4" : "IPv6") + " blocks; NAT translates to one address or range",
                       "translate to a host or a range");
          return false;
        }
        if (iv.size() == 1) (f == Family::kV4 ? x->to_v4 : x->to_v6) = iv[0];
      }
    }
    if (t.port) {
      IntervalSet port;
      if (!Ports({*t.port}, port)) return false;
      bool ports = !out.services.any && !out.services.negated && !out.services.atoms.empty();
      for (const auto& a : out.services.atoms) ports &= a.proto == kProtoTcp || a.proto == kProtoUdp;
      if (!ports) {
        diags_.Error("nat-port", t.port->loc, "a port translation needs a service with ports (tcp or udp)",
                     "name the service the rule translates, e.g. 'dnat to web port 8080 tcp 80 from ...'");
        return false;
      }
      x->port_lo = static_cast<uint16_t>(t.port->lo);
      x->port_hi = static_cast<uint16_t>(t.port->hi);
    }
    if (!ok) return false;
    // The rule applies in the families it can match and, for snat and
    // dnat, that its target has an address of.
    if (x->has_address()) {
      bool any_family = false;
      for (Family f : {Family::kV4, Family::kV6})
        any_family |= out.src.Allows(f) && out.dst.Allows(f) && out.services.Allows(f) && x->to(f);
      if (!any_family) {
        diags_.Error("family-mismatch", t.to.loc,
                     "'" + t.to.text + "' has no address of the family this rule matches",
                     "translate IPv4 traffic to an IPv4 address and IPv6 traffic to an IPv6 address")
            .notes = {{r.loc, std::string("this rule matches ") +
                                  (out.src.Allows(Family::kV4) && out.dst.Allows(Family::kV4) ? "IPv4" : "IPv6") +
                                  " traffic"}};
        return false;
      }
    }
    out.translation = std::move(x);
    return true;
  }

  bool Log(const ast::LogSpec& l) {
    bool ok = true;
    // iptables' LOG target takes 29 bytes; one limit for both backends
    // keeps a policy portable.
    if (l.prefix.size() > 29) {
      diags_.Error("log-prefix-too-long", l.prefix_loc,
                   "log prefix is " + std::to_string(l.prefix.size()) + " bytes; at most 29 are allowed",
                   "shorten the prefix (the kernel's LOG target limit)");
      ok = false;
    }
    // nft reads '$' in a log prefix as the start of a variable and has no
    // way to escape it; the other targets would take it, but a policy
    // compiles the same for every target.
    if (l.prefix.find('$') != std::string::npos) {
      diags_.Error("bad-log-prefix", l.prefix_loc, "a log prefix cannot contain '$'",
                   "nft reads '$' in a log prefix as a variable; leave it out (e.g. \"cost USD5\")");
      ok = false;
    }
    if (!l.rate_unit.empty()) {
      static const std::vector<std::string> units = {"second", "minute", "hour", "day"};
      if (std::find(units.begin(), units.end(), l.rate_unit) == units.end()) {
        std::string near = ClosestName(l.rate_unit, units);
        diags_.Error("bad-log-rate", l.rate_loc, "unknown rate unit '" + l.rate_unit + "'",
                     near.empty() ? "write e.g. 'rate 10/minute' (second, minute, hour or day)"
                                  : "did you mean '" + near + "'?");
        ok = false;
      } else if (l.rate == 0 || l.rate > 10000) {
        diags_.Error("bad-log-rate", l.rate_loc, "log rate must be between 1 and 10000",
                     "write e.g. 'rate 10/minute'");
        ok = false;
      }
    }
    return ok;
  }

  static constexpr size_t kMaxNesting = 64;

  const ast::Unit& unit_;
  ast::Unit* consumed_ = nullptr;
  Diagnostics& diags_;
  std::string selected_;                           // --firewall, or ""
  const ast::Firewall* selected_fw_ = nullptr;     // the firewall compiled
  std::map<std::string, Value> peer_values_;       // the policy's other firewalls and clusters
  std::vector<ast::Rule> cluster_rules_;           // its cluster's protocols, ahead of the policy's rules
  std::vector<std::string> all_names_;  // for suggestions, gathered once
  std::map<std::string, Loc> declared_;
  std::map<std::string, Named> decls_;  // nodes stay put: in_order_ points to them
  std::vector<Named*> in_order_;         // as declared, for checking every object once
  std::vector<std::string> stack_;
  std::vector<FirewallInterface> model_interfaces_;
  Value firewall_value_;
  std::vector<const ast::RuntimeSet*> runtime_decls_;  // as declared, duplicates left out
  std::map<std::string, Value> runtime_values_;
  Value cycle_;  // kInvalid: what a name resolves to while it is resolved
  std::map<std::string, std::optional<uint32_t>> marks_;  // nullopt: its declaration has an error
};

}  // namespace

Model Resolve(const ast::Unit& unit, Diagnostics& diags, const std::string& firewall) {
  return Resolver(unit, nullptr, diags, firewall).Run();
}

Model Resolve(ast::Unit&& unit, Diagnostics& diags, const std::string& firewall) {
  return Resolver(unit, &unit, diags, firewall).Run();
}

std::optional<AddressSet> ResolveAddressName(const ast::Unit& unit, const std::string& name,
                                             const std::string& firewall) {
  SourceManager sm;
  Diagnostics scratch(sm);  // the unit was checked: nothing new to report
  return Resolver(unit, nullptr, scratch, firewall).AddressesOf(name);
}

}  // namespace fwc
