"""The lab: a firewall namespace with three links to peer namespaces, and the
sockets that send probes into it and watch what comes out.

    p1 veth0 ---- eth1 [fw] eth2 ---- veth0 p2
                        eth3
                         |
                       veth0 p3

The peers have no addresses and drop every IP packet at prerouting, after
their AF_PACKET taps have seen it: they never answer, so no connection ever
gets a reply and every probe is the first packet of its connection. The
firewall resolves no neighbours; every next hop and every probed address on
a connected network gets a permanent neighbour entry instead (the peers could
not answer ARP or ND anyway).

Policy routing makes the marks of the marks section visible: a forwarded
packet with mark 7 leaves through eth3 and one with mark 9 through eth2,
whatever its destination (MARK_TABLES: ip rule fwmark N lookup T, table T
holding only a default route).
"""
import ctypes
import ipaddress
import os
import socket
import struct
import subprocess
import time

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 3
NETLINK_NETFILTER = 12

# Interface n (1..3): fw side ethN, peer pN. The address plan mirrors
# policygen.FIREWALL; routes say which peer is behind which addresses.
IFACES = {
    "eth1": dict(peer="p1", v4="10.1.1.1/24", v6="2001:db8:1::1/64", gw4="10.1.1.2", gw6="2001:db8:1::2",
                 routes=["0.0.0.0/0", "::/0"]),
    "eth2": dict(peer="p2", v4="10.1.2.1/24", v6="2001:db8:2::1/64", gw4="10.1.2.2", gw6="2001:db8:2::2",
                 routes=["10.2.0.0/16", "172.16.0.0/12", "2001:db8:20::/48"]),
    "eth3": dict(peer="p3", v4="10.1.3.1/24", v6="2001:db8:3::1/64", gw4="10.1.3.2", gw6="2001:db8:3::2",
                 routes=["10.3.0.0/16", "192.168.0.0/16", "2001:db8:30::/48", "fd00:3::/32"]),
}

# mark -> (device, routing table): ip rule fwmark MARK lookup TABLE, whose
# only route is a default one through the device's next hop.
MARK_TABLES = {7: ("eth3", 107), 9: ("eth2", 109)}


def fw_mac(dev):
    return bytes([2, 0xfd, 0, 0, int(dev[-1]), 1])


def peer_mac(dev):
    return bytes([2, 0xfd, 0, 0, int(dev[-1]), 2])


def mac_text(b):
    return ":".join("%02x" % x for x in b)


class Route:
    """The firewall's routing table, as configured by Lab.up()."""

    def __init__(self):
        self.table = {4: [], 6: []}
        self.cache = {}
        for dev, c in IFACES.items():
            for net in [c["v4"], c["v6"]] + c["routes"]:
                n = ipaddress.ip_network(net, strict=False)
                self.table[n.version].append((n.prefixlen, int(n.network_address), n, dev))
        for t in self.table.values():
            t.sort(key=lambda x: -x[0])
        self.connected = {4: [], 6: []}
        for dev, c in IFACES.items():
            for net in (c["v4"], c["v6"]):
                n = ipaddress.ip_interface(net).network
                self.connected[n.version].append((n, dev))

    def dev(self, fam, addr, mark=0):
        """The device a packet to addr leaves by (not for the firewall's own
        addresses, which the local table delivers before any mark rule)."""
        if mark in MARK_TABLES:
            return MARK_TABLES[mark][0]
        key = (fam, addr)
        if key not in self.cache:
            if len(self.cache) > 50000:
                self.cache.clear()
            a = ipaddress.ip_address(addr) if not isinstance(addr, int) else (
                ipaddress.IPv4Address(addr) if fam == 4 else ipaddress.IPv6Address(addr))
            self.cache[key] = next((dev for _, _, n, dev in self.table[fam] if a in n), None)
        return self.cache[key]

    def on_link(self, fam, addr):
        """The device when addr is on a connected network (needs a neighbour)."""
        a = ipaddress.IPv4Address(addr) if fam == 4 else ipaddress.IPv6Address(addr)
        for n, dev in self.connected[fam]:
            if a in n:
                return dev
        return None


_libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def run(args, ok=(0,), inp=None):
    p = subprocess.run(args, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), p.returncode, (p.stderr or p.stdout).strip()))
    return p


class Lab:
    def __init__(self, prefix):
        self.prefix = prefix
        self.fw = prefix + "fw"
        self.peers = {dev: prefix + c["peer"] for dev, c in IFACES.items()}
        self.route = Route()
        self.neigh = set()
        self.sock_peer = {}   # dev -> AF_PACKET socket in that peer
        self.sock_raw = []    # (family, proto, socket) in fw
        self.sock_send = {}   # family -> IPPROTO_RAW socket in fw
        self.nfnl = None

    def ns(self, name, *args, **kw):
        return run(["ip", "netns", "exec", name] + list(args), **kw)

    def up(self, raw_protos):
        names = [self.fw] + list(self.peers.values())
        for n in names:
            run(["ip", "netns", "add", n])
        for n in names:
            run(["ip", "-n", n, "link", "set", "lo", "up"])
        # Defaults first, so that the links created below inherit them.
        self.ns(self.fw, "sysctl", "-qw",
                "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1",
                "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                "net.ipv4.conf.all.accept_redirects=0", "net.ipv4.conf.default.accept_redirects=0",
                "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0",
                "net.ipv6.conf.all.accept_redirects=0", "net.ipv6.conf.default.accept_redirects=0",
                "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
                "net.ipv6.conf.default.router_solicitations=0",
                # Reject answers are ICMP errors: no rate limit may eat them.
                "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0",
                "net.ipv4.icmp_msgs_per_sec=100000000", "net.ipv4.icmp_msgs_burst=100000000")
        for dev, c in IFACES.items():
            peer = self.peers[dev]
            self.ns(peer, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
            run(["ip", "-n", self.fw, "link", "add", dev, "address", mac_text(fw_mac(dev)), "type", "veth",
                 "peer", "name", "veth0", "address", mac_text(peer_mac(dev)), "netns", peer])
            # Taps see a frame before prerouting: this only keeps the peer quiet.
            self.ns(peer, "nft", "-f", "-", inp="table inet quiet {\n chain pre {\n type filter hook prerouting "
                    "priority -300; policy drop;\n }\n}\n")
            run(["ip", "-n", peer, "link", "set", "veth0", "up"])
        batch = []
        for dev, c in IFACES.items():
            batch += ["addr add %s brd + dev %s" % (c["v4"], dev), "addr add %s dev %s nodad" % (c["v6"], dev),
                      "link set %s up" % dev,
                      "neigh replace %s lladdr %s dev %s nud permanent" % (c["gw4"], mac_text(peer_mac(dev)), dev),
                      "neigh replace %s lladdr %s dev %s nud permanent" % (c["gw6"], mac_text(peer_mac(dev)), dev)]
            for r in c["routes"]:
                gw = c["gw6"] if ":" in r else c["gw4"]
                batch.append("route replace %s via %s dev %s onlink" % (r, gw, dev))
            self.ns(self.fw, "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % dev)
        for mark, (dev, table) in sorted(MARK_TABLES.items()):
            c = IFACES[dev]
            batch += ["route replace default via %s dev %s onlink table %d" % (c["gw4"], dev, table),
                      "route replace default via %s dev %s onlink table %d" % (c["gw6"], dev, table)]
        run(["ip", "-n", self.fw, "-batch", "-"], inp="\n".join(batch) + "\n")
        for mark, (dev, table) in sorted(MARK_TABLES.items()):
            for fam in ("-4", "-6"):
                run(["ip", "-n", self.fw, fam, "rule", "add", "fwmark", str(mark), "lookup", str(table),
                     "priority", str(100 + mark)])
        # IPv6 sets up an interface (its multicast route among others) only
        # once the link watcher has seen the carrier, up to a second later.
        for _ in range(100):
            mc = run(["ip", "-n", self.fw, "-6", "route", "show", "table", "local", "type", "multicast"]).stdout
            if all(" dev %s " % dev in mc for dev in IFACES):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the firewall's links did not come up")
        self._sockets(raw_protos)

    def _sockets(self, raw_protos):
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            for dev, peer in self.peers.items():
                setns("/run/netns/" + peer)
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                s.bind(("veth0", 0))
                self._bufs(s)
                s.setblocking(False)
                self.sock_peer[dev] = s
            setns("/run/netns/" + self.fw)
            for fam, af in ((4, socket.AF_INET), (6, socket.AF_INET6)):
                for proto in raw_protos[fam]:
                    s = socket.socket(af, socket.SOCK_RAW, proto)
                    if fam == 6:  # the destination, which a DNAT may have changed
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                    self._bufs(s)
                    s.setblocking(False)
                    self.sock_raw.append((fam, proto, s))
                s = socket.socket(af, socket.SOCK_RAW, socket.IPPROTO_RAW)
                self._bufs(s)
                self.sock_send[fam] = s
            self.nfnl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
            self.nfnl.bind((0, 0))
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
            os.close(home)

    @staticmethod
    def _bufs(s):
        for opt in (33, 32):  # SO_RCVBUFFORCE, SO_SNDBUFFORCE: root may exceed rmem_max
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, 64 << 20)
            except OSError:
                pass

    def flush_conntrack(self):
        """Empties the firewall's connection table (both families): a probe
        must not find the connection an earlier load let through."""
        # nlmsghdr + nfgenmsg(AF_UNSPEC): IPCTNL_MSG_CT_DELETE without a tuple flushes.
        msg = struct.pack("=LHHLL", 20, (1 << 8) | 2, 1 | 4, 1, 0) + struct.pack("=BBH", 0, 0, 0)
        self.nfnl.send(msg)
        while True:
            data = self.nfnl.recv(65536)
            _, typ, _, _, _ = struct.unpack("=LHHLL", data[:16])
            if typ == 2:  # NLMSG_ERROR: 0 is the ack
                err = struct.unpack("=i", data[16:20])[0]
                if err not in (0, -2):  # -ENOENT: conntrack not in use here yet
                    raise OSError(-err, "conntrack flush: " + os.strerror(-err))
                return

    def add_neighbours(self, addrs):
        """Permanent neighbours for (family, int address) on connected networks."""
        batch = []
        for fam, a in addrs:
            if (fam, a) in self.neigh:
                continue
            dev = self.route.on_link(fam, a)
            if dev is None:
                continue
            self.neigh.add((fam, a))
            text = str(ipaddress.IPv4Address(a) if fam == 4 else ipaddress.IPv6Address(a))
            batch.append("neigh replace %s lladdr %s dev %s nud permanent" % (text, mac_text(peer_mac(dev)), dev))
        if batch:
            run(["ip", "-n", self.fw, "-batch", "-"], inp="\n".join(batch) + "\n")

    def flush_ruleset(self):
        self.ns(self.fw, "nft", "flush", "ruleset")

    def down(self):
        for s in list(self.sock_peer.values()) + [s for _, _, s in self.sock_raw] + list(self.sock_send.values()):
            s.close()
        if self.nfnl:
            self.nfnl.close()
        for n in [self.fw] + list(self.peers.values()):
            p = subprocess.run(["ip", "netns", "pids", n], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for pid in p.stdout.split():
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)


def leftovers(prefix_root):
    p = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True)
    return [l.split()[0] for l in p.stdout.splitlines() if l.startswith(prefix_root)]
