"""Random but valid fwc policies, reproducible from a seed.

A policy is kept as data (Policy, with objects, services and rules), so that
the minimiser can delete parts of it and render it again, and so that the
probe selector knows every address, port and ICMP type it mentions.

The firewall block is always the lab's (lab.IFACES); the objects draw their
addresses from pools routed behind each interface, so that rules with `in`
and `out` meet packets that really use those interfaces, with now and then
a prefix wide enough to span several interfaces and the firewall itself.

Some policies also get a marks section, a nat section (port forwards to lab
hosts behind each interface, redirects, snat, masquerade, no nat) and
mark/connmark/state matches on their filter rules (fwc.policy(5), NAT and
MARKS); every rule of every section is a Rule, rendered with its line, so
that a FILE:LINE of fwc query leads back to it (Policy.rule_at).
"""
import copy
import ipaddress
import random

FIREWALL = [("outside", "eth1", ["10.1.1.1/24", "2001:db8:1::1/64"]),
            ("dmz", "eth2", ["10.1.2.1/24", "2001:db8:2::1/64"]),
            ("lan", "eth3", ["10.1.3.1/24", "2001:db8:3::1/64"])]

POOLS = {
    4: ["10.1.1.0/24", "198.51.100.0/24", "203.0.113.0/24", "100.64.0.0/16",
        "10.1.2.0/24", "10.2.0.0/16", "172.16.0.0/12",
        "10.1.3.0/24", "10.3.0.0/16", "192.168.0.0/16"],
    6: ["2001:db8:1::/64", "2001:db8:100::/48", "2a00:1450::/32",
        "2001:db8:2::/64", "2001:db8:20::/48",
        "2001:db8:3::/64", "2001:db8:30::/48", "fd00:3::/32"],
}
WIDE = {4: ["10.0.0.0/8", "10.1.0.0/16", "128.0.0.0/1", "172.16.0.0/12"],
        6: ["2001:db8::/32", "2000::/3", "2001:db8::/44"]}

ICMP4 = {"echo-request": 8, "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
         "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11, "parameter-problem": 12,
         "timestamp-request": 13, "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
         "address-mask-request": 17, "address-mask-reply": 18}
ICMP6 = {"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
         "echo-request": 128, "echo-reply": 129, "mld-listener-query": 130, "mld-listener-report": 131,
         "mld-listener-done": 132, "nd-router-solicit": 133, "nd-router-advert": 134, "nd-neighbor-solicit": 135,
         "nd-neighbor-advert": 136, "nd-redirect": 137, "router-renumbering": 138, "mld2-listener-report": 143}
# Types conntrack lets open a connection (or leaves untracked): in a stateful
# policy only these reach the rules, so the generator favours them there.
CT_NEW = {4: [8, 13, 15, 17], 6: [128, 139, 130, 131, 132, 133, 134, 135, 136, 143]}
# NAT and marks (fwc.policy(5), NAT and MARKS). Marks 7 and 9 are routed
# differently in the lab (lab.MARK_TABLES: ip rule fwmark N), so that the
# kernel's marking shows in where a packet leaves; the others only in the
# filter rules that match them.
MARK_VALUES = [0, 1, 7, 7, 9, 9, 42, 0x10000, 4294967295]
STATES = ["new", "new", "new", "new,established", "established", "new,untracked", "related,invalid"]
# Lab hosts a dnat rule forwards to (behind each interface, connected or
# routed), and addresses a snat rule may translate to.
DNAT_NETS = {4: ["10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24", "198.51.100.0/24", "10.2.0.0/16", "172.16.0.0/12",
                 "10.3.0.0/16", "192.168.0.0/16"],
             6: ["2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:3::/64", "2001:db8:100::/48", "2001:db8:20::/48",
                 "2001:db8:30::/48", "fd00:3::/32"]}
SNAT_NETS = {4: ["203.0.113.0/24", "100.64.0.0/16", "10.2.0.0/16", "10.1.1.0/24"],
             6: ["2001:db8:100::/48", "2001:db8:20::/48", "2001:db8:1::/64"]}
PROTOS = {"gre": 47, "esp": 50, "ospf": 89, "pim": 103, "vrrp": 112, "l2tp": 115, "igmp": 2}
GENERIC = sorted(set(PROTOS.values()) | {99, 200})  # every protocol a probe may use besides tcp/udp/icmp
CONDITIONS = ["mgmt", "lab", "dns"]


class Atom:
    """One address item: a host address, prefix or range, of one family."""
    __slots__ = ("fam", "lo", "hi", "text")

    def __init__(self, fam, lo, hi, text):
        self.fam, self.lo, self.hi, self.text = fam, lo, hi, text


class Svc:
    """One service item: tcp/udp ports, icmp type/code, or a protocol."""
    __slots__ = ("proto", "dports", "sports", "itype", "icode", "text")

    def __init__(self, proto, text, dports=None, sports=None, itype=None, icode=None):
        self.proto, self.text = proto, text  # "tcp", "udp", "icmp", "icmpv6" or a protocol number
        self.dports, self.sports, self.itype, self.icode = dports, sports, itype, icode

    def fams(self):
        return {4} if self.proto == "icmp" else {6} if self.proto == "icmpv6" else {4, 6}


class Obj:
    """host / network / range (items: Atoms), address group (items: names or
    Atoms), service (items: Svcs or names), service group (names or Svcs)."""

    def __init__(self, kind, name, items):
        self.kind, self.name, self.items = kind, name, items


class Slot:
    """A rule's services, source or destination: any (items None), or items
    (names, Atoms or Svcs), maybe negated."""

    def __init__(self, items=None, neg=False, braces=False):
        self.items, self.neg, self.braces = items, neg, braces


class Rule:
    """A filter rule (section None: accept/drop/reject), a nat rule (section
    "nat": dnat, redirect, snat, masquerade, nonat) or a marks rule (section
    "marks": mark, connmark)."""

    def __init__(self, action, svc, src, dst, section=None):
        self.action, self.svc, self.src, self.dst = action, svc, src, dst
        self.section = section
        self.to = None               # nat: the target (name or Atom) of dnat/snat
        self.port = None             # nat: (lo, hi) of "port p[-q]"
        self.value = None            # marks: the value (int) or a mark name
        self.mark = self.connmark = None  # match options: value or name
        self.state = None            # match option: "new,established", ...
        self.iif = self.oif = None   # interface as written (logical or device name)
        self.log = None              # "" or ' prefix "x"' / ' rate n/unit' text
        self.counter = False
        self.comment = None
        self.disabled = False
        self.cond = None             # (negated, name)
        self.any_word = False        # write the absent service as "any"


class Policy:
    def __init__(self):
        self.objects = []            # Obj, in declaration order
        self.rules = []
        self.default = "drop"
        self.stateful = None         # None: not written (yes)
        self.any_fw = None           # option any-includes-firewall
        self.defines = []            # -D names
        self.seed = None
        self.marks_named = []        # [name, value] of the mark statements
        self.nat = []                # Rules of the nat section
        self.marks = []              # Rules of the marks section
        self.forwarding = None       # option forwarding (only ever yes: the lab routes)
        self.linemap = {}            # line of the rendered text -> Rule

    def all_rules(self):
        return self.nat + self.marks + self.rules

    def rule_at(self, where):
        """The Rule a "FILE:LINE" of fwc query names (None for "-")."""
        if not where or where == "-" or ":" not in where:
            return None
        try:
            return self.linemap.get(int(where.rsplit(":", 1)[1]))
        except ValueError:
            return None

    def mark_value(self, v):
        if isinstance(v, int):
            return v
        for n, val in self.marks_named:
            if n == v:
                return val
        return None

    def uses(self, attr):
        """Whether any active rule (of any section) has the option attr."""
        return any(getattr(r, attr) is not None for r in self.all_rules()) or (
            attr == "connmark" and any(r.action == "connmark" for r in self.marks))

    def copy(self):
        return copy.deepcopy(self)

    def obj(self, name):
        for o in self.objects:
            if o.name == name:
                return o
        return None

    def is_stateful(self):
        return self.stateful is not False

    # --- rendering ------------------------------------------------------
    def render(self):
        self.linemap = {}
        out = ["# fwc fidelity suite, seed %s\n" % self.seed, "firewall fw {\n"]
        for logical, dev, addrs in FIREWALL:
            out.append("    interface %s %s %s;\n" % (logical, dev, ", ".join(addrs)))
        out.append("}\n")
        for o in self.objects:
            items = ", ".join(x if isinstance(x, str) else x.text for x in o.items)
            if o.kind in ("group", "sgroup"):
                out.append("group %s { %s }\n" % (o.name, items))
            else:
                out.append("%s %s %s;\n" % ("service" if o.kind == "service" else o.kind, o.name, items))
        for n, v in self.marks_named:
            out.append("mark %s %d;\n" % (n, v))
        out.append("policy p default %s {\n" % self.default)
        if self.stateful is not None:
            out.append("    option stateful %s;\n" % ("yes" if self.stateful else "no"))
        if self.any_fw is not None:
            out.append("    option any-includes-firewall %s;\n" % ("yes" if self.any_fw else "no"))
        if self.forwarding is not None:
            out.append("    option forwarding %s;\n" % ("yes" if self.forwarding else "no"))

        def line():
            return sum(x.count("\n") for x in out) + 1
        for name, rules in (("nat", self.nat), ("marks", self.marks)):
            if rules:
                out.append("    %s {\n" % name)
                for r in rules:
                    self.linemap[line()] = r
                    out.append("        " + render_rule(r) + "\n")
                out.append("    }\n")
        for r in self.rules:
            self.linemap[line()] = r
            out.append("    " + render_rule(r) + "\n")
        out.append("}\n")
        return "".join(out)


def render_slot(s, service=False):
    if s.items is None:
        return "any"
    items = [x if isinstance(x, str) else x.text for x in s.items]
    text = items[0] if len(items) == 1 and not s.braces else "{ %s }" % ", ".join(items)
    return ("not " if s.neg else "") + text


def item_text(x):
    return x if isinstance(x, str) else x.text


def render_rule(r):
    if r.action == "nonat":
        parts = ["no nat"]
    elif r.action == "redirect":
        parts = ["redirect to port %d" % r.port[0]]
    elif r.section == "nat":
        parts = [r.action] + (["to", item_text(r.to)] if r.to is not None else [])
        if r.port:
            parts.append("port %d" % r.port[0] if r.port[0] == r.port[1] else "port %d-%d" % r.port)
    elif r.section == "marks":
        parts = [r.action, str(r.value)]
    else:
        parts = [r.action]
    if r.svc.items is not None:
        parts.append(render_slot(r.svc, True))
    elif r.any_word:
        parts.append("any")
    parts += ["from", render_slot(r.src), "to", render_slot(r.dst)]
    if r.iif:
        parts += ["in", r.iif]
    if r.oif:
        parts += ["out", r.oif]
    for opt in ("mark", "connmark", "state"):
        if getattr(r, opt) is not None:
            parts += [opt, str(getattr(r, opt))]
    if r.log is not None:
        parts.append("log" + r.log)
    if r.counter:
        parts.append("counter")
    if r.comment:
        parts.append('comment "%s"' % r.comment)
    if r.disabled:
        parts.append("disabled")
    if r.cond:
        parts.append("if %s%s" % ("not " if r.cond[0] else "", r.cond[1]))
    return " ".join(parts) + ";"


# --- resolution (for families and for the probe selector) -----------------
_FW_ATOMS = []


def fw_atoms():
    if _FW_ATOMS:
        return list(_FW_ATOMS)
    out = _FW_ATOMS
    for _, _, addrs in FIREWALL:
        for a in addrs:
            ip = ipaddress.ip_interface(a).ip
            out.append(Atom(ip.version, int(ip), int(ip), str(ip)))
    return list(out)


def leaves_of(policy, item, leaf, seen=None):
    """Every leaf (an instance of class leaf) a slot item stands for: the
    item itself, or what the named object (or group, recursively) holds."""
    if isinstance(item, leaf):
        return [item]
    if item == "fw" and leaf is Atom:
        return fw_atoms()
    seen = seen or set()
    if item in seen:
        return []
    seen.add(item)
    o = policy.obj(item)
    out = []
    for x in (o.items if o else []):
        out += leaves_of(policy, x, leaf, seen)
    return out


def atoms_of(policy, item):
    """Every address Atom an address slot item (name or Atom) stands for."""
    return leaves_of(policy, item, Atom)


def svcs_of(policy, item):
    """Every Svc a service slot item (name or Svc) stands for."""
    return leaves_of(policy, item, Svc)


def slot_fams(policy, slot, service=False):
    if slot.items is None or slot.neg:
        return {4, 6}
    f = set()
    for x in slot.items:
        if service:
            for s in svcs_of(policy, x):
                f |= s.fams()
        else:
            for a in atoms_of(policy, x):
                f.add(a.fam)
    return f


def rule_fams(policy, r):
    f = slot_fams(policy, r.svc, True) & slot_fams(policy, r.src) & slot_fams(policy, r.dst)
    if r.to is not None:  # a nat rule applies in the families its target has
        f &= {a.fam for a in atoms_of(policy, r.to)}
    return f


def nat_target(policy, r, fam):
    """The one Atom a dnat/snat rule translates to in family fam, or None."""
    atoms = [a for a in atoms_of(policy, r.to) if a.fam == fam] if r.to is not None else []
    return atoms[0] if len(atoms) == 1 else None


# --- generation -------------------------------------------------------------
class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n = 0

    def chance(self, p):
        return self.rng.random() < p

    def name(self, prefix):
        self.n += 1
        return "%s%d" % (prefix, self.n)

    # addresses
    def net(self, fam, wide=False):
        return ipaddress.ip_network(self.rng.choice(WIDE[fam] if wide else POOLS[fam]))

    def addr_in(self, n):
        return int(n.network_address) + self.rng.randrange(n.num_addresses)

    def text(self, fam, a):
        return str(ipaddress.IPv4Address(a) if fam == 4 else ipaddress.IPv6Address(a))

    def host_atom(self, fam):
        n = self.net(fam)
        a = self.addr_in(n)
        if self.chance(0.1):  # the firewall's own addresses, by literal
            a = int(ipaddress.ip_interface(self.rng.choice(FIREWALL)[2][0 if fam == 4 else 1]).ip)
        return Atom(fam, a, a, self.text(fam, a))

    def net_atom(self, fam):
        wide = self.chance(0.12)
        n = self.net(fam, wide)
        bits = 32 if fam == 4 else 128
        if wide:
            plen = n.prefixlen
        elif fam == 4:
            plen = self.rng.choice([n.prefixlen, 20, 24, 24, 25, 26, 27, 28, 29, 30, 31, 32])
        else:
            plen = self.rng.choice([n.prefixlen, 56, 64, 64, 96, 112, 120, 124, 126, 127, 128])
        plen = max(plen, n.prefixlen)
        a = self.addr_in(n) >> (bits - plen) << (bits - plen)
        hi = a + (1 << (bits - plen)) - 1
        return Atom(fam, a, hi, "%s/%d" % (self.text(fam, a), plen))

    def range_atom(self, fam):
        n = self.net(fam, self.chance(0.05))
        lo = self.addr_in(n)
        span = self.rng.choice([0, 1, 2, 5, 17, 100, 255, 1000, 70000] if fam == 4 else
                               [0, 1, 3, 255, 256, 65535, 1 << 40, 1 << 64])
        hi = min(lo + self.rng.randrange(span + 1), int(n.broadcast_address))
        return Atom(fam, lo, hi, "%s - %s" % (self.text(fam, lo), self.text(fam, hi)))

    def fams(self):
        return self.rng.choice([[4], [6], [4, 6], [4, 6]])

    def addr_object(self):
        kind = self.rng.choice(["host", "host", "network", "network", "range"])
        make = {"host": self.host_atom, "network": self.net_atom, "range": self.range_atom}[kind]
        items = []
        for fam in self.fams():
            for _ in range(self.rng.choice([1, 1, 1, 2])):
                items.append(make(fam))
        return Obj(kind, self.name({"host": "h", "network": "n", "range": "r"}[kind]), items)

    def literal(self):
        fam = self.rng.choice([4, 6])
        return self.rng.choice([self.host_atom, self.net_atom, self.range_atom])(fam)

    # services
    def ports(self):
        def one():
            k = self.rng.random()
            if k < 0.45:
                p = self.rng.choice([1, 22, 53, 80, 123, 443, 1023, 1024, 8080, 65535, self.rng.randrange(1, 65536)])
                return (p, p)
            if k < 0.85:
                lo = self.rng.choice([1, 20, 1024, 3000, 8000, 49152, 60000, self.rng.randrange(1, 65000)])
                return (lo, min(65535, lo + self.rng.choice([1, 2, 9, 99, 1000, 65535])))
            return None
        items = [x for x in (one() for _ in range(self.rng.choice([1, 1, 2, 3]))) if x]
        if not items:
            items = [(80, 80)]
        items = sorted(set(items))
        return items

    @staticmethod
    def ports_text(items):
        t = ["%d" % lo if lo == hi else "%d-%d" % (lo, hi) for lo, hi in items]
        return t[0] if len(t) == 1 else "{ %s }" % ", ".join(t)

    def svc_item(self, stateful):
        k = self.rng.random()
        if k < 0.6:
            proto = self.rng.choice(["tcp", "udp"])
            if self.chance(0.1):
                return Svc(proto, proto)
            d = self.ports()
            text = "%s %s" % (proto, self.ports_text(d))
            s = None
            if self.chance(0.25):
                s = self.ports()
                text += " sport " + self.ports_text(s)
            return Svc(proto, text, dports=d, sports=s)
        if k < 0.85:
            fam = self.rng.choice([4, 6])
            proto, names = ("icmp", ICMP4) if fam == 4 else ("icmpv6", ICMP6)
            if self.chance(0.1):
                return Svc(proto, proto)
            if stateful and self.chance(0.7):
                t = self.rng.choice(CT_NEW[fam])
            else:
                t = self.rng.choice(list(names.values()) + [42, 200])
            word = [n for n, v in names.items() if v == t]
            text = "%s %s" % (proto, word[0] if word and self.chance(0.6) else t)
            c = None
            if self.chance(0.25):
                c = self.rng.choice([0, 1, 3, 4])
                text += " code %d" % c
            return Svc(proto, text, itype=t, icode=c)
        name, num = self.rng.choice(sorted(PROTOS.items()))
        if self.chance(0.15):
            num = self.rng.choice([99, 200])
            return Svc(num, "proto %d" % num)
        return Svc(num, "proto %s" % (name if self.chance(0.7) else num))

    # rules
    def addr_slot(self, names, groups):
        k = self.rng.random()
        if k < 0.3:
            return Slot()
        neg = self.chance(0.1)
        if k < 0.4:
            return Slot(["fw"], neg)
        pool = names + groups
        items = []
        for _ in range(self.rng.choice([1, 1, 1, 2, 3])):
            items.append(self.rng.choice(pool) if pool and self.chance(0.7) else self.literal())
        return Slot(items, neg, len(items) > 1 or self.chance(0.05))

    def svc_slot(self, snames, stateful):
        if self.chance(0.25):
            return Slot()
        items = []
        for _ in range(self.rng.choice([1, 1, 2])):
            items.append(self.rng.choice(snames) if snames and self.chance(0.6) else self.svc_item(stateful))
        return Slot(items, self.chance(0.08), len(items) > 1)

    def rule(self, p, names, groups, snames):
        for _ in range(50):
            r = Rule(self.rng.choice(["accept", "accept", "accept", "drop", "drop", "reject"]),
                     self.svc_slot(snames, p.is_stateful()), self.addr_slot(names, groups),
                     self.addr_slot(names, groups))
            if r.svc.neg and r.svc.items is None:
                continue
            if rule_fams(p, r):
                break
        else:
            r = Rule("accept", Slot(), Slot(), Slot())
        r.any_word = self.chance(0.1)
        devs = [(l, d) for l, d, _ in FIREWALL]
        if self.chance(0.25):
            l, d = self.rng.choice(devs)
            r.iif = l if self.chance(0.6) else d
        if self.chance(0.2):
            l, d = self.rng.choice(devs)
            r.oif = l if self.chance(0.6) else d
        if self.chance(0.1):
            r.log = self.rng.choice(["", ' prefix "fid: "', " rate 1/minute", ' prefix "x" rate 5/second'])
        r.counter = self.chance(0.1)
        if self.chance(0.1):
            r.comment = "c%d" % self.rng.randrange(100)
        r.disabled = self.chance(0.03)
        if self.chance(0.15):
            r.cond = (self.chance(0.4), self.rng.choice(CONDITIONS))
        return r

    def policy(self, rules=None):
        p = Policy()
        p.seed = self.seed
        if self.chance(0.35):
            p.stateful = False
        elif self.chance(0.2):
            p.stateful = True
        if self.chance(0.25):
            p.any_fw = self.chance(0.3)
        p.default = self.rng.choice(["drop", "drop", "accept", "reject"])
        names = []
        for _ in range(self.rng.randrange(2, 9)):
            o = self.addr_object()
            p.objects.append(o)
            names.append(o.name)
        groups = []
        for _ in range(self.rng.randrange(0, 3)):
            members = self.rng.sample(names + groups, min(len(names + groups), self.rng.randrange(1, 4)))
            if self.chance(0.3):
                members.append(self.literal())
            if self.chance(0.1):
                members.append("fw")
            g = Obj("group", self.name("g"), members)
            p.objects.append(g)
            groups.append(g.name)
        snames = []
        for _ in range(self.rng.randrange(1, 6)):
            o = Obj("service", self.name("s"), [self.svc_item(p.is_stateful())
                                              for _ in range(self.rng.choice([1, 1, 2, 3]))])
            if snames and self.chance(0.15):
                o.items.append(self.rng.choice(snames))
            p.objects.append(o)
            snames.append(o.name)
        if len(snames) > 1 and self.chance(0.3):
            g = Obj("sgroup", self.name("sg"), self.rng.sample(snames, 2) + [self.svc_item(p.is_stateful())])
            p.objects.append(g)
            snames.append(g.name)
        # Declaration order does not matter to fwc; shuffling tests that.
        if self.chance(0.2):
            self.rng.shuffle(p.objects)
        n = rules if rules is not None else self.rng.choice([3, 5, 8, 12, 16, 20, 25, 30])
        for _ in range(n):
            p.rules.append(self.rule(p, names, groups, snames))
        p.defines = sorted(c for c in CONDITIONS if self.chance(0.5))
        # Drawn last, so that a seed's filter rules are those it always had.
        if self.chance(0.4):
            self.marks_section(p, names, groups, snames)
        if self.chance(0.5):
            self.nat_section(p, names, groups, snames)
        if p.marks or p.nat or self.chance(0.1):
            self.match_options(p)
        return p

    # --- marks and NAT ------------------------------------------------------------
    def iface_word(self):
        l, d, _ = self.rng.choice(FIREWALL)
        return l if self.chance(0.6) else d

    def mark_word(self, p):
        """A mark value, or the name of a mark statement (declared here when new)."""
        if p.marks_named and self.chance(0.3):
            return self.rng.choice(p.marks_named)[0]
        v = self.rng.choice(MARK_VALUES)
        if self.chance(0.3):
            n = self.name("m")
            p.marks_named.append([n, v])
            return n
        return v

    def options(self, r):
        if self.chance(0.1):
            r.comment = "c%d" % self.rng.randrange(100)
        r.disabled = self.chance(0.03)
        if self.chance(0.1):
            r.cond = (self.chance(0.4), self.rng.choice(CONDITIONS))

    def marks_section(self, p, names, groups, snames):
        for _ in range(self.rng.choice([1, 1, 2, 3, 4])):
            for _ in range(20):
                r = Rule("mark" if self.chance(0.7) else "connmark",
                         self.svc_slot(snames, p.is_stateful()) if self.chance(0.6) else Slot(),
                         self.addr_slot(names, groups), self.addr_slot(names, groups), section="marks")
                if not (r.svc.neg and r.svc.items is None) and rule_fams(p, r):
                    break
            else:
                r = Rule("mark", Slot(), Slot(), Slot(), section="marks")
            r.value = self.mark_word(p)
            if self.chance(0.4):
                r.iif = self.iface_word()
            self.options(r)
            p.marks.append(r)

    def lab_host(self, fam, nets=None):
        """An address of a lab host: inside a pool (nets: family -> pools),
        never a network's first, second (the firewall), third (the next hop)
        or last address."""
        n = ipaddress.ip_network(self.rng.choice((nets or DNAT_NETS)[fam]))
        span = min(n.num_addresses - 8, 1 << 20)
        return int(n.network_address) + 3 + self.rng.randrange(span)

    def target(self, p, fam, nets, fw_ok):
        """A dnat/snat target: one address (literal or host), or a small range."""
        k = self.rng.random()
        if fw_ok and k < 0.12:
            a = int(ipaddress.ip_interface(self.rng.choice(FIREWALL)[2][0 if fam == 4 else 1]).ip)
            return Atom(fam, a, a, self.text(fam, a))
        a = self.lab_host(fam, nets)
        if k < 0.25:
            hi = a + self.rng.choice([1, 2, 3])
            return Atom(fam, a, hi, "%s - %s" % (self.text(fam, a), self.text(fam, hi)))
        atom = Atom(fam, a, a, self.text(fam, a))
        if k < 0.6:
            return atom
        # A host object, maybe dual-stack (each family translates to its own address).
        items = [atom]
        if self.chance(0.4):
            other = 6 if fam == 4 else 4
            b = self.lab_host(other, nets)
            items.append(Atom(other, b, b, self.text(other, b)))
        o = Obj("host", self.name("t"), items)
        p.objects.append(o)
        return o.name

    def tcpudp_slot(self, p, snames):
        """Services with ports only (a port mapping needs them)."""
        ok = [n for n in snames if svcs_of(p, n) and all(s.proto in ("tcp", "udp") for s in svcs_of(p, n))]
        items = []
        for _ in range(self.rng.choice([1, 1, 1, 2])):
            if ok and self.chance(0.3):
                items.append(self.rng.choice(ok))
            else:
                proto = self.rng.choice(["tcp", "udp"])
                d = self.ports()
                text = "%s %s" % (proto, self.ports_text(d))
                sp = None
                if self.chance(0.1):
                    sp = self.ports()
                    text += " sport " + self.ports_text(sp)
                items.append(Svc(proto, text, dports=d, sports=sp))
        return Slot(items, False, len(items) > 1)

    def new_port(self):
        return self.rng.choice([1, 22, 80, 443, 3128, 8080, 65535, self.rng.randrange(1, 65536)])

    def port_range(self, span):
        lo = self.rng.choice([1024, 20000, 30000, 40000, 60000, self.rng.randrange(1, 65000)])
        return (lo, min(65535, lo + span))

    def fw_dst_slot(self, names, groups):
        """Where a port forward is addressed: the firewall, one of its
        addresses, or (now and then) another host's."""
        k = self.rng.random()
        if k < 0.4:
            return Slot(["fw"])
        if k < 0.7:
            fam = self.rng.choice([4, 6])
            a = int(ipaddress.ip_interface(self.rng.choice(FIREWALL)[2][0 if fam == 4 else 1]).ip)
            return Slot([Atom(fam, a, a, self.text(fam, a))])
        return self.addr_slot(names, groups)

    def nat_rule(self, p, names, groups, snames):
        kind = self.rng.choice(["dnat", "dnat", "dnat", "dnat", "redirect", "snat", "snat", "masquerade",
                                "masquerade", "nonat"])
        r = Rule(kind, Slot(), Slot(), Slot(), section="nat")
        if kind in ("dnat", "redirect"):
            if kind == "redirect" or self.chance(0.75):
                r.port = (self.new_port(),) * 2
                if kind == "dnat" and self.chance(0.15):
                    r.port = self.port_range(self.rng.choice([1, 2]))
            r.svc = self.tcpudp_slot(p, snames) if r.port else (
                self.svc_slot(snames, p.is_stateful()) if self.chance(0.7) else Slot())
            r.src = Slot() if self.chance(0.6) else self.addr_slot(names, groups)
            if kind == "dnat":
                r.dst = self.fw_dst_slot(names, groups)
            else:
                r.dst = self.rng.choice([Slot(["fw"], True), Slot(), self.addr_slot(names, groups)])
            if self.chance(0.6):
                r.iif = self.iface_word()
            if kind == "dnat":
                fams = sorted(rule_fams(p, r) or {4, 6})
                r.to = self.target(p, self.rng.choice(fams), None, True)
        elif kind in ("snat", "masquerade"):
            if self.chance(0.3):
                r.port = self.port_range(self.rng.choice([0, 9, 99, 1000]))
            r.svc = self.tcpudp_slot(p, snames) if r.port else (
                self.svc_slot(snames, p.is_stateful()) if self.chance(0.5) else Slot())
            r.src = self.addr_slot(names, groups) if self.chance(0.6) else Slot()
            r.dst = self.addr_slot(names, groups) if self.chance(0.3) else Slot()
            if kind == "masquerade" or self.chance(0.6):
                r.oif = self.iface_word()
            if kind == "snat":
                fams = sorted(rule_fams(p, r) or {4, 6})
                r.to = self.target(p, self.rng.choice(fams), SNAT_NETS, True)
        else:
            r.svc = self.svc_slot(snames, p.is_stateful()) if self.chance(0.5) else Slot()
            r.src, r.dst = self.addr_slot(names, groups), self.addr_slot(names, groups)
            k = self.rng.random()
            if k < 0.35:
                r.iif = self.iface_word()
            elif k < 0.7:
                r.oif = self.iface_word()
        if p.marks and self.chance(0.12):
            r.mark = self.rng.choice([m.value for m in p.marks if m.action == "mark"] or [7])
        if self.chance(0.05):
            r.state = "new"
        r.counter = self.chance(0.1)
        self.options(r)
        return r

    def nat_section(self, p, names, groups, snames):
        for _ in range(self.rng.choice([1, 2, 3, 4, 5, 7])):
            for _ in range(20):
                r = self.nat_rule(p, names, groups, snames)
                if not (r.svc.neg and r.svc.items is None) and rule_fams(p, r):
                    break
            else:
                continue
            p.nat.append(r)
        if self.chance(0.3):
            p.forwarding = True
        # Filter rules about what the port forwards and redirects publish
        # (the original destination), for the translated packets to meet.
        for r in p.nat:
            if r.action in ("dnat", "redirect") and self.chance(0.6):
                f = Rule(self.rng.choice(["accept", "accept", "accept", "drop", "reject"]), copy.deepcopy(r.svc),
                         Slot() if self.chance(0.7) else copy.deepcopy(r.src), copy.deepcopy(r.dst))
                if self.chance(0.5):
                    f.iif = r.iif
                if rule_fams(p, f):
                    p.rules.insert(self.rng.randrange(len(p.rules) + 1), f)

    def match_options(self, p):
        """mark, connmark and state on some filter rules, mostly with values
        the marks section sets."""
        set_marks = [m.value for m in p.marks if m.action == "mark"]
        set_ct = [m.value for m in p.marks if m.action == "connmark"]
        for r in p.rules:
            if self.chance(0.2):
                r.mark = self.rng.choice(set_marks) if set_marks and self.chance(0.8) else self.mark_word(p)
            if self.chance(0.1):
                r.connmark = self.rng.choice(set_ct) if set_ct and self.chance(0.8) else self.mark_word(p)
            if self.chance(0.08):
                r.state = self.rng.choice(STATES)


def merged(atoms):
    out = []
    for a in sorted(atoms, key=lambda a: a.lo):
        if out and a.lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], a.hi)
        else:
            out.append([a.lo, a.hi])
    return out


def is_prefix(lo, hi):
    n = hi - lo + 1
    return n & (n - 1) == 0 and lo % n == 0


def generate(seed, attempt=0):
    """The policy of a seed; attempt > 0 gives another one for the same seed
    (when fwc rejected the first as invalid)."""
    return Generator(seed * 1000 + attempt).policy()


def referenced(p):
    """Names the rules and other objects use."""
    used = set()
    work = []
    for r in p.all_rules():
        for s in (r.svc, r.src, r.dst):
            work += [x for x in (s.items or []) if isinstance(x, str)]
        work += [x for x in (r.to, r.value, r.mark, r.connmark) if isinstance(x, str)]
    while work:
        n = work.pop()
        if n in used:
            continue
        used.add(n)
        o = p.obj(n)
        if o:
            work += [x for x in o.items if isinstance(x, str)]
    return used
