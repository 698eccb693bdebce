#!/bin/sh
# The Firewall Builder corpus test of `fwc import` (ctest: fwb_corpus):
#  1. the import table of every iptables firewall in the corpus files
#     (corpus_report.py: full / partial / refused, and why);
#  2. every fully imported firewall compiled by fwb_ipt (Debian's fwbuilder)
#     and its import proved equivalent to that script with
#     `fwc import --check --against SCRIPT` (firewalls fwb_ipt itself refuses
#     are listed and skipped).
# usage: corpus_check.sh FWC [FILE.fwb...]   (default: the corpus beside it)
# Exit: 0 every check equivalent, 1 a difference or an import that fails,
# 77 fwb_ipt is not installed (package fwbuilder), 2 usage errors.
set -u
fwc=${1:?usage: corpus_check.sh FWC [FILE.fwb...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$fwc" ] || { echo "corpus_check.sh: no fwc binary at $fwc" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "corpus_check.sh: skipped: python3 is missing"; exit 77; }
[ $# -gt 0 ] || set -- "$here/cluster-tests.fwb" "$here/large_policy_test.fwb" \
    "$here/objects-for-regression-tests.fwb.gz" "$here/optimizer_test.fwb"
work=$(mktemp -d /tmp/fwc-fwb-corpus.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The largest file is kept compressed (3 MB of XML); its copy is read.
for f in "$@"; do
    case $f in
    *.gz) out="$work/$(basename "$f" .gz)"; gzip -dc "$f" >"$out" || exit 2; set -- "$@" "$out" ;;
    *) set -- "$@" "$f" ;;
    esac
    shift
done
python3 "$here/corpus_report.py" "$fwc" "$@" --full-list "$work/full.txt" || exit 2
command -v fwb_ipt >/dev/null 2>&1 || { echo "corpus_check.sh: skipped the --check part: fwb_ipt is missing (apt-get install fwbuilder)"; exit 77; }
echo
checked=0 equivalent=0 refused_by_fwb=0 failed=0
while read -r file name; do
    path=
    for f in "$@"; do [ "$(basename "$f")" = "$file" ] && path=$f; done
    script="$work/$name.sh"
    # fwb_ipt exits 1 on warnings; a script is what counts.
    (cd "$work" && fwb_ipt -q -f "$path" -o "$script" "$name" >"$work/fwb.log" 2>&1)
    if [ ! -s "$script" ]; then
        refused_by_fwb=$((refused_by_fwb + 1))
        echo "fwb_ipt refuses $file $name: $(grep -m1 -i 'error' "$work/fwb.log" | cut -c1-160)"
        continue
    fi
    checked=$((checked + 1))
    if "$fwc" import "$path" --firewall "$name" --check --against "$script" -o "$work/out.fw" >"$work/check.log" 2>&1; then
        equivalent=$((equivalent + 1))
    else
        failed=$((failed + 1))
        echo "NOT EQUIVALENT: $file $name"
        grep -v '^ *[0-9]* |\|^ *| ' "$work/check.log" | sed -n '/decided differently/,$p;/error/p' | head -20 | sed 's/^/  /'
    fi
done <"$work/full.txt"
echo "fully imported firewalls: $((checked + refused_by_fwb)); compiled by fwb_ipt: $checked; equivalent to fwb_ipt's script: $equivalent; not equivalent: $failed; refused by fwb_ipt: $refused_by_fwb"
[ "$failed" -eq 0 ]
