#!/usr/bin/env python3
"""The editor files highlight what the language's lexer reads.

Every bundled policy, and a sample holding every keyword of the grammar
(and names that only begin like one), is cut into tokens by the lexer rules
of grammar/Fwc.g4 (longest match, a literal before ID), with the keywords
ANTLR derived from it (Fwc.tokens). Then Vim, with the generated syntax
file, and a small TextMate engine, with the generated grammar, must give
every character of each token the class the lexer gives the token: keyword,
name, address, number, string or comment.

usage: editors_test.py BUILD_DIR SOURCE_DIR   (exit 77: no vim, and the
TextMate part alone is run)
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

build, src = sys.argv[1], sys.argv[2]
failures = []
passes = 0


def ok(cond, name):
    global passes
    if cond:
        passes += 1
    else:
        failures.append(name)
        print("not ok - " + name)


def keywords():
    out = []
    with open(os.path.join(build, "grammar/generated/Fwc.tokens")) as f:
        for line in f:
            m = re.match(r"^'([a-z][a-z0-9]*)'=\d+$", line.strip())
            if m:
                out.append(m.group(1))
    return out


KEYWORDS = set(keywords())
# The lexer rules of Fwc.g4, as regular expressions.
LEXER = [
    ("address", re.compile(r"[0-9]+(?:\.[0-9]+)+(?:/[0-9]+)?|[0-9a-fA-F.]*:[0-9a-fA-F:.]*(?:/[0-9]+)?")),
    ("number", re.compile(r"[0-9]+")),
    ("word", re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")),
    ("string", re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"')),
    ("comment", re.compile(r"#[^\r\n]*")),
    ("space", re.compile(r"[ \t\r\n]+")),
]


def tokens(line):
    """(start, end, class) of each token of a line, as the lexer cuts it."""
    out, p = [], 0
    while p < len(line):
        best = None
        for kind, rx in LEXER:
            m = rx.match(line, p)
            if m and m.end() > p and (best is None or m.end() > best[1]):
                best = (kind, m.end())
        if best is None:  # punctuation, or a stray character
            p += 1
            continue
        kind, end = best
        if kind == "word":
            kind = "keyword" if line[p:end] in KEYWORDS else "name"
        if kind != "space":
            out.append((p, end, kind))
        p = end
    return out


def sample_policy(path):
    words = sorted(KEYWORDS)
    with open(path, "w") as f:
        f.write("# every keyword, then names that begin like one  TODO\n")
        for i in range(0, len(words), 8):
            f.write(" ".join(words[i:i + 8]) + ";\n")
        f.write(" ".join(w + "-x" for w in words[:8]) + " " + " ".join(w + "_1" for w in words[8:16]) + ";\n")
        f.write('host web 10.1.2.2, 2001:db8::2/128; accept tcp 80-90 from any to web comment "a # not a comment";\n')


tmp = tempfile.mkdtemp()
try:
    sample = os.path.join(tmp, "sample.fw")
    sample_policy(sample)
    files = sorted(glob.glob(os.path.join(src, "policies", "*.fw"))) + [sample]
    ok(len(KEYWORDS) > 40, "the grammar's keywords were read (%d)" % len(KEYWORDS))

    # TextMate: the first pattern to match earliest wins, as editors do.
    grammar_path = os.path.join(build, "editors/textmate/fwc.tmLanguage.json")
    with open(grammar_path) as f:
        grammar = json.load(f)
    with open(os.path.join(build, "editors/textmate/package.json")) as f:
        package = json.load(f)
    ok(package["contributes"]["grammars"][0]["scopeName"] == grammar["scopeName"],
       "package.json names the grammar's scope")
    patterns = [(p["name"], re.compile(p["match"])) for p in grammar["patterns"]]

    def tm_class(scope):
        if scope is None:
            return ""
        if scope.startswith("comment."):
            return "comment"
        if scope.startswith("string."):
            return "string"
        if scope.startswith("constant.numeric.address"):
            return "address"
        if scope.startswith("constant.numeric"):
            return "number"
        if scope.startswith("variable."):
            return "name"
        return "keyword"

    def tm_scopes(line):
        scopes, p = [None] * len(line), 0
        while p < len(line):
            best = None
            for name, rx in patterns:
                m = rx.search(line, p)
                if m and m.end() > m.start() and (best is None or m.start() < best[1].start()):
                    best = (name, m)
            if best is None:
                break
            name, m = best
            for i in range(m.start(), m.end()):
                scopes[i] = name
            p = m.end()
        return scopes

    for path in files:
        bad = []
        with open(path) as f:
            for lnum, line in enumerate(f.read().split("\n"), 1):
                scopes = tm_scopes(line)
                for start, end, kind in tokens(line):
                    got = {tm_class(scopes[i]) for i in range(start, end)}
                    if got != {kind}:
                        bad.append("%d:%d %r is %s, TextMate says %s" % (lnum, start + 1, line[start:end], kind, sorted(got)))
        ok(not bad, "textmate: " + os.path.basename(path) + ("" if not bad else ": " + "; ".join(bad[:5])))

    # Vim: the syntax group under every character, from a real Vim.
    vim = shutil.which("vim")
    if vim:
        dump = os.path.join(tmp, "dump.vim")
        with open(dump, "w") as f:
            f.write("let out = [&filetype]\n"
                    "for l in range(1, line('$'))\n"
                    "  for c in range(1, len(getline(l)))\n"
                    "    call add(out, synIDattr(synID(l, c, 1), 'name'))\n"
                    "  endfor\n"
                    "  call add(out, '--')\n"
                    "endfor\n"
                    "call writefile(out, $FWC_DUMP)\n")
        groups = {"fwcDeclaration": "keyword", "fwcAction": "keyword", "fwcProtocol": "keyword",
                  "fwcKeyword": "keyword", "fwcAddress": "address", "fwcNumber": "number",
                  "fwcString": "string", "fwcComment": "comment", "fwcTodo": "comment", "fwcName": "name", "": "name"}
        for path in files:
            out = os.path.join(tmp, "out")
            env = dict(os.environ, FWC_DUMP=out)
            subprocess.run([vim, "-Nu", "NONE", "-i", "NONE", "-n", "-es",
                            "-c", "set rtp^=" + os.path.join(build, "editors/vim"),
                            "-c", "filetype on", "-c", "syntax on", "-c", "edit " + path,
                            "-c", "source " + dump, "-c", "qa!"], env=env, timeout=60, check=False)
            with open(out) as f:
                dumped = f.read().split("\n")
            ok(dumped[0] == "fwc", "vim: %s is detected as fwc (%r)" % (os.path.basename(path), dumped[0]))
            lines, cur = [], []
            for g in dumped[1:]:
                if g == "--":
                    lines.append(cur)
                    cur = []
                else:
                    cur.append(g)
            bad = []
            with open(path) as f:
                for lnum, line in enumerate(f.read().split("\n")[:len(lines)], 1):
                    for start, end, kind in tokens(line):
                        got = {groups.get(lines[lnum - 1][i], "?" + lines[lnum - 1][i]) for i in range(start, end)}
                        if got != {kind}:
                            bad.append("%d:%d %r is %s, Vim says %s" % (lnum, start + 1, line[start:end], kind, sorted(got)))
            ok(not bad, "vim: " + os.path.basename(path) + ("" if not bad else ": " + "; ".join(bad[:5])))
finally:
    shutil.rmtree(tmp)

print("%d passed, %d failed" % (passes, len(failures)))
if failures:
    sys.exit(1)
if not shutil.which("vim"):
    print("skipped: vim is not installed (the TextMate part passed)")
    sys.exit(77)
