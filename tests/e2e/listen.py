#!/usr/bin/env python3
"""Tiny dual-stack listener for the fwc end-to-end tests.

    listen.py --name HOST [--tcp 22,80] [--udp 53,161] [--ready FILE]

Every TCP port accepts a connection, writes "fwc-e2e HOST PORT\\n" and closes.
Every UDP port echoes each datagram back to its sender. Sockets are bound to
"::" with IPV6_V6ONLY off, so IPv4 and IPv6 are both served. Once all sockets
are listening, "ready" is written to FILE (if given). Runs until killed.
"""
import argparse
import selectors
import signal
import socket
import sys


def ports(text):
    return [int(p) for p in text.split(",") if p] if text else []


def bind(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--tcp", default="")
    ap.add_argument("--udp", default="")
    ap.add_argument("--ready")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sel = selectors.DefaultSelector()
    for p in ports(args.tcp):
        sel.register(bind(socket.SOCK_STREAM, p), selectors.EVENT_READ, ("tcp", p))
    for p in ports(args.udp):
        sel.register(bind(socket.SOCK_DGRAM, p), selectors.EVENT_READ, ("udp", p))
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")

    while True:
        for key, _ in sel.select():
            proto, port = key.data
            s = key.fileobj
            try:
                if proto == "tcp":
                    conn, _ = s.accept()
                    conn.settimeout(2)
                    try:
                        conn.sendall(b"fwc-e2e %s %d\n" % (args.name.encode(), port))
                        conn.shutdown(socket.SHUT_WR)
                    finally:
                        conn.close()
                else:
                    data, peer = s.recvfrom(65535)
                    s.sendto(data, peer)
            except OSError:
                pass  # a peer vanished or a reply was blocked: keep serving


if __name__ == "__main__":
    main()
