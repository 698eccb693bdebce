"""Probe packets: building them, and recognising them (or the answer a
reject rule sends back) wherever they turn up.

Every probe carries MAGIC, the run id and the probe id in its payload, so a
packet of an earlier load that arrives late is never counted. TCP probes are
SYNs whose sequence number also encodes the ids: the reset a reject rule
answers with acknowledges it, and carries no payload.
"""
import ipaddress
import struct

MAGIC = b"fwcF"
TAG_LEN = 12
PAYLOAD_LEN = TAG_LEN + 4  # tag, then room for a checksum fix (generic protocols)

TCP, UDP, ICMP, ICMPV6, GRE = 6, 17, 1, 58, 47
L4_HDR = {TCP: 20, UDP: 8, ICMP: 8, ICMPV6: 8, GRE: 4}  # where a probe's tag starts


class Probe:
    __slots__ = ("pid", "kind", "fam", "src", "dst", "proto", "sport", "dport", "itype", "icode", "iif", "oif", "ck")

    def __init__(self, kind, fam, src, dst, proto, sport=0, dport=0, itype=0, icode=0, iif=None, oif=None):
        self.pid = 0
        self.kind = kind  # "fwd" (through), "in" (to the firewall), "out" (from it)
        self.fam, self.src, self.dst, self.proto = fam, src, dst, proto
        self.sport, self.dport, self.itype, self.icode = sport, dport, itype, icode
        self.iif, self.oif = iif, oif
        self.ck = None  # (src, dst) a DNAT gives it, for the checksum of a generic IPv6 probe

    def copy(self, **kw):
        c = Probe(self.kind, self.fam, self.src, self.dst, self.proto, self.sport, self.dport, self.itype,
                  self.icode, self.iif, self.oif)
        c.pid, c.ck = self.pid, self.ck
        for k, v in kw.items():
            setattr(c, k, v)
        return c

    def key(self):
        """The conntrack connection the probe opens, whichever its direction:
        a second probe of it would be a reply or a retry, not a first packet.
        ICMP queries carry the probe id as their identifier, so they never
        share one."""
        if self.proto in (TCP, UDP):
            ends = frozenset([(self.src, self.sport), (self.dst, self.dport)])
        elif self.proto in (ICMP, ICMPV6):
            return (self.fam, self.proto, self.src, self.dst, self.itype, self.icode, self.iif)
        else:
            ends = frozenset([self.src, self.dst])
        return (self.fam, self.proto, ends)

    def addr(self, a):
        return str(ipaddress.IPv4Address(a) if self.fam == 4 else ipaddress.IPv6Address(a))

    def query_line(self, chain=None):
        """The packet in fwc query's syntax, with the interfaces the kernel uses."""
        s, d = self.addr(self.src), self.addr(self.dst)
        if self.proto in (TCP, UDP):
            if self.fam == 6:
                s, d = "[%s]" % s, "[%s]" % d
            text = "%s %s:%d -> %s:%d" % ("tcp" if self.proto == TCP else "udp", s, self.sport, d, self.dport)
        elif self.proto in (ICMP, ICMPV6):
            text = "%s %s -> %s type %d code %d" % ("icmp" if self.proto == ICMP else "icmpv6", s, d,
                                                    self.itype, self.icode)
        else:
            text = "%d %s -> %s" % (self.proto, s, d)
        if self.iif:
            text += " in " + self.iif
        if self.oif:
            text += " out " + self.oif
        if chain:
            text += " chain " + chain
        return text

    def __repr__(self):
        return "#%d %s %s" % (self.pid, self.kind, self.query_line())


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def seq_of(run, pid):
    return ((run & 0xfff) << 20 | (pid & 0xfffff)) & 0xffffffff


def rst_ack(run, pid):
    return (seq_of(run, pid) + 1 + PAYLOAD_LEN) & 0xffffffff


def ip_packet(p, run):
    """The IP packet of probe p (header included)."""
    tag = MAGIC + struct.pack("!II", run, p.pid)
    saddr = p.src.to_bytes(4 if p.fam == 4 else 16, "big")
    daddr = p.dst.to_bytes(4 if p.fam == 4 else 16, "big")
    payload = tag + b"\0\0\0\0"
    if p.proto == TCP:
        l4 = struct.pack("!HHIIBBHHH", p.sport, p.dport, seq_of(run, p.pid), 0, 5 << 4, 0x02, 8192, 0, 0) + payload
    elif p.proto == UDP:
        l4 = struct.pack("!HHHH", p.sport, p.dport, 8 + len(payload), 0) + payload
    elif p.proto in (ICMP, ICMPV6):
        l4 = struct.pack("!BBHHH", p.itype, p.icode, 0, p.pid & 0xffff, run & 0xffff) + payload
    elif p.proto == GRE:
        # A GRE version 0 header first: NAT drops a packet of an unknown GRE
        # version (nf_nat_proto.c, gre_manip_pkt), as the tag would be.
        l4 = b"\0\0\0\0" + payload
    else:
        l4 = payload
    if p.fam == 4:
        pseudo = saddr + daddr + struct.pack("!BBH", 0, p.proto, len(l4))
    else:
        pseudo = saddr + daddr + struct.pack("!IxxxB", len(l4), p.proto)
    if p.proto in (TCP, UDP, ICMPV6):
        off = {TCP: 16, UDP: 6, ICMPV6: 2}[p.proto]
        c = csum(pseudo + l4)
        if p.proto == UDP and c == 0:
            c = 0xffff
        l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    elif p.proto == ICMP:
        l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
    else:
        # A reject answers only a packet whose checksum verifies (RFC 1071 sum
        # over the payload in IPv4, with the pseudo-header in IPv6: of the
        # addresses the packet has when it is rejected, after a DNAT).
        if p.ck and p.fam == 6:
            pseudo = p.ck[0].to_bytes(16, "big") + p.ck[1].to_bytes(16, "big") + pseudo[32:]
        fix = csum(l4 if p.fam == 4 else pseudo + l4)
        at = L4_HDR.get(p.proto, 0) + TAG_LEN
        l4 = l4[:at] + struct.pack("!H", fix) + l4[at + 2:]
    if p.fam == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), p.pid & 0xffff, 0, 64, p.proto, 0, saddr, daddr)
        return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + l4
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), p.proto, 64, saddr, daddr) + l4


def frame(p, run, dst_mac, src_mac):
    return dst_mac + src_mac + (b"\x08\x00" if p.fam == 4 else b"\x86\xdd") + ip_packet(p, run)


def _l4(fam, pkt):
    """(proto, src, dst, l4 bytes) of an IP packet, or None."""
    if fam == 4:
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            return None
        ihl = (pkt[0] & 15) * 4
        return pkt[9], int.from_bytes(pkt[12:16], "big"), int.from_bytes(pkt[16:20], "big"), pkt[ihl:]
    if len(pkt) < 40 or pkt[0] >> 4 != 6:
        return None
    return pkt[6], int.from_bytes(pkt[8:24], "big"), int.from_bytes(pkt[24:40], "big"), pkt[40:]


def _tag(l4, proto):
    """(run, pid) when l4 carries a probe's tag where the probe has it."""
    off = L4_HDR.get(proto, 0)
    if l4[off:off + 4] != MAGIC or len(l4) < off + TAG_LEN:
        return None
    return struct.unpack("!II", l4[off + 4:off + TAG_LEN])


class Observation:
    """What the taps saw of one run."""

    def __init__(self, run):
        self.run = run
        self.arrived = {}   # pid -> where ("eth2", "fw")
        self.tuples = {}    # pid -> (src, sport, dst, dport) as it arrived (dst None: not known)
        self.answers = {}   # pid -> ["rst", "unreach", "icmp 3/1", ...]
        self.rst = {}       # (fam, src, sport, dport, ack) -> pid, filled by the sender
        self.probes = {}    # pid -> Probe

    def expect_rst(self, p):
        if p.proto == TCP:
            self.rst[(p.fam, p.dst, p.dport, p.sport, rst_ack(self.run, p.pid))] = p.pid

    def _answer(self, pid, what):
        self.answers.setdefault(pid, []).append(what)

    def ip(self, fam, pkt, where, src=None, proto=None, dst=None):
        """An IP packet seen at where; for IPv6 raw sockets pkt is only the
        payload, with src, proto and (from IPV6_PKTINFO) dst given by the socket."""
        if src is None:
            parsed = _l4(fam, pkt)
            if parsed is None:
                return
            proto, src, dst, l4 = parsed
        else:
            l4 = pkt
        t = _tag(l4, proto)
        if t is not None:
            run, pid = t
            p = self.probes.get(pid)
            # NAT may have changed its addresses and ports: kept, for
            # probesel.observed() to compare with what was expected.
            # (An echo reply carries the request's payload: not the probe.)
            if run == self.run and p and p.proto == proto and p.fam == fam and (
                    proto not in (ICMP, ICMPV6) or l4[0] == p.itype):
                if proto == TCP and l4[13] & 0x04:
                    return
                if pid not in self.arrived:
                    ports = struct.unpack("!HH", l4[:4]) if proto in (TCP, UDP) and len(l4) >= 4 else (0, 0)
                    self.arrived[pid] = where
                    self.tuples[pid] = (src, ports[0], dst, ports[1])
                return
        if proto == TCP and len(l4) >= 20 and l4[13] & 0x04:
            sport, dport, _, ack = struct.unpack("!HHII", l4[:12])
            pid = self.rst.get((fam, src, sport, dport, ack))
            if pid is not None:
                self._answer(pid, "rst")
            return
        if (fam, proto) in ((4, ICMP), (6, ICMPV6)) and len(l4) >= 8:
            typ, code = l4[0], l4[1]
            inner = _l4(fam, l4[8:])
            if inner is None:
                return
            iproto, isrc, idst, il4 = inner
            t = _tag(il4, iproto)
            if t is None or t[0] != self.run:
                return
            p = self.probes.get(t[1])
            if not p or p.src != isrc or p.dst != idst:
                return
            unreach = (typ, code) == ((3, 3) if fam == 4 else (1, 4))
            self._answer(p.pid, "unreach" if unreach else "icmp %d/%d" % (typ, code))

    def frame(self, data, where):
        if len(data) < 14:
            return
        et = data[12:14]
        if et == b"\x08\x00":
            self.ip(4, data[14:], where)
        elif et == b"\x86\xdd":
            self.ip(6, data[14:], where)
