#!/usr/bin/env python3
"""Property test: no byte a policy author controls reaches a shell or an
extra ruleset.

    untrusted_bytes.py FWC [--cases N] [--seed S]

Every field whose bytes come from outside fwc and reach an output is fed
random bytes, mixed with known attacks (a line break and a command, the
here-document's terminator, quotes, $(...), nft statements after a line
break): the policy's file name, the name of a file it includes (and the
path written in the include), a rule comment, a log prefix, an interface
name and a -D define. Each case is compiled for both text targets; when
fwc accepts it:
  - the iptables script passes `sh -n`, and run in a network namespace of
    its own it loads the rules and executes no program but its own (strace
    lists every execve), and no canary file appears;
  - the nft file passes `nft -c -f` and, loaded with `nft -f`, leaves
    exactly one table in the kernel: table inet fwc.
When fwc refuses a case, it must exit 1 or 2 (never crash) and write
nothing. The last line is "N cases: A accepted, R refused, F failures".
Exit: 0 all passed, 1 a failure, 77 skipped (not root, or no nft, iptables
or strace).
"""
import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import tempfile

ATTACKS = [
    "\ntouch CANARY #",
    "\r\ntouch CANARY\n",
    "\nFWC_EOF\ntouch CANARY\ncat <<'FWC_EOF'\n",
    "'; touch CANARY; '",
    '"; touch CANARY; "',
    "$(touch CANARY)",
    "`touch CANARY`",
    "\ntable inet evil { chain c { type filter hook input priority -500; policy drop; } }\n",
    "\n}\ntable ip evil {\n",
    "\\\n",
    "\x1b[2J\x07",
    "$5 ${x}",
    "#",
    "\u00e9\u4e2d\U0001F600",
]

# The programs the iptables script itself runs (strace shows every execve).
SCRIPT_PROGRAMS = {"sh", "dash", "bash", "cat", "iptables-restore", "ip6tables-restore", "iptables-nft-restore",
                   "ip6tables-nft-restore", "iptables-legacy-restore", "ip6tables-legacy-restore",
                   "xtables-nft-multi", "xtables-legacy-multi", "modprobe"}


def random_text(rng, max_len, allow_newlines, not_utf8=0.1):
    """Random text: bytes of every kind, UTF-8 sequences, and attacks; a
    byte that is not UTF-8 with probability not_utf8 per piece."""
    out = ""
    while len(out.encode("utf-8", "surrogateescape")) < max_len:
        k = rng.random()
        if k < 0.25:
            out += rng.choice(ATTACKS)
        elif k < 0.5:
            out += chr(rng.randrange(0x20, 0x7f))
        elif k < 0.65:
            out += chr(rng.randrange(1, 0x20))
        elif k < 0.8:
            out += chr(rng.choice([rng.randrange(0xa0, 0x800), rng.randrange(0x800, 0xd800),
                                   rng.randrange(0x10000, 0x10ffff)]))
        elif k < 0.9:
            if rng.random() < not_utf8 * 10:
                out += chr(0xdc00 + rng.randrange(0x80, 0x100))  # a byte that is not UTF-8
        else:
            break
    if not allow_newlines:
        out = out.replace("\n", " ").replace("\r", " ")
    return out


def raw(text):
    return text.encode("utf-8", "surrogateescape")


def file_name(rng, in_policy=False):
    """A random file name; one the policy names (an include) is written in
    a string of the policy, which holds UTF-8 and no line break."""
    if in_policy and rng.random() < 0.9:
        name = raw(random_text(rng, rng.randrange(1, 60), False, 0))
    else:
        name = raw(random_text(rng, rng.randrange(1, 60), True))
    name = name.replace(b"/", b"_").replace(b"\0", b"_")
    if name in (b".", b".."):
        name += b"x"
    return name[:200] + b".fw"


def policy_string(data):
    """A STRING token of the policy language holding data: quotes and
    backslashes escaped; a line break cannot be written in one."""
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def refusal(output):
    """What fwc refused a case for: the code of its first error, or the option."""
    if output.startswith("--define"):
        return "bad -D"
    for line in output.splitlines():
        if ": error: " in line and line.endswith("]"):
            return line[line.rfind("[") + 1:-1]
    return output.split(":")[0][:40]


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def ns(name, *argv, **kw):
    return run(["ip", "netns", "exec", name, *argv], **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fwc")
    ap.add_argument("--cases", type=int, default=int(os.environ.get("FWC_UNTRUSTED_CASES", "200")))
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if os.geteuid() != 0 or not all(shutil.which(p) for p in ("nft", "iptables-restore", "strace")):
        print("SKIP: needs root, nft, iptables-restore and strace")
        return 77
    fwc = os.path.abspath(a.fwc)
    rng = random.Random(a.seed)
    netns = "fwcuntrusted-%d" % os.getpid()
    if run(["ip", "netns", "add", netns]).returncode != 0:
        print("SKIP: cannot create a network namespace")
        return 77
    accepted = refused = failures = 0
    reasons = collections.Counter()
    top = tempfile.mkdtemp(prefix="fwc-untrusted.")
    try:
        for case in range(a.cases):
            work = os.path.join(top, str(case))
            os.mkdir(work)
            policy = file_name(rng)
            include = file_name(rng, in_policy=True)
            iface = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_-") for _ in range(rng.randrange(1, 15)))
            iface = rng.choice("abcdefgh_") + iface[:14]
            # Policy text must be UTF-8 (else fwc refuses the whole file): mostly it is.
            bad = 0.01 if rng.random() < 0.1 else 0
            comment = raw(random_text(rng, rng.randrange(0, 300), False, bad))
            prefix = raw(random_text(rng, rng.randrange(0, 29), False, bad))[:29]
            if rng.random() < 0.8:
                prefix = prefix.replace(b"$", b"S")  # '$' is refused in a log prefix
            define = raw(random_text(rng, rng.randrange(1, 12), True)) if rng.random() < 0.15 else b"mgmt"
            objects = b"host lb 10.1.2.2, 2001:db8:2::2;\nservice web tcp 80;\n"
            rules = (b"    accept web from any to lb in outside comment " + policy_string(comment) +
                     b" log prefix " + policy_string(prefix) + b";\n"
                     b"    accept tcp 22 from any to fw if mgmt comment " + policy_string(comment[:40]) + b";\n")
            in_include = rng.random() < 0.5
            with open(os.path.join(work.encode(), include), "wb") as f:
                f.write(objects + (b"policy p default drop {\n" + rules + b"}\n" if in_include else b""))
            text = (b"firewall fw {\n    interface outside " + iface.encode() + b" 10.1.1.1/24, 2001:db8:1::1/64;\n}\n"
                    b"include " + policy_string(include) + b";\n")
            if not in_include:
                text += b"policy p default drop {\n" + rules + b"}\n"
            with open(os.path.join(work.encode(), policy), "wb") as f:
                f.write(text)
            outs = {}
            problem = None
            for target in ("nft", "iptables"):
                out = os.path.join(work, "out." + target)
                r = run([fwc, "compile", policy, "-t", target, "-D", define, "-o", out], cwd=work.encode())
                if r.returncode not in (0, 1, 2):
                    problem = "fwc exited %d for target %s:\n%s" % (r.returncode, target, r.stdout.decode(errors="replace"))
                elif r.returncode != 0 and os.path.exists(out):
                    problem = "fwc failed (%d) but wrote %s" % (r.returncode, out)
                elif r.returncode == 0:
                    outs[target] = out
                elif target == "nft":
                    reasons[refusal(r.stdout.decode(errors="replace"))] += 1
            if problem is None and len(outs) == 1:
                problem = "the targets disagree: only %s compiled" % list(outs)[0]
            if problem is None and outs:
                problem = check_iptables(netns, outs["iptables"], work) or check_nft(netns, outs["nft"])
            if problem is None and os.path.exists(os.path.join(work, "CANARY")):
                problem = "a command ran: CANARY exists"
            if problem:
                failures += 1
                print("FAIL case %d: %s\n  policy file name: %r\n  include: %r\n  comment: %r\n  prefix: %r\n"
                      "  interface: %r\n  define: %r" % (case, problem, policy, include, comment, prefix, iface, define))
                if failures >= 5:
                    break
            elif outs:
                accepted += 1
            else:
                refused += 1
            shutil.rmtree(work, ignore_errors=True)
    finally:
        run(["ip", "netns", "del", netns])
        shutil.rmtree(top, ignore_errors=True)
    print("refused because of: " + ", ".join("%s %d" % kv for kv in reasons.most_common()))
    print("%d cases: %d accepted, %d refused, %d failures" % (accepted + refused + failures, accepted, refused, failures))
    return 1 if failures else 0


def check_iptables(netns, script, work):
    r = run(["sh", "-n", script])
    if r.returncode != 0:
        return "sh -n refuses the script:\n" + r.stdout.decode(errors="replace")
    trace = os.path.join(work, "trace")
    r = ns(netns, "strace", "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", trace, "sh", script,
           cwd=work)
    if r.returncode != 0:
        return "the script failed (%d):\n%s" % (r.returncode, r.stdout.decode(errors="replace")[-2000:])
    with open(trace, errors="replace") as f:
        for line in f:
            if "execve(" not in line or " = -1 " in line:
                continue
            program = line.split('execve("', 1)[1].split('"', 1)[0]
            if os.path.basename(program) not in SCRIPT_PROGRAMS:
                return "the script ran a program of its own: " + line.strip()
    n = ns(netns, "iptables-save", "-t", "filter").stdout.decode(errors="replace").count("\n-A ")
    if n < 3:
        return "the script loaded %d rules" % n
    return None


def check_nft(netns, path):
    ns(netns, "nft", "flush", "ruleset")
    r = ns(netns, "nft", "-c", "-f", path)
    if r.returncode != 0:
        return "nft -c -f refuses the file:\n" + r.stdout.decode(errors="replace")
    r = ns(netns, "nft", "-f", path)
    if r.returncode != 0:
        return "nft -f refuses the file:\n" + r.stdout.decode(errors="replace")
    tables = [t.strip() for t in ns(netns, "nft", "list", "tables").stdout.decode(errors="replace").splitlines()
              if t.strip()]
    if tables != ["table inet fwc"]:
        return "the nft file made these tables: %r" % tables
    ns(netns, "nft", "flush", "ruleset")
    return None


if __name__ == "__main__":
    sys.exit(main())
