#!/bin/bash
# The kernel's load cost per nftables construct (issue 17, item 1): which
# encodings make a big batch slow to commit, independent of fwc's code.
#
# For each construct, N of it in one table, loaded with `nft -f` into a
# fresh network namespace; prints the wall, user and system seconds (system
# is the kernel's share) and the growth from each N to the next:
#   plain      N rules "ip daddr A tcp dport P accept" (no set)
#   anon2      N rules, each with an anonymous set of 2 addresses
#   anonint    N rules, each with an anonymous interval set of 2 prefixes
#   named2     N rules, each with a named set of 2 addresses of its own
#   expand2    anon2 without sets: 2N rules of one address each
#   namedhash  1 rule, 1 named set of N addresses
#   namedint   1 rule, 1 named interval set of N prefixes
#   concat     1 rule, 1 named set of N "address . port"
#   concatint  1 rule, 1 named interval set of N "prefix . port range"
#   vmap       1 rule, 1 verdict map of N addresses
#   chains     N rules in N/100 regular chains, one jump rule per chain
#
# usage: load_constructs.sh [SIZES]   (default "2000 4000 8000"; root)
#   FWC_CONSTRUCTS="anon2 named2" runs only those.
set -u
[ "$(id -u)" = 0 ] || { echo "load_constructs.sh: needs root (network namespaces)" >&2; exit 77; }
sizes=${1:-2000 4000 8000}
work=$(mktemp -d "${TMPDIR:-/tmp}/fwc-constructs.XXXXXX")
ns=fwcbench$$
trap 'ip netns del $ns 2>/dev/null; rm -rf "$work"' EXIT

gen() {  # gen KIND N: the ruleset on stdout
  python3 - "$1" "$2" <<'EOF'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
def ip(i): return "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
rules, extra = [], []
if kind == "plain":
    rules = ["ip daddr %s tcp dport %d accept" % (ip(i), 1024 + i % 60000) for i in range(n)]
elif kind == "anon2":
    rules = ["ip daddr { %s, %s } accept" % (ip(2 * i), ip(2 * i + 1)) for i in range(n)]
elif kind == "anonint":
    rules = ["ip daddr { %s/30, %s/30 } accept" % (ip(8 * i), ip(8 * i + 4)) for i in range(n)]
elif kind == "named2":
    rules = ["ip daddr @s%d accept" % i for i in range(n)]
    extra = ["set s%d { type ipv4_addr; elements = { %s, %s } }" % (i, ip(2 * i), ip(2 * i + 1)) for i in range(n)]
elif kind == "expand2":
    rules = ["ip daddr %s accept" % ip(j) for i in range(n) for j in (2 * i, 2 * i + 1)]
elif kind == "namedhash":
    rules = ["ip daddr @s accept"]
    extra = ["set s { type ipv4_addr; elements = { %s } }" % ", ".join(ip(i) for i in range(n))]
elif kind == "namedint":
    rules = ["ip daddr @s accept"]
    extra = ["set s { type ipv4_addr; flags interval; elements = { %s } }" % ", ".join(ip(4 * i) + "/30" for i in range(n))]
elif kind == "concat":
    rules = ["ip daddr . tcp dport @s accept"]
    extra = ["set s { type ipv4_addr . inet_service; elements = { %s } }" %
             ", ".join("%s . %d" % (ip(i), 1024 + i % 60000) for i in range(n))]
elif kind == "concatint":
    rules = ["ip daddr . tcp dport @s accept"]
    extra = ["set s { type ipv4_addr . inet_service; flags interval; elements = { %s } }" %
             ", ".join("%s/30 . %d-%d" % (ip(4 * i), 1024 + i % 60000, 1030 + i % 60000) for i in range(n))]
elif kind == "vmap":
    rules = ["ip daddr vmap @m"]
    extra = ["map m { type ipv4_addr : verdict; elements = { %s } }" % ", ".join("%s : accept" % ip(i) for i in range(n))]
elif kind == "chains":
    per = 100
    for c in range((n + per - 1) // per):
        rules.append("ip daddr %s/24 jump c%d" % (ip(c * 256), c))
        extra.append("chain c%d {\n%s\n }" % (c, "\n".join(
            "  ip daddr %s tcp dport %d accept" % (ip(c * 256 + j % 256), 1024 + j) for j in range(per))))
print("table inet t {\n chain c { type filter hook forward priority 0; policy drop;")
print("\n".join("  " + r for r in rules))
print(" }")
print("\n".join(" " + e for e in extra))
print("}")
EOF
}

printf "%-10s %8s %9s %8s %8s %8s\n" construct N wall_s user_s sys_s growth
for kind in ${FWC_CONSTRUCTS:-plain anon2 anonint named2 expand2 namedhash namedint concat concatint vmap chains}; do
  prev=""
  for n in $sizes; do
    gen "$kind" "$n" >"$work/r.nft"
    ip netns add "$ns"
    if ! /usr/bin/time -o "$work/t" -f "%e %U %S" ip netns exec "$ns" nft -f "$work/r.nft" >/dev/null 2>"$work/err"; then
      echo "$kind N=$n: nft -f failed: $(head -3 "$work/err")"
      ip netns del "$ns"
      continue
    fi
    ip netns del "$ns"
    read -r wall user sys <"$work/t"
    growth=-
    [ -n "$prev" ] && growth=$(awk -v a="$prev" -v b="$wall" 'BEGIN { printf (a > 0 ? "%.1fx" : "-"), b / a }')
    printf "%-10s %8s %9s %8s %8s %8s\n" "$kind" "$n" "$wall" "$user" "$sys" "$growth"
    prev=$wall
  done
done
