"""Which packets to send for a policy, and what the kernel must do with each.

Probes aim at rule boundaries: the first and last address of every host,
prefix and range in the policy and one just outside each, the edges of
every port range and edge +-1, every ICMP type and code used and some that
are not, the protocols used and one that is not, each interface in and out
-- combined rule by rule (one dimension at a boundary, the others drawn
from the same rule, so that the rule can match), plus random points.

expected() turns fwc query's verdict into what the taps must observe. It
adds only what the kernel does outside the rules and what fwc(8) and
fwc.policy(5) document: conntrack drops a first packet it finds invalid
(ICMP types that cannot open a connection) in a stateful policy; a reject
cannot answer a broadcast, a multicast or an ICMP error; and in a
stateless policy the reject's answer, sent by the firewall, must itself
pass the output chain.
"""
import ipaddress

import lab
import policygen
from packets import ICMP, ICMPV6, TCP, UDP, Probe

FW = {4: set(), 6: set()}
for _a in policygen.fw_atoms():
    FW[_a.fam].add(_a.lo)
FW_BY_DEV = {}
for _l, _dev, _addrs in policygen.FIREWALL:
    for _t in _addrs:
        _ip = ipaddress.ip_interface(_t)
        FW_BY_DEV[(_dev, _ip.version)] = int(_ip.ip)


def _a(text):
    return int(ipaddress.ip_address(text))


BCAST = {4: {_a("10.1.1.255"), _a("10.1.2.255"), _a("10.1.3.255"), _a("255.255.255.255"), _a("224.0.0.1")},
         6: {_a("ff02::1")}}
BCAST_MAC = {_a("224.0.0.1"): bytes.fromhex("01005e000001"), _a("ff02::1"): bytes.fromhex("333300000001")}
# The subnet-router anycast address of each IPv6 network: a forwarding Linux
# delivers it locally, and fwc counts it among the firewall's destinations.
ANYCAST = {_a("2001:db8:1::"), _a("2001:db8:2::"), _a("2001:db8:3::")}

CT_NEW = {4: {8, 13, 15, 17}, 6: {128, 139, 130, 131, 132, 133, 134, 135, 136, 143}}
# icmp_send() never answers these (net/ipv4/icmp.c marks them errors in
# icmp_pointers[], router advertisements and solicitations included).
ICMP4_ERRORS = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12}
DEVS = [d for _, d, _ in policygen.FIREWALL]
ROUTE = lab.Route()


def classify(fam, a):
    if a in FW[fam]:
        return "fw"
    if a in BCAST[fam]:
        return "bcast"
    if fam == 4:
        if a >> 24 in (0, 127) or a >= 0xe0000000:
            return "bad"  # martians, multicast and class E
    else:
        if a in ANYCAST:
            return "bcast"
        if a >> 120 in (0, 0xff) or a >> 118 == 0x3fa:
            return "bad"  # ::/8 (unspecified, loopback, mapped), multicast, link-local
    return "normal"


def dst_mac(p):
    if p.dst in BCAST_MAC:
        return BCAST_MAC[p.dst]
    if p.fam == 4 and p.dst in BCAST[4]:
        return b"\xff" * 6
    return lab.fw_mac(p.iif)


class Selector:
    def __init__(self, policy, rng):
        self.p, self.rng = policy, rng
        self.points = {4: set(), 6: set()}
        for o in policy.objects:
            for x in o.items:
                if isinstance(x, policygen.Atom):
                    self.points[x.fam] |= set(self.bounds(x))
        for r in policy.rules:
            for s in (r.src, r.dst):
                for x in s.items or []:
                    if isinstance(x, policygen.Atom):
                        self.points[x.fam] |= set(self.bounds(x))
        for fam in (4, 6):
            self.points[fam] |= FW[fam] | BCAST[fam]
            for n in policygen.POOLS[fam]:
                net = ipaddress.ip_network(n)
                self.points[fam].add(int(net.network_address) + rng.randrange(net.num_addresses))
        self.points[6] |= ANYCAST
        self.points = {f: sorted(v) for f, v in self.points.items()}
        self.used_types = {4: set(), 6: set()}
        self.used_protos = set()
        for o in policy.objects:
            for x in o.items:
                if isinstance(x, policygen.Svc):
                    self.note(x)
        for r in policy.rules:
            for x in r.svc.items or []:
                if isinstance(x, policygen.Svc):
                    self.note(x)

    def note(self, s):
        if s.proto == "icmp" and s.itype is not None:
            self.used_types[4].add(s.itype)
        elif s.proto == "icmpv6" and s.itype is not None:
            self.used_types[6].add(s.itype)
        elif isinstance(s.proto, int):
            self.used_protos.add(s.proto)

    def bounds(self, atom):
        top = (1 << (32 if atom.fam == 4 else 128)) - 1
        out = [atom.lo, atom.hi]
        if atom.lo > 0:
            out.append(atom.lo - 1)
        if atom.hi < top:
            out.append(atom.hi + 1)
        if atom.hi - atom.lo >= 2:
            out.append(self.rng.randrange(atom.lo + 1, atom.hi))
        return out

    # --- per slot -----------------------------------------------------------
    def addr_cands(self, slot, fam):
        """(edges, matching): every boundary point of the slot's addresses, and
        points the slot matches (inside, or outside when negated)."""
        if slot.items is None:
            pts = self.rng.sample(self.points[fam], min(12, len(self.points[fam])))
            return pts, pts
        atoms = [a for x in slot.items for a in policygen.atoms_of(self.p, x) if a.fam == fam]
        edges = set()
        for a in atoms:
            edges |= set(self.bounds(a))
        edges |= set(self.rng.sample(self.points[fam], min(4, len(self.points[fam]))))

        def inside(v):
            return any(a.lo <= v <= a.hi for a in atoms)
        match = [v for v in edges if inside(v) != slot.neg]
        return sorted(edges), sorted(match)

    def port_cands(self, ranges):
        if not ranges:
            return [self.rng.choice([1024, 40000, 53, 65535, 1, self.rng.randrange(65536)])]
        out = []
        for lo, hi in ranges:
            out += [lo, hi]
            if lo > 0:
                out.append(lo - 1)
            if hi < 65535:
                out.append(hi + 1)
            if hi - lo >= 2:
                out.append(self.rng.randrange(lo + 1, hi))
        return sorted(set(out))

    def inside(self, ranges):
        if not ranges:
            return self.rng.choice([1024, 40000, 12345, self.rng.randrange(65536)])
        lo, hi = self.rng.choice(ranges)
        return self.rng.randint(lo, hi)

    def svc_points(self, s, fam):
        """(proto, sport, dport, type, code) probes at the edges of one item."""
        out = []
        if s.proto in ("tcp", "udp"):
            proto = TCP if s.proto == "tcp" else UDP
            for d in self.port_cands(s.dports):
                out.append((proto, self.inside(s.sports), d, 0, 0))
            if s.sports:
                for sp in self.port_cands(s.sports):
                    out.append((proto, sp, self.inside(s.dports), 0, 0))
            if not s.dports:
                out.append((proto, self.inside(None), self.rng.randrange(65536), 0, 0))
                out.append((proto, self.inside(None), self.rng.choice([0, 65535]), 0, 0))
        elif s.proto in ("icmp", "icmpv6"):
            if (s.proto == "icmp") != (fam == 4):
                return []
            proto = ICMP if fam == 4 else ICMPV6
            if s.itype is None:
                types = sorted(policygen.CT_NEW[fam]) + ([3, 0, 42] if fam == 4 else [1, 129, 200])
                for t in self.rng.sample(types, 3):
                    out.append((proto, 0, 0, t, self.rng.choice([0, 0, 1, 4])))
            else:
                c = s.icode if s.icode is not None else 0
                codes = {c, c + 1, max(0, c - 1)} if s.icode is not None else {0, self.rng.randrange(1, 16)}
                for code in sorted(codes):
                    out.append((proto, 0, 0, s.itype, code))
        else:
            out.append((s.proto, 0, 0, 0, 0))
        return out

    def unused(self, fam):
        """A service point the policy does not name."""
        k = self.rng.random()
        if k < 0.4:
            return (self.rng.choice([TCP, UDP]), self.inside(None), self.rng.randrange(65536), 0, 0)
        if k < 0.75:
            pool = [t for t in (sorted(CT_NEW[fam]) + ([0, 3, 11, 42] if fam == 4 else [1, 3, 129, 200]))
                    if t not in self.used_types[fam]]
            if pool:
                return (ICMP if fam == 4 else ICMPV6, 0, 0, self.rng.choice(pool), 0)
        pool = [x for x in policygen.GENERIC if x not in self.used_protos]
        return (self.rng.choice(pool or policygen.GENERIC), 0, 0, 0, 0)

    def svc_cands(self, slot, fam):
        """(edges, matching) service points, as addr_cands."""
        edges, match = [], []
        for x in slot.items or []:
            for sv in policygen.svcs_of(self.p, x):
                pts = self.svc_points(sv, fam)
                edges += pts
                match += [pt for pt in pts if self.svc_match(sv, pt)]
        unused = [self.unused(fam) for _ in range(4)]
        if slot.items is None:
            return unused, unused
        if slot.neg:
            # Anything none of the items matches.
            items = [sv for x in slot.items for sv in policygen.svcs_of(self.p, x)]
            match = [pt for pt in edges + unused if not any(self.svc_match(sv, pt) for sv in items)]
        return edges + unused, match

    @staticmethod
    def svc_match(sv, pt):
        proto, sport, dport, itype, icode = pt
        if sv.proto in ("tcp", "udp"):
            return (proto == (TCP if sv.proto == "tcp" else UDP)
                    and (not sv.dports or any(lo <= dport <= hi for lo, hi in sv.dports))
                    and (not sv.sports or any(lo <= sport <= hi for lo, hi in sv.sports)))
        if sv.proto in ("icmp", "icmpv6"):
            return (proto == (ICMP if sv.proto == "icmp" else ICMPV6)
                    and (sv.itype is None or sv.itype == itype) and (sv.icode is None or sv.icode == icode))
        return proto == sv.proto

    # --- probes ---------------------------------------------------------------
    def make(self, fam, src, dst, svc, iif):
        cs, cd = classify(fam, src), classify(fam, dst)
        proto, sport, dport, itype, icode = svc
        if cs == "normal" and cd == "normal":
            return Probe("fwd", fam, src, dst, proto, sport, dport, itype, icode, iif, ROUTE.dev(fam, dst))
        if cs == "normal" and cd in ("fw", "bcast"):
            return Probe("in", fam, src, dst, proto, sport, dport, itype, icode, iif, None)
        if cs == "fw" and cd == "normal":
            return Probe("out", fam, src, dst, proto, sport, dport, itype, icode, None, ROUTE.dev(fam, dst))
        return None

    def iface(self, r):
        if r is not None and r.iif and self.rng.random() < 0.8:
            for l, d, _ in policygen.FIREWALL:
                if r.iif in (l, d):
                    return d
        return self.rng.choice(DEVS)

    def select(self, budget):
        probes, seen = [], set()

        def add(p):
            if p is not None and p.key() not in seen:
                seen.add(p.key())
                probes.append(p)

        per_rule = []
        for r in self.p.rules:
            fams = sorted(policygen.rule_fams(self.p, r))
            batch = []
            out_dev = None
            for l, d, _ in policygen.FIREWALL:
                if r.oif in (l, d):
                    out_dev = d
            for fam in fams:
                (S, Sm), (D, Dm), (V, Vm) = (self.addr_cands(r.src, fam), self.addr_cands(r.dst, fam),
                                             self.svc_cands(r.svc, fam))
                if out_dev:  # the way out follows from the destination
                    Dm = [d for d in Dm if ROUTE.dev(fam, d) == out_dev] or Dm
                if not (S and D and V and Sm and Dm and Vm):
                    continue
                ch = self.rng.choice
                # One dimension on an edge, the others where the rule matches.
                for s in S:
                    batch.append(self.make(fam, s, ch(Dm), ch(Vm), self.iface(r)))
                for d in D:
                    batch.append(self.make(fam, ch(Sm), d, ch(Vm), self.iface(r)))
                for v in V:
                    batch.append(self.make(fam, ch(Sm), ch(Dm), v, self.iface(r)))
                for dev in DEVS:  # the way in is an edge too
                    batch.append(self.make(fam, ch(Sm), ch(Dm), ch(Vm), dev))
                for _ in range(3):
                    batch.append(self.make(fam, ch(S), ch(D), ch(V), self.rng.choice(DEVS)))
            per_rule.append([b for b in batch if b is not None])
        share = max(8, int(budget * 0.55) // max(1, len(per_rule)))
        for batch in per_rule:
            self.rng.shuffle(batch)
            for p in batch[:share]:
                add(p)
        # Every address edge of the policy, once as source and once as
        # destination, with a partner and a service drawn from the policy.
        svcs = {fam: [pt for o in self.p.objects for x in o.items if isinstance(x, policygen.Svc)
                      for pt in self.svc_points(x, fam)] for fam in (4, 6)}
        for r in self.p.rules:
            for x in r.svc.items or []:
                if isinstance(x, policygen.Svc):
                    for fam in (4, 6):
                        svcs[fam] += self.svc_points(x, fam)
        sweep = []
        for fam in (4, 6):
            pts = self.points[fam]
            for v in pts:
                for role in (0, 1):
                    for _ in range(4):
                        w = self.rng.choice(pts)
                        svc = self.rng.choice(svcs[fam]) if svcs[fam] and self.rng.random() < 0.7 else self.unused(fam)
                        pr = self.make(fam, v, w, svc, self.rng.choice(DEVS)) if role == 0 else \
                            self.make(fam, w, v, svc, self.rng.choice(DEVS))
                        if pr is not None:
                            sweep.append(pr)
                            break
        self.rng.shuffle(sweep)
        for p in sweep[:max(0, int(budget * 0.9) - len(probes))]:
            add(p)
        tries = 0
        while len(probes) < budget and tries < budget * 4:
            tries += 1
            fam = self.rng.choice([4, 6])
            svc = self.rng.choice(svcs[fam]) if svcs[fam] and self.rng.random() < 0.7 else self.unused(fam)
            add(self.make(fam, self.rng.choice(self.points[fam]), self.rng.choice(self.points[fam]), svc,
                          self.rng.choice(DEVS)))
        if len(probes) > budget:
            probes = probes[:budget]
        for i, p in enumerate(probes):
            p.pid = i + 1
        return probes


# --- what the kernel must do ----------------------------------------------------
def ct_invalid(p):
    if p.proto == ICMP:
        return p.itype not in CT_NEW[4]
    if p.proto == ICMPV6:
        return p.itype not in CT_NEW[6]
    return False


def can_answer(p):
    if p.dst in BCAST[p.fam] or (p.fam == 6 and p.dst >> 120 == 0xff):
        return False
    if p.proto == ICMP and (p.itype in ICMP4_ERRORS or p.itype > 18):
        return False
    if p.proto == ICMPV6 and p.itype < 128:
        return False
    return True


def answer_line(p):
    """The reject's answer as fwc query reads it: it leaves through the output
    chain, towards the probe's source, from the address the kernel picks."""
    back = ROUTE.dev(p.fam, p.src)
    if p.proto == TCP:
        a = Probe("out", p.fam, p.dst, p.src, TCP, p.dport, p.sport, oif=back)
    else:
        # A forwarded packet's ICMP error comes from the address of the way
        # back (IPv4) or of the way in (IPv6: icmp6_send picks it on the
        # incoming device); the firewall's own destination answers itself.
        src = p.dst if p.kind == "in" else FW_BY_DEV[(back if p.fam == 4 else p.iif, p.fam)]
        if p.fam == 4:
            a = Probe("out", 4, src, p.src, ICMP, itype=3, icode=3, oif=back)
        else:
            a = Probe("out", 6, src, p.src, ICMPV6, itype=1, icode=4, oif=back)
    return a.query_line("output")


def needs_answer_query(policy, p, q):
    return (q["verdict"] == "reject" and not policy.is_stateful() and p.kind != "out"
            and not q["rule"].startswith("builtin") and can_answer(p))


def expected(policy, p, q, answer=None):
    """(outcome, why) for probe p given its query result q (and that of its
    reject answer, when needs_answer_query)."""
    v, rule = q["verdict"], q["rule"]
    why = "fwc query: %s by %s in %s" % (v, rule, q["chain"])
    if rule.startswith("builtin"):
        return v, why
    if policy.is_stateful() and ct_invalid(p):
        return "drop", why + "; conntrack: a new ICMP type %d is invalid, and dropped" % p.itype
    if v == "reject":
        if not can_answer(p):
            return "drop", why + "; the kernel never answers this packet"
        if answer is not None and answer["verdict"] != "accept":
            return "drop", why + "; its answer meets %s by %s in output" % (answer["verdict"], answer["rule"])
        if (policy.is_stateful() and p.kind != "out" and p.proto == ICMPV6 and p.itype in CT_NEW[6]
                and p.itype not in (128, 139)):
            # fwc.policy(5), Reject: conntrack leaves these untracked, so the
            # answer is invalid and the output chain drops it.
            return "drop", why + "; the answer to an untracked MLD/ND message is invalid, and dropped"
    return v, why


def observed(p, obs):
    where = obs.arrived.get(p.pid)
    if where is not None:
        want = "fw" if p.kind == "in" else p.oif
        return "accept" if where == want else "accept at " + where
    ans = obs.answers.get(p.pid)
    if not ans:
        return "drop"
    good = "rst" if p.proto == TCP else "unreach"
    if all(a == good for a in ans):
        return "reject"
    return "answered " + ",".join(sorted(set(ans)))
