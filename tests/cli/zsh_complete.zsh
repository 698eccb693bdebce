# Prints, one per line, the matches zsh's completion system offers for a
# command line, as an interactive zsh would (completion needs a terminal:
# zpty gives it one).
# usage: zsh -f zsh_complete.zsh FPATH_DIR 'fwc compile --ta'
zmodload zsh/zpty || exit 77
zpty z 'zsh -f -i'
zpty -w z "PROMPT=''; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
# Every match compadd is given is printed, marked, before it is added.
zpty -w z 'compadd() { local -a m; builtin compadd -O m "$@"; print -rl -- "<M>"${^m}; builtin compadd "$@"; }'
zpty -w z 'print -- END-OF-SETUP'
zpty -r z line '*END-OF-SETUP*'
zpty -r z line '*END-OF-SETUP*'
zpty -n -w z "$2"$'\t'
out=
while zpty -r -t z line 2>/dev/null || { sleep 0.5; zpty -r -t z line; }; do out+=$line; done
print -r -- "$out" | tr -d '\r' | grep -ao '<M>[^<]*' | sed 's/^<M>//; s/[[:cntrl:]].*//' | sort -u
zpty -d z
