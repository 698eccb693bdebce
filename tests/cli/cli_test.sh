#!/bin/sh
# The command line contract: exit codes 0/1/2, stdout by default, -o written
# atomically (an error leaves the old file untouched and no temp files).
# usage: cli_test.sh FWC SOURCE_DIR
set -u
fwc=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {  # check NAME EXPECTED_RC ACTUAL_RC
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok - $1"
  else fail=$((fail + 1)); echo "not ok - $1 (exit $3, expected $2)"; fi
}
expect() {  # expect NAME CONDITION...
  name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok - $name"
  else fail=$((fail + 1)); echo "not ok - $name"; fi
}

"$fwc" --help >"$tmp/help" 2>&1; check "--help exits 0" 0 $?
expect "--help lists the commands" grep -q "compile" "$tmp/help"
"$fwc" --version >"$tmp/version" 2>&1; check "--version exits 0" 0 $?
expect "--version prints the version" grep -q "^fwc [0-9]" "$tmp/version"
"$fwc" >/dev/null 2>&1; check "no command is a usage error" 2 $?
"$fwc" compile >/dev/null 2>&1; check "missing POLICY is a usage error" 2 $?
"$fwc" compile "$src/policies/crm.fw" --bogus >/dev/null 2>&1; check "unknown option is a usage error" 2 $?
"$fwc" compile "$src/policies/crm.fw" --target pf >/dev/null 2>&1; check "unknown target is a usage error" 2 $?
"$fwc" compile "$tmp/nonexistent.fw" >/dev/null 2>"$tmp/err"; check "unreadable policy is an I/O error" 2 $?
expect "unreadable policy is explained" grep -q "cannot read" "$tmp/err"

"$fwc" compile "$src/policies/crm.fw" >"$tmp/out.nft" 2>"$tmp/err"; check "compile to stdout" 0 $?
expect "stdout holds the nft rules" grep -q "table inet fwc" "$tmp/out.nft"
expect "a clean compile prints nothing on stderr" test ! -s "$tmp/err"
"$fwc" check "$src/policies/crm.fw" >"$tmp/check" 2>&1; check "check of a good policy" 0 $?
expect "check writes nothing" test ! -s "$tmp/check"
printf 'firewall fw {\n  interface outside eth1 10.1.1.1/24;\n}\npolicy p default drop {\n  accept from any to nowhere;\n}\n' >"$tmp/unknown.fw"
"$fwc" check "$tmp/unknown.fw" >/dev/null 2>"$tmp/err"; check "check of a bad policy" 1 $?
expect "check's summary counts the errors" grep -qx "fwc: 1 error" "$tmp/err"
"$fwc" compile "$tmp/unknown.fw" -o "$tmp/unknown.nft" 2>"$tmp/err"; check "compile of a bad policy" 1 $?
expect "compile's summary says nothing was written" grep -qx "fwc: 1 error; nothing was written" "$tmp/err"

"$fwc" compile "$src/policies/crm.fw" -t iptables -o "$tmp/out.sh"; check "compile -o" 0 $?
expect "-o writes the file" grep -q "iptables-restore" "$tmp/out.sh"
expect "the iptables script is executable" test -x "$tmp/out.sh"
expect "the script is valid sh" sh -n "$tmp/out.sh"

printf 'firewall fw { interface a eth0 10.0.0.1/24; }\npolicy p default drop {\n  accept from nowhere to any;\n}\n' >"$tmp/bad.fw"
cp "$tmp/out.sh" "$tmp/before.sh"
"$fwc" compile "$tmp/bad.fw" -o "$tmp/out.sh" 2>"$tmp/err"; check "a policy error exits 1" 1 $?
expect "the error is located" grep -q "bad.fw:3:15: error: unknown name 'nowhere'" "$tmp/err"
expect "the caret line is shown" grep -q "\^~~~~~~" "$tmp/err"
expect "the old output is untouched" cmp -s "$tmp/out.sh" "$tmp/before.sh"
expect "no temporary file is left" test -z "$(ls "$tmp" | grep fwc-)"
"$fwc" check "$tmp/bad.fw" >/dev/null 2>&1; check "check of a bad policy exits 1" 1 $?
"$fwc" compile "$tmp/bad.fw" >"$tmp/stdout" 2>/dev/null; check "a policy error on stdout exits 1" 1 $?
expect "nothing is written to stdout on error" test ! -s "$tmp/stdout"

"$fwc" compile "$src/policies/crm.fw" -o "$tmp/no/such/dir/out.nft" 2>"$tmp/err"; check "unwritable output is an I/O error" 2 $?
expect "the write error is explained" grep -q "cannot" "$tmp/err"

"$fwc" compile "$src/policies/crm.fw" -D mgmt >"$tmp/mgmt.nft"; check "-D mgmt" 0 $?
expect "-D mgmt adds the SSH rule" grep -q "tcp dport 22" "$tmp/mgmt.nft"
expect "without -D there is no SSH rule" sh -c "! grep -q 'tcp dport 22' '$tmp/out.nft'"
"$fwc" compile "$src/policies/crm.fw" -D mgnt >/dev/null 2>"$tmp/err"; check "an unused -D still compiles" 0 $?
expect "an unused -D is warned about" grep -q "did you mean -D mgmt" "$tmp/err"
"$fwc" compile "$src/policies/crm.fw" --dump ir >"$tmp/ir" 2>&1; check "--dump ir" 0 $?
expect "--dump ir shows the chains" grep -q "^chain forward" "$tmp/ir"

mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/from-fifo" &
"$fwc" compile "$src/policies/crm.fw" -o "$tmp/fifo"; check "-o to a named pipe" 0 $?
wait
expect "-o writes into a pipe instead of replacing it" test -p "$tmp/fifo"
expect "the pipe carried the rules" grep -q "table inet fwc" "$tmp/from-fifo"

# fwc query --packets: many packets, one policy load, one result line each.
printf '%s\n' 'tcp 10.1.1.11:40000 -> 10.1.2.2:80' '' '# a comment' \
  'icmp 10.1.1.11 -> 10.1.2.2 type echo-request in eth1' 'tcp [2001:db8:1::11]:1 -> [2001:db8:2::10]:22' \
  'icmpv6 2001:db8:1::11 -> 2001:db8:1::1 type nd-neighbor-solicit' 'udp 10.1.1.11:53 -> 10.1.1.1:53' \
  'tcp 10.1.2.2:80 -> 10.1.1.11:40000 chain output' >"$tmp/packets"
"$fwc" query "$src/policies/crm.fw" -D mgmt --packets "$tmp/packets" >"$tmp/answers" 2>"$tmp/err"
check "query --packets" 0 $?
expect "query --packets answers every packet line and skips the rest" test "$(wc -l <"$tmp/answers")" = 6
expect "query --packets: the rule that accepts" grep -qx \
  'line=1 verdict=accept chain=forward family=ipv4 in=eth1 out=eth2 rule=crm.fw:23' "$tmp/answers"
expect "query --packets: line numbers are the file's" grep -q '^line=4 verdict=accept .* rule=crm.fw:22$' "$tmp/answers"
expect "query --packets: a conditional rule with -D" grep -q '^line=5 verdict=accept chain=forward family=ipv6 .* rule=crm.fw:24$' "$tmp/answers"
expect "query --packets: the built-in neighbour discovery rule" \
  grep -q '^line=6 verdict=accept chain=input family=ipv6 in=eth1 out=- rule=builtin:neighbour-discovery$' "$tmp/answers"
expect "query --packets: the policy default" grep -q '^line=7 verdict=drop chain=input .* rule=default$' "$tmp/answers"
expect "query --packets: chain overrides the chain of the addresses" \
  grep -q '^line=8 verdict=drop chain=output family=ipv4 in=- out=eth1 rule=default$' "$tmp/answers"
"$fwc" query "$src/policies/crm.fw" -D mgmt --packets - <"$tmp/packets" >"$tmp/answers2" 2>/dev/null
check "query --packets - reads standard input" 0 $?
expect "query --packets - gives the same answers" cmp -s "$tmp/answers2" "$tmp/answers"
printf 'tcp 10.1.1.11:1 -> 10.1.2.2:80\nbogus packet\ntcp 10.1.1.11:1 -> 10.1.2.2:80 in eth9\nudp 10.1.1.11:1 -> 10.1.2.2:53\n' |
  "$fwc" query "$src/policies/crm.fw" --packets - >"$tmp/answers3" 2>/dev/null
check "query --packets with malformed packets exits 2" 2 $?
expect "query --packets answers the packets after a malformed one" grep -q '^line=4 verdict=drop ' "$tmp/answers3"
expect "query --packets reports a malformed packet on its line" grep -q '^line=2 error=' "$tmp/answers3"
expect "query --packets reports an unknown interface on its line" grep -q "^line=3 error=.*eth9" "$tmp/answers3"
"$fwc" query "$src/policies/crm.fw" 'tcp 10.1.1.11:1 -> 10.1.2.2:80' --packets "$tmp/packets" >/dev/null 2>&1
check "query with both a packet and --packets is a usage error" 2 $?
"$fwc" query "$src/policies/crm.fw" >/dev/null 2>&1; check "query with no packet is a usage error" 2 $?
"$fwc" query "$src/policies/crm.fw" --packets "$tmp/no-such-file" >/dev/null 2>&1
check "query --packets of an unreadable file is an I/O error" 2 $?

# Issue 12: what the policy and its file names hold never reaches a shell,
# devices and FIFOs are refused at once, and a '$' in a log prefix is an
# error for every target.
nl='
'
weird="$tmp/x${nl}touch PWNED #.fw"
cp "$src/policies/crm.fw" "$weird"
"$fwc" compile "$weird" -t iptables -o "$tmp/weird.sh"; check "a file name with a line break compiles" 0 $?
expect "the script is valid sh" sh -n "$tmp/weird.sh"
expect "the file name's line break does not start a line of the script" sh -c "! grep -q '^touch PWNED' '$tmp/weird.sh'"
"$fwc" compile "$weird" -o "$tmp/weird.nft"; check "a file name with a line break compiles (nft)" 0 $?
expect "the nft file's header stays one comment line" grep -q '^# Generated by fwc from x touch PWNED #.fw (policy crm).$' "$tmp/weird.nft"
"$fwc" check "$src/policies/crm.fw" -D "mg${nl}mt" >/dev/null 2>"$tmp/err"; check "a -D that is not a name is a usage error" 2 $?
expect "and says why" grep -q "is not a name" "$tmp/err"
printf 'include "/dev/zero";\n' >"$tmp/zero.fw"
timeout 10 "$fwc" check "$tmp/zero.fw" >/dev/null 2>"$tmp/err"; check "include of /dev/zero is refused at once" 1 $?
expect "at the include" grep -q "zero.fw:1:9: error: cannot read included file '/dev/zero': it is a character device" "$tmp/err"
mkfifo "$tmp/policy-fifo"
printf 'include "policy-fifo";\n' >"$tmp/fifo.fw"
timeout 10 "$fwc" check "$tmp/fifo.fw" >/dev/null 2>"$tmp/err"; check "include of a FIFO is refused at once" 1 $?
expect "as a FIFO" grep -q "it is a FIFO, not a policy file" "$tmp/err"
timeout 10 "$fwc" check "$tmp/policy-fifo" >/dev/null 2>"$tmp/err"; check "a FIFO as the policy is refused at once" 2 $?
timeout 10 "$fwc" check /dev/zero >/dev/null 2>"$tmp/err"; check "/dev/zero as the policy is refused at once" 2 $?
printf 'firewall fw { interface outside eth1 10.1.1.1/24; }\npolicy p default drop {\n  accept tcp 22 from any to fw log prefix "cost $5";\n}\n' >"$tmp/dollar.fw"
"$fwc" compile "$tmp/dollar.fw" >/dev/null 2>"$tmp/err"; check "a '\$' in a log prefix is an error (nft)" 1 $?
expect "located at the prefix" grep -q "dollar.fw:3:43: error: a log prefix cannot contain '\\$' \\[bad-log-prefix\\]" "$tmp/err"
"$fwc" compile "$tmp/dollar.fw" -t iptables >/dev/null 2>&1; check "a '\$' in a log prefix is an error (iptables)" 1 $?
printf 'firewall fw { interface outside eth1 10.1.1.1/24; }\npolicy p default drop {\n  accept tcp 0 from any to fw;\n  accept udp 53 sport 0 from any to fw;\n}\n' >"$tmp/zero-port.fw"
"$fwc" check "$tmp/zero-port.fw" >/dev/null 2>"$tmp/err"; check "port 0 compiles" 0 $?
expect "with a warning at the port" grep -q "zero-port.fw:3:14: warning: port 0 is reserved" "$tmp/err"
expect "and at a source port 0" grep -q "zero-port.fw:4:23: warning: port 0 is reserved" "$tmp/err"
"$fwc" check "$tmp/zero-port.fw" -Werror=port-zero >/dev/null 2>&1; check "-Werror=port-zero makes it an error" 1 $?

# The parser generated from the grammar reads every bundled policy as fwc's does.
for p in "$src"/policies/*.fw "$src"/tests/golden/features.fw; do
  grep -q '^firewall' "$p" || continue  # an include of the others
  "$fwc" check --reference-parser "$p" -D mgmt >/dev/null 2>"$tmp/err"
  check "check --reference-parser $(basename "$p")" 0 $?
done
expect "and says so" grep -q "the grammar's parser reads .* exactly as fwc's does" "$tmp/err"

# fwc import: stdout by default, nothing written on a refusal, --check's exit status.
printf '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n' >"$tmp/host.rules"
"$fwc" import "$tmp/host.rules" >"$tmp/host.fw" 2>"$tmp/err"; check "import to stdout" 0 $?
expect "the policy names the source line" grep -q "# host.rules:7" "$tmp/host.fw"
"$fwc" check "$tmp/host.fw" >/dev/null 2>&1; check "the imported policy checks" 0 $?
"$fwc" import --check "$tmp/host.rules" -o "$tmp/host2.fw" >"$tmp/out" 2>"$tmp/err"; check "import --check of an equivalent import" 0 $?
expect "--check says equivalent" grep -q "^equivalent: " "$tmp/out"
expect "-o writes the policy" cmp -s "$tmp/host.fw" "$tmp/host2.fw"
printf '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -m recent --set -j ACCEPT\nCOMMIT\n' >"$tmp/recent.rules"
cp "$tmp/host.fw" "$tmp/keep.fw"
"$fwc" import "$tmp/recent.rules" -o "$tmp/keep.fw" 2>"$tmp/err"; check "an unmapped match exits 1" 1 $?
expect "located, with its code" grep -q "recent.rules:3:1: error: not imported: the match module '-m recent'.*\[import-unmapped\]" "$tmp/err"
expect "the old output is untouched by a refused import" cmp -s "$tmp/host.fw" "$tmp/keep.fw"
"$fwc" import --partial "$tmp/recent.rules" >"$tmp/partial.fw" 2>"$tmp/err"; check "--partial writes the rest" 0 $?
expect "--partial marks the gap" grep -q "# INCOMPLETE: recent.rules:3: not imported" "$tmp/partial.fw"
printf 'hello\n' >"$tmp/what.txt"
"$fwc" import "$tmp/what.txt" >/dev/null 2>"$tmp/err"; check "an unknown format is a usage error" 2 $?
"$fwc" import /dev/zero >/dev/null 2>"$tmp/err"; check "a device as input is refused" 2 $?
"$fwc" import --from pf "$tmp/host.rules" >/dev/null 2>&1; check "an unknown --from is a usage error" 2 $?

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
