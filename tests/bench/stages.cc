// Throughput of each compiler stage on one policy, for profiling: parse,
// resolve+place, the shadow analysis, lowering, set merging and emitting,
// each in CPU milliseconds and in policy rules per second, and the peak RSS.
//
//   fwc_bench_stages [-r REPS] [--no-analysis] POLICY
//
// Every stage runs REPS times (default 3); the fastest run is reported.
// --no-analysis skips the (separately timed) shadow analysis.
// Printed as one "stage ms rules/s" line per stage, then "total" and
// "peak_rss_mb".
#include <sys/resource.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "backends/registry.h"
#include "backends/nft/nft_backend.h"
#include "backends/nftables/set_merge.h"
#include "compiler/compilation.h"
#include "compiler/syntax/parser.h"

using namespace fwc;

namespace {

// CPU milliseconds (fwc is single-threaded): steadier than wall time on a
// machine that does other work too.
double CpuMillis() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double Millis(const std::function<void()>& f, int reps) {
  double best = 1e300;
  for (int i = 0; i < reps; ++i) {
    double t0 = CpuMillis();
    f();
    best = std::min(best, CpuMillis() - t0);
  }
  return best;
}

double PeakMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

void Row(const char* stage, double ms, size_t rules) {
  std::printf("%-22s %10.1f ms %12.0f rules/s\n", stage, ms, ms > 0 ? rules / (ms / 1000) : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 3;
  bool analysis = true;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-r") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--no-analysis")) analysis = false;
    else path = argv[i];
  }
  if (!path || reps < 1) {
    std::fprintf(stderr, "usage: fwc_bench_stages [-r REPS] POLICY\n");
    return 2;
  }
  FileSystemLoader loader;
  std::string err;
  auto text = loader.Read(path, &err);
  if (!text) {
    std::fprintf(stderr, "cannot read %s: %s\n", path, err.c_str());
    return 2;
  }

  // Each measurement starts from the text, as a compile does.
  double parse = Millis([&] {
    SourceManager sources;
    Diagnostics diags(sources);
    ParsePolicy(path, *text, loader, sources, diags);
  }, 1);  // warms the caches
  double peak_parse = PeakMb();
  parse = std::min(parse, Millis([&] {
    SourceManager sources;
    Diagnostics diags(sources);
    ParsePolicy(path, *text, loader, sources, diags);
  }, reps));
  // With and without the analysis, run in turns so that both see the same
  // machine; the analysis is the difference.
  size_t rules = 0;
  double check = 1e300, analysed = 1e300;
  for (int i = 0; i < reps; ++i) {
    check = std::min(check, Millis([&] {
      Compilation c;
      c.set_analysis(false);
      if (!c.Check(path, *text, loader, {})) {
        std::fprintf(stderr, "%s", c.diags().Render().c_str());
        std::exit(1);
      }
      rules = c.model().rules.size();
    }, 1));
    if (analysis) analysed = std::min(analysed, Millis([&] {
      Compilation c;
      c.Check(path, *text, loader, {});
    }, 1));
  }
  if (!analysis) analysed = check;
  analysed = std::max(analysed, check);

  Compilation c;
  c.set_analysis(false);
  c.Check(path, *text, loader, {});
  auto nft = MakeBackend("nft");
  auto ipt = MakeBackend("iptables");
  ir::Ruleset rs;
  double lower = Millis([&] { rs = c.Lower(nft->caps()); }, reps);
  nftables::MergedRuleset merged;
  double merge = Millis([&] { merged = nftables::MergeSets(rs); }, reps);
  size_t nft_bytes = 0, ipt_bytes = 0;
  double emit_nft = Millis([&] { nft_bytes = NftBackend::Emit(merged).size(); }, reps);
  double emit_plain = Millis([&] { NftBackend(false).Emit(rs); }, reps);
  ir::Ruleset rs_ipt = c.Lower(ipt->caps());
  double emit_ipt = Millis([&] { ipt_bytes = ipt->Emit(rs_ipt).size(); }, reps);

  size_t ir_rules = 0, nft_rules = 0;
  for (const auto& ch : rs.chains) ir_rules += ch.rules.size();
  for (const auto& ch : merged.chains) nft_rules += ch.rules.size();
  std::printf("policy %s: %zu rules -> %zu IR rules -> %zu nft rules (%zu bytes), iptables %zu bytes\n", path,
              rules, ir_rules, nft_rules, nft_bytes, ipt_bytes);
  Row("parse", parse, rules);
  Row("resolve+place", check - parse, rules);
  if (analysis) Row("analysis", analysed - check, rules);
  Row("lower", lower, rules);
  Row("merge sets (nft)", merge, rules);
  Row("emit nft", emit_nft, rules);
  Row("emit nft, unmerged", emit_plain, rules);
  Row("emit iptables", emit_ipt, rules);
  Row(analysis ? "total (nft)" : "total without analysis", analysed + lower + merge + emit_nft, rules);
  std::printf("%-22s %10.1f MB (after parsing alone: %.1f MB)\n", "peak_rss", PeakMb(), peak_parse);
  return 0;
}
