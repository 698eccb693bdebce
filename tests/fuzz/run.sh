#!/bin/sh
# Builds the libFuzzer harnesses with clang (in build-fuzz, or $FWC_FUZZ_BUILD)
# and runs each for SECONDS (default 60).
#   usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS]
# Prints the executions of each harness and any finding (the input is kept
# in BUILD/fuzz-artifacts/HARNESS/), and exits 1 when a harness found a
# crash, a sanitizer report, a time-out or an out-of-memory; 77 when clang
# or libFuzzer is not installed (nothing was run); 2 when the build failed.
# What each harness checks: tests/fuzz/README.md.
set -u
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FWC_FUZZ_BUILD:-$root/build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz: clang++ is not installed; skipped (scripts/deps.sh installs it)"
  exit 77
fi
mkdir -p "$build"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/p.cc"
if ! clang++ -fsanitize=fuzzer "$probe/p.cc" -o "$probe/p" >"$probe/log" 2>&1; then
  echo "fuzz: clang++ cannot link libFuzzer (Debian: install libclang-rt-dev); skipped"
  cat "$probe/log"
  exit 77
fi

# Debian 12's ANTLR 4.9 runtime headers do not compile with clang
# (misc/InterpreterDataReader.h default-constructs a Vocabulary whose
# default constructor clang deletes). The fuzz build then uses a copy of
# the headers, in the build tree, with that one unused constructor deleted.
cmake_extra=""
antlr_dir=$(dirname "$(find /usr/include /usr/local/include -name antlr4-runtime.h -path '*antlr4-runtime/*' 2>/dev/null | head -1)")
printf '#include "antlr4-runtime.h"\n' >"$probe/a.cc"
if [ -n "$antlr_dir" ] && ! clang++ -std=c++17 -fsyntax-only -I"$antlr_dir" "$probe/a.cc" >/dev/null 2>&1; then
  patched="$build/antlr4-headers/antlr4-runtime"
  rm -rf "$build/antlr4-headers"
  mkdir -p "$build/antlr4-headers"
  cp -r "$antlr_dir" "$patched"
  sed -i 's|^\([[:space:]]*\)InterpreterData() {};|\1InterpreterData() = delete;|' "$patched/misc/InterpreterDataReader.h"
  if ! clang++ -std=c++17 -fsyntax-only -I"$patched" "$probe/a.cc" >/dev/null 2>&1; then
    echo "fuzz: the ANTLR runtime headers do not compile with clang, even patched" >&2
    exit 2
  fi
  echo "fuzz: using ANTLR headers patched for clang in $patched"
  cmake_extra="-DANTLR4_INCLUDE_DIR=$patched"
fi

echo "== fuzz build (clang, libFuzzer + ASan + UBSan) in $build"
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFWC_SANITIZE=ON -DFWC_BUILD_TESTS=ON $cmake_extra >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; echo "fuzz: configure failed" >&2; exit 2; }
cmake --build "$build" -j"$jobs" --target parser_fuzzer frontend_fuzzer >"$build/build.log" 2>&1 ||
  { tail -40 "$build/build.log"; echo "fuzz: build failed" >&2; exit 2; }

# A short allocation context and no entropic schedule: with them libFuzzer
# spends most of its time in bookkeeping (measured: about twice the
# executions per second without them).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:malloc_context_size=10}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for h in parser_fuzzer frontend_fuzzer; do
  work="$build/fuzz-corpus/$h"        # grows from run to run
  art="$build/fuzz-artifacts/$h"
  mkdir -p "$work" "$art"
  log="$build/fuzz-$h.log"
  echo "== $h for ${secs}s"
  "$build/tests/fuzz/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -entropic=0 \
    -dict="$here/fwc.dict" -artifact_prefix="$art/" -print_final_stats=1 \
    "$work" "$here/corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "$h: ${execs:-?} executions in ${took:-?}s, $cov, corpus $(ls "$work" | wc -l) files, exit $rc"
  if [ "$rc" != 0 ]; then
    status=1
    echo "$h: FINDING (full log: $log)"
    grep -E '^==[0-9]+==|INVARIANT|runtime error|Test unit written|SUMMARY|ERROR: libFuzzer' "$log" | head -20
    grep -A3 'INVARIANT VIOLATED' "$log" | head -8
  fi
done
exit "$status"
