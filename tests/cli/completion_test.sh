#!/bin/sh
# Shell completion: the scripts `fwc completion bash|zsh|fish` prints,
# driven the way each shell drives them, offer the commands, the options,
# the choices, policy files and the -D names of the policy on the line.
# A shell that is not installed skips its part (77 if none is).
# usage: completion_test.sh FWC SOURCE_DIR
set -u
# Absolute: the test runs in a directory of its own.
fwc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
shells=0
# have NAME WORDS EXPECTED...: the offered words (space-joined, sorted) hold
# every EXPECTED word; "-" as EXPECTED: offers nothing.
have() {
  name=$1 got=" $2 "; shift 2
  ok=1
  for w in "$@"; do
    if [ "$w" = "-" ]; then [ "$got" = "  " ] || ok=0
    else case $got in *" $w "*) ;; *) ok=0 ;; esac; fi
  done
  if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok - $name"
  else fail=$((fail + 1)); echo "not ok - $name: offered [$got]"; fi
}
lacks() {  # lacks NAME WORDS WORD: WORD is not offered
  case " $2 " in
    *" $3 "*) fail=$((fail + 1)); echo "not ok - $1: offered [$2]" ;;
    *) pass=$((pass + 1)); echo "ok - $1" ;;
  esac
}

# The policy directory: two policies, something else, a subdirectory. A
# policy whose rules test 'if mgmt' and 'if audit'.
mkdir -p "$tmp/work/sub" "$tmp/bin"
cat >"$tmp/work/edge.fw" <<'POLICY'
host admin 10.1.1.11;
service ssh tcp 22;
firewall fw {
  interface outside eth1 10.1.1.1/24;
}
policy p default drop {
  accept ssh from admin to fw if mgmt;
  accept icmp from any to fw if audit;
}
POLICY
cp "$src/policies/crm.fw" "$tmp/work/crm.fw"
echo x >"$tmp/work/notes.txt"
ln -s "$fwc" "$tmp/bin/fwc"
PATH=$tmp/bin:$PATH
export PATH
cd "$tmp/work" || exit 2

"$fwc" __defines edge.fw >"$tmp/defines"
have "__defines prints the names the policy tests" "$(sort "$tmp/defines" | tr '\n' ' ')" audit mgmt
"$fwc" completion tcsh >/dev/null 2>&1
if [ $? = 2 ]; then pass=$((pass + 1)); echo "ok - an unknown shell is a usage error"
else fail=$((fail + 1)); echo "not ok - an unknown shell is a usage error"; fi
"$fwc" --help | grep -q "__defines\|watchdog"
if [ $? = 1 ]; then pass=$((pass + 1)); echo "ok - --help hides the internal commands"
else fail=$((fail + 1)); echo "not ok - --help hides the internal commands"; fi

# The same questions to every shell: NAME LINE (the cursor at its end) EXPECTED...
cases() {
  ask "commands" "fwc comp" compile completion
  ask "fwc's own options" "fwc --" --color --help --version
  ask "--color's choices" "fwc --color " always auto never
  ask "a command's options" "fwc compile --ta" --target
  ask "--target's choices" "fwc compile -t " iptables nft
  ask "--dump's choices" "fwc compile edge.fw --dump " ast ir model placed
  ask "policy files" "fwc check " edge.fw crm.fw
  lacks "$shell: a policy is a .fw file" "$got" notes.txt
  ask "-D names from the policy on the line" "fwc compile edge.fw -D " audit mgmt
  ask "--define names after other options" "fwc query --color never edge.fw --define " audit mgmt
  ask "-D names of another policy" "fwc check crm.fw -D " mgmt
  ask "-W flags" "fwc check edge.fw -Wno-sh" -Wno-shadowed-rule
  ask "completion's shells" "fwc completion " bash fish zsh
  ask "import's formats" "fwc import --from " auto fwb iptables nft
}

# bash: the function the script registers, called as bash calls it.
if command -v bash >/dev/null 2>&1; then
  shells=$((shells + 1)) shell=bash
  "$fwc" completion bash >"$tmp/fwc.bash"
  ask() {
    name=$1 line=$2; shift 2
    got=$(bash -c '. "$1"; shift; read -ra COMP_WORDS <<<"$1"; [[ $1 == *" " ]] && COMP_WORDS+=("")
      # bash splits words at "=" too.
      COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _fwc; printf "%s\n" "${COMPREPLY[@]}"' _ "$tmp/fwc.bash" "$line" | sort | tr '\n' ' ')
    have "bash: $name" "${got% }" "$@"
  }
  cases
  ask "directories on the way to a policy" "fwc check s" sub
  ask "after a command, no second --help from fwc's own" "fwc show --" --canonical --color --help
  lacks "bash: one --help" "$(echo "$got" | tr ' ' '\n' | grep -c -- '^--help$' | sed 's/^1$//')" 2
  ask "--color=VALUE split at '='" "fwc --color = al" always
  ask "no -W flags for a command without a policy" "fwc show -W" -
  ask "nothing for a packet" "fwc query edge.fw " -
fi

# fish: complete -C answers as the prompt would.
if command -v fish >/dev/null 2>&1; then
  shells=$((shells + 1)) shell=fish
  "$fwc" completion fish >"$tmp/fwc.fish"
  ask() {
    name=$1 line=$2; shift 2
    got=$(fish -c 'source $argv[1]; complete -C $argv[2]' "$tmp/fwc.fish" "$line" | cut -f1 | sort | tr '\n' ' ')
    have "fish: $name" "${got% }" "$@"
  }
  cases
fi

# zsh: through the completion system, in a terminal (zpty).
if command -v zsh >/dev/null 2>&1; then
  shells=$((shells + 1)) shell=zsh
  mkdir -p "$tmp/zfunc"
  "$fwc" completion zsh >"$tmp/zfunc/_fwc"
  zsh -n "$tmp/zfunc/_fwc"
  if [ $? = 0 ]; then pass=$((pass + 1)); echo "ok - zsh: the script parses"
  else fail=$((fail + 1)); echo "not ok - zsh: the script parses"; fi
  ask() {
    name=$1 line=$2; shift 2
    got=$(timeout 30 zsh -f "$src/tests/cli/zsh_complete.zsh" "$tmp/zfunc" "$line" | tr '\n' ' ')
    have "zsh: $name" "${got% }" "$@"
  }
  cases
fi

[ $shells = 0 ] && { echo "skipped: no bash, fish or zsh"; exit 77; }
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
