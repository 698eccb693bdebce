#include "compiler/semantics/model_dump.h"

#include <sstream>

#include "compiler/base/protocols.h"

namespace fwc {
namespace {

std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string Addresses(const AddressSet& s) {
  std::vector<std::string> v;
  for (Family f : {Family::kV4, Family::kV6})
    for (const auto& iv : s.of(f).intervals()) v.push_back(FormatInterval(f, iv));
  return "{" + Join(v) + "}";
}

std::string Slot(const AddressSlot& s) {
  if (s.any) return "any";
  if (!s.runtime_set.empty()) return std::string(s.negated ? "not " : "") + "runtime set " + s.runtime_set;
  std::string out = (s.negated ? "not " : "") + Addresses(s.set);
  if (!s.group.empty()) out += " (group " + s.group + ")";
  if (s.firewall) out += " (the firewall)";
  return out;
}

std::string PortSet(const IntervalSet& s) {
  std::vector<std::string> v;
  for (const auto& iv : s.intervals())
    v.push_back(std::to_string(static_cast<unsigned>(iv.lo)) +
                (iv.hi != iv.lo ? "-" + std::to_string(static_cast<unsigned>(iv.hi)) : ""));
  return Join(v, ",");
}

std::string Atom(const ServiceAtom& a) {
  std::string name = ProtocolName(a.proto);
  std::string out = name.empty() ? "proto " + std::to_string(a.proto) : name;
  if (!a.dports.empty()) out += " dport " + PortSet(a.dports);
  if (!a.sports.empty()) out += " sport " + PortSet(a.sports);
  if (a.icmp_type >= 0) out += " type " + std::to_string(a.icmp_type);
  if (a.icmp_code >= 0) out += " code " + std::to_string(a.icmp_code);
  return out;
}

}  // namespace

std::string DumpModel(const Model& m, const SourceManager& sources) {
  std::ostringstream o;
  o << "firewall " << m.firewall_name << " addresses " << Addresses(m.firewall_addresses) << "\n";
  if (!m.cluster_name.empty())
    o << "cluster " << m.cluster_name << " virtual addresses " << Addresses(m.virtual_addresses) << "\n";
  for (const auto& i : m.interfaces)
    o << "  interface " << i.name << " device " << i.device << " addresses " << Addresses(i.addresses)
      << " networks " << Addresses(i.networks) << "\n";
  o << "local destinations " << Addresses(m.local_destinations) << "\n";
  for (const auto& r : m.runtime_sets)
    o << "runtime set " << r.name << (r.v4 ? " ipv4" : "") << (r.v6 ? " ipv6" : "") << "\n";
  o << "policy " << m.policy_name << " default " << ast::ActionName(m.default_action)
    << " any-includes-firewall " << (m.any_includes_firewall ? "yes" : "no") << " stateful "
    << (m.stateful ? "yes" : "no") << "\n";
  for (const auto& r : m.rules) {
    o << "rule " << sources.display_name(r.loc.file) << ":" << r.loc.line << " " << ast::ActionName(r.action);
    if (r.disabled) o << " (disabled)";
    if (!r.condition.empty()) o << " (if " << (r.condition_negated ? "not " : "") << r.condition << ")";
    o << "\n  src " << Slot(r.src) << "\n  dst " << Slot(r.dst) << "\n  svc ";
    if (r.services.any) {
      o << "any";
    } else {
      std::vector<std::string> v;
      for (const auto& a : r.services.atoms) v.push_back(Atom(a));
      o << (r.services.negated ? "not " : "") << "{" << Join(v, "; ") << "}";
    }
    o << "\n";
    if (!r.iif.empty()) o << "  iif " << r.iif << "\n";
    if (!r.oif.empty()) o << "  oif " << r.oif << "\n";
  }
  return o.str();
}

}  // namespace fwc
