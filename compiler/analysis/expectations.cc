#include "compiler/analysis/expectations.h"

#include <optional>
#include <string>

#include "compiler/analysis/query.h"

namespace fwc::analysis {
namespace {

bool ParseVerdict(const std::string& word, ast::Action* a) {
  if (word == "accept") *a = ast::Action::kAccept;
  else if (word == "drop") *a = ast::Action::kDrop;
  else if (word == "reject") *a = ast::Action::kReject;
  else return false;
  return true;
}

// An expectation the policy decides otherwise: an error at it, with a note
// at the rule (or default) that decides.
Diagnostic& ReportFailure(const SourceManager& sm, const Model& m, ast::Action want, const QueryResult& r,
                          const Loc& at, Diagnostics& diags) {
  std::string decided;
  Loc by;
  if (r.rule) {
    decided = "decided by the rule at " + sm.display_name(r.rule->loc.file) + ":" + std::to_string(r.rule->loc.line);
    by = r.rule->loc;
  } else if (!r.builtin.empty()) {
    decided = "decided by fwc's built-in " + r.builtin + " rule";
  } else {
    decided = "decided by the policy default";
    by = m.policy_loc;
  }
  Diagnostic& d = diags.Error("expectation-failed", at,
                              std::string("expected ") + ast::ActionName(want) + ", but the policy " +
                                  ast::ActionName(r.verdict) + "s " + r.packet + " (" + ir::HookName(r.chain) + ", " +
                                  (r.family == Family::kV4 ? "IPv4" : "IPv6") + ")",
                              decided + "; `fwc query` shows the way it takes");
  if (by.valid()) d.notes.push_back({by, r.rule ? "this rule decides it" : "this default decides it"});
  return d;
}

}  // namespace

ExpectationStats CheckPolicyExpectations(const SourceManager& sm, const Model& m,
                                         const std::vector<PlacedRule>& placed,
                                         const std::vector<PlacedRule>& sections,
                                         const std::set<std::string>& defines, Diagnostics& diags) {
  ExpectationStats stats;
  if (m.expectations.empty()) return stats;
  QueryEngine engine(m, placed, sections);
  for (const PolicyRule& e : m.expectations) {
    if (!e.condition.empty() && (defines.count(e.condition) > 0) == e.condition_negated) continue;
    Diagnostic* failed = nullptr;  // the IPv4 packet's, which the IPv6 one joins when decided alike
    const QueryResult* failed_r = nullptr;
    std::optional<QueryResult> v4;
    for (Family f : {Family::kV4, Family::kV6}) {
      const auto& src = e.src.set.of(f).intervals();
      const auto& dst = e.dst.set.of(f).intervals();
      // The resolver left at most one service per family.
      const ServiceAtom* atom = nullptr;
      for (const auto& a : e.services.atoms)
        if (!a.family() || *a.family() == f) atom = &a;
      if (src.empty() || dst.empty() || !atom) continue;
      const ServiceAtom& a = *atom;
      PacketSpec p;
      p.family = f;
      p.proto = a.proto;
      p.src = src[0].lo;
      p.dst = dst[0].lo;
      if (!a.dports.empty()) p.dport = static_cast<unsigned>(a.dports.intervals()[0].lo);
      if (!a.sports.empty()) p.sport = static_cast<unsigned>(a.sports.intervals()[0].lo);
      p.icmp_type = a.icmp_type;
      p.icmp_code = a.icmp_code < 0 ? 0 : a.icmp_code;
      p.iif = e.iif;
      p.oif = e.oif;
      p.established = e.extras.states == kStateEstablished;
      std::string err;
      auto r = engine.Query(p, &err);
      if (!r) {  // the resolver checked the interfaces: not expected
        diags.Error("expectation-failed", e.span, "cannot decide this packet: " + err);
        failed = nullptr;  // a new diagnostic may have moved it
        continue;
      }
      ++stats.checked;
      if (r->verdict == e.action) continue;
      ++stats.failed;
      if (failed && failed_r->verdict == r->verdict && failed_r->rule == r->rule && failed_r->builtin == r->builtin) {
        failed->message += "; so does the IPv6 packet " + r->packet;
        continue;
      }
      failed = &ReportFailure(sm, m, e.action, *r, e.span, diags);
      v4 = std::move(r);
      failed_r = &*v4;
    }
  }
  return stats;
}

ExpectationStats CheckExpectations(int file, const SourceManager& sm, const Model& m,
                                   const std::vector<PlacedRule>& placed, const std::vector<PlacedRule>& sections,
                                   Diagnostics& diags) {
  ExpectationStats stats;
  QueryEngine engine(m, placed, sections);
  const std::string& text = sm.text(file);
  int line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    size_t word_end = line.find_first_of(" \t", start);
    std::string word = line.substr(start, word_end == std::string::npos ? std::string::npos : word_end - start);
    Loc at{file, line_no, static_cast<int>(start) + 1, static_cast<int>(word.size())};
    ast::Action want;
    if (!ParseVerdict(word, &want)) {
      std::string near = ClosestName(word, {"accept", "drop", "reject"});
      diags.Error("expectation-syntax", at, "expected accept, drop or reject, found '" + word + "'",
                  near.empty() ? "write an expectation as 'VERDICT PACKET', e.g. 'accept tcp 10.1.1.11 -> 10.1.2.2:80'"
                               : "did you mean '" + near + "'?");
      continue;
    }
    size_t packet_start = word_end == std::string::npos ? line.size() : line.find_first_not_of(" \t", word_end);
    if (packet_start == std::string::npos) packet_start = line.size();
    std::string packet_text = line.substr(packet_start);
    while (!packet_text.empty() && (packet_text.back() == ' ' || packet_text.back() == '\t')) packet_text.pop_back();
    Loc packet_at{file, line_no, static_cast<int>(packet_start) + 1,
                  std::max(1, static_cast<int>(packet_text.size()))};
    std::string err;
    auto packet = ParsePacket(packet_text, &err);
    std::optional<QueryResult> r;
    if (packet) r = engine.Query(*packet, &err);
    if (!r) {
      diags.Error("expectation-syntax", packet_at, packet_text.empty() ? "expected a packet after '" + word + "'" : err,
                  "the packet is written as for fwc query: 'PROTO SRC[:PORT] -> DST[:PORT] [in IFACE] ...'");
      continue;
    }
    ++stats.checked;
    if (r->verdict == want) continue;
    ++stats.failed;
    ReportFailure(sm, m, want, *r, packet_at, diags);
  }
  return stats;
}

}  // namespace fwc::analysis
