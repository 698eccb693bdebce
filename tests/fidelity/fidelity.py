#!/usr/bin/env python3
"""The kernel differential test of fwc: random policies, compiled by every
backend, loaded into a firewall namespace and probed with real packets;
whatever the kernel does with each probe must be what `fwc query --packets`
says the policy does with it. See README.md; run it through soak.sh.
"""
import argparse
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import lab
import packets
import policygen
import probesel

BACKENDS = ("nft", "iptables", "netlink")


class Fwc:
    def __init__(self, path, tmp):
        self.path, self.tmp = path, tmp
        self.env = dict(os.environ, FWC_STATE_DIR=os.path.join(tmp, "state"))
        self.env.pop("SSH_CONNECTION", None)  # the lab is not the SSH session

    @staticmethod
    def defines(policy):
        return [x for d in policy.defines for x in ("-D", d)]

    def compile(self, src, policy, target, out):
        p = subprocess.run([self.path, "compile", "--no-analysis", "-t", target, src, "-o", out] +
                           self.defines(policy), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p.returncode == 0, p.stderr

    def query(self, src, policy, lines):
        p = subprocess.run([self.path, "query", src, "--packets", "-"] + self.defines(policy),
                           input="".join(l + "\n" for l in lines), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        out = {}
        for line in p.stdout.splitlines():
            if " error=" in line:
                head, _, err = line.partition(" error=")
                d = dict(kv.split("=", 1) for kv in head.split())
                d["error"] = err
            else:
                # line= verdict= chain= family= in= out= rule= [marks= dstnat= srcnat= mark= ctmark= runtime=]
                d = dict(kv.split("=", 1) for kv in line.split())
            out[int(d["line"])] = d
        if p.returncode != 0 or len(out) != len(lines) or any("error" in d for d in out.values()):
            bad = [d for d in out.values() if "error" in d][:3]
            raise RuntimeError("fwc query --packets failed (exit %d): %s %s" % (p.returncode, p.stderr.strip(), bad))
        return [out[i + 1] for i in range(len(lines))]

    def query_one(self, src, policy, line):
        """The single-packet answer of fwc query: {step: (src, sport, dst,
        dport)} for the dstnat and srcnat steps that translate the packet."""
        p = subprocess.run([self.path, "query", src, line] + self.defines(policy), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        steps, cur = {}, None
        for l in p.stdout.splitlines():
            m = re.match(r"(dstnat|srcnat):", l)
            if m:
                cur = m.group(1)
            elif l.strip().startswith("-> ") and cur:
                w = l.strip()[3:].split()
                a = w.index("->")
                steps[cur] = endpoints(w[a - 1]) + endpoints(w[a + 1])
                cur = None
            else:
                cur = None
        return p.returncode, steps


def endpoints(text):
    """(address, port) of "10.0.0.1:80", "[2001:db8::1]:80", "10.0.0.1"."""
    import ipaddress
    port = 0
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 0
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        port = int(port)
    else:
        host = text
    return int(ipaddress.ip_address(host)), port


def mutate_nft(text, path):
    """The self-test's broken backend: the kernel rules of the first accepting
    policy rule drop instead."""
    pat = re.compile(r' accept comment "%s:(\d+)' % re.escape(os.path.basename(path)))
    lines = [m.group(1) for m in map(pat.search, text.splitlines()) if m]
    if not lines:
        return text
    first = min(lines, key=int)
    out = []
    for l in text.splitlines():
        m = pat.search(l)
        out.append(l[:m.start()] + " drop" + l[m.start() + 7:] if m and m.group(1) == first else l)
    return "\n".join(out) + "\n"


class Harness:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="fwcfid-")
        os.makedirs(os.path.join(self.tmp, "state"))
        self.fwc = Fwc(args.fwc, self.tmp)
        self.lab = lab.Lab("fwcfid-%d-" % os.getpid())
        self.run_id = random.Random().randrange(1 << 20)
        self.socks = {}
        self.poll = select.poll()
        self.resent = 0  # probes that agreed only when sent again

    def up(self):
        raw = {4: [1, 6, 17] + policygen.GENERIC, 6: [58, 6, 17] + policygen.GENERIC}
        self.lab.up(raw)
        for dev, s in self.lab.sock_peer.items():
            self.socks[s.fileno()] = (s, dev, None, None)
        for fam, proto, s in self.lab.sock_raw:
            self.socks[s.fileno()] = (s, "fw", fam, proto)
        for fd in self.socks:
            self.poll.register(fd, select.POLLIN)

    def down(self):
        self.lab.down()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- loading -------------------------------------------------------------
    def load(self, backend, src, policy, art):
        """Replaces whatever the firewall had by the policy compiled by backend;
        returns an error text or None."""
        self.lab.flush_ruleset()
        if backend == "nft":
            p = self.lab.ns(self.lab.fw, "nft", "-f", art["nft"], ok=range(256))
        elif backend == "iptables":
            p = self.lab.ns(self.lab.fw, "sh", art["iptables"], ok=range(256))
        else:
            p = subprocess.run(["ip", "netns", "exec", self.lab.fw, self.fwc.path, "apply", "--no-analysis", src] +
                               Fwc.defines(policy), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=self.fwc.env)
        self.lab.flush_conntrack()
        if p.returncode != 0:
            return "%s load failed (exit %d): %s" % (backend, p.returncode, (p.stderr or p.stdout).strip()[:2000])
        return None

    def artifacts(self, src, policy, backends):
        """Compiles src for the backends that load a file; returns (paths, error)."""
        art = {}
        for target in ("nft", "iptables"):
            if target in backends:
                out = os.path.join(self.tmp, "p." + ("nft" if target == "nft" else "sh"))
                ok, err = self.fwc.compile(src, policy, target, out)
                if not ok:
                    return None, err
                if target == "nft" and self.args.mutate:
                    with open(out) as f:
                        text = mutate_nft(f.read(), src)
                    with open(out, "w") as f:
                        f.write(text)
                art[target] = out
        if "netlink" in backends and not art:
            ok, err = self.fwc.compile(src, policy, "nft", os.path.join(self.tmp, "check.nft"))
            if not ok:
                return None, err
        return art, None

    # --- probing ---------------------------------------------------------------
    def pump(self, obs, timeout_ms):
        n = 0
        for fd, _ in self.poll.poll(timeout_ms):
            s, where, fam, proto = self.socks[fd]
            while True:
                try:
                    if fam == 6:
                        data, anc, _, addr = s.recvmsg(65535, 256)
                    else:
                        data, addr = s.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                n += 1
                if obs is None:
                    continue
                if fam is None:
                    if addr[2] != socket.PACKET_OUTGOING:
                        obs.frame(data, where)
                elif fam == 4:
                    obs.ip(4, data, "fw")
                else:
                    src = int.from_bytes(socket.inet_pton(socket.AF_INET6, addr[0].split("%")[0]), "big")
                    dst = None
                    for level, typ, cdata in anc:
                        if level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO and len(cdata) >= 16:
                            dst = int.from_bytes(cdata[:16], "big")
                    obs.ip(6, data, "fw", src=src, proto=proto, dst=dst)
        return n

    def send(self, probes):
        while self.pump(None, 0):
            pass
        self.run_id = (self.run_id + 1) & 0xfffff
        obs = packets.Observation(self.run_id)
        for p in probes:
            obs.probes[p.pid] = p
            obs.expect_rst(p)
        peer = self.lab.sock_peer
        raw = self.lab.sock_send
        for i, p in enumerate(probes):
            try:
                if p.kind == "out":
                    raw[p.fam].sendto(packets.ip_packet(p, self.run_id), (p.addr(p.dst), 0))
                else:
                    peer[p.iif].send(packets.frame(p, self.run_id, probesel.dst_mac(p), lab.peer_mac(p.iif)))
            except OSError:
                pass  # EPERM: the output chain dropped it; the taps decide anyway
            if i % 64 == 63:
                self.pump(obs, 0)
        last = now = time.monotonic()
        deadline = now + 2.0
        while now < deadline and now - last < 0.06:
            if self.pump(obs, 20):
                last = time.monotonic()
            now = time.monotonic()
        return obs

    # --- the reference ----------------------------------------------------------
    def decide(self, src, policy, probes):
        """fwc query's answers for probes, with the kernel's way for each
        (probesel.flow): (answers, Wants, query lines)."""
        lines = [p.query_line() for p in probes]
        res = self.fwc.query(src, policy, lines)
        wants = [probesel.flow(policy, p, q) for p, q in zip(probes, res)]
        # Where the kernel routes a packet fwc query was given other
        # interfaces for (a DNAT, a mark's table): ask again with them.
        redo = [(i, probesel.requery_line(p, res[i], wants[i])) for i, p in enumerate(probes)]
        redo = [(i, l) for i, l in redo if l]
        if redo:
            for (i, l), q in zip(redo, self.fwc.query(src, policy, [l for _, l in redo])):
                lines[i], res[i] = l, q
                where = wants[i].where
                wants[i] = probesel.flow(policy, probes[i], q)
                wants[i].where = where
        return res, wants, lines

    def view(self, src, policy, state, ctmark):
        """probesel.kernel_view(), written next to src: (path, policy)."""
        v = probesel.kernel_view(policy, state, ctmark)
        path = "%s.%s-%s.fw" % (src[:-3], state, ctmark)
        with open(path, "w") as f:
            f.write(v.render())
        return path, v

    def expectations(self, src, policy, probes):
        """{pid: (outcome, why, Want, query answer, query line, the policy
        the answer names rules of)} for the probes to send; a probe whose
        outcome fwc query cannot tell (probesel.uncertain) or whose
        translation would meet another probe in conntrack is left out, and
        counted in self.excluded."""
        res, wants, lines = self.decide(src, policy, probes)
        pols = [policy] * len(probes)
        # Packets without a connection, decided on the kernel's view.
        groups = {}
        for i, p in enumerate(probes):
            if probesel.needs_view(policy, p) and not probesel.has_dnat(policy):
                groups.setdefault(probesel.kernel_state(p), []).append(i)
        for state, idx in sorted(groups.items()):
            path, v = self.view(src, policy, state, None)
            r2, w2, l2 = self.decide(path, v, [probes[i] for i in idx])
            for k, i in enumerate(idx):
                res[i], wants[i], lines[i], pols[i] = r2[k], w2[k], l2[k], v
        # The answers of rejects that must pass the output chain: packets of
        # the probe's connection (related, its mark), or of none.
        need = [i for i, p in enumerate(probes) if probesel.needs_answer_query(policy, p, res[i])]
        ans = {}
        groups = {}
        for i in need:
            key = None
            if probesel.state_dependent(policy):
                key = ("related", wants[i].ctmark) if probesel.tracked(probes[i]) else ("invalid", None)
            groups.setdefault(key, []).append(i)
        for key, idx in sorted(groups.items(), key=lambda kv: str(kv[0])):
            path, v = (src, policy) if key is None else self.view(src, policy, *key)
            r2 = self.fwc.query(path, v, [probesel.answer_line(probes[i], wants[i]) for i in idx])
            ans.update(zip(idx, r2))
        exp = {}
        self.excluded = {}
        orig = {p.key(): p.pid for p in probes}
        taken = set()
        for i, p in enumerate(probes):
            w, q = wants[i], res[i]
            why = probesel.uncertain(policy, p, q, w)
            keys = probesel.nat_keys(p, w)
            if why is None and any(orig.get(k, p.pid) != p.pid or k in taken for k in keys):
                why = "its translation would meet another probe in conntrack"
            if w.snat and p.proto in (6, 17):
                # The kernel maps a source address and port it has mapped
                # before the same way again, if the new range allows it
                # (nf_nat_core.c, find_appropriate_src): only one SNAT of each.
                keys = keys | {("snat", p.fam, p.proto, p.src, p.sport)}
                if why is None and ("snat", p.fam, p.proto, p.src, p.sport) in taken:
                    why = "its source was source-NATed by another probe"
            if why:
                self.excluded[why] = self.excluded.get(why, 0) + 1
                continue
            taken |= keys
            p.ck = (p.src, w.dst[0]) if w.dnat and p.fam == 6 else None
            outcome, text = probesel.expected(policy, p, q, ans.get(i))
            if pols[i] is not policy:
                text += " [decided on the kernel's view of the policy for a %s packet]" % probesel.kernel_state(p)
            exp[p.pid] = (outcome, text, w, q, lines[i], pols[i])
        self.deciders = {exp[pid][3]["rule"] for pid in exp}
        return exp

    def crosscheck(self, src, policy, probes, exp, n=2):
        """fwc query's translated packet (single-packet output) against the
        one computed from the NAT rule it names: returns (checked, differing)."""
        done, bad = 0, []
        for p in probes:
            if done >= n:
                break
            w = exp[p.pid][2]
            if not (w.dnat or w.snat):
                continue
            done += 1
            rc, steps = self.fwc.query_one(src, policy, exp[p.pid][4])
            ok = rc == 0
            if w.dnat:
                t = steps.get("dstnat")
                ok = ok and t is not None and w.dst[0] <= t[2] <= w.dst[1] and (
                    p.proto not in (6, 17) or w.dport[0] <= t[3] <= w.dport[1])
            if w.snat and exp[p.pid][3]["verdict"] == "accept":
                t = steps.get("srcnat")
                ok = ok and t is not None and w.src[0] <= t[0] <= w.src[1] and (
                    p.proto not in (6, 17) or w.sport[0] <= t[1] <= w.sport[1])
            if not ok:
                bad.append((p, steps))
        for p, steps in bad:
            print("  QUERY TRANSLATION differs: %s: fwc query shows %s, the rule gives %s" % (
                exp[p.pid][4], steps, probesel.want_text(p, exp[p.pid][2])))
        return done, len(bad)

    def calibrate(self):
        """The lab must pass every calibration probe with no rules, and answer
        every one it can when everything is rejected: otherwise the suite
        cannot see what it claims to see."""
        A = probesel._a
        probes = []
        srcs = {4: [A("198.51.100.7"), A("10.2.0.9"), A("192.168.1.1")],
                6: [A("2001:db8:100::7"), A("2001:db8:20::9"), A("fd00:3::1")]}
        dsts = {4: [A("203.0.113.5"), A("10.1.2.77"), A("10.3.0.5"), A("172.16.0.1")],
                6: [A("2a00:1450::5"), A("2001:db8:2::77"), A("2001:db8:30::5"), A("2001:db8:1::99")]}
        svcs = {4: [(6, 40000, 80, 0, 0), (17, 53, 53, 0, 0), (1, 0, 0, 8, 0), (47, 0, 0, 0, 0), (99, 0, 0, 0, 0)],
                6: [(6, 40000, 80, 0, 0), (17, 53, 53, 0, 0), (58, 0, 0, 128, 0), (47, 0, 0, 0, 0),
                    (200, 0, 0, 0, 0)]}
        sel = probesel.Selector(policygen.Policy(), random.Random(1))
        for fam in (4, 6):
            for i, dev in enumerate(probesel.DEVS):
                for svc in svcs[fam]:
                    s = srcs[fam][i]
                    for d in dsts[fam] + sorted(probesel.FW[fam]) + sorted(probesel.BCAST[fam]):
                        probes.append(sel.make(fam, s, d, svc, dev))
                    for f in sorted(probesel.FW[fam]):
                        probes.append(sel.make(fam, f, dsts[fam][i], svc, None))
        probes = [p for p in probes if p]
        for i, p in enumerate(probes):
            p.pid = i + 1
        self.lab.add_neighbours([(p.fam, a) for p in probes for a in (p.src, p.dst)])
        self.lab.flush_ruleset()
        self.lab.flush_conntrack()
        obs = self.send(probes)
        bad = [p for p in probes if probesel.observed(p, obs) != "accept"]
        reject_all = ('table inet fwcfid_calibration {\n'
                      ' chain i { type filter hook input priority 0; iifname "lo" accept; '
                      'meta l4proto tcp reject with tcp reset; reject; }\n'
                      ' chain f { type filter hook forward priority 0; meta l4proto tcp reject with tcp reset; '
                      'reject; }\n'
                      ' chain o { type filter hook output priority 0; oifname "lo" accept; '
                      'tcp flags & rst == rst accept; icmp type destination-unreachable accept; '
                      'icmpv6 type destination-unreachable accept; meta l4proto tcp reject with tcp reset; reject; }\n'
                      '}\n')
        self.lab.ns(self.lab.fw, "nft", "-f", "-", inp=reject_all)
        self.lab.flush_conntrack()
        obs2 = self.send(probes)
        self.lab.flush_ruleset()
        bad2 = [p for p in probes
                if probesel.observed(p, obs2) != ("reject" if probesel.can_answer(p) else "drop")]
        for p in bad[:10]:
            print("calibration: with no rules, %s: %s" % (p, probesel.observed(p, obs)))
        for p in bad2[:10]:
            print("calibration: rejecting everything, %s: %s" % (p, probesel.observed(p, obs2)))
        if bad or bad2:
            return False
        print("calibration: %d probes pass an open firewall and are answered by a rejecting one" % len(probes))
        return True

    # --- one case -------------------------------------------------------------
    def mismatches(self, src, policy, backend, probes, art, exp):
        err = self.load(backend, src, policy, art)
        if err:
            return err, []
        obs = self.send(probes)

        def differs(p):
            return probesel.observed(p, obs, exp[p.pid][2]) != exp[p.pid][0]
        bad = [p for p in probes if differs(p)]
        if bad:
            # A probe lost on the way is not the firewall's doing: send the
            # suspects again (the rules are still loaded) and keep those that
            # mismatch every time.
            first = len(bad)
            firstbad = list(bad)
            firstobs = {p.pid: probesel.observed(p, obs, exp[p.pid][2]) for p in bad}
            for _ in range(2):
                self.lab.flush_conntrack()
                obs = self.send(bad)
                bad = [p for p in bad if differs(p)]
                if not bad:
                    break
            self.resent += first - len(bad)
            # Shown, not hidden: a probe that another one disturbed (as a
            # reply in conntrack, say) looks just like a lost one.
            for p in [p for p in firstbad if p not in bad][:3]:
                print("  agreed only when sent again: %s %s, expected %s, first %s" % (
                    backend, p, exp[p.pid][0], firstobs.get(p.pid)))
        self.last_obs = obs
        return None, bad


def nat_neighbours(policy):
    """(family, address) of every address a dnat rule may send packets to."""
    out = []
    for r in policy.nat:
        if r.action == "dnat":
            for a in policygen.atoms_of(policy, r.to):
                out += [(a.fam, x) for x in range(a.lo, min(a.hi, a.lo + 15) + 1)]
    return out


def nat_tags(policy, p, e):
    """What a probe covers of NAT and marks, for the summary."""
    w, q = e[2], e[3]
    tags = []
    if policy is not e[5]:
        tags.append("kernel view")
        policy = e[5]
    for step in ("dstnat", "srcnat"):
        r = policy.rule_at(q.get(step))
        if r is not None:
            tags.append("nat")
            tags.append({"nonat": "no nat"}.get(r.action, r.action))
    m = policy.rule_at(q.get("marks"))
    if m is not None:
        tags += ["marks", "set by " + m.action]
    if w.rerouted:
        tags += ["marks", "rerouted by its mark"]
    r = policy.rule_at(q["rule"])
    if r is not None and (r.mark is not None or r.connmark is not None):
        tags += ["marks", "decided by a mark/connmark match"]
    if r is not None and r.state is not None:
        tags.append("decided by a state match")
    return set(tags)


class Minimizer:
    """Deletes parts of a failing policy while the probe still mismatches in
    the kernel with the same backend (delta debugging, greedy)."""

    def __init__(self, h, backend, probe, budget):
        self.h, self.backend, self.probe, self.budget = h, backend, probe, budget
        self.trials = 0
        self.src = os.path.join(h.tmp, "min.fw")

    def fails(self, policy):
        if self.trials >= self.budget:
            return False
        self.trials += 1
        with open(self.src, "w") as f:
            f.write(policy.render())
        art, err = self.h.artifacts(self.src, policy, [self.backend])
        if err is not None:
            return False
        try:
            exp = self.h.expectations(self.src, policy, [self.probe])
        except RuntimeError:
            return False
        if self.probe.pid not in exp:
            return False
        e = exp[self.probe.pid]
        self.h.lab.add_neighbours(nat_neighbours(policy))
        for _ in range(2):
            err = self.h.load(self.backend, self.src, policy, art)
            if err:
                return False
            obs = self.h.send([self.probe])
            if probesel.observed(self.probe, obs, e[2]) == e[0]:
                return False
        self.exp, self.got = e, probesel.observed(self.probe, obs, e[2])
        return True

    def run(self, policy):
        cur = policy
        if not self.fails(cur):
            return None
        progress = True
        while progress and self.trials < self.budget:
            progress = False
            # Rules (filter, nat, marks), in chunks and then one by one.
            for section in ("rules", "nat", "marks"):
                n = 2
                while len(getattr(cur, section)) >= 1 and self.trials < self.budget:
                    rules = getattr(cur, section)
                    size = max(1, len(rules) // n)
                    removed = False
                    for i in range(0, len(rules), size):
                        cand = cur.copy()
                        del getattr(cand, section)[i:i + size]
                        if self.fails(cand):
                            cur, removed, progress = cand, True, True
                            break
                    if not removed:
                        if size == 1:
                            break
                        n *= 2
            for cand in self.variants(cur):
                if self.trials >= self.budget:
                    break
                if self.fails(cand):
                    cur, progress = cand, True
                    break
        # Whatever nothing refers to goes without a kernel trial.
        used = policygen.referenced(cur)
        cand = cur.copy()
        cand.objects = [o for o in cand.objects if o.name in used]
        cand.marks_named = [m for m in cand.marks_named if m[0] in used]
        if self.fails(cand):
            cur = cand
        return cur

    def variants(self, cur):
        """Smaller policies, one change each."""
        for section, i, r in [(sec, i, r) for sec in ("rules", "nat", "marks")
                              for i, r in enumerate(getattr(cur, sec))]:
            def rule(c):
                return getattr(c, section)[i]
            for attr, none in (("log", None), ("counter", False), ("comment", None), ("cond", None),
                               ("iif", None), ("oif", None), ("any_word", False), ("disabled", False),
                               ("mark", None), ("connmark", None), ("state", None), ("port", None)):
                if getattr(r, attr) != none and not (attr == "port" and r.action == "redirect"):
                    c = cur.copy()
                    setattr(rule(c), attr, none)
                    yield c
            for slot in ("svc", "src", "dst"):
                s = getattr(r, slot)
                if s.items is None:
                    continue
                c = cur.copy()
                setattr(rule(c), slot, policygen.Slot())
                yield c
                if s.neg:
                    c = cur.copy()
                    getattr(rule(c), slot).neg = False
                    yield c
                if len(s.items) > 1:
                    for j in range(len(s.items)):
                        c = cur.copy()
                        del getattr(rule(c), slot).items[j]
                        yield c
                if s.braces and len(s.items) == 1:
                    c = cur.copy()
                    getattr(rule(c), slot).braces = False
                    yield c
        used = policygen.referenced(cur)
        for k, o in enumerate(cur.objects):
            if o.name not in used:
                c = cur.copy()
                del c.objects[k]
                yield c
            elif len(o.items) > 1:
                for j in range(len(o.items)):
                    c = cur.copy()
                    del c.objects[k].items[j]
                    yield c
        for k, m in enumerate(cur.marks_named):
            if m[0] not in used:
                c = cur.copy()
                del c.marks_named[k]
                yield c
        for attr in ("stateful", "any_fw", "forwarding"):
            if getattr(cur, attr) is not None:
                c = cur.copy()
                setattr(c, attr, None)
                yield c
        for d in cur.defines:
            c = cur.copy()
            c.defines = [x for x in c.defines if x != d]
            yield c


def main():
    ap = argparse.ArgumentParser(prog="soak.sh", description=__doc__)
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--probes", type=int, default=1500, help="probes per policy (per backend)")
    ap.add_argument("--keep", default=os.environ.get("FWC_FIDELITY_KEEP", "/tmp/fwc-fidelity-failures"),
                    help="where failing policies are kept")
    ap.add_argument("--minimize", type=int, default=300, help="kernel trials the minimiser may spend (0: none)")
    ap.add_argument("--mutate", action="store_true",
                    help="self-test: load a deliberately broken nft ruleset; every case should mismatch")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("fwc")
    args = ap.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in BACKENDS:
            ap.error("unknown backend %r (nft, iptables, netlink)" % b)
    if args.mutate and backends != ["nft"]:
        ap.error("--mutate works on the nft backend alone")
    args.fwc = os.path.abspath(args.fwc)

    # A run killed without cleaning up leaves its namespaces behind; they
    # carry the pid of their run.
    for ns in lab.leftovers("fwcfid-"):
        try:
            os.kill(int(ns.split("-")[1]), 0)
        except (ValueError, IndexError):
            continue
        except ProcessLookupError:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        except PermissionError:
            pass
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    h = Harness(args)
    counts = {b: 0 for b in backends}
    bad = {b: 0 for b in backends}
    natcount = {b: 0 for b in backends}
    markcount = {b: 0 for b in backends}
    load_errors, rejected, outcomes, kinds = [], [], {}, {}
    natkinds, natout, excluded = {}, {}, {}
    nat_cases = mark_cases = checked = qbad = 0
    rules_active = rules_hit = 0
    start = time.monotonic()
    try:
        h.up()
        if not h.calibrate():
            print("the lab does not behave as the suite assumes; nothing was tested")
            print("0 probes, 0 mismatches")
            return 2
        for case in range(args.cases):
            seed = args.seed + case
            t0 = time.monotonic()
            src = os.path.join(h.tmp, "s%d.fw" % seed)
            for attempt in range(8):
                policy = policygen.generate(seed, attempt)
                with open(src, "w") as f:
                    f.write(policy.render())
                art, err = h.artifacts(src, policy, backends)
                if err is None:
                    break
                rejected.append((seed, attempt, err.strip().splitlines()[0] if err.strip() else "?"))
            else:
                load_errors.append("seed %d: no valid policy in 8 attempts" % seed)
                continue
            probes = probesel.Selector(policy, random.Random(seed)).select(args.probes)
            h.lab.add_neighbours([(p.fam, a) for p in probes for a in (p.src, p.dst)] + nat_neighbours(policy))
            exp = h.expectations(src, policy, probes)
            probes = [p for p in probes if p.pid in exp]
            for k, v in h.excluded.items():
                excluded[k] = excluded.get(k, 0) + v
            c, d = h.crosscheck(src, policy, probes, exp, 1)
            checked += c
            qbad += d
            for e in exp.values():
                outcomes[e[0]] = outcomes.get(e[0], 0) + 1
            for p in probes:
                for t in nat_tags(policy, p, exp[p.pid]):
                    natkinds[t] = natkinds.get(t, 0) + 1
                    natout[(t, exp[p.pid][0])] = natout.get((t, exp[p.pid][0]), 0) + 1
            if policy.nat:
                nat_cases += 1
            if policy.marks:
                mark_cases += 1
            for p in probes:
                k = ({"fwd": "through", "in": "to fw", "out": "from fw"}[p.kind],
                     {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(p.proto, "other"), "ipv%d" % p.fam)
                for key in k:
                    kinds[key] = kinds.get(key, 0) + 1
            active = [r for r in policy.rules if not r.disabled and
                      (r.cond is None or (r.cond[1] in policy.defines) != r.cond[0])]
            rules_active += len(active)
            rules_hit += len([d for d in h.deciders if d.startswith(os.path.basename(src) + ":")])
            notes = []
            for b in backends:
                err, mism = h.mismatches(src, policy, b, probes, art, exp)
                if err:
                    load_errors.append("seed %d: %s" % (seed, err))
                    notes.append("%s LOAD ERROR" % b)
                    continue
                counts[b] += len(probes)
                natcount[b] += sum(1 for p in probes if "nat" in nat_tags(policy, p, exp[p.pid]))
                markcount[b] += sum(1 for p in probes if "marks" in nat_tags(policy, p, exp[p.pid]))
                bad[b] += len(mism)
                notes.append("%s %s" % (b, "ok" if not mism else "%d MISMATCHES" % len(mism)))
                if mism:
                    report(h, args, seed, policy, src, b, mism, exp)
            if not args.quiet:
                per = {k: sum(1 for p in probes if p.kind == k) for k in ("fwd", "in", "out")}
                print("seed %d: %d rules, %s, default %s, %d probes (%d through, %d to, %d from the firewall): %s "
                      "(%.1f s)" % (seed, len(policy.rules), "stateful" if policy.is_stateful() else "stateless",
                                    policy.default, len(probes), per["fwd"], per["in"], per["out"],
                                    ", ".join(notes), time.monotonic() - t0), flush=True)
    finally:
        h.down()
    for e in load_errors:
        print("error:", e)
    if rejected:
        print("%d generated policies were rejected by fwc and regenerated, e.g. seed %d: %s"
              % (len(rejected), rejected[0][0], rejected[0][2]))
    n = sum(outcomes.values()) or 1
    print("expected outcomes per backend: %s; %d of %d active rules decide at least one probe (%.0f%%)" % (
        ", ".join("%s %.0f%%" % (k, 100.0 * v / n) for k, v in sorted(outcomes.items())), rules_hit,
        rules_active, 100.0 * rules_hit / (rules_active or 1)))
    print("probes per backend: %s" % ", ".join("%s %d" % (k, kinds[k]) for k in (
        "through", "to fw", "from fw", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6", "other") if k in kinds))
    print("policies with a nat section: %d, with a marks section: %d (of %d)" % (nat_cases, mark_cases, args.cases))

    def mix(keys):
        return ", ".join("%s %d" % (k, natkinds[k]) for k in keys if k in natkinds) or "none"
    print("NAT probes per backend: %d (%s; accepted %d)" % (
        natkinds.get("nat", 0), mix(("dnat", "redirect", "snat", "masquerade", "no nat")),
        natout.get(("nat", "accept"), 0)))
    print("mark probes per backend: %d (%s; accepted %d); %d decided by a state match" % (
        natkinds.get("marks", 0), mix(("set by mark", "set by connmark", "rerouted by its mark",
                                       "decided by a mark/connmark match")),
        natout.get(("marks", "accept"), 0), natkinds.get("decided by a state match", 0)))
    print("probes without a connection (ICMP errors and replies, MLD, ND) in policies with NAT or connection "
          "matches, decided on the kernel's view of the policy: %d per backend" % natkinds.get("kernel view", 0))
    if excluded:
        print("probes not sent, their outcome not following from fwc query (per backend): %s" % ", ".join(
            "%s %d" % (k, v) for k, v in sorted(excluded.items())))
    print("translations cross-checked against fwc query's dstnat/srcnat lines: %d, %d differ" % (checked, qbad))
    print("%d probes agreed only when sent again (lost on the first try)" % h.resent)
    wall = time.monotonic() - start
    total, total_bad = sum(counts.values()), sum(bad.values())
    print("wall time %.0f s, %d cases, %.0f probes/s" % (wall, args.cases, total / wall if wall else 0))
    for b in backends:
        print("%s: %d probes (%d NAT, %d marks), %d mismatches" % (
            b, counts[b], natcount[b], markcount[b], bad[b]))
    print("NAT probes: %d, mark probes: %d (all backends)" % (sum(natcount.values()), sum(markcount.values())))
    print("%d probes, %d mismatches" % (total, total_bad + qbad))
    return 1 if total_bad or load_errors or qbad else 0


def report(h, args, seed, policy, src, backend, mism, exp):
    print("MISMATCH seed %d backend %s: %d probes differ, e.g." % (seed, backend, len(mism)))
    for p in mism[:5]:
        e = exp[p.pid]
        print("  %s\n    kernel: %s; expected %s%s (%s)" % (
            e[4], probesel.observed(p, h.last_obs, e[2]) if p.pid in h.last_obs.probes else "?", e[0],
            " at %s as %s" % (e[2].where, probesel.want_text(p, e[2])) if e[0] == "accept" else "", e[1]))
    os.makedirs(args.keep, exist_ok=True)
    base = os.path.join(args.keep, "seed-%d-%s" % (seed, backend))
    shutil.copy(src, base + ".orig.fw")
    repro = "tests/fidelity/soak.sh --seed %d --cases 1 --backends %s --probes %d%s" % (
        seed, backend, args.probes, "".join(" --" + f for f in ("mutate",) if getattr(args, f)))
    lines = ["# seed %d, backend %s; reproduce: %s" % (seed, backend, repro),
             "# -D: %s" % (" ".join(policy.defines) or "(none)")]
    for p in mism:
        lines.append("# probe: %s  (%s)  expected %s: %s" % (p.query_line(), p.kind, exp[p.pid][0], exp[p.pid][1]))
    minimized = None
    if args.minimize > 0:
        probe = mism[0].copy(pid=1)
        m = Minimizer(h, backend, probe, args.minimize)
        minimized = m.run(policy)
        if minimized is not None:
            with open(base + ".fw", "w") as f:
                f.write("\n".join(lines[:2]) + "\n# packet: %s\n# kernel: %s; expected %s (%s)\n" % (
                    probe.query_line(), m.got, m.exp[0], m.exp[1]) + minimized.render())
            print("minimised in %d kernel trials (-D %s):\n%s  packet: %s\n  kernel: %s; expected %s (%s)" % (
                m.trials, " ".join(minimized.defines) or "-", "".join("  | " + l + "\n" for l in
                                                                    minimized.render().splitlines()),
                probe.query_line(), m.got, m.exp[0], m.exp[1]))
        else:
            print("  (the first probe no longer mismatches on its own; not minimised)")
    with open(base + ".txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("  kept in %s.{orig.fw,fw,txt}; reproduce: %s" % (base, repro))


if __name__ == "__main__":
    sys.exit(main())
