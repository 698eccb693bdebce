#!/usr/bin/env python3
"""The import table of a Firewall Builder corpus: every iptables firewall of
each .fwb file imported with `fwc import --firewall NAME`, then, where that
fails, with --partial; each firewall counted as

  full      the import succeeds without --partial (the policy is complete and
            compiles),
  partial   only --partial succeeds (the policy says where it is incomplete),
  refused   not even --partial gives a policy that compiles,

and the reasons (the import-unmapped / import-syntax messages, with rule
numbers, names and addresses cut out so that the same reason counts once per
kind) ranked by how many firewalls they touch.

usage: corpus_report.py FWC FILE.fwb... [--full-list FILE] [--keep DIR]
  --full-list FILE  write "file.fwb NAME" for each fully imported firewall
                    (the side-by-side test's input)
  --keep DIR        keep each imported policy as DIR/FILE-NAME.fw
Exit: 0 (the table is a report, not a verdict); 2 on usage errors or when fwc
crashes (a signal or an exit status other than 0 and 1).
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = "{http://www.fwbuilder.org/1.0/}"


def firewalls(path):
    """Names of the iptables firewalls of a .fwb file (clusters excluded:
    their members are firewalls of their own; so are the firewalls in the
    library of deleted objects, which Firewall Builder does not compile)."""
    names = []
    for lib in ET.parse(path).getroot().findall(NS + "Library"):
        if lib.get("id") == "sysid99":
            continue
        for el in lib.iter(NS + "Firewall"):
            if el.get("platform") == "iptables":
                names.append(el.get("name"))
    return names


def reason_kind(msg):
    """A message with its specifics cut out: 'policy rule 3 of firewall
    'x' is not imported: its service 'foo' is ...' -> 'its service '…' is ...'."""
    m = re.search(r"is not imported: (.*)", msg)
    text = m.group(1) if m else msg
    text = re.sub(r"(?<![A-Za-z])'[^']*'", "'…'", text)
    text = re.sub(r"\b\d+(\.\d+)*\b", "N", text)
    return text


def run_import(fwc, path, name, partial, out):
    cmd = [fwc, "import", path, "--firewall", name, "-o", out,
           "--diagnostics-format", "json"]
    if partial:
        cmd.append("--partial")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.stderr.write("fwc crashed or misbehaved (exit %d) on %s --firewall %s:\n%s\n"
                         % (p.returncode, path, name, p.stderr[-2000:]))
        sys.exit(2)
    return p.returncode, parse_diagnostics(p.stderr)


def parse_diagnostics(text):
    """fwc's stderr in JSON mode: one array per stage that reported (the
    import, then the compilation of the imported policy), and plain
    'fwc: error: ...' lines for errors outside any file."""
    diags, dec, i = [], json.JSONDecoder(), 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        if text[i] == "[":
            try:
                arr, i = dec.raw_decode(text, i)
                diags.extend(arr)
                continue
            except json.JSONDecodeError:
                pass
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        line = text[i:end].strip()
        i = end + 1
        m = re.match(r"fwc: error: (.*)", line)
        if m:
            diags.append({"severity": "error", "code": "fwc", "message": m.group(1)})
    return diags


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fwc")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--full-list")
    ap.add_argument("--keep")
    a = ap.parse_args()

    rows = []          # (file, name, verdict, kinds)
    kind_fws = collections.defaultdict(set)
    with tempfile.TemporaryDirectory() as tmp:
        for path in a.files:
            base = os.path.basename(path)
            for name in firewalls(path):
                out = os.path.join(tmp, "out.fw")
                rc, diags = run_import(a.fwc, path, name, False, out)
                verdict = "full" if rc == 0 else None
                kinds = set()
                for d in diags:
                    if d.get("severity") == "error":
                        kinds.add(reason_kind(d.get("message", "")))
                if verdict is None:
                    rc2, diags2 = run_import(a.fwc, path, name, True, out)
                    verdict = "partial" if rc2 == 0 else "refused"
                    if rc2 != 0:
                        for d in diags2:
                            if d.get("severity") == "error":
                                kinds.add("(with --partial) " + reason_kind(d.get("message", "")))
                if a.keep and os.path.exists(out) and verdict != "refused":
                    os.makedirs(a.keep, exist_ok=True)
                    os.replace(out, os.path.join(a.keep, "%s-%s.fw" % (os.path.splitext(base)[0], name)))
                elif os.path.exists(out):
                    os.unlink(out)
                for k in kinds:
                    kind_fws[k].add((base, name))
                rows.append((base, name, verdict, kinds))

    by_file = collections.OrderedDict()
    for base, _, verdict, _ in rows:
        c = by_file.setdefault(base, collections.Counter())
        c[verdict] += 1
    print("%-40s %9s %5s %8s %8s" % ("file", "firewalls", "full", "partial", "refused"))
    tot = collections.Counter()
    for base, c in by_file.items():
        n = sum(c.values())
        tot.update(c)
        print("%-40s %9d %5d %8d %8d" % (base, n, c["full"], c["partial"], c["refused"]))
    print("%-40s %9d %5d %8d %8d" % ("total", sum(tot.values()), tot["full"], tot["partial"], tot["refused"]))
    print()
    print("reasons (firewalls touched, reason):")
    for k, fws in sorted(kind_fws.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print("%5d  %s" % (len(fws), k))
    if a.full_list:
        with open(a.full_list, "w") as f:
            for base, name, verdict, _ in rows:
                if verdict == "full":
                    f.write("%s %s\n" % (base, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
