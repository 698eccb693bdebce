#!/usr/bin/env python3
"""Traffic probes for the fwc end-to-end tests (no ping binary needed).

    probe.py ping [--timeout S] ADDR...     ICMP/ICMPv6 echo; prints "ADDR reply|noreply"
    probe.py tcp --port P [--timeout S] ADDR...
                                            connect, read the banner; prints
                                            "ADDR banner TEXT" or "ADDR fail REASON"
    probe.py nmapg FILE PORTS [HOST...]     from nmap's grepable output (-oG) in FILE, prints
                                            one line per HOST (default: every host in FILE):
                                            "HOST 22/open 23/filtered ..." for the comma-separated
                                            PORTS, or "HOST missing" when FILE has no such host

All targets of one call are probed concurrently, so a call lasts at most about
--timeout seconds however many targets time out. Needs root (raw sockets) for ping.
"""
import argparse
import ipaddress
import os
import re
import select
import socket
import struct
import threading
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(addrs, timeout):
    ident = os.getpid() & 0xFFFF
    socks = {}
    targets = {}  # (family, normalized addr) -> (original text, seq)
    for i, a in enumerate(addrs):
        ip = ipaddress.ip_address(a)
        fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        if fam not in socks:
            proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
            socks[fam] = socket.socket(fam, socket.SOCK_RAW, proto)
        targets[(fam, ip.compressed)] = (a, i + 1)
    got = set()

    def send_all():
        for (fam, addr), (_, seq) in targets.items():
            if (fam, addr) in got:
                continue
            payload = b"fwc-e2e-ping-%d" % seq
            if fam == socket.AF_INET:
                hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
                pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq) + payload
            else:  # the kernel fills in the ICMPv6 checksum
                pkt = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + payload
            try:
                socks[fam].sendto(pkt, (addr, 0))
            except OSError:
                pass  # e.g. EPERM from a local output drop: counts as no reply

    deadline = time.monotonic() + timeout
    resend = time.monotonic() + timeout / 2
    send_all()
    while len(got) < len(targets):
        now = time.monotonic()
        if now >= deadline:
            break
        if now >= resend:
            send_all()
            resend = deadline + 1
        r, _, _ = select.select(list(socks.values()), [], [], min(deadline, resend) - now)
        for s in r:
            data, peer = s.recvfrom(65535)
            if s.family == socket.AF_INET:
                icmp = data[(data[0] & 0x0F) * 4:]
                want = 0
            else:
                icmp = data
                want = 129
            if len(icmp) < 8:
                continue
            typ, _, _, rid, seq = struct.unpack("!BBHHH", icmp[:8])
            src = ipaddress.ip_address(peer[0].split("%")[0]).compressed
            key = (s.family, src)
            if typ == want and rid == ident and key in targets and targets[key][1] == seq:
                got.add(key)
    for key, (text, _) in targets.items():
        print(text, "reply" if key in got else "noreply")


def tcp(addrs, port, timeout):
    out = {}

    def one(a):
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect((a, port))
                data = b""
                while True:
                    chunk = s.recv(256)
                    if not chunk:
                        break
                    data += chunk
            text = data.decode(errors="replace").strip()
            out[a] = ("banner " + text) if text else "fail empty"
        except (OSError, socket.timeout) as e:
            out[a] = "fail " + (type(e).__name__ if not str(e) else str(e)).replace("\n", " ")

    threads = [threading.Thread(target=one, args=(a,)) for a in addrs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a in addrs:
        print(a, out[a])


def nmapg(path, ports, hosts):
    """Port states per host in nmap -oG output, also when nmap folded a state
    into "Ignored State: filtered (N)" instead of listing each port."""
    found = {}  # normalized address -> (states, ignored)
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        lines = []
    for line in lines:
        m = re.match(r"Host: (\S+) ", line)
        if not m or "Ports:" not in line:
            continue
        try:
            addr = ipaddress.ip_address(m.group(1)).compressed
        except ValueError:
            continue
        states, ignored = found.setdefault(addr, ({}, [None]))
        for field in line.rstrip("\n").split("\t"):
            if field.startswith("Ports: "):
                for entry in field[len("Ports: "):].split(", "):
                    parts = entry.split("/")
                    if len(parts) > 2 and parts[0].strip().isdigit():
                        states[int(parts[0])] = parts[1]
            elif field.startswith("Ignored State: "):
                ignored[0] = field[len("Ignored State: "):].split(" ")[0]
    for h in hosts or list(found):
        key = ipaddress.ip_address(h).compressed
        if key not in found:
            print(h, "missing")
            continue
        states, ignored = found[key]
        print(h, " ".join("%d/%s" % (p, states.get(p, ignored[0] or "unlisted")) for p in ports))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ping")
    p.add_argument("--timeout", type=float, default=1.5)
    p.add_argument("addrs", nargs="+")
    t = sub.add_parser("tcp")
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--timeout", type=float, default=1.5)
    t.add_argument("addrs", nargs="+")
    g = sub.add_parser("nmapg")
    g.add_argument("file")
    g.add_argument("ports")
    g.add_argument("hosts", nargs="*")
    args = ap.parse_args()
    if args.cmd == "nmapg":
        nmapg(args.file, [int(p) for p in args.ports.split(",")], args.hosts)
    elif args.cmd == "ping":
        ping(args.addrs, args.timeout)
    else:
        tcp(args.addrs, args.port, args.timeout)


if __name__ == "__main__":
    main()
