#!/usr/bin/env python3
"""Crafted packets for sets_kernel_check.sh.

  sets_probe.py policy SEED             a random policy (stdout)
  sets_probe.py send IFACE DST_MAC RUN  sends every probe packet on IFACE
  sets_probe.py listen IFACE FILE RUN   writes the ids of probe packets of
                                        that run that arrive on IFACE to FILE
                                        until killed
  sets_probe.py describe ID...          prints what those probes are

Each probe is one Ethernet frame carrying an IPv4 or IPv6 packet (TCP SYN,
UDP, ICMP/ICMPv6 or GRE) whose payload starts with b"FWCP", the run number
(so that a late packet of an earlier run is not counted) and a 4-byte id.
The probe domain matches the addresses, ports and ICMP types the random
policies use, so both verdicts occur for most rules.
"""
import ipaddress
import os
import random
import socket
import struct
import sys

# The Internet checksum, from the packet builder of the kernel differential
# suite.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fidelity"))
from packets import csum  # noqa: E402

V4_SRC = ["10.9.0.1", "10.9.0.2", "10.9.1.5", "10.8.0.1"]
V4_DST = ["10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4", "10.2.0.9"]
V6_SRC = ["2001:db8:9::1", "2001:db8:9::2", "2001:db8:9:1::5", "2001:db8:8::1"]
V6_DST = ["2001:db8:2::1", "2001:db8:2::2", "2001:db8:2::3", "2001:db8:2::4", "2001:db8:2::9"]
DPORTS = [1, 2, 3, 4, 5, 80]
SPORTS = [1, 1024]


def probes():
    """(id, family, src, dst, proto, sport, dport, icmp type, icmp code)"""
    n = 0
    for fam, srcs, dsts in ((4, V4_SRC, V4_DST), (6, V6_SRC, V6_DST)):
        for s in srcs:
            for d in dsts:
                for proto in (6, 17):
                    for sp in SPORTS:
                        for dp in DPORTS:
                            n += 1
                            yield (n, fam, s, d, proto, sp, dp, 0, 0)
                icmp = 1 if fam == 4 else 58
                for t, c in ((8, 0), (3, 4)) if fam == 4 else ((128, 0), (1, 4)):
                    n += 1
                    yield (n, fam, s, d, icmp, 0, 0, t, c)
                n += 1
                yield (n, fam, s, d, 47, 0, 0, 0, 0)


def frame(p, src_mac, dst_mac, run):
    pid, fam, s, d, proto, sp, dp, t, c = p
    payload = b"FWCP" + struct.pack("!II", run, pid)
    saddr = ipaddress.ip_address(s).packed
    daddr = ipaddress.ip_address(d).packed
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sp, dp, 1, 0, 5 << 4, 0x02, 8192, 0, 0) + payload
    elif proto == 17:
        l4 = struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload
    elif proto in (1, 58):
        l4 = struct.pack("!BBHI", t, c, 0, 0) + payload
    else:  # GRE
        l4 = struct.pack("!HH", 0, 0x0800) + payload
    if fam == 4:
        pseudo = saddr + daddr + struct.pack("!BBH", 0, proto, len(l4))
    else:
        pseudo = saddr + daddr + struct.pack("!IxxxB", len(l4), proto)
    if proto in (6, 17, 58):
        off = {6: 16, 17: 6, 58: 2}[proto]
        l4 = l4[:off] + struct.pack("!H", csum(pseudo + l4)) + l4[off + 2:]
    elif proto == 1:
        l4 = l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]
    if fam == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), pid & 0xffff, 0, 64, proto, 0, saddr, daddr)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return dst_mac + src_mac + b"\x08\x00" + hdr + l4
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, saddr, daddr)
    return dst_mac + src_mac + b"\x86\xdd" + hdr + l4


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def send(iface, dst_mac, run):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    src_mac = mac(open("/sys/class/net/%s/address" % iface).read().strip())
    import time
    for p in probes():
        sock.send(frame(p, src_mac, mac(dst_mac), run))
        time.sleep(0.0002)


def listen(iface, path, run):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    sock.bind((iface, 0))
    with open(path, "w", buffering=1) as out:
        while True:
            try:
                data = sock.recv(65535)
            except OSError:  # the interface went away: the check is over
                return
            i = data.find(b"FWCP")
            if i >= 0 and i + 12 <= len(data):
                r, pid = struct.unpack("!II", data[i + 4:i + 12])
                if r == run:
                    out.write("%d\n" % pid)


def policy(seed):
    rnd = random.Random(seed)
    out = ["""firewall fw {
    interface outside eth1 10.0.1.1/24, fd00:1::1/64;
    interface dmz     eth2 10.0.2.1/24, fd00:2::1/64;
}
host a 10.2.0.1, 2001:db8:2::1;
host b 10.2.0.2;
host c 2001:db8:2::3;
network clients 10.9.0.0/24, 2001:db8:9::/64;
range r 10.2.0.2 - 10.2.0.4, 2001:db8:2::2 - 2001:db8:2::4;
group g { b, c, 10.2.0.9 }
service s1 tcp 1;
service s2 tcp 2-3, udp 2;
service s3 udp 4 sport 1;
service ping icmp echo-request, icmpv6 echo-request;
service frag icmp 3 code 4, icmpv6 1 code 4;
service tunnel proto gre;
"""]
    srcs4 = ["10.9.0.1", "10.9.0.2", "10.9.1.0/24", "10.8.0.0/16", "10.9.0.0/23"]
    srcs6 = ["2001:db8:9::1", "2001:db8:9::2", "2001:db8:9:1::/64", "2001:db8:8::/48"]
    dsts4 = ["10.2.0.1", "10.2.0.2", "10.2.0.3 - 10.2.0.4", "10.2.0.0/29", "10.2.0.9"]
    dsts6 = ["2001:db8:2::1", "2001:db8:2::3", "2001:db8:2::2 - 2001:db8:2::4", "2001:db8:2::9"]
    named = ["a", "clients", "r", "g", "any"]  # both families
    common = ["s1", "s2", "s3", "ping", "frag", "tunnel", "tcp 80", "udp 5", "tcp 4-5 sport 1024",
              "tcp", "udp", "{ s1, s3 }"]
    svcs_of = {0: common, 4: common + ["icmp", "icmp echo-request", "b"], 6: common + ["icmpv6", "icmpv6 1 code 4"]}
    rules = []
    if rnd.random() < 0.5:
        rules.append("    option stateful no;")
    prev = None
    for i in range(rnd.randrange(5, 60)):
        if prev and rnd.random() < 0.65:
            act, svc, src, dst, opt, fam = prev
            k = rnd.randrange(3)
            if k == 0:
                dst = rnd.choice(dsts4 if fam == 4 else dsts6)
            elif k == 1:
                src = rnd.choice(srcs4 if fam == 4 else srcs6)
            else:
                svc = rnd.choice([x for x in svcs_of[fam] if x not in ("b",)])
            if rnd.random() < 0.25:
                act = rnd.choice(["accept", "drop", "reject"])
        else:
            fam = rnd.choice([4, 6, 0])
            act = rnd.choice(["accept", "accept", "drop", "reject"])
            svc = rnd.choice([x for x in svcs_of[fam] if x != "b"] + [""])
            if fam == 0:
                src, dst = rnd.choice(named), rnd.choice(named)
            else:
                src = rnd.choice((srcs4 if fam == 4 else srcs6) + ["any"])
                dst = rnd.choice((dsts4 if fam == 4 else dsts6) + ["any", "b" if fam == 4 else "c"])
            opt = rnd.choice(["", "", "", " in outside", " in dmz", " out dmz", " out outside"])
        o = opt
        if rnd.random() < 0.1:
            o += ' log prefix "p%d "' % rnd.randrange(3)
        if rnd.random() < 0.15:
            o += " counter"
        prev = (act, svc, src, dst, opt, fam)
        rules.append("    %s%s from %s to %s%s;" % (act, " " + svc if svc else "", src, dst, o))
    out.append("policy p default %s {\n%s\n}\n" % (rnd.choice(["drop", "accept", "reject"]), "\n".join(rules)))
    return "".join(out)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "policy":
        sys.stdout.write(policy(int(sys.argv[2])))
    elif cmd == "send":
        send(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "listen":
        listen(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "describe":
        want = set(int(x) for x in sys.argv[2:])
        for p in probes():
            if p[0] in want:
                pid, fam, s, d, proto, sp, dp, t, c = p
                print("probe %d: %s -> %s proto %d sport %d dport %d type %d code %d" % (pid, s, d, proto, sp, dp, t, c))
    else:
        sys.exit("usage: sets_probe.py policy SEED | send IFACE DST_MAC RUN | listen IFACE FILE RUN | describe ID...")
