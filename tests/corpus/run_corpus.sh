#!/bin/sh
# The bad-input corpus: every file in DIR/bad/*.fw, plus cases too large to
# commit that are generated here into a temporary directory, must be
# rejected cleanly.
#   usage: run_corpus.sh FWC DIR        (DIR is tests/corpus)
#
# A case starts with its expectations, as comments:
#   # expect: CODE LINE:COL           the first error fwc check reports
#   # expect: CODE [FILE:]LINE:COL    more errors that must be reported (a
#                                     FILE is relative to the case's folder)
#   # expect-text: TEXT               must appear in the diagnostics
#   # expect-exit: 2                  an I/O error (default: 1, policy errors)
#   # known-bug: ID WHAT              a reported compiler bug (see
#                                     tests/fuzz/findings/README.md): the case
#                                     fails today; it is counted as passed,
#                                     but listed, and an XPASS says when the
#                                     bug is gone and the line can go
#   # timeout: N                      a shorter time limit (known hangs only)
#   # args: OPTION...                 options for fwc check and compile (e.g. --max-policy-size 16M)
# For each case: `fwc check` exits 1 (2 for the I/O cases); the first error
# is CODE at exactly FILE:LINE:COL, and so on for the other expectations;
# every "error:" line carries a location; `fwc compile -o OUT` fails the
# same way, leaving a missing OUT missing and an existing one unchanged, and
# no temporary file behind; nothing crashes or hangs (exit > 2, a signal or
# a sanitizer report is a failure). Every run of fwc is limited to 1 GiB of
# address space (ulimit -v; not for sanitizer builds, which reserve more)
# and 20 seconds (5 times the limits for a sanitizer build).
# The last line is "N passed, M failed"; the exit status is 1 on failure.
set -u
LC_ALL=C
export LC_ALL
if [ $# -ne 2 ]; then
  echo "usage: $0 FWC DIR" >&2
  exit 2
fi
case $1 in /*) fwc=$1 ;; *) fwc=$(pwd)/$1 ;; esac
dir=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fwc-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

vlimit=1048576  # KiB: 1 GiB
slowdown=1      # time limits are for a release build
if ldd "$fwc" 2>/dev/null | grep -q 'lib[at]san' || nm -D "$fwc" 2>/dev/null | grep -q ' __asan_init'; then
  echo "note: $fwc is a sanitizer build; running without the 1 GiB ulimit -v, with 5 times the time limits"
  vlimit=""
  slowdown=5
fi
bom=$(printf '\357\273\277')

pass=0
fail=0
known_failing=""
xpass=""

# run_fwc DIR OUT_PREFIX ARGS...: runs fwc in DIR under the limits, with
# stdout and stderr in OUT_PREFIX.out and .err; sets rc and o.
run_fwc() {
  o=$2
  d=$1
  shift 2
  (
    cd "$d" || exit 125
    # shellcheck disable=SC3045 # dash and bash have ulimit -v
    if [ -n "$vlimit" ]; then ulimit -v "$vlimit" || exit 125; fi
    # Not exec: this shell reaps a crashed fwc, so its "Segmentation
    # fault" goes to the log, not to the runner's output.
    timeout -k 2 "$timeout" "$fwc" "$@"
    exit $?
  ) >"$o.out" 2>"$o.err" </dev/null
  rc=$?
}

# Problems found in the current case are collected in $problems.
problem() {
  problems="$problems
    - $1"
}

# crashed WHAT: whether the last run crashed, hung or tripped a sanitizer.
crashed() {
  if [ "$rc" -gt 2 ]; then
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then problem "$1: timed out after ${timeout}s (exit $rc)"
    elif [ "$rc" -gt 128 ]; then problem "$1: killed by signal $((rc - 128)) (exit $rc)"
    else problem "$1: exit status $rc"
    fi
    return 0
  fi
  if grep -a -q -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY: [A-Za-z]+Sanitizer|terminate called|std::bad_alloc' "$o.err"; then
    problem "$1: sanitizer report or uncaught exception"
    return 0
  fi
  return 1
}

# check_case FOLDER FILE [HEADER]: runs one case. FILE is relative to
# FOLDER (fwc runs there, so diagnostics name it as written); HEADER holds
# the expectations when the case file cannot (an empty file).
check_case() {
  cdir=$1
  file=$2
  name=${file%.fw}
  header=${3:-$cdir/$file}
  problems=""
  rc=""
  case_start=$(date +%s)
  rm -f "$tmp"/check.* "$tmp"/compile.* "$tmp"/compile2.* "$tmp"/expect.*

  # The header: the comment lines at the top (one read of the file).
  head -c 65536 "$header" 2>/dev/null | sed -n "1s/^$bom//; /^#/!q; s/\r\$//; p" >"$tmp/header"
  expects=""
  texts=""
  bug=""
  want_rc=""
  timeout=""
  args=""
  first_line=""
  while IFS= read -r line; do
    [ -n "$first_line" ] || first_line=$line
    case $line in
      "# expect: "*) expects="$expects${line#"# expect: "}
" ;;
      "# expect-text: "*) texts="$texts${line#"# expect-text: "}
" ;;
      "# known-bug: "*) [ -n "$bug" ] || bug=${line#"# known-bug: "} ;;
      "# expect-exit: "*) want_rc=${line#"# expect-exit: "} ;;
      "# timeout: "*) timeout=${line#"# timeout: "} ;;
      "# args: "*) args=${line#"# args: "} ;;
    esac
  done <"$tmp/header"
  want_rc=${want_rc:-1}
  timeout=$(( ${timeout:-20} * slowdown ))
  case $first_line in
    "# expect: "* | "# expect-exit: "*) ;;
    *) problem "malformed case: the first line is not '# expect: CODE LINE:COL'" ;;
  esac
  if [ "$want_rc" = 1 ] && [ -z "$expects" ]; then problem "malformed case: no '# expect:' line"; fi

  # 1. fwc check
  if [ -z "$problems" ]; then
    # shellcheck disable=SC2086 # args: options, split into words
    run_fwc "$cdir" "$tmp/check" check "$file" $args
  fi
  check_rc=${rc:-}
  if [ -z "$problems" ] && ! crashed "fwc check"; then
    [ "$rc" = "$want_rc" ] || problem "fwc check exited $rc, expected $want_rc"
    diags=$(grep -a -v '^ ' "$tmp/check.err" | grep -a ': error: ')
    first=$(printf '%s\n' "$diags" | head -n 1)
    n=0
    printf '%s\n' "$expects" | while IFS= read -r e; do
      [ -n "$e" ] || continue
      n=$((n + 1))
      code=${e%% *}
      at=${e#* }
      case $at in
        *:*:*) path=${at%:*:*}; lc=${at#"$path":} ;;
        *) path=$file; lc=$at ;;
      esac
      want="$path:$lc: error: "
      if [ "$n" = 1 ]; then
        case $first in
          "$want"*"[$code]") ;;
          *) echo "first error should be $want... [$code], but is: ${first:-(none)}" ;;
        esac
      elif ! printf '%s\n' "$diags" | grep -a -F -- "$want" | grep -a -q -F -- "[$code]"; then
        echo "no error $want... [$code]"
      fi
    done >"$tmp/expect.codes"
    while IFS= read -r line; do problem "$line"; done <"$tmp/expect.codes"
    printf '%s\n' "$texts" | while IFS= read -r t; do
      [ -n "$t" ] || continue
      # Messages and help only: not the quoted source lines.
      grep -a -v -E '^ +[0-9]* [|]' "$tmp/check.err" | grep -a -q -F -- "$t" ||
        echo "the diagnostics do not say: $t"
    done >"$tmp/expect.texts"
    while IFS= read -r line; do problem "$line"; done <"$tmp/expect.texts"
    located='^[^ :]+:[0-9]+:[0-9]+: error: |^fwc: error: too many errors|^$'
    [ "$want_rc" = 2 ] && located="$located|^fwc: error: cannot read"
    printf '%s\n' "$diags" | grep -a -v -E "$located" >"$tmp/expect.unlocated"
    if [ -s "$tmp/expect.unlocated" ]; then problem "error without a location: $(head -n 1 "$tmp/expect.unlocated")"; fi
  fi

  # 2. fwc compile -o OUT: OUT does not exist and must not appear.
  if [ -n "$check_rc" ] && { [ -z "$problems" ] || [ -z "$bug" ]; }; then
    out="$tmp/out/new.nft"
    rm -rf "$tmp/out"
    mkdir -p "$tmp/out"
    # shellcheck disable=SC2086
    run_fwc "$cdir" "$tmp/compile" compile "$file" -o "$out" $args
    if ! crashed "fwc compile -o (new file)"; then
      [ "$rc" = "$check_rc" ] || problem "fwc compile -o exited $rc, but fwc check $check_rc"
      [ ! -e "$out" ] || problem "fwc compile -o created $out"
    fi
    # 3. ... and an existing OUT stays as it was.
    out="$tmp/out/old.nft"
    echo "previous output" >"$out"
    # shellcheck disable=SC2086
    run_fwc "$cdir" "$tmp/compile2" compile "$file" -o "$out" $args
    if ! crashed "fwc compile -o (existing file)"; then
      [ "$rc" = "$check_rc" ] || problem "fwc compile -o over an existing file exited $rc, but fwc check $check_rc"
      [ "$(cat "$out" 2>/dev/null)" = "previous output" ] || problem "fwc compile -o changed the existing $out"
    fi
    leftovers=$(ls -A "$tmp/out" | grep -v -x -e old.nft || true)
    [ -z "$leftovers" ] || problem "fwc compile -o left files behind: $leftovers"
  fi

  took=$(($(date +%s) - case_start))
  if [ "$took" -ge 2 ]; then name="$name (${took}s)"; fi
  if [ -z "$problems" ]; then
    pass=$((pass + 1))
    if [ -n "$bug" ]; then
      xpass="$xpass $name"
      echo "XPASS $name: known bug ${bug%% *} no longer shows; remove the '# known-bug:' line"
    else
      echo "ok    $name"
    fi
  elif [ -n "$bug" ]; then
    pass=$((pass + 1))
    known_failing="$known_failing ${bug%% *}:$name"
    echo "KNOWN $name: known bug $bug$problems"
  else
    fail=$((fail + 1))
    echo "FAIL  $name$problems"
    if [ -s "$tmp/check.err" ]; then
      echo "    stderr of fwc check (first lines):"
      head -n 12 "$tmp/check.err" | cut -c1-300 | sed 's/^/      | /'
    fi
  fi
}

started=$(date +%s)

# The committed cases.
for f in "$dir"/bad/*.fw; do
  [ -e "$f" ] || continue
  check_case "$dir/bad" "$(basename "$f")"
done

# Generated cases: too large to commit, or not expressible as one file.
gen="$tmp/gen"
mkdir -p "$gen"
fwblock='firewall fw {
    interface outside eth1 10.1.1.1/24, 2001:db8:1::1/64;
    interface dmz     eth2 10.1.2.1/24, 2001:db8:2::1/64;
}'

# An empty file: it cannot hold its own expectations.
: >"$gen/empty.fw"
printf '# expect: missing-firewall 1:1\n' >"$gen/empty.expect"
check_case "$gen" empty.fw "$gen/empty.expect"

# A policy file that does not exist, and a directory given as the policy.
printf '# expect-exit: 2\n# expect-text: No such file or directory\n' >"$gen/missing.expect"
check_case "$gen" no-such-policy.fw "$gen/missing.expect"
mkdir -p "$gen/policy.d"
printf '# expect-exit: 2\n# expect-text: Is a directory\n' >"$gen/dir.expect"
check_case "$gen" policy.d "$gen/dir.expect"

# 100 MB over a limit of 16 MiB: refused as soon as the limit is read past.
{
  printf '# expect-exit: 2\n# args: --max-policy-size 16M\n# expect-text: larger than 16 MiB, the limit on a policy file (--max-policy-size raises it)\n'
  yes 'host h 10.1.2.10;' | head -c 104857600
} >"$gen/huge-100mb.fw"
check_case "$gen" huge-100mb.fw
rm -f "$gen/huge-100mb.fw"

# 20 MB of valid-looking rules: over a 16 MiB limit too.
{
  printf '# expect-exit: 2\n# args: --max-policy-size 16M\n# expect-text: larger than 16 MiB\n%s\n' "$fwblock"
  printf 'policy p default drop {\n'
  yes '    accept tcp 443 from 10.1.1.0/24 to 10.1.2.10 in outside log prefix "https: " rate 10/minute counter;' |
    head -c 20000000
  printf '\n}\n'
} >"$gen/rules-20mb.fw"
check_case "$gen" rules-20mb.fw
rm -f "$gen/rules-20mb.fw"

# Just under 16 MiB of valid declarations and an error at the end: the
# limit is meant to keep fwc within reasonable memory.
awk -v fw="$fwblock" 'BEGIN {
  print "# expect: unknown-name 623008:24"
  print "# timeout: 10"
  print fw
  for (i = 0; i < 623000; i++) printf "host h%d 10.%d.%d.%d;\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
  print "policy p default drop {"
  print "    accept from any to nowhere;"
  print "}"
}' >"$gen/decls-16mib.fw"
check_case "$gen" decls-16mib.fw
rm -f "$gen/decls-16mib.fw"

# 1 MB of rules, the last of which has an error: large, but well within
# the limits.
awk -v fw="$fwblock" 'BEGIN {
  n = 10000
  print "# expect: unknown-name " n + 9 ":38"
  print "# a policy of 10000 rules with one mistake at the end"
  print fw
  print "service https tcp 443;"
  print "policy p default drop {"
  for (i = 0; i < n; i++) printf "    accept https from 10.%d.%d.0/24 to 10.1.2.10 in outside counter comment \"rule %d of a large policy\";\n", int(i / 256) % 256, i % 256, i
  print "    accept https from 10.1.1.0/24 to nowhere;"
  print "}"
}' >"$gen/rules-1mb.fw"
check_case "$gen" rules-1mb.fw
rm -f "$gen/rules-1mb.fw"

# 100,000 nested braces.
awk -v fw="$fwblock" 'BEGIN {
  print "# expect: syntax-error 7:10"
  print "# 100000 nested braces"
  print fw
  printf "group g "
  for (i = 0; i < 100000; i++) printf "{"
  for (i = 0; i < 100000; i++) printf "}"
  printf "\n"
}' >"$gen/nested-braces.fw"
check_case "$gen" nested-braces.fw

# A 1 MB line of declarations that ends with a bad address.
awk -v fw="$fwblock" 'BEGIN {
  line = ""
  for (i = 0; length(line) < 1048576; i++) line = line sprintf("host h%d 10.1.%d.%d; ", i, int(i / 256) % 256, i % 256)
  printf "# expect: bad-address 7:%d\n", length(line) + 10
  print "# a 1 MB line of host declarations ending with a bad address"
  print fw
  print line "host bad 10.1.2.256;"
  print "policy p default drop {"
  print "    accept from any to any;"
  print "}"
}' >"$gen/long-line.fw"
check_case "$gen" long-line.fw

# Groups nested 100,000 deep, and services made of services 100,000 deep,
# each chain ending in a mistake.
awk -v fw="$fwblock" 'BEGIN {
  n = 100000
  print "# expect: nesting-too-deep 71:7"
  print "# timeout: 10"
  print fw
  for (i = 0; i < n; i++) printf "group g%d { g%d }\n", i, i + 1
  printf "host g%d 10.1.2.256;\n", n
  print "policy p default drop {"
  print "    accept from g0 to any;"
  print "}"
}' >"$gen/nested-groups.fw"
check_case "$gen" nested-groups.fw
rm -f "$gen/nested-groups.fw"
awk -v fw="$fwblock" 'BEGIN {
  n = 100000
  print "# expect: nesting-too-deep 71:9"
  print "# timeout: 10"
  print fw
  for (i = 0; i < n; i++) printf "service s%d s%d;\n", i, i + 1
  printf "service s%d tcp 70000;\n", n
  print "policy p default drop {"
  print "    accept s0 from any to any;"
  print "}"
}' >"$gen/nested-services.fw"
check_case "$gen" nested-services.fw
rm -f "$gen/nested-services.fw"

# 20,000 groups, each with a member nobody declared: 460 KB, and only the
# first 50 errors are shown.
awk -v fw="$fwblock" 'BEGIN {
  print "# expect: unknown-name 7:12"
  print "# timeout: 5"
  print fw
  for (i = 0; i < 20000; i++) printf "group g%d { m%d }\n", i, i
  print "policy p default drop {"
  print "    accept from any to any;"
  print "}"
}' >"$gen/many-unknown-members.fw"
check_case "$gen" many-unknown-members.fw
rm -f "$gen/many-unknown-members.fw"

# Includes nested 17 deep: main.fw, then d1.fw ... d16.fw; the include of
# d16.fw, in d15.fw, is one too many.
mkdir -p "$gen/depth"
{
  printf '# expect: include-depth d15.fw:1:9\n%s\n' "$fwblock"
  printf 'include "d1.fw";\npolicy p default drop {\n    accept from any to any;\n}\n'
} >"$gen/depth/include-depth.fw"
i=1
while [ "$i" -le 16 ]; do
  printf 'include "d%d.fw";\n' $((i + 1)) >"$gen/depth/d$i.fw"
  i=$((i + 1))
done
: >"$gen/depth/d17.fw"
check_case "$gen/depth" include-depth.fw

# A diamond of includes: f0 includes f1 four times, f1 includes f2 four
# times, ... 15 levels (within the include depth limit). No file includes
# itself; parsed once per path to it, that would be 4^15 parses: fwc
# parses each file once.
mkdir -p "$gen/diamond"
{
  printf '# expect: unknown-name 9:24\n'
  printf '# timeout: 5\n%s\n' "$fwblock"
  printf 'include "f0.fw";\npolicy p default drop {\n    accept from any to nowhere;\n}\n'
} >"$gen/diamond/include-diamond.fw"
i=0
while [ "$i" -lt 14 ]; do
  n=$((i + 1))
  printf 'include "f%d.fw";\ninclude "f%d.fw";\ninclude "f%d.fw";\ninclude "f%d.fw";\n' $n $n $n $n >"$gen/diamond/f$i.fw"
  i=$n
done
: >"$gen/diamond/f14.fw"
check_case "$gen/diamond" include-diamond.fw

ended=$(date +%s)
echo "corpus: $((pass + fail)) cases in $((ended - started))s"
if [ -n "$known_failing" ]; then
  echo "known bugs (reported; counted as passed):$known_failing"
fi
if [ -n "$xpass" ]; then
  echo "known bugs no longer reproduced (remove their '# known-bug:' lines):$xpass"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
