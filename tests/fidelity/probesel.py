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

With NAT and marks, flow() follows a probe through the marks, dstnat and
srcnat rules fwc query names: where the kernel must deliver it (the mark's
policy route, the translated destination's way) and with which addresses
and ports (Want); packets conntrack does not track are decided on
kernel_view() of the policy, and the few whose outcome fwc query cannot
tell are not sent (uncertain()).
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
        for r in policy.all_rules():
            for s in (r.src, r.dst):
                for x in s.items or []:
                    if isinstance(x, policygen.Atom):
                        self.points[x.fam] |= set(self.bounds(x))
            if isinstance(r.to, policygen.Atom):  # a NAT target, as a destination of its own
                self.points[r.to.fam] |= set(self.bounds(r.to))
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
        for r in policy.all_rules():
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
        for r in self.p.all_rules():
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
                if r.section:  # NAT and marks rules: more that match, to see what they do
                    for _ in range(8):
                        batch.append(self.make(fam, ch(Sm), ch(Dm), ch(Vm), self.iface(r)))
            per_rule.append((r, [b for b in batch if b is not None]))
        share = max(8, int(budget * 0.55) // max(1, len(per_rule) + 2 * len(self.p.nat + self.p.marks)))
        for r, batch in per_rule:
            self.rng.shuffle(batch)
            for p in batch[:share * (3 if r.section else 1)]:
                add(p)
        # Every address edge of the policy, once as source and once as
        # destination, with a partner and a service drawn from the policy.
        svcs = {fam: [pt for o in self.p.objects for x in o.items if isinstance(x, policygen.Svc)
                      for pt in self.svc_points(x, fam)] for fam in (4, 6)}
        for r in self.p.all_rules():
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


class Want:
    """Where, and as what, the kernel must deliver a probe it lets pass: the
    device ("fw": a local socket) and the ranges its source, source port,
    destination and destination port may have once NAT translated it (a
    range: the kernel picks one address or port of a block)."""
    __slots__ = ("where", "src", "sport", "dst", "dport", "dnat", "snat", "mark", "ctmark", "rerouted")

    def __init__(self, p):
        self.where = "fw" if p.kind == "in" else p.oif
        self.src, self.sport, self.dst, self.dport = (p.src,) * 2, (p.sport,) * 2, (p.dst,) * 2, (p.dport,) * 2
        self.dnat = self.snat = None
        self.mark = self.ctmark = 0
        self.rerouted = False

    def local(self):
        return self.where == "fw"

    def matches(self, p, t):
        src, sport, dst, dport = t
        ok = self.src[0] <= src <= self.src[1] and (dst is None or self.dst[0] <= dst <= self.dst[1])
        if p.proto in (TCP, UDP):
            ok = ok and self.sport[0] <= sport <= self.sport[1] and self.dport[0] <= dport <= self.dport[1]
        return ok

    def translated(self, p):
        return (self.src, self.sport, self.dst, self.dport) != ((p.src,) * 2, (p.sport,) * 2, (p.dst,) * 2,
                                                                 (p.dport,) * 2)


def local_dst(fam, a):
    return classify(fam, a) in ("fw", "bcast") or (fam == 6 and a >> 120 == 0xff)


def flow(policy, p, q):
    """The kernel's way for probe p, from fwc query's answer q: the marks
    and translations q names (computed from the rules themselves, fwc.policy(5)
    NAT), and the routing decision they lead to (lab.Route, with the mark)."""
    w = Want(p)
    ports = p.proto in (TCP, UDP)
    w.mark, w.ctmark = int(q.get("mark", 0)), int(q.get("ctmark", 0))
    r = policy.rule_at(q.get("dstnat"))
    if r is not None and p.kind != "out":
        if r.action == "dnat":
            a = policygen.nat_target(policy, r, p.fam)
            if a is not None:
                w.dst = (a.lo, a.hi)
            if r.port and ports:
                w.dport = r.port
            w.dnat = r
        elif r.action == "redirect":
            # The kernel redirects to the first address of the way in.
            w.dst = (FW_BY_DEV[(p.iif, p.fam)],) * 2
            if ports:
                w.dport = r.port
            w.dnat = r
    if p.kind != "out" and (w.dnat or w.mark in lab.MARK_TABLES):  # else: the way Selector.make() found
        if local_dst(p.fam, w.dst[0]):
            w.where = "fw"
        else:
            w.where = ROUTE.dev(p.fam, w.dst[0], w.mark)
            w.rerouted = w.mark in lab.MARK_TABLES and w.where != ROUTE.dev(p.fam, w.dst[0])
    r = policy.rule_at(q.get("srcnat"))
    if r is not None and not w.local() and r.action in ("snat", "masquerade"):
        if r.action == "snat":
            a = policygen.nat_target(policy, r, p.fam)
            if a is not None:
                w.src = (a.lo, a.hi)
        else:
            # The address of the way out (each lab interface has one per family).
            w.src = (FW_BY_DEV[(w.where, p.fam)],) * 2
        if r.port and ports:
            w.sport = r.port
        w.snat = r
    return w


def requery_line(p, q, w):
    """fwc query decides with the interfaces it is given: when the kernel
    routes the packet elsewhere (a DNAT to a routed host, a mark's table),
    the line that tells it so, or None."""
    if w.local() or p.kind == "out" or q.get("chain") == "input":
        return None
    if q.get("out") == w.where:
        return None
    return p.copy(oif=w.where).query_line()


def answer_line(p, w=None):
    """The reject's answer as fwc query reads it: it leaves through the output
    chain, towards the probe's source, from the address the kernel picks (of
    the packet as the filter saw it, after a DNAT)."""
    w = w or Want(p)
    back = ROUTE.dev(p.fam, p.src)
    dst, dport = w.dst[0], w.dport[0]
    if p.proto == TCP:
        a = Probe("out", p.fam, dst, p.src, TCP, dport, p.sport, oif=back)
    else:
        # A forwarded packet's ICMP error comes from the address of the way
        # back (IPv4) or of the way in (IPv6: icmp6_send picks it on the
        # incoming device); the firewall's own destination answers itself.
        src = dst if w.local() else FW_BY_DEV[(back if p.fam == 4 else p.iif, p.fam)]
        if p.fam == 4:
            a = Probe("out", 4, src, p.src, ICMP, itype=3, icode=3, oif=back)
        else:
            a = Probe("out", 6, src, p.src, ICMPV6, itype=1, icode=4, oif=back)
    return a.query_line("output")


def needs_answer_query(policy, p, q):
    return (q["verdict"] == "reject" and not policy.is_stateful() and p.kind != "out"
            and not q["rule"].startswith("builtin") and can_answer(p))


def tracked(p):
    """Whether conntrack opens a connection for the probe: not for ICMP
    messages other than queries (invalid), nor for MLD and ND (untracked)."""
    if p.proto == ICMP:
        return p.itype in CT_NEW[4]
    if p.proto == ICMPV6:
        return p.itype in (128, 139)
    return True


def kernel_state(p):
    """The conntrack state the kernel gives a probe that tracked() is false for."""
    return "untracked" if p.proto == ICMPV6 and p.itype in CT_NEW[6] else "invalid"


def has_dnat(policy):
    return any(r.action in ("dnat", "redirect") for r in policy.nat)


def state_dependent(policy):
    """Whether a filter rule's match depends on the packet's connection."""
    return any(r.state is not None or r.connmark is not None for r in policy.rules)


def needs_view(policy, p):
    """Whether fwc query must decide p on kernel_view(): a packet without a
    connection, in a policy whose NAT or connection matches it would miss."""
    return (not tracked(p) and not (policy.is_stateful() and ct_invalid(p))
            and (policy.nat or state_dependent(policy)))


def kernel_view(policy, state, ctmark):
    """The policy as the kernel applies it to a packet of a known conntrack
    state (fwc.policy(5), state): "invalid" or "untracked" (no connection:
    no NAT, no connection mark; ctmark None), or "related" (the answer of a
    reject, a packet of its probe's connection, whose mark is ctmark). A
    rule with a state match stays (without it) when it lists that state; a
    connmark match, when the connection has that mark; else it goes. (fwc
    query decides every packet as one of a connection, state new.)"""
    c = policy.copy()
    if state != "related":
        c.nat = []
    keep = []
    for r in c.rules:
        if r.connmark is not None:
            if ctmark is None or c.mark_value(r.connmark) != ctmark:
                continue
            r.connmark = None
        if r.state is not None:
            if state not in [x.strip() for x in r.state.split(",")]:
                continue
            r.state = None
        keep.append(r)
    c.rules = keep
    return c


def uncertain(policy, p, q, w):
    """Why the kernel's outcome for p does not follow from fwc query, or
    None: the probe is then not sent.
    - with a dnat or redirect in the policy, filter rules a translation can
      meet match conntrack's original destination, which a packet conntrack
      does not track has none of (fwc.policy(5), NAT);
    - the kernel forwards no packet it received as a link-layer broadcast or
      multicast (ip_forward: pkt_type != PACKET_HOST), translated or not;
    - a DNAT to a block of addresses picks one, and the checksum of a
      generic IPv6 probe (whose pseudo-header holds the destination) is
      right only for the one we guess.
    """
    if not tracked(p) and not (policy.is_stateful() and ct_invalid(p)) and has_dnat(policy):
        return "untracked packet in a policy with dnat"
    if w.dnat and (p.dst in BCAST[p.fam] or (p.fam == 6 and p.dst >> 120 == 0xff)):
        return "DNAT of a broadcast"
    if w.dnat and p.fam == 6 and p.proto not in (TCP, UDP, ICMPV6) and w.dst[0] != w.dst[1]:
        return "generic IPv6 probe DNATed to a block"
    return None


def nat_keys(p, w):
    """The conntrack connections a translated probe takes (besides its own,
    Probe.key): a later probe of one of them would be its reply or a clash."""
    if not w.translated(p) or p.proto in (ICMP, ICMPV6):
        return set()
    out = set()
    span = [(s, d) for s in range(w.src[0], min(w.src[1], w.src[0] + 7) + 1)
            for d in range(w.dst[0], min(w.dst[1], w.dst[0] + 7) + 1)]
    if p.proto not in (TCP, UDP):
        return {(p.fam, p.proto, frozenset([s, d])) for s, d in span}
    sports = range(w.sport[0], min(w.sport[1], w.sport[0] + 63) + 1) if w.sport[0] != w.sport[1] else [w.sport[0]]
    dports = range(w.dport[0], min(w.dport[1], w.dport[0] + 7) + 1)
    if w.sport[1] - w.sport[0] > 63:
        # A wide port range: the kernel keeps the probe's port when it is in it.
        sports = [p.sport] if w.sport[0] <= p.sport <= w.sport[1] else sports
    for s, d in span:
        for sp in sports:
            for dp in dports:
                out.add((p.fam, p.proto, frozenset([(s, sp), (d, dp)])))
    return out


def expected(policy, p, q, answer=None):
    """(outcome, why) for probe p given its query result q (and that of its
    reject answer, when needs_answer_query)."""
    v, rule = q["verdict"], q["rule"]
    why = "fwc query: %s by %s in %s" % (v, rule, q["chain"])
    steps = ["%s %s" % (k, q[k]) for k in ("marks", "dstnat", "srcnat") if q.get(k, "-") != "-"]
    steps += ["%s=%s" % (k, q[k]) for k in ("mark", "ctmark") if k in q]
    if steps:
        why += " (%s)" % ", ".join(steps)
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


def _addr(fam, a):
    return str(ipaddress.IPv4Address(a) if fam == 4 else ipaddress.IPv6Address(a))


def tuple_text(p, t):
    src, sport, dst, dport = t
    d = "?" if dst is None else _addr(p.fam, dst)
    if p.proto in (TCP, UDP):
        return "%s:%d -> %s:%d" % (_addr(p.fam, src), sport, d, dport)
    return "%s -> %s" % (_addr(p.fam, src), d)


def want_text(p, w):
    def rng(fam, r, addr=True):
        f = (lambda x: _addr(fam, x)) if addr else str
        return f(r[0]) if r[0] == r[1] else "%s-%s" % (f(r[0]), f(r[1]))
    if p.proto in (TCP, UDP):
        return "%s:%s -> %s:%s" % (rng(p.fam, w.src), rng(p.fam, w.sport, False), rng(p.fam, w.dst),
                                  rng(p.fam, w.dport, False))
    return "%s -> %s" % (rng(p.fam, w.src), rng(p.fam, w.dst))


def observed(p, obs, want=None):
    where = obs.arrived.get(p.pid)
    if where is not None:
        w = want or Want(p)
        t = obs.tuples.get(p.pid)
        if where != w.where:
            return "accept at " + where + (" as " + tuple_text(p, t) if t and not w.matches(p, t) else "")
        if t and not w.matches(p, t):
            return "accept as %s (not %s)" % (tuple_text(p, t), want_text(p, w))
        return "accept"
    ans = obs.answers.get(p.pid)
    if not ans:
        return "drop"
    good = "rst" if p.proto == TCP else "unreach"
    if all(a == good for a in ans):
        return "reject"
    return "answered " + ",".join(sorted(set(ans)))
