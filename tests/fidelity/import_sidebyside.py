#!/usr/bin/env python3
"""The kernel side-by-side test of `fwc import`: an iptables-save /
ip6tables-save ruleset and fwc's compiled import of it, loaded one after the
other into the same firewall namespace and probed with the same packets;
every probe must come out the same way.

For each case (random rulesets from a seed, then the bundled corpus in
tests/import/iptables/*.rules):

  1. `fwc import --check --address ... -o case.fw v4 v6` must exit 0 (its own
     packet-set proof; it leaves out the connections DNAT translates, which
     this test covers);
  2. `fwc compile -t nft` and `-t iptables` of the imported policy;
  3. in the lab of the fidelity suite (lab.py): the ORIGINAL loaded with
     iptables-restore and ip6tables-restore, the probes sent, and each
     probe's outcome kept: where it arrived and with which addresses and
     ports (NAT), or the answer a reject sent, or nothing (dropped); then
     the same with each backend's output of the import;
  4. a probe whose outcome differs is sent again (both rulesets reloaded)
     twice, and counts as a difference only if it differs every time.

Probes come from the rules (probesel.Selector on the rules read back from
the iptables text: each rule's addresses, ports, ICMP types and interfaces at
their edges and +-1, the DNAT targets), every pair of interfaces in both
families (ICMP echo, TCP and UDP), and random points.

One outcome difference is tolerated unless --strict-reject is given: a TCP
probe that the original's `-j REJECT --reject-with icmp-port-unreachable`
answers with an ICMP port-unreachable and the import with a TCP reset
(fwc's reject always resets TCP, fwc.policy(5) Reject); they are counted.

A family the ruleset has no part for is not probed (the kernel has no rules
for it; the import gives it the policy's default and says so).

KNOWN GAPS: the generator leaves out what fwc import is known to refuse or
to change, unless --known-gaps is given:
  - a goto on two conditions with rules after it ("a conditional goto"):
    the goto goes last in FORWARD;
  - a RETURN on a protocol in a chain whose rules name another protocol
    ("two protocol matches"): RETURNs are on an address;
  - ESTABLISHED without RELATED (imported as fwc's established,related
    built-in, which passes REJECT's answers, RELATED packets);
  - OUTPUT without the INVALID drop (fwc drops invalid packets in output:
    unanswered ICMP replies and errors from the firewall, the answer of a
    REJECT to an untracked MLD message).

Reproduce one case: --seed S --cases 1 --corpus ''; one file: --cases 0
--corpus '' --rules FILE (FILE: iptables-save then ip6tables-save output,
or V4FILE,V6FILE; a first line '# fwc-import-args: ...' gives the import's
arguments). Failing cases are kept in --keep DIR/NAME (the rulesets, the
imported policy, both compiled outputs and report.txt).

The last line is `N cases, P probes per backend, M differences`; the exit
status is 1 on any difference or any case that does not import, compile or
load, 77 when it cannot run here (not root, no network namespaces, a tool
missing), 2 on usage errors or a lab that does not behave.
"""
import argparse
import glob
import ipaddress
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fidelity  # noqa: E402  (the Harness: lab sockets, sending, loading)
import fwblab  # noqa: E402  (Firewall Builder firewalls moved into the lab)
import lab  # noqa: E402
import policygen  # noqa: E402
import probesel  # noqa: E402
from packets import ICMP, ICMPV6, TCP, UDP  # noqa: E402

DEVS = ["eth1", "eth2", "eth3"]
FWADDR = {"eth1": ("10.1.1.1", "2001:db8:1::1"), "eth2": ("10.1.2.1", "2001:db8:2::1"),
          "eth3": ("10.1.3.1", "2001:db8:3::1")}
PLEN = {4: 24, 6: 64}
ADDRESS_ARGS = [x for d in DEVS for f in (0, 1) for x in ("--address", "%s=%s/%d" % (d, FWADDR[d][f],
                                                                                  PLEN[4 if f == 0 else 6]))]
# What lies behind each interface (lab.IFACES routes; eth1 has the default).
ZONES = {
    "eth1": {4: ["198.51.100.0/24", "203.0.113.0/24", "10.1.1.0/24", "100.64.0.0/16"],
             6: ["2001:db8:100::/48", "2a00:1450::/32", "2001:db8:1::/64"]},
    "eth2": {4: ["10.1.2.0/24", "10.2.0.0/16", "172.16.0.0/12"], 6: ["2001:db8:2::/64", "2001:db8:20::/48"]},
    "eth3": {4: ["10.1.3.0/24", "10.3.0.0/16", "192.168.0.0/16"],
             6: ["2001:db8:3::/64", "2001:db8:30::/48", "fd00:3::/32"]},
}
PROTO_NUM = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58, "esp": 50, "ah": 51, "gre": 47,
             "vrrp": 112, "ospf": 89, "igmp": 2, "sctp": 132}
# ICMPv6 messages conntrack does not track: MLD queries, reports and done,
# MLDv2 reports, and neighbour discovery.
UNTRACKED_ICMPV6 = {130, 131, 132, 133, 134, 135, 136, 143}
# Dual-stack ICMP services: (IPv4 type, IPv6 type); None: that family has none.
ICMP_SVC = {"echo": (8, 128), "time-exceeded": (11, 3), "unreach": (3, 1), "echo-reply": (0, 129),
            "timestamp": (13, None), "any": (-1, -1)}
ICMP_SVC.update({"nd%d" % t: (None, t) for t in (133, 134, 135, 136)})  # neighbour discovery


# --- a random, realistic ruleset ------------------------------------------------
class Addr:
    """An address item of one or both families: ("10.1.2.10/32", "2001:db8:2::10/128"), or a range."""

    def __init__(self, v4, v6, rng=False):
        self.t = {4: v4, 6: v6}
        self.range = rng

    def fams(self):
        return {f for f in (4, 6) if self.t[f]}


class Svc:
    def __init__(self, proto, dports=None, sports=None, icmp=None):
        self.proto, self.dports, self.sports, self.icmp = proto, dports, sports, icmp

    def fams(self):
        if self.proto == "icmp":
            t4, t6 = ICMP_SVC[self.icmp]
            return {f for f, t in ((4, t4), (6, t6)) if t is not None}
        return {4, 6}


class R:
    """One rule of the generated ruleset, for both families unless fams says otherwise."""

    def __init__(self, target, src=None, dst=None, iif=None, oif=None, svc=None, nsrc=False, ndst=False,
                 state=None, comment=None, fams=(4, 6), jump_opts=""):
        self.target, self.src, self.dst, self.iif, self.oif, self.svc = target, src, dst, iif, oif, svc
        self.nsrc, self.ndst, self.state, self.comment = nsrc, ndst, state, comment
        self.fams = set(fams)
        self.jump_opts = jump_opts  # a dict fam -> text, or text
        for x in (src, dst, svc):
            if x is not None:
                self.fams &= x.fams()


def ports_text(ranges, sep=":"):
    return ",".join(str(lo) if lo == hi else "%d%s%d" % (lo, sep, hi) for lo, hi in ranges)


def render(fam, chain, r):
    w = ["-A", chain]
    for flag, a, neg in (("-s", r.src, r.nsrc), ("-d", r.dst, r.ndst)):
        if a is not None and not a.range:
            w += (["!"] if neg else []) + [flag, a.t[fam]]
    if r.iif:
        w += ["-i", r.iif]
    if r.oif:
        w += ["-o", r.oif]
    s = r.svc
    if s is not None:
        if s.proto in ("tcp", "udp"):
            w += ["-p", s.proto]
            if s.dports and len(s.dports) > 1:
                w += ["-m", "multiport", "--dports", ports_text(s.dports)]
                if s.sports:
                    w += ["-m", s.proto, "--sport", ports_text(s.sports)]
            elif s.dports or s.sports:
                w += ["-m", s.proto]
                if s.sports:
                    w += ["--sport", ports_text(s.sports)]
                if s.dports:
                    w += ["--dport", ports_text(s.dports)]
        elif s.proto == "icmp":
            t = ICMP_SVC[s.icmp][0 if fam == 4 else 1]
            if fam == 4:
                w += ["-p", "icmp"] + (["-m", "icmp", "--icmp-type", str(t)] if t >= 0 else [])
            else:
                w += ["-p", "ipv6-icmp"] + (["-m", "icmp6", "--icmpv6-type", str(t)] if t >= 0 else [])
        else:
            w += ["-p", str(s.proto)]
    for flag, a, neg in (("--src-range", r.src, r.nsrc), ("--dst-range", r.dst, r.ndst)):
        if a is not None and a.range:
            w += ["-m", "iprange"] + (["!"] if neg else []) + [flag, a.t[fam]]
    if r.state:
        w += ["-m", "conntrack", "--ctstate", r.state]
    if r.comment:
        w += ["-m", "comment", "--comment", '"%s"' % r.comment]
    t = r.target
    if t == "REJECT":
        if s is not None and s.proto == "tcp" and r.jump_opts != "icmp":
            w += ["-j", "REJECT", "--reject-with", "tcp-reset"]
        else:
            w += ["-j", "REJECT", "--reject-with", "icmp-port-unreachable" if fam == 4 else "icmp6-port-unreachable"]
    elif t.startswith("goto:"):
        w += ["-g", t[5:]]
    else:
        w += ["-j", t]
        opts = r.jump_opts[fam] if isinstance(r.jump_opts, dict) else r.jump_opts
        if opts:
            w.append(opts)
    return " ".join(w)


class Gen:
    """A firewall for the lab: a host, a gateway or a gateway with a DMZ,
    dual-stack; its rules as iptables-save would print them."""

    def __init__(self, seed, known_gaps=False):
        self.rng = random.Random(seed)
        self.seed = seed
        self.known_gaps = known_gaps

    # --- addresses --------------------------------------------------------
    def _host_in(self, net):
        n = ipaddress.ip_network(net)
        span = min(n.num_addresses - 4, 0xfff0)
        return n.network_address + 3 + self.rng.randrange(max(1, span))

    def host(self, dev):
        z = ZONES[dev]
        a4 = self._host_in(self.rng.choice(z[4]))
        a6 = self._host_in(self.rng.choice(z[6]))
        return Addr("%s/32" % a4, "%s/128" % a6)

    def net(self, dev):
        z = ZONES[dev]
        out = {}
        for fam, lens in ((4, (24, 28, 16)), (6, (64, 56, 120))):
            n = ipaddress.ip_network(self.rng.choice(z[fam]))
            plen = max(n.prefixlen, self.rng.choice(lens + (n.prefixlen,)))
            subs = 1 << (plen - n.prefixlen)
            k = self.rng.randrange(min(subs, 1 << 16))
            sub = ipaddress.ip_network((int(n.network_address) + k * (1 << (n.max_prefixlen - plen)), plen))
            out[fam] = str(sub)
        return Addr(out[4], out[6])

    def arange(self, dev):
        z = ZONES[dev]
        out = {}
        for fam in (4, 6):
            lo = self._host_in(self.rng.choice(z[fam]))
            out[fam] = "%s-%s" % (lo, lo + self.rng.randrange(1, 40))
        return Addr(out[4], out[6], rng=True)

    def addr(self, dev):
        k = self.rng.random()
        return self.host(dev) if k < 0.5 else self.net(dev) if k < 0.85 else self.arange(dev)

    # --- services -----------------------------------------------------------
    def svc(self):
        rng = self.rng
        k = rng.random()
        if k < 0.45:
            p = rng.choice([22, 25, 80, 443, 3306, 5432, 8080, 993, 143, 110, 21, 3389])
            return Svc("tcp", [(p, p)])
        if k < 0.55:
            return Svc("tcp", sorted(rng.sample([(80, 80), (443, 443), (8443, 8443), (8000, 8010)], rng.randint(2, 3))))
        if k < 0.7:
            p = rng.choice([53, 123, 161, 514, 1194, 51820, 5060])
            return Svc("udp", [(p, p)])
        if k < 0.75:
            lo = rng.choice([6000, 60000, 10000, 30000])
            return Svc(rng.choice(["tcp", "udp"]), [(lo, lo + rng.choice([10, 100, 1000]))])
        if k < 0.8:
            return Svc("udp", [(67, 67)], [(68, 68)]) if rng.random() < 0.5 else Svc("tcp", [(22, 22)], [(1024, 65535)])
        if k < 0.93:
            return Svc("icmp", icmp=rng.choice(["echo", "echo", "echo", "time-exceeded", "unreach", "echo-reply",
                                                 "timestamp"]))
        return Svc(rng.choice(["esp", "gre", "112"]))

    def comment(self, r):
        if self.rng.random() < 0.2:
            r.comment = self.rng.choice(["allow web", "ssh from admins", "blocked net", "port forward", "monitoring"])
        return r

    def fams(self):
        k = self.rng.random()
        return (4, 6) if k < 0.75 else (4,) if k < 0.92 else (6,)

    # --- chains ---------------------------------------------------------------
    def generate(self):
        rng = self.rng
        role = rng.choice(["host", "gateway", "gateway", "dmz", "dmz"])
        pol = {"INPUT": rng.choice(["DROP"] * 7 + ["ACCEPT"] * 3),
               "FORWARD": "DROP" if role == "host" or rng.random() < 0.75 else "ACCEPT",
               "OUTPUT": "ACCEPT" if rng.random() < 0.75 else "DROP"}
        chains = {"INPUT": [], "FORWARD": [], "OUTPUT": []}
        user = {}
        nat = {"PREROUTING": [], "POSTROUTING": []}
        notes = [role]
        ct = lambda s: R("ACCEPT" if s != "INVALID" else "DROP", state=s)  # noqa: E731
        # ESTABLISHED alone is taken for fwc's "established,related accept",
        # which also passes the related answers of REJECT (KNOWN GAPS).
        est = rng.choice(["RELATED,ESTABLISHED", "RELATED,ESTABLISHED"] + (["ESTABLISHED"] if self.known_gaps else []))

        # INPUT: the stateful prologue, neighbour discovery, the services.
        inp = chains["INPUT"]
        inp += [R("ACCEPT", iif="lo"), ct(est), ct("INVALID")]
        if rng.random() < 0.6:
            for t in (133, 134, 135, 136):
                inp.append(R("ACCEPT", svc=Svc("icmp", icmp="nd%d" % t), fams=(6,)))
        else:
            inp.append(R("ACCEPT", svc=Svc("icmp", icmp="any"), fams=(6,)))
        if rng.random() < 0.4:
            src = self.addr(rng.choice(DEVS))
            inp.append(self.comment(R("DROP", src=src, fams=self.fams())))
        for _ in range(rng.randint(3, 8)):
            inp.append(self.input_rule())
        if rng.random() < 0.5:
            tail = rng.choice(["DROP", "REJECT"])
            iif = rng.choice([None, "eth1"])
            inp.append(R("LOG", iif=iif, jump_opts='--log-prefix "INPUT %s: "' % tail.lower()))
            inp.append(R(tail, iif=iif))

        # FORWARD.
        fwd = chains["FORWARD"]
        dnats = []
        if role != "host":
            fwd += [ct(est), ct("INVALID")]
            if rng.random() < 0.65:
                dnats = self.port_forwards(role)
                notes.append("%d port forwards" % len(dnats))
            done = set()
            for d in dnats:
                key = (d["fam"], d["target"], d["tport"], d["proto"], d["iif"])
                if key in done:
                    continue
                done.add(key)
                fwd.append(R("ACCEPT", dst=Addr(d["target"] + "/32", None) if d["fam"] == 4 else
                             Addr(None, d["target"] + "/128"), iif=d["iif"],
                             svc=Svc(d["proto"], [(d["tport"], d["tport"])]), fams=(d["fam"],),
                             state="NEW" if rng.random() < 0.3 else None))
            if rng.random() < 0.4:
                bad = self.addr("eth1")
                f = self.fams()
                fwd.append(R("LOG", src=bad, fams=f, jump_opts='--log-prefix "blocked: "'))
                fwd.append(R("DROP", src=bad, fams=f))
            last = self.forward_body(role, fwd, user)
            k = rng.random()
            if last is not None:
                fwd.append(last)
            elif k < 0.3:
                fwd.append(R("LOG", jump_opts='--log-prefix "FORWARD drop: "'))
                fwd.append(R("DROP"))
            elif k < 0.45:
                fwd.append(R("REJECT"))
            elif k < 0.6:
                fwd.append(R("LOG", iif="eth1", jump_opts='--log-prefix "from outside: "'))
                fwd.append(R("DROP", iif="eth1"))

        # OUTPUT.
        out = chains["OUTPUT"]
        if pol["OUTPUT"] == "ACCEPT" and not (self.known_gaps and rng.random() < 0.5):
            # fwc drops invalid packets in every chain (fwc.policy(5)): a
            # ruleset without that rule in OUTPUT differs for them (KNOWN GAPS).
            out += [ct(est), ct("INVALID")]
        if pol["OUTPUT"] == "DROP":
            out += [R("ACCEPT", oif="lo"), ct(est), ct("INVALID")]
            for t in (133, 134, 135, 136):
                out.append(R("ACCEPT", svc=Svc("icmp", icmp="nd%d" % t), fams=(6,)))
            for _ in range(rng.randint(2, 5)):
                out.append(self.output_rule())
        elif rng.random() < 0.35:
            out.append(R("REJECT", oif="eth1", svc=Svc("tcp", [(25, 25)])))

        # NAT: masquerade or snat out eth1, exceptions, the port forwards.
        if role != "host" and (dnats or rng.random() < 0.6):
            post = nat["POSTROUTING"]
            if rng.random() < 0.3:
                ex = self.net("eth1")
                post.append(R(rng.choice(["RETURN", "ACCEPT"]), dst=ex, oif="eth1", fams=(4,)))
            lan = self.net("eth3") if rng.random() < 0.6 else None
            if rng.random() < 0.65:
                post.append(R("MASQUERADE", src=lan, oif="eth1", fams=(4,)))
            else:
                to = rng.choice(["10.1.1.1", "10.1.1.%d" % rng.randrange(3, 250),
                                 "203.0.113.%d" % rng.randrange(3, 250)])
                post.append(R("SNAT", src=lan, oif="eth1", fams=(4,), jump_opts="--to-source " + to))
            if rng.random() < 0.25:
                post.append(R("MASQUERADE", src=Addr(None, "fd00:3::/32"), oif="eth1", fams=(6,)))
            for d in dnats:
                to = d["target"] if d["fam"] == 4 else "[%s]" % d["target"]
                if d["rewrite"]:
                    to += ":%d" % d["tport"]
                own = FWADDR["eth1"][0 if d["fam"] == 4 else 1]
                nat["PREROUTING"].append(R(
                    "DNAT", dst=Addr(own + "/32", None) if d["fam"] == 4 and d["to_own"] else
                    Addr(None, own + "/128") if d["to_own"] else None,
                    iif=d["iif"], svc=Svc(d["proto"], [(d["dport"], d["dport"])]), fams=(d["fam"],),
                    jump_opts="--to-destination " + to))
            notes.append("nat")
        return pol, chains, user, nat, notes

    def input_rule(self):
        rng = self.rng
        k = rng.random()
        if k < 0.25:
            dev = rng.choice(["eth3", "eth2", "eth3"])
            return self.comment(R("ACCEPT", src=self.addr(dev), iif=dev if rng.random() < 0.7 else None,
                                  svc=Svc("tcp", [(22, 22)]), state="NEW" if rng.random() < 0.3 else None,
                                  fams=self.fams()))
        if k < 0.4:
            return self.comment(R("ACCEPT", iif=rng.choice([None, "eth1", "eth3"]), svc=self.svc(), fams=self.fams()))
        if k < 0.5:
            return R("ACCEPT", svc=Svc("icmp", icmp="echo"))
        if k < 0.58:
            dev = rng.choice(DEVS)
            own = Addr(FWADDR[dev][0] + "/32", FWADDR[dev][1] + "/128")
            return R("ACCEPT", dst=own, svc=self.svc(), fams=self.fams())
        if k < 0.66:
            return R("REJECT", svc=Svc("tcp", [(113, 113)]) if rng.random() < 0.5 else self.svc(), fams=self.fams())
        if k < 0.72:
            return R("ACCEPT", iif="eth3")
        if k < 0.8:
            dev = rng.choice(["eth2", "eth3"])
            return R("ACCEPT", src=self.arange(dev), svc=self.svc(), fams=self.fams())
        if k < 0.86:
            return R("DROP", src=self.net("eth3"), nsrc=True, svc=Svc("tcp", [(22, 22)]), fams=self.fams())
        if k < 0.92:
            return R("ACCEPT", iif=rng.choice(DEVS), src=self.addr(rng.choice(DEVS)), svc=self.svc(), fams=self.fams())
        return R(rng.choice(["DROP", "REJECT"]), src=self.addr(rng.choice(DEVS)), fams=self.fams())

    def output_rule(self):
        rng = self.rng
        k = rng.random()
        if k < 0.3:
            return R("ACCEPT", svc=rng.choice([Svc("udp", [(53, 53)]), Svc("tcp", [(80, 80), (443, 443)]),
                                               Svc("udp", [(123, 123)])]))
        if k < 0.5:
            return R("ACCEPT", svc=Svc("icmp", icmp=rng.choice(["echo", "any"])))
        if k < 0.65:
            return R("ACCEPT", oif="eth3")
        if k < 0.8:
            return R("ACCEPT", dst=self.addr("eth2"), svc=self.svc(), fams=self.fams())
        dev = rng.choice(DEVS)
        return R("ACCEPT", src=Addr(FWADDR[dev][0] + "/32", FWADDR[dev][1] + "/128"), svc=self.svc(),
                 fams=self.fams())

    def port_forwards(self, role):
        rng = self.rng
        out = []
        for _ in range(rng.randint(1, 3)):
            fam = 4 if rng.random() < 0.85 else 6
            dev = "eth2" if role == "dmz" and rng.random() < 0.7 else "eth3"
            h = self.host(dev)
            target = h.t[fam].split("/")[0]
            proto = "tcp" if rng.random() < 0.8 else "udp"
            tport = rng.choice([22, 80, 443, 25, 3389, 53, 5060]) if proto == "tcp" else rng.choice([53, 1194, 5060])
            rewrite = rng.random() < 0.6
            dport = rng.choice([8080, 2222, 8443, 10000 + rng.randrange(50000)]) if rewrite else tport
            out.append(dict(fam=fam, target=target, tport=tport, dport=dport, proto=proto, rewrite=rewrite,
                            iif="eth1" if rng.random() < 0.85 else None, to_own=rng.random() < 0.7))
        return out

    def forward_body(self, role, fwd, user):
        """Appends FORWARD's rules; returns a rule that must come last, or None."""
        rng = self.rng
        last = None
        # The LAN goes out, as it is or filtered.
        if rng.random() < 0.7:
            fwd.append(self.comment(R("ACCEPT", iif="eth3", oif="eth1", src=self.net("eth3") if rng.random() < 0.4
                                      else None)))
        else:
            for _ in range(rng.randint(1, 3)):
                fwd.append(R("ACCEPT", iif="eth3", oif="eth1", svc=self.svc(), fams=self.fams()))
        if role == "dmz" or rng.random() < 0.5:
            # Outside to the servers, through a user chain.
            name = rng.choice(["DMZ_IN", "servers", "OUTSIDE-DMZ"])
            body = user.setdefault(name, [])
            if rng.random() < 0.6:
                k = rng.random()
                if k < 0.5:
                    body.append(R("RETURN", src=self.addr("eth1")))
                elif k < 0.75 and self.known_gaps:
                    # Folded into the chain's rules of another protocol:
                    # "two protocol matches" (KNOWN GAPS).
                    body.append(R("RETURN", svc=Svc("udp")))
                elif k < 0.75:
                    body.append(R("RETURN", src=self.net("eth1")))
                else:
                    body.append(R("RETURN", dst=self.host("eth2")))
            for _ in range(rng.randint(2, 5)):
                k = rng.random()
                if k < 0.5:
                    body.append(self.comment(R("ACCEPT", dst=self.host("eth2"), svc=self.svc(), fams=self.fams())))
                elif k < 0.65:
                    body.append(R("ACCEPT", svc=Svc("icmp", icmp="echo")))
                elif k < 0.8:
                    bad = self.addr("eth1")
                    f = self.fams()
                    body.append(R("LOG", src=bad, fams=f, jump_opts='--log-prefix "dmz blocked: "'))
                    body.append(R("DROP", src=bad, fams=f))
                else:
                    body.append(R("REJECT", dst=self.net("eth2"), svc=self.svc(), fams=self.fams()))
            goto = rng.random() < 0.3
            if goto or rng.random() < 0.3:
                body.append(R(rng.choice(["DROP", "REJECT"])))
            jump = R(("goto:" if goto else "") + name, iif="eth1", oif="eth2")
            if goto and not self.known_gaps:
                # A goto on two conditions with rules after it is refused
                # ("a conditional goto", KNOWN GAPS): it goes last.
                last = jump
            else:
                fwd.append(jump)
        if role == "dmz":
            k = rng.random()
            if k < 0.4:
                fwd.append(R("ACCEPT", iif="eth3", oif="eth2"))
            elif k < 0.7:
                name = "lan_dmz"
                body = user.setdefault(name, [])
                for _ in range(rng.randint(1, 3)):
                    body.append(R("ACCEPT", dst=self.addr("eth2"), svc=self.svc(), fams=self.fams()))
                body.append(R("REJECT", svc=Svc("tcp")))
                fwd.append(R(name, iif="eth3", oif="eth2"))
            for _ in range(rng.randint(0, 3)):
                fwd.append(R("ACCEPT", iif="eth2", oif="eth1", svc=self.svc(), fams=self.fams()))
            if rng.random() < 0.5:
                fwd.append(R("REJECT", iif="eth2", oif="eth3",
                             jump_opts="icmp" if rng.random() < 0.5 else ""))
        for _ in range(rng.randint(0, 3)):
            i, o = rng.sample(DEVS, 2)
            fwd.append(R(rng.choice(["ACCEPT", "ACCEPT", "DROP", "REJECT"]), iif=i, oif=o,
                         src=self.addr(i) if rng.random() < 0.5 else None,
                         dst=self.addr(o) if rng.random() < 0.5 else None,
                         svc=self.svc() if rng.random() < 0.7 else None, fams=self.fams()))
        return last


def save_text(fam, tables):
    """iptables-save text of one family: [(table, [(chain, policy)], [(chain, R)])]."""
    tool = "iptables-save" if fam == 4 else "ip6tables-save"
    out = ["# Generated by %s v1.8.9 (nf_tables)" % tool]
    for table, decl, rules in tables:
        out.append("*" + table)
        for chain, pol in decl:
            out.append(":%s %s [0:0]" % (chain, pol))
        for chain, r in rules:
            if fam in r.fams:
                out.append(render(fam, chain, r))
        out.append("COMMIT")
    out.append("# Completed")
    return "\n".join(out) + "\n"


def generate(seed, known_gaps=False):
    """(v4 text, v6 text, fwc import args, notes) of case seed."""
    pol, chains, user, nat, notes = Gen(seed, known_gaps).generate()
    texts = {}
    for fam in (4, 6):
        decl = [(c, pol[c]) for c in ("INPUT", "FORWARD", "OUTPUT")] + [(u, "-") for u in user]
        rules = [(c, r) for c in ("INPUT", "FORWARD", "OUTPUT") for r in chains[c]]
        rules += [(u, r) for u in user for r in user[u]]
        tables = [("filter", decl, rules)]
        nat_rules = [(c, r) for c in ("PREROUTING", "POSTROUTING") for r in nat[c] if fam in r.fams]
        if nat_rules:
            tables.append(("nat", [(c, "ACCEPT") for c in ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")],
                           nat_rules))
        texts[fam] = save_text(fam, tables)
    return texts[4], texts[6], list(ADDRESS_ARGS), notes


# --- reading iptables-save text back (for the probes) ----------------------------
def split_families(text):
    """(IPv4 text, IPv6 text) of a file holding iptables-save and ip6tables-save
    output one after the other (the "# Generated by ip6tables-save" header starts
    the IPv6 part)."""
    parts = {4: [], 6: []}
    fam = 4
    for line in text.splitlines():
        if line.startswith("# Generated by ip6tables"):
            fam = 6
        elif line.startswith("# Generated by iptables"):
            fam = 4
        parts[fam].append(line)
    return tuple("\n".join(parts[f]) + "\n" if any(l.startswith("*") for l in parts[f]) else "" for f in (4, 6))


class PRule:
    __slots__ = ("fam", "table", "chain", "src", "dst", "iif", "oif", "proto", "dports", "sports", "itype",
                 "icode", "target", "to", "states")

    def __init__(self, fam, table, chain):
        self.fam, self.table, self.chain = fam, table, chain
        self.src = self.dst = self.iif = self.oif = self.proto = self.dports = self.sports = None
        self.itype = self.icode = None
        self.target = self.to = None
        self.states = None


def atom(fam, text):
    if "-" in text:
        lo, hi = text.split("-", 1)
        a, b = int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi))
    else:
        n = ipaddress.ip_network(text, strict=False)
        a, b = int(n.network_address), int(n.broadcast_address)
    return policygen.Atom(fam, a, b, text)


def port_ranges(text, neg):
    out = []
    for item in text.split(","):
        if ":" in item:
            lo, hi = item.split(":")
            out.append((int(lo or 0), int(hi or 65535)))
        else:
            out.append((int(item), int(item)))
    if neg:
        comp, at = [], 0
        for lo, hi in sorted(out):
            if lo > at:
                comp.append((at, lo - 1))
            at = max(at, hi + 1)
        if at <= 65535:
            comp.append((at, 65535))
        out = comp
    return out


def parse(text, fam):
    """The rules of iptables-save text, as PRules (what the probes need)."""
    rules, table = [], None
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("*"):
            table = s[1:]
            continue
        if not s.startswith("-A "):
            continue
        t = shlex.split(s)
        r = PRule(fam, table, t[1])
        i, neg = 2, False
        while i < len(t):
            o = t[i]
            v = t[i + 1] if i + 1 < len(t) else ""
            i += 2
            if o == "!":
                neg, i = True, i - 1
                continue
            if o in ("-s", "-d", "--src-range", "--dst-range"):
                items = [atom(fam, x) for x in v.split(",")]
                setattr(r, "src" if o in ("-s", "--src-range") else "dst", (items, neg))
            elif o in ("-i", "-o"):
                setattr(r, "iif" if o == "-i" else "oif", v)
            elif o == "-p":
                r.proto = PROTO_NUM.get(v.lower(), None) if not v.isdigit() else int(v)
            elif o in ("--dport", "--dports", "--sport", "--sports"):
                setattr(r, "dports" if o.startswith("--d") else "sports", port_ranges(v, neg))
            elif o in ("--icmp-type", "--icmpv6-type"):
                ty, _, code = v.partition("/")
                if ty.isdigit():
                    r.itype = int(ty)
                    r.icode = int(code) if code else None
            elif o in ("--ctstate", "--state"):
                r.states = v.lower().split(",")
            elif o in ("-j", "-g"):
                r.target = ("goto:" if o == "-g" else "") + v
            elif o in ("--to-destination", "--to-source"):
                r.to = v
            elif o == "-m":
                pass
            elif not o.startswith("-"):
                i -= 1  # a stray word
            neg = False
        rules.append(r)
    return rules


def dnat_target(r):
    """(family, address int, port or None) of a DNAT/SNAT rule's --to."""
    to = r.to or ""
    port = None
    if to.startswith("["):
        a, _, rest = to[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    elif r.fam == 4 and ":" in to:
        a, _, p = to.partition(":")
        port = int(p) if p.isdigit() else None
    else:
        a = to
    a = a.split("-")[0]
    try:
        return r.fam, int(ipaddress.ip_address(a)), port
    except ValueError:
        return None


def reach(rules):
    """{(fam, chain): set of base chains that jump or go to it}."""
    jumps = {}
    for r in rules:
        if r.table == "filter" and r.target:
            jumps.setdefault((r.fam, r.chain), set()).add(r.target.replace("goto:", ""))
    out = {}
    for base in ("INPUT", "FORWARD", "OUTPUT"):
        for fam in (4, 6):
            todo, seen = [base], set()
            while todo:
                c = todo.pop()
                if c in seen:
                    continue
                seen.add(c)
                out.setdefault((fam, c), set()).add(base)
                todo += list(jumps.get((fam, c), ()))
    return out


def as_policy(rules):
    """The rules as a policygen.Policy, for probesel.Selector: each rule with its
    addresses, services and interfaces (INPUT rules without -d are about the
    firewall's addresses, OUTPUT rules without -s too)."""
    pol = policygen.Policy()
    reached = reach(rules)
    fw = {f: [a for a in policygen.fw_atoms() if a.fam == f] for f in (4, 6)}
    # What INPUT sees besides the firewall's addresses: its networks'
    # broadcasts, multicast, the subnet-router anycast addresses.
    local = {f: fw[f] + [policygen.Atom(f, a, a, "x") for a in sorted(probesel.BCAST[f])] for f in (4, 6)}
    local[6] += [policygen.Atom(6, a, a, "x") for a in sorted(probesel.ANYCAST)]
    for r in rules:
        if r.target in ("LOG",):
            continue
        if r.table == "filter" and (r.states and "new" not in r.states):
            continue
        bases = reached.get((r.fam, r.chain), {r.chain})
        src = policygen.Slot(r.src[0], r.src[1]) if r.src else policygen.Slot()
        dst = policygen.Slot(r.dst[0], r.dst[1]) if r.dst else policygen.Slot()
        if r.table == "filter" and bases == {"INPUT"} and not r.dst:
            dst = policygen.Slot(local[r.fam])
        if r.table == "filter" and bases == {"OUTPUT"} and not r.src:
            src = policygen.Slot(fw[r.fam])
        if r.proto in (6, 17):
            svc = policygen.Slot([policygen.Svc("tcp" if r.proto == 6 else "udp", "x", r.dports, r.sports)])
        elif r.proto in (1, 58):
            svc = policygen.Slot([policygen.Svc("icmp" if r.proto == 1 else "icmpv6", "x",
                                                itype=r.itype, icode=r.icode)])
        elif r.proto is not None:
            svc = policygen.Slot([policygen.Svc(r.proto, "x")])
        else:
            svc = policygen.Slot()
        pr = policygen.Rule("accept", svc, src, dst, section="nat" if r.table == "nat" else None)
        pr.iif, pr.oif = r.iif, r.oif
        if r.target in ("DNAT", "SNAT"):
            t = dnat_target(r)
            if t:
                pr.to = policygen.Atom(t[0], t[1], t[1], "x")
        (pol.nat if r.table == "nat" else pol.rules).append(pr)
    return pol


def select_probes(rules, rng, budget):
    pol = as_policy(rules)
    sel = probesel.Selector(pol, rng)
    probes = sel.select(int(budget * 0.85))
    seen = {p.key() for p in probes}

    def add(p):
        if p is not None and p.key() not in seen:
            seen.add(p.key())
            probes.append(p)
    # Every pair of interfaces, both families: echo, a TCP and a UDP port the
    # rules name (or any); to and from the firewall on each interface.
    dports = {6: [], 17: []}
    for r in rules:
        if r.proto in dports and r.dports:
            dports[r.proto] += [lo for lo, hi in r.dports]
    for fam in (4, 6):
        echo = (ICMP, 0, 0, 8, 0) if fam == 4 else (ICMPV6, 0, 0, 128, 0)
        for i in DEVS:
            for o in DEVS:
                for svc in (echo, (TCP, 40000, rng.choice(dports[6] or [80]), 0, 0),
                            (UDP, 40000, rng.choice(dports[17] or [53]), 0, 0)):
                    s = random_in(rng, ZONES[i][fam])
                    d = random_in(rng, [n for n in ZONES[o][fam]])
                    if probesel.ROUTE.dev(fam, d) != o:
                        continue
                    add(sel.make(fam, s, d, svc, i))
            for svc in (echo, (TCP, 40000, rng.choice(dports[6] or [22]), 0, 0)):
                own = int(ipaddress.ip_address(FWADDR[i][0 if fam == 4 else 1]))
                add(sel.make(fam, random_in(rng, ZONES[rng.choice(DEVS)][fam]), own, svc, i))
                add(sel.make(fam, own, random_in(rng, ZONES[i][fam]), svc, None))
    return probes


def random_in(rng, nets):
    n = ipaddress.ip_network(rng.choice(nets))
    return int(n.network_address) + 3 + rng.randrange(max(1, min(n.num_addresses - 4, 1 << 20)))


def unique_sports(probes, rules, rng):
    """Source ports no rule tells apart become unique per probe, so that no two
    probes meet in conntrack once NAT has changed their addresses (a DNAT of
    several destinations to one server, a masquerade): the kernel picks a
    random port for a clash, which would differ between the loads. A port
    inside a --sport range moves within that range; the edges of the ranges
    (and +-1) stay, and a second probe from the same source and edge port is
    left out."""
    ranges = sorted({rg for r in rules for rg in (r.sports or [])})
    edges = {x for lo, hi in ranges for x in (lo - 1, lo, hi, hi + 1)}

    def klass(x):
        return tuple(lo <= x <= hi for lo, hi in ranges)
    pools = {}
    used = set()
    out, seen = [], set()
    for p in probes:
        if p.proto in (TCP, UDP) and p.sport not in edges:
            k = klass(p.sport)
            if k not in pools:
                if any(k):
                    lo = max(lo for (lo, hi), inside in zip(ranges, k) if inside)
                    hi = min(hi for (lo, hi), inside in zip(ranges, k) if inside)
                    cand = range(max(1, lo), hi + 1)
                else:
                    cand = range(1024, 65536)
                pool = [x for x in cand if x not in edges and klass(x) == k] if len(cand) < 70000 else []
                rng.shuffle(pool)
                pools[k] = pool
            for x in pools[k]:
                if (p.fam, p.proto, p.src, x) not in used:
                    pools[k].remove(x)
                    p.sport = x
                    break
        if p.proto in (TCP, UDP) and (p.fam, p.proto, p.src, p.sport) in used:
            continue  # an edge port again from the same source: left out
        used.add((p.fam, p.proto, p.src, p.sport))
        if p.key() not in seen:
            seen.add(p.key())
            out.append(p)
    for i, p in enumerate(out):
        p.pid = i + 1
    return out


# --- the kernel ----------------------------------------------------------------------
def outcome(obs, p):
    w = obs.arrived.get(p.pid)
    if w is not None:
        return ("accept", w, obs.tuples.get(p.pid))
    ans = obs.answers.get(p.pid)
    if ans:
        return ("answered",) + tuple(sorted(set(ans)))
    return ("drop",)


def outcome_text(p, o):
    if o[0] == "accept":
        return "arrived at %s as %s" % (o[1], probesel.tuple_text(p, o[2]) if o[2] else "?")
    if o[0] == "answered":
        return "answered with " + ",".join(o[1:])
    return "dropped"


def reject_kind_only(p, a, b):
    """A TCP probe rejected with an ICMP port-unreachable by one side and a reset
    by the other (fwc's reject always resets TCP)."""
    return p.proto == TCP and {a, b} == {("answered", "rst"), ("answered", "unreach")}


class Side(fidelity.Harness):
    def load_original(self, v4, v6):
        self.lab.flush_ruleset()
        for tool, text in (("iptables-restore", v4), ("ip6tables-restore", v6)):
            if text:
                p = self.lab.ns(self.lab.fw, tool, ok=range(256), inp=text)
                if p.returncode != 0:
                    return "%s failed (exit %d): %s" % (tool, p.returncode, (p.stderr or p.stdout).strip()[:1500])
        self.lab.flush_conntrack()
        return None

    def load_any(self, which, case):
        if which == "original":
            return self.load_original(case.v4, case.v6)
        return self.load(which, None, None, case.art)

    def run_side(self, which, case, probes):
        try:
            err = self.load_any(which, case)
        except RuntimeError as e:  # a loader killed by a signal (nft's assertions)
            err = str(e)
        if err:
            return err, None
        obs = self.send(probes)
        return None, {p.pid: outcome(obs, p) for p in probes}


def run_fwc(args, *cmd):
    return subprocess.run([args.fwc] + list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Case:
    def __init__(self, name, v4, v6, import_args, files, notes=""):
        self.name, self.v4, self.v6, self.import_args, self.files, self.notes = name, v4, v6, import_args, files, notes
        self.devices = []  # what the lab's firewall needs besides its links (fwblab.Device)


def prepare(args, case, work):
    """Imports (with --check) and compiles; returns (artifacts, error)."""
    out = os.path.join(work, "import.fw")
    p = run_fwc(args, "import", "--check", "-o", out, *case.import_args, "--", *case.files)
    case.import_out = p.stdout + p.stderr
    if p.returncode != 0 or not p.stdout.startswith("equivalent"):
        return None, "fwc import --check exit %d:\n%s" % (p.returncode, (p.stdout + p.stderr).strip())
    art = {}
    for b in args.backends:
        path = os.path.join(work, "import." + ("nft" if b == "nft" else "sh"))
        c = run_fwc(args, "compile", "--no-analysis", "-t", b, out, "-o", path)
        if c.returncode != 0:
            return None, "fwc compile -t %s exit %d:\n%s" % (b, c.returncode, c.stderr.strip())
        art[b] = path
    return art, None


def keep(args, case, work, lines):
    if not args.keep:
        return None
    os.makedirs(args.keep, exist_ok=True)
    dest = os.path.join(args.keep, case.name)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(work, dest)
    for f in case.files:
        if not os.path.exists(os.path.join(dest, os.path.basename(f))):
            shutil.copy(f, dest)
    with open(os.path.join(dest, "report.txt"), "w") as f:
        f.write("# %s\n# fwc import --check %s -- %s\n" % (case.name, " ".join(case.import_args),
                                                         " ".join(os.path.basename(x) for x in case.files)))
        f.write("\n".join(lines) + "\n")
    return dest


def corpus_cases(args):
    out = []
    paths = sorted(glob.glob(os.path.join(args.corpus, "*.rules"))) if args.corpus else []
    for path in paths + args.rules:
        files = path.split(",")  # V4FILE,V6FILE: imported as two files, as fwc import takes them
        texts = []
        for p in files:
            with open(p) as f:
                texts.append(f.read())
        first = texts[0].splitlines()[0] if texts[0] else ""
        iargs = []
        if first.startswith("# fwc-import-args:"):
            iargs = shlex.split(first.split(":", 1)[1])
        if len(files) == 2:
            v4, v6 = texts
        else:
            v4, v6 = split_families(texts[0])
        name = os.path.basename(files[0])
        out.append(Case("corpus-" + (name[:-6] if name.endswith(".rules") else name), v4, v6, iargs,
                        [os.path.abspath(p) for p in files]))
    return out


def run_case(args, h, case, probes, stats, failures, work, t0):
    """Loads the original and each backend's output of the import, sends the
    probes to each, and resends the ones that differ; returns (differences,
    probes sent per backend, reject-kind differences, agreed when resent)."""
    ndiff = nprobes = nkind = nresent = 0
    for p in probes:
        k = ({"fwd": "through", "in": "to fw", "out": "from fw"}[p.kind],
             {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(p.proto, "other"), "ipv%d" % p.fam)
        for x in k:
            stats[x] = stats.get(x, 0) + 1
    err, base = h.run_side("original", case, probes)
    if err:
        failures.append((case.name, "the original does not load: " + err.splitlines()[0]))
        print("%s: ORIGINAL DOES NOT LOAD: %s" % (case.name, err), flush=True)
        keep(args, case, work, [err])
        return ndiff, nprobes, nkind, nresent
    for o in base.values():
        stats["orig " + o[0]] = stats.get("orig " + o[0], 0) + 1
    notes, lines = [], []
    for b in args.backends:
        err, got = h.run_side(b, case, probes)
        if err:
            failures.append((case.name, "%s does not load: %s" % (b, err.splitlines()[0])))
            notes.append("%s LOAD ERROR" % b)
            lines.append(err)
            continue
        nprobes += len(probes)

        def differs(p, a, c):
            return a != c and (args.strict_reject or not reject_kind_only(p, a, c))
        sus = [p for p in probes if differs(p, base[p.pid], got[p.pid])]
        kinds = [p for p in probes if base[p.pid] != got[p.pid] and not differs(p, base[p.pid], got[p.pid])]
        nkind += len(kinds)
        first = len(sus)
        seen_o, seen_b = {p.pid: [base[p.pid]] for p in sus}, {p.pid: [got[p.pid]] for p in sus}
        for _ in range(2):
            if not sus:
                break
            _, o2 = h.run_side("original", case, sus)
            _, b2 = h.run_side(b, case, sus)
            for p in sus:
                seen_o[p.pid].append(o2[p.pid])
                seen_b[p.pid].append(b2[p.pid])
            sus = [p for p in sus if differs(p, o2[p.pid], b2[p.pid])]
        nresent += first - len(sus)
        if not args.quiet:
            for p in [p for p in seen_o if p not in {q.pid for q in sus}][:3]:
                q = next(x for x in probes if x.pid == p)
                lines.append("%s: agreed when sent again: %s: original %s; %s %s" % (
                    b, q.query_line(), "; ".join(outcome_text(q, o) for o in seen_o[p]), b,
                    "; ".join(outcome_text(q, o) for o in seen_b[p])))
        ndiff += len(sus)
        notes.append("%s %s" % (b, "ok" if not sus else "%d DIFFERENCES" % len(sus)) +
                     (" (%d reject kind)" % len(kinds) if kinds else "") +
                     (" (%d agreed when sent again)" % (first - len(sus)) if first > len(sus) else ""))
        for p in sus:
            lines.append("%s: %s (%s)\n    original: %s\n    %s: %s" % (
                b, p.query_line(), p.kind, "; ".join(outcome_text(p, o) for o in seen_o[p.pid]), b,
                "; ".join(outcome_text(p, o) for o in seen_b[p.pid])))
        if kinds and not args.quiet:
            p = kinds[0]
            lines.append("%s: reject kind (tolerated): %s: original %s, %s %s" % (
                b, p.query_line(), outcome_text(p, base[p.pid]), b, outcome_text(p, got[p.pid])))
    bad = any("DIFFERENCES" in n or "ERROR" in n for n in notes)
    if bad:
        failures.append((case.name, ", ".join(notes)))
    per = {k: sum(1 for p in probes if p.kind == k) for k in ("fwd", "in", "out")}
    if not args.quiet or bad:
        print("%s: %s%d probes (%d through, %d to, %d from the firewall): %s (%.1f s)" % (
            case.name, case.notes + "; " if case.notes else "", len(probes), per["fwd"], per["in"],
            per["out"], ", ".join(notes), time.monotonic() - t0), flush=True)
        for l in [l for l in lines if "agreed when sent again" in l][:6] + \
                [l for l in lines if "agreed when sent again" not in l][:12 if bad else 1]:
            print("  " + l.replace("\n", "\n  "))
        if bad:
            dest = keep(args, case, work, lines)
            if dest:
                print("  kept in %s" % dest)
    return ndiff, nprobes, nkind, nresent


def fwb_cases(args, tmp, netns):
    """The cases of --fwb FILE[:NAME]: every iptables firewall of FILE (or
    the one named) that fwc imports fully and fwb_ipt compiles, moved into the
    lab (fwblab.fit); the original is what fwb_ipt's script builds. Returns
    (cases, skipped: list of (name, why), failed: list of (name, why))."""
    cases, skipped, failed = [], [], []
    for spec in args.fwb:
        path, _, only = spec.partition(":") if not os.path.exists(spec) else (spec, "", "")
        names = [only] if only else fwblab.firewalls(path)
        plain = fwblab.uncompressed(path, tmp)
        for name in names:
            d = os.path.join(tmp, "fwb-" + name)
            os.makedirs(d, exist_ok=True)
            # Full as the file has it, not only once moved into the lab.
            p = run_fwc(args, "import", plain, "--firewall", name, "-o", os.path.join(d, "probe.fw"))
            if p.returncode != 0:
                skipped.append((name, "not a full import"))
                continue
            fitted = os.path.join(d, name + ".fwb")
            devices, _ = fwblab.fit(path, name, fitted)
            script, why = fwblab.compile_script(fitted, name, os.path.join(d, name + ".sh"))
            if script is None:
                skipped.append((name, "fwb_ipt refuses it: " + why))
                continue
            try:
                v4, v6 = fwblab.original_tables(script, devices, netns)
            except fwblab.ScriptFailed as e:
                # The peer's own output needs what this kernel lacks (the
                # ULOG target): nothing to compare with; listed, not failed.
                skipped.append((name, "fwb_ipt's script does not load here: " + e.last_error))
                continue
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                failed.append(("fwb-" + name, "the lab cannot run fwb_ipt's script: %s" % e))
                continue
            c = Case("fwb-" + name, v4, v6, ["--firewall", name, "--against", script], [fitted],
                     "Firewall Builder %s" % os.path.basename(path))
            c.devices = devices
            cases.append(c)
    return cases, skipped, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=20, help="random cases (seeds S .. S+N-1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--probes", type=int, default=450, help="probes per case (about)")
    ap.add_argument("--keep", default="/tmp/fwc-import-sidebyside", help="where failing cases are kept ('' : not)")
    ap.add_argument("--backends", default="nft,iptables")
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "import", "iptables"),
                    help="directory of *.rules files to run too ('' : none)")
    ap.add_argument("--rules", action="append", default=[], metavar="FILE",
                    help="a ruleset to run too: one file (iptables-save then ip6tables-save output) or "
                         "V4FILE,V6FILE; the first line may be '# fwc-import-args: ARGS'; repeatable")
    ap.add_argument("--fwb", action="append", default=[], metavar="FILE[:NAME]",
                    help="Firewall Builder firewalls to run too: every iptables firewall of FILE (.fwb, or .fwb.gz) "
                         "that fwc imports fully and fwb_ipt compiles, or the one named; repeatable")
    ap.add_argument("--known-gaps", action="store_true",
                    help="let the generator write what fwc import is known to refuse or change (see KNOWN GAPS)")
    ap.add_argument("--strict-reject", action="store_true",
                    help="count a TCP probe answered by a port-unreachable on one side and a reset on the other")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--fwc", default=os.path.join(HERE, "..", "..", "build", "fwc"))
    args = ap.parse_args()
    args.fwc = os.path.abspath(args.fwc)
    args.backends = [b for b in args.backends.split(",") if b]
    for b in args.backends:
        if b not in ("nft", "iptables"):
            ap.error("unknown backend %r (nft, iptables)" % b)
    if not os.access(args.fwc, os.X_OK):
        print("import_sidebyside: no fwc binary at %s" % args.fwc, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("import_sidebyside: skipped: needs root (network namespaces)")
        return 77
    for tool in ("ip", "nft", "iptables-restore", "ip6tables-restore") + (("fwb_ipt",) if args.fwb else ()):
        if not shutil.which(tool):
            print("import_sidebyside: skipped: %s is missing" % tool)
            return 77
    probe_ns = "fwcimp-probe-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", probe_ns], stderr=subprocess.DEVNULL).returncode != 0:
        print("import_sidebyside: skipped: cannot create a network namespace")
        return 77
    subprocess.run(["ip", "netns", "del", probe_ns])
    for ns in lab.leftovers("fwcimp-"):
        try:
            os.kill(int(ns.split("-")[1]), 0)
        except (ValueError, IndexError):
            continue
        except ProcessLookupError:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        except PermissionError:
            pass
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="fwcimp-")
    h = Side(argparse.Namespace(fwc=args.fwc, mutate=False))
    h.lab = lab.Lab("fwcimp-%d-" % os.getpid())
    ncases = nprobes = ndiff = nkind = nresent = 0
    failures = []
    stats = {}
    try:
        h.up()
        if not h.calibrate():
            print("the lab does not behave as the suite assumes; nothing was tested")
            print("0 cases, 0 probes per backend, 0 differences")
            return 2
        cases = []
        for i in range(args.cases):
            seed = args.seed + i
            v4, v6, iargs, notes = generate(seed, args.known_gaps)
            d = os.path.join(tmp, "seed-%d" % seed)
            os.makedirs(d)
            files = []
            for fam, text in ((4, v4), (6, v6)):
                path = os.path.join(d, "v%d.rules" % fam)
                with open(path, "w") as f:
                    f.write(text)
                files.append(path)
            cases.append(Case("seed-%d" % seed, v4, v6, iargs, files, ", ".join(notes)))
        cases += corpus_cases(args)
        fwb, fwb_skipped, fwb_failed = fwb_cases(args, tmp, "fwcimp-%d-scratch" % os.getpid())
        cases += fwb
        failures += fwb_failed
        ncases += len(fwb_failed)
        for name, why in fwb_failed:
            print("%s: %s" % (name, why), flush=True)
        for name, why in fwb_skipped:
            if not why.startswith("not a full import"):
                print("fwb-%s: skipped: %s" % (name, why), flush=True)
        if args.fwb:
            print("Firewall Builder firewalls: %d fully imported and compiled by fwb_ipt, %d skipped (%s)" % (
                len(fwb) + len(fwb_failed), len(fwb_skipped), ", ".join(
                    "%d %s" % (n, w) for w, n in sorted(
                        {w.split(":")[0]: sum(1 for _, x in fwb_skipped if x.split(":")[0] == w.split(":")[0])
                         for _, w in fwb_skipped}.items()))), flush=True)
        for case in cases:
            t0 = time.monotonic()
            work = os.path.join(tmp, case.name + ".work")
            os.makedirs(work)
            for f in case.files:
                if os.path.dirname(f) != work:
                    shutil.copy(f, work)
            ncases += 1
            art, err = prepare(args, case, work)
            if err:
                failures.append((case.name, err.splitlines()[0]))
                dest = keep(args, case, work, [err])
                print("%s: IMPORT FAILED (%s)\n%s%s" % (case.name, case.notes or "corpus",
                                                       "".join("  | " + l + "\n" for l in err.splitlines()[:40]),
                                                       "  kept in %s" % dest if dest else ""), flush=True)
                continue
            case.art = art
            rules = parse(case.v4, 4) + parse(case.v6, 6)
            seed = int(case.name.split("-")[1]) if case.name.startswith("seed-") else \
                sum(map(ord, case.name)) + args.seed
            probes = select_probes(rules, random.Random(seed), args.probes)
            # A family the ruleset does not have is not probed: the kernel
            # then has no rules for it, the import gives it the policy's
            # default (and says so in the policy's header).
            fams = {f for f, text in ((4, case.v4), (6, case.v6)) if text.strip()}
            probes = unique_sports([p for p in probes if p.fam in fams], rules, random.Random(seed + 1))
            if case.devices:
                # The lab's routes do not know the addresses fwblab adds: a
                # probe from the firewall to one of them goes through lo,
                # which fwc always lets pass (fwc import says so).
                own = {(4 if ":" not in a else 6, int(ipaddress.ip_interface(a).ip))
                       for d in case.devices for a in d.addrs}
                probes = [p for p in probes if not (p.kind == "out" and (p.fam, p.dst) in own)]
                # Nor by a link of the lab the firewall has no interface for:
                # fwc import writes "any interface" (fwb_ipt's "-i +") as each
                # of the firewall's interfaces, and --check compares those.
                absent = set(fwblab.LAB_DEVS) - {d.name for d in case.devices if d.in_lab}
                probes = [p for p in probes if p.iif not in absent and p.oif not in absent]
                # Nor ICMPv6 neighbour discovery and MLD, which conntrack does
                # not track: fwc lets ND pass on its own, and its rules match
                # untracked packets, while fwb_ipt's rules match state NEW,
                # which these never are (a known difference).
                probes = [p for p in probes if not (p.proto == ICMPV6 and p.itype in UNTRACKED_ICMPV6)]
            neigh = [(p.fam, a) for p in probes for a in (p.src, p.dst)]
            for r in rules:
                if r.target in ("DNAT", "SNAT") and dnat_target(r):
                    fam, a, _ = dnat_target(r)
                    neigh.append((fam, a))
            h.lab.add_neighbours(neigh)
            if case.devices:
                fwblab.add_devices(h.lab.fw, case.devices, True)
            try:
                counts = run_case(args, h, case, probes, stats, failures, work, t0)
            finally:
                if case.devices:
                    fwblab.remove_devices(h.lab.fw, case.devices)
            ndiff += counts[0]
            nprobes += counts[1]
            nkind += counts[2]
            nresent += counts[3]
    finally:
        h.down()
        shutil.rmtree(tmp, ignore_errors=True)
    wall = time.monotonic() - start
    print("probes: %s" % ", ".join("%s %d" % (k, stats[k]) for k in (
        "through", "to fw", "from fw", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6", "other") if k in stats))
    print("outcomes with the original ruleset: %s" % ", ".join(
        "%s %d" % (k[5:], v) for k, v in sorted(stats.items()) if k.startswith("orig ")))
    print("%d probes differed on the first try only (agreed when sent again)" % nresent)
    if nkind:
        print("%d TCP probes answered with a port-unreachable by the original and a reset by the import, or the "
              "other way round (tolerated%s)" % (nkind, "; --strict-reject counts them" if not args.strict_reject
                                                  else ""))
    for name, why in failures:
        print("FAILED %s: %s" % (name, why))
    print("wall time %.0f s" % wall)
    print("%d cases, %d probes per backend, %d differences" % (
        ncases, nprobes // max(1, len(args.backends)), ndiff))
    return 1 if ndiff or failures else 0


if __name__ == "__main__":
    sys.exit(main())
