#!/bin/bash
# crm_nmap.sh FWC_BINARY POLICY_DIR — end-to-end test of policies/crm.fw with real traffic.
#
# Builds the crm topology (topology.sh) in network namespaces, then for each backend
# (nft, iptables, and netlink: `fwc apply` straight into the kernel) and each variant
# (plain, -D mgmt): flushes the firewall namespace's ruleset, compiles POLICY_DIR/crm.fw
# with fwc, loads the result inside the firewall's namespace and checks, over IPv4 and
# IPv6, what nmap, ping and real TCP exchanges see
# from the clients and from the dmz, then runs `fwc audit` from a client against the
# loaded ruleset (every probe must agree). `fwc audit` from the dmz, and against three
# broken rulesets (a rule deleted, an extra port opened, IPv6 left open: changes to the
# loaded table) which it must catch, each difference where the breakage is. Two broken
# copies of the policy (mutants) must each make at least one assertion fail, proving
# the suite can fail.
#
# Output: one "ok - ..." / "not ok - ..." line per assertion, then "N passed, M failed".
# Exit: 0 all passed, 1 something failed, 77 skipped (not root, no netns), 2 usage error.
# Environment: FWC_E2E_KEEP=1 keeps the work directory (compiled rules, nmap output);
#              it is kept anyway when something failed.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-python3}
T0=$(date +%s%N)

if [ $# -ne 2 ]; then
    echo "usage: $0 FWC_BINARY POLICY_DIR" >&2
    exit 2
fi
FWC=$1
POLICY=$2/crm.fw
POLICY_MGMT=$2/crm-mgmt.fw

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "crm_nmap.sh needs root (network namespaces, nft, raw sockets)"
for tool in ip nft nmap iptables-restore ip6tables-restore "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || skip "required tool '$tool' not found"
done
if [ ! -x "$FWC" ] || [ -d "$FWC" ]; then
    echo "error: fwc binary '$FWC' does not exist or is not executable" >&2
    exit 2
fi
[ -f "$POLICY" ] || { echo "error: policy '$POLICY' not found" >&2; exit 2; }
FWC=$(cd "$(dirname "$FWC")" && pwd)/$(basename "$FWC")

probe_ns="fwce2e-probe$$"
if ! err=$(ip netns add "$probe_ns" 2>&1); then
    skip "cannot create network namespaces (ip netns add: $err)"
fi
ip netns del "$probe_ns"

# shellcheck source=topology.sh
. "$HERE/topology.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fwce2e-work.XXXXXX")
PASS=0 FAIL=0
MUT="" MUT_FAILS=0 MUT_TOTAL=0   # set while a mutant is under test

KEEP=${FWC_E2E_KEEP:-0}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    trap - EXIT INT TERM
    topo_down
    [ "$KEEP" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

# result "ok"|"not ok" DESCRIPTION
result() {
    if [ -n "$MUT" ]; then
        MUT_TOTAL=$((MUT_TOTAL + 1))
        if [ "$1" != ok ]; then
            MUT_FAILS=$((MUT_FAILS + 1))
            echo "#   [mutant $MUT] $1 - $2"
        fi
        return
    fi
    echo "$1 - $2"
    if [ "$1" = ok ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); fi
}

# check DESCRIPTION EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then
        result ok "$1"
    else
        result "not ok" "$1 (expected '$2', got '${3:-nothing}')"
    fi
}

# field FILE ADDR: the rest of ADDR's line in a probe.py output file
field() { awk -v a="$2" '$1 == a { $1 = ""; sub(/^ /, ""); print; exit }' "$1" 2>/dev/null; }

probe() { local node=$1; shift; topo_exec "$node" "$PY" "$HERE/probe.py" "$@"; }

TCP_PORTS=22,23,25,53,80,443,3306,5432,8080
UDP_PORTS=53,161
NMAP_OPTS=(-n -Pn -T4 --max-retries 1)
# name  IPv4  IPv6   (the firewall's own addresses as fw-eth1 / fw-eth2)
TARGETS=(lb 10.1.2.2 2001:db8:2::2
         ges 10.1.2.10 2001:db8:2::10
         nagios 10.1.2.20 2001:db8:2::20
         fw-eth1 10.1.1.1 2001:db8:1::1
         fw-eth2 10.1.2.1 2001:db8:2::1)

# expected_scan PORTS OPEN... : "22/filtered 80/open ..." for a scan where only OPEN answer
expected_scan() {
    local ports=$1 p o s out=""; shift
    for p in ${ports//,/ }; do
        s=filtered
        for o in "$@"; do [ "$o" = "$p" ] && s=open; done
        out="$out $p/$s"
    done
    echo "${out# }"
}

# fw_reset: empty ruleset in the firewall, empty neighbour caches everywhere (so every
# configuration must let IPv6 neighbour discovery through on its own).
fw_reset() {
    topo_exec fw nft flush ruleset
    if iptables -V 2>/dev/null | grep -q legacy; then  # rules the nft flush cannot see
        local t c
        for t in iptables ip6tables; do
            topo_exec fw "$t" -F; topo_exec fw "$t" -X
            for c in INPUT FORWARD OUTPUT; do topo_exec fw "$t" -P "$c" ACCEPT; done
        done
    fi
    local n
    for n in c1 c2 fw lb ges nagios; do
        ip -n "$(topo_ns "$n")" -4 neigh flush all 2>/dev/null
        ip -n "$(topo_ns "$n")" -6 neigh flush all 2>/dev/null
    done
}

# Before any rule: the topology itself must carry everything the tests later expect
# to be blocked, so a "filtered" or a failed probe is the firewall's doing.
sanity() {
    local d=$WORK/sanity pids=()
    mkdir -p "$d"
    fw_reset
    probe c1 ping 10.1.2.2 2001:db8:2::2 10.1.2.20 2001:db8:2::20 >"$d/ping" & pids+=($!)
    probe c1 tcp --port 80 10.1.2.2 2001:db8:2::2 10.1.1.1 2001:db8:2::1 >"$d/http" & pids+=($!)
    probe lb tcp --port 80 10.1.1.11 2001:db8:1::11 >"$d/dmz-out" & pids+=($!)
    topo_exec c1 nmap "${NMAP_OPTS[@]}" -sS -p 22,23 -oG "$d/tcp4" 10.1.2.20 >/dev/null 2>&1 & pids+=($!)
    topo_exec c1 nmap -6 "${NMAP_OPTS[@]}" -sS -p 22,23 -oG "$d/tcp6" 2001:db8:2::20 >/dev/null 2>&1 & pids+=($!)
    wait "${pids[@]}"
    local a
    for a in 10.1.2.2 2001:db8:2::2 10.1.2.20 2001:db8:2::20; do
        check "no rules: c1 pings $a" reply "$(field "$d/ping" "$a")"
    done
    check "no rules: c1 -> lb 10.1.2.2:80 banner" "banner fwc-e2e lb 80" "$(field "$d/http" 10.1.2.2)"
    check "no rules: c1 -> lb [2001:db8:2::2]:80 banner" "banner fwc-e2e lb 80" "$(field "$d/http" 2001:db8:2::2)"
    check "no rules: c1 -> fw 10.1.1.1:80 banner" "banner fwc-e2e fw 80" "$(field "$d/http" 10.1.1.1)"
    check "no rules: c1 -> fw [2001:db8:2::1]:80 banner" "banner fwc-e2e fw 80" "$(field "$d/http" 2001:db8:2::1)"
    check "no rules: lb -> c1 10.1.1.11:80 banner" "banner fwc-e2e c1 80" "$(field "$d/dmz-out" 10.1.1.11)"
    check "no rules: lb -> c1 [2001:db8:1::11]:80 banner" "banner fwc-e2e c1 80" "$(field "$d/dmz-out" 2001:db8:1::11)"
    "$PY" "$HERE/probe.py" nmapg "$d/tcp4" 22,23 10.1.2.20 >"$d/tcp4.states"
    "$PY" "$HERE/probe.py" nmapg "$d/tcp6" 22,23 2001:db8:2::20 >"$d/tcp6.states"
    check "no rules: nmap c1 -> nagios 10.1.2.20 sees closed ports" "22/closed 23/closed" \
        "$(field "$d/tcp4.states" 10.1.2.20)"
    check "no rules: nmap c1 -> nagios 2001:db8:2::20 sees closed ports" "22/closed 23/closed" \
        "$(field "$d/tcp6.states" 2001:db8:2::20)"
}

# install LABEL BACKEND MGMT(0|1) POLICYFILE: reset the firewall, compile, load.
# BACKEND netlink: `fwc apply` compiles and loads in one step (no nft, no file).
install() {
    local label=$1 backend=$2 mgmt=$3 pol=$4 ext=nft rc
    [ "$backend" = iptables ] && ext="sh"
    local out=$WORK/$label.$ext
    local defs=()
    if [ "$mgmt" = 1 ]; then
        # A policy without conditions (an imported one) has its mgmt variant
        # beside it as crm-mgmt.fw.
        if [ "$pol" = "$POLICY" ] && [ -f "$POLICY_MGMT" ]; then pol=$POLICY_MGMT; else defs=(-D mgmt); fi
    fi
    fw_reset
    if [ "$backend" = netlink ]; then
        topo_exec fw env -u SSH_CONNECTION "$FWC" apply "$pol" "${defs[@]}" >"$WORK/$label.load.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
            result "not ok" "$label: fwc apply $(basename "$pol") ${defs[*]} in the firewall namespace (exit $rc)"
            sed 's/^/#   /' "$WORK/$label.load.log" | head -20
            return 1
        fi
        result ok "$label: fwc apply $(basename "$pol") ${defs[*]} in the firewall namespace"
        topo_exec fw "$FWC" verify "$pol" "${defs[@]}" >"$WORK/$label.verify.log" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then
            result ok "$label: fwc verify: the loaded table is exactly the policy"
        else
            result "not ok" "$label: fwc verify: the loaded table is exactly the policy (exit $rc)"
        fi
    fi
    if [ "$backend" != netlink ]; then
    "$FWC" compile "$pol" --target "$backend" -o "$out" "${defs[@]}" >"$WORK/$label.compile.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || [ ! -s "$out" ]; then
        result "not ok" "$label: fwc compile $(basename "$pol") --target $backend ${defs[*]} (exit $rc${out:+, output ${out##*/}$([ -s "$out" ] || echo ' missing/empty')})"
        sed 's/^/#   /' "$WORK/$label.compile.log" | head -20
        return 1
    fi
    result ok "$label: fwc compile $(basename "$pol") --target $backend ${defs[*]}"
    if [ "$backend" = nft ]; then
        topo_exec fw nft -f "$out" >"$WORK/$label.load.log" 2>&1
    else
        topo_exec fw sh "$out" >"$WORK/$label.load.log" 2>&1
    fi
    rc=$?
    if [ $rc -ne 0 ]; then
        result "not ok" "$label: load ${out##*/} in the firewall namespace (exit $rc)"
        sed 's/^/#   /' "$WORK/$label.load.log" | head -20
        return 1
    fi
    fi
    topo_exec fw nft list ruleset >"$WORK/$label.ruleset" 2>&1
    if grep -q 'hook forward' "$WORK/$label.ruleset" && grep -q 'hook input' "$WORK/$label.ruleset" &&
        grep -q 'hook output' "$WORK/$label.ruleset"; then
        result ok "$label: ruleset loaded (input, forward and output hooked)"
    else
        result "not ok" "$label: ruleset loaded (input, forward and output hooked) - see ${WORK}/$label.ruleset"
    fi
}

# traffic LABEL MGMT(0|1): every traffic assertion against the loaded ruleset.
traffic() {
    local label=$1 mgmt=$2 d=$WORK/$1 pids=() src fam i
    mkdir -p "$d"
    local v4=() v6=()
    for ((i = 0; i < ${#TARGETS[@]}; i += 3)); do
        v4+=("${TARGETS[i + 1]}"); v6+=("${TARGETS[i + 2]}")
    done
    for src in c1 c2; do
        topo_exec "$src" nmap "${NMAP_OPTS[@]}" -sS -p "$TCP_PORTS" -oG "$d/tcp4-$src" "${v4[@]}" \
            >"$d/tcp4-$src.log" 2>&1 & pids+=($!)
        topo_exec "$src" nmap -6 "${NMAP_OPTS[@]}" -sS -p "$TCP_PORTS" -oG "$d/tcp6-$src" "${v6[@]}" \
            >"$d/tcp6-$src.log" 2>&1 & pids+=($!)
    done
    topo_exec c1 nmap "${NMAP_OPTS[@]}" -sU -p "$UDP_PORTS" -oG "$d/udp4" 10.1.2.2 10.1.1.1 \
        >"$d/udp4.log" 2>&1 & pids+=($!)
    topo_exec c1 nmap -6 "${NMAP_OPTS[@]}" -sU -p "$UDP_PORTS" -oG "$d/udp6" 2001:db8:2::2 2001:db8:1::1 \
        >"$d/udp6.log" 2>&1 & pids+=($!)
    probe c1 ping "${v4[@]}" "${v6[@]}" >"$d/ping-c1" 2>&1 & pids+=($!)
    probe c2 ping 10.1.2.2 2001:db8:2::2 >"$d/ping-c2" 2>&1 & pids+=($!)
    probe c1 tcp --port 80 10.1.2.2 2001:db8:2::2 >"$d/http-c1" 2>&1 & pids+=($!)
    probe c2 tcp --port 80 10.1.2.2 2001:db8:2::2 >"$d/http-c2" 2>&1 & pids+=($!)
    probe c1 tcp --port 22 10.1.2.10 2001:db8:2::10 >"$d/ssh-ges" 2>&1 & pids+=($!)
    probe lb tcp --port 80 10.1.1.11 2001:db8:1::11 >"$d/dmz-out" 2>&1 & pids+=($!)
    wait "${pids[@]}"
    for src in c1 c2; do
        "$PY" "$HERE/probe.py" nmapg "$d/tcp4-$src" "$TCP_PORTS" "${v4[@]}" >"$d/tcp4-$src.states"
        "$PY" "$HERE/probe.py" nmapg "$d/tcp6-$src" "$TCP_PORTS" "${v6[@]}" >"$d/tcp6-$src.states"
    done
    "$PY" "$HERE/probe.py" nmapg "$d/udp4" "$UDP_PORTS" 10.1.2.2 10.1.1.1 >"$d/udp4.states"
    "$PY" "$HERE/probe.py" nmapg "$d/udp6" "$UDP_PORTS" 2001:db8:2::2 2001:db8:1::1 >"$d/udp6.states"

    # TCP SYN scans: only lb:80 (and ges:22 with mgmt) open, everything else filtered.
    local name a exp open what
    for src in c1 c2; do
        for fam in 4 6; do
            for ((i = 0; i < ${#TARGETS[@]}; i += 3)); do
                name=${TARGETS[i]}
                if [ $fam = 4 ]; then a=${TARGETS[i + 1]}; else a=${TARGETS[i + 2]}; fi
                open=()
                [ "$name" = lb ] && open=(80)
                [ "$name" = ges ] && [ "$mgmt" = 1 ] && open=(22)
                exp=$(expected_scan "$TCP_PORTS" "${open[@]}")
                what="all ports filtered"
                [ ${#open[@]} -gt 0 ] && what="only ${open[*]} open, rest filtered"
                check "$label: nmap -sS $src -> $name $a: $what" "$exp" \
                    "$(field "$d/tcp$fam-$src.states" "$a")"
            done
        done
    done
    # UDP scans: the echo listeners would make the ports open, no listener closed.
    for a in 10.1.2.2 2001:db8:2::2; do
        fam=4; [[ $a == *:* ]] && fam=6
        check "$label: nmap -sU c1 -> lb $a udp $UDP_PORTS open|filtered" \
            "53/open|filtered 161/open|filtered" "$(field "$d/udp$fam.states" "$a")"
    done
    for a in 10.1.1.1 2001:db8:1::1; do
        fam=4; [[ $a == *:* ]] && fam=6
        check "$label: nmap -sU c1 -> fw-eth1 $a udp $UDP_PORTS open|filtered" \
            "53/open|filtered 161/open|filtered" "$(field "$d/udp$fam.states" "$a")"
    done
    # Ping: only lb answers (the reply passes back), the rest and the firewall stay silent.
    for ((i = 0; i < ${#TARGETS[@]}; i += 3)); do
        name=${TARGETS[i]}
        for a in "${TARGETS[i + 1]}" "${TARGETS[i + 2]}"; do
            if [ "$name" = lb ]; then
                check "$label: c1 pings $name $a and gets a reply" reply "$(field "$d/ping-c1" "$a")"
            else
                check "$label: c1 ping to $name $a gets no reply" noreply "$(field "$d/ping-c1" "$a")"
            fi
        done
    done
    for a in 10.1.2.2 2001:db8:2::2; do
        check "$label: c2 pings lb $a and gets a reply" reply "$(field "$d/ping-c2" "$a")"
    done
    # Real TCP exchanges: the banner proves that replies to allowed traffic pass.
    for src in c1 c2; do
        for a in 10.1.2.2 2001:db8:2::2; do
            check "$label: $src -> lb $a:80 returns the banner" "banner fwc-e2e lb 80" "$(field "$d/http-$src" "$a")"
        done
    done
    for a in 10.1.2.10 2001:db8:2::10; do
        if [ "$mgmt" = 1 ]; then
            check "$label: c1 -> ges $a:22 returns the banner" "banner fwc-e2e ges 22" "$(field "$d/ssh-ges" "$a")"
        else
            check "$label: c1 -> ges $a:22 is blocked" fail "$(field "$d/ssh-ges" "$a" | cut -d' ' -f1)"
        fi
    done
    # New connections from the dmz to the outside are blocked.
    for a in 10.1.1.11 2001:db8:1::11; do
        check "$label: lb -> c1 $a:80 (new connection dmz -> outside) is blocked" fail \
            "$(field "$d/dmz-out" "$a" | cut -d' ' -f1)"
    done
}

C1=10.1.1.11,2001:db8:1::11 LB=10.1.2.2,2001:db8:2::2
# audit LABEL MGMT(0|1) NODE FROM WANT(0|1) [WHAT]: `fwc audit` of the policy
# from NODE (--from FROM) against the loaded ruleset; WANT 0: it must find
# every probe agreeing, 1: it must find differences (and, with WHAT, only
# probes of the given family, or ones that name the given port or rule).
audit() {
    local label=$1 mgmt=$2 node=$3 from=$4 want=$5 what=${6:-} defs=() rc pol=$POLICY
    if [ "$mgmt" = 1 ]; then  # as install() chose it
        if [ -f "$POLICY_MGMT" ]; then pol=$POLICY_MGMT; else defs=(-D mgmt); fi
    fi
    local out=$WORK/$label.audit-$node
    topo_exec "$node" "$FWC" audit "$pol" "${defs[@]}" --from "$from" --format json >"$out.json" 2>"$out.err"
    rc=$?
    local counts
    counts=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["probes"]), d["agree"], d["unconfirmed"], d["differ"])' "$out.json" 2>/dev/null)
    echo "# audit $label from $node: probes agree unconfirmed differ = ${counts:-?}"
    if [ "$want" = 0 ]; then
        check "$label: fwc audit from $node --from $from finds the firewall doing what the policy says" "0 ${counts##* }" "$rc ${counts##* }"
        [ "$rc" = 0 ] || sed 's/^/#   /' "$out.err" | head -20
        return
    fi
    check "$label: fwc audit from $node catches the broken ruleset (exit 1, differences)" 1 "$rc"
    [ -z "$what" ] && return
    local stray
    stray=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
what = sys.argv[2]
for p in d["probes"]:
    if p["agreement"] != "differs": continue
    rule = p["rule"]["file"] + ":" + str(p["rule"]["line"]) if p["rule"] else "default"
    ok = p["family"] == what or (what.startswith(":") and p["probe"].endswith(what)) or rule.endswith(what)
    if not ok: print(p["probe"])' "$out.json" "$what" 2>&1 | head -3)
    check "$label: every difference fwc audit reports is one of $what" "" "$stray"
}

echo "# fwc: $FWC"
echo "# policy: $POLICY"
if ! TOPO_QUIET=1 topo_up; then
    result "not ok" "build the crm topology in network namespaces"
    KEEP=1
    echo "# work directory kept: $WORK"
    echo "$PASS passed, $FAIL failed"
    exit 1
fi
echo "# topology: namespaces ${TOPO_PREFIX}{${TOPO_NODES// /,}}"

sanity

for backend in nft iptables netlink; do
    for mgmt in 0 1; do
        label=$backend
        [ "$mgmt" = 1 ] && label="$backend+mgmt"
        echo "# --- $label"
        install "$label" "$backend" "$mgmt" "$POLICY" && traffic "$label" "$mgmt" &&
            audit "$label" "$mgmt" c1 "$C1" 0
    done
done
# The audit from the dmz, and broken rulesets it must catch: a rule missing,
# an extra open port, IPv6 left open (each a change to the loaded table).
if install audit-dmz nft 0 "$POLICY"; then
    audit audit-dmz 0 lb "$LB" 0
fi
# nft_break LABEL NFT-COMMAND...: the crm ruleset loaded, then changed.
nft_break() {
    local label=$1; shift
    install "$label" nft 0 "$POLICY" >/dev/null || return 1
    topo_exec fw nft "$@" || { result "not ok" "$label: nft $*"; return 1; }
}
http_handles() { topo_exec fw nft -a list chain inet fwc forward | sed -n 's/.*tcp dport 80 .*# handle \([0-9]*\)$/\1/p'; }
if nft_break broken-no-http list chain inet fwc forward; then
    for h in $(http_handles); do topo_exec fw nft delete rule inet fwc forward handle "$h"; done
    audit broken-no-http 0 c1 "$C1" 1 :80
fi
if nft_break broken-extra-port insert rule inet fwc forward tcp dport 8080 accept; then
    audit broken-extra-port 0 c1 "$C1" 1 :8080
fi
if nft_break broken-ipv6-open insert rule inet fwc forward meta nfproto ipv6 accept; then
    audit broken-ipv6-open 0 c1 "$C1" 1 ipv6
fi

# Mutants: the suite must notice a too-wide rule and a missing rule.
mkdir -p "$WORK/mutants"
# (first in the policy, so that no final catch-all rule hides it; an inline
# service, so that it needs no declaration an imported policy may not have)
sed '/^policy .*{/a\    accept tcp 22 from any to lb;' "$POLICY" >"$WORK/mutants/crm-wide-ssh.fw"
# (its own expect statements deleted too: they would refuse it at compile time)
sed -e '/^[[:space:]]*accept[[:space:]]\+http[[:space:]]/d' -e '/^expect /d' "$POLICY" >"$WORK/mutants/crm-no-http.fw"
for m in wide-ssh no-http; do
    mf=$WORK/mutants/crm-$m.fw
    echo "# --- mutant $m"
    if cmp -s "$POLICY" "$mf"; then
        result "not ok" "mutant $m: sed changed nothing in crm.fw (policy layout changed?)"
        continue
    fi
    diff "$POLICY" "$mf" | sed -n 's/^[<>] /#   /p'
    install "mutant-$m" nft 0 "$mf" || continue
    MUT=$m MUT_FAILS=0 MUT_TOTAL=0
    traffic "mutant-$m" 0
    MUT=""
    if [ "$MUT_FAILS" -gt 0 ]; then
        result ok "mutant $m killed ($MUT_FAILS of $MUT_TOTAL assertions failed)"
    else
        result "not ok" "mutant $m survived (all $MUT_TOTAL assertions passed)"
    fi
done

T1=$(date +%s%N)
[ "$FAIL" -gt 0 ] && KEEP=1
[ "$KEEP" = 1 ] && echo "# work directory kept: $WORK"
printf '# wall time: %d.%01ds\n' $(((T1 - T0) / 1000000000)) $(((T1 - T0) / 100000000 % 10))
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] || exit 1
exit 0
