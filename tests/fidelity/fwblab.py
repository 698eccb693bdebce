"""Firewall Builder firewalls fitted to the lab, for the side-by-side test of
`fwc import` (import_sidebyside.py --fwb).

A regression firewall of Firewall Builder has its own interfaces (eth0,
ppp0, ...) and addresses (22.22.22.22, 192.168.1.1, ...); the lab has three
links, eth1..eth3, with fixed addresses. So the test rewrites the firewall
in a copy of the .fwb file before either compiler sees it: its static
interfaces, outside first (lowest security level), become eth1, eth2 and
eth3 with the lab's addresses (a second address of a family on one interface
becomes .11, ::11 and so on); the others (a fourth interface, a dynamic or
unnumbered one) become devices x4, x5, ... (one end of a veth pair) that
the lab's firewall
namespace gets too, with addresses of 10.9.N.0/24 and 2001:db8:9N::/64.
Rules name interfaces and addresses by object id, so both fwb_ipt and fwc
import read one and the same firewall, moved into the lab. Its routing
rules are left out and its logging goes to LOG instead of ULOG (fit()).

A firewall with fewer than three static interfaces leaves a link of the lab
unused: no probe comes in or goes out by it (fwc import writes fwb_ipt's
"any interface", "-i +", as each interface of the firewall, and its --check
compares what the firewall's own interfaces carry).

The original is what fwb_ipt's script builds in the kernel: the script runs
(`start`) in a scratch namespace holding the same devices and addresses,
and iptables-save / ip6tables-save print the tables it made, which the test
then loads into the lab with iptables-restore like any other original.
"""
import gzip
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

NS = "http://www.fwbuilder.org/1.0/"
LAB_DEVS = ["eth1", "eth2", "eth3"]


def _q(tag):
    return "{%s}%s" % (NS, tag)


def read_tree(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return ET.parse(f)


def uncompressed(path, tmp):
    """path itself, or for a .gz file its content written to tmp."""
    if not path.endswith(".gz"):
        return path
    out = os.path.join(tmp, os.path.basename(path)[:-3])
    if not os.path.exists(out):
        with gzip.open(path, "rb") as f, open(out, "wb") as g:
            shutil.copyfileobj(f, g)
    return out


def firewalls(path):
    """Names of the iptables firewalls of a .fwb file (clusters left out)."""
    root = read_tree(path).getroot()
    return [fw.get("name") for fw in root.iter(_q("Firewall")) if fw.get("platform") == "iptables"]


class Device:
    """One device of the firewall as the lab gives it: name, addresses
    (CIDR text), and whether it is one of the lab's links."""

    def __init__(self, name, addrs, in_lab):
        self.name, self.addrs, self.in_lab = name, addrs, in_lab


def _is_loopback(i):
    return i.get("name") == "lo" or any(a.get("address", "").startswith("127.") for a in i.findall(_q("IPv4")))


def fit(src, name, dest):
    """Writes the .fwb file src to dest with firewall `name` moved into the
    lab; returns its devices (Device list) and a mapping old -> new device
    name, or raises ValueError when the file has no such firewall."""
    ET.register_namespace("", NS)
    tree = read_tree(src)
    fw = next((f for f in tree.getroot().iter(_q("Firewall")) if f.get("name") == name), None)
    if fw is None:
        raise ValueError("%s has no firewall %s" % (src, name))
    ifaces = [i for i in fw.findall(_q("Interface")) if not _is_loopback(i)]
    static = [i for i in ifaces if i.get("dyn") != "True" and i.get("unnum") != "True"
              and (i.findall(_q("IPv4")) or i.findall(_q("IPv6")))]
    static.sort(key=lambda i: int(i.get("security_level") or 0))
    lab_ifaces = static[:len(LAB_DEVS)]
    devices, renamed = [], {}
    extra = 4
    for i in lab_ifaces + [i for i in ifaces if i not in lab_ifaces]:
        if i in lab_ifaces:
            n = lab_ifaces.index(i) + 1
            dev, v4, v6, in_lab = LAB_DEVS[n - 1], "10.1.%d." % n, "2001:db8:%d::" % n, True
        else:
            dev, v4, v6, in_lab = "x%d" % extra, "10.9.%d." % extra, "2001:db8:9%d::" % extra, False
            extra += 1
        renamed[i.get("name")] = dev
        i.set("name", dev)
        addrs = []
        for fam, tag in ((4, "IPv4"), (6, "IPv6")):
            for k, a in enumerate(i.findall(_q(tag))):
                host = "1" if k == 0 else str(10 + k)
                a.set("address", (v4 if fam == 4 else v6) + host)
                a.set("netmask", "255.255.255.0" if fam == 4 else "64")
                addrs.append("%s%s/%d" % (v4 if fam == 4 else v6, host, 24 if fam == 4 else 64))
        devices.append(Device(dev, addrs, in_lab))
    # Two things of the file that a lab firewall cannot have, and that decide
    # no packet: routing rules (their gateways are on the firewall's own
    # networks, which moved) and logging to ULOG (gone from Linux since
    # 3.17: the script would not load); the routes go, LOG replaces ULOG.
    for r in fw.iter(_q("Routing")):
        for rule in [k for k in r if k.tag == _q("RoutingRule")]:
            r.remove(rule)
    for o in fw.iter(_q("Option")):
        if o.get("name") in ("use_ULOG", "useULOG"):
            o.text = "False"
    with open(dest, "wb") as f:
        f.write(b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
                b'<!DOCTYPE FWObjectDatabase SYSTEM "fwbuilder.dtd">\n')
        tree.write(f, encoding="utf-8", xml_declaration=False)
    return devices, renamed


def compile_script(fwb, name, dest):
    """fwb_ipt's script for the firewall, or (None, why) when it refuses it."""
    work = os.path.dirname(dest)
    p = subprocess.run(["fwb_ipt", "-q", "-f", fwb, "-o", dest, name], cwd=work,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # fwb_ipt exits 1 on warnings; a script is what counts.
    if not os.path.exists(dest) or os.path.getsize(dest) == 0:
        lines = [l.strip() for l in p.stdout.splitlines()
                 if l.strip() and not l.strip().startswith(("***", "Compile time"))]
        why = next((l for l in lines if "rror" in l), lines[0] if lines else "no script")
        return None, why.strip()
    return dest, None


def _run(args, inp=None, ok=(0,)):
    p = subprocess.run(args, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode not in ok:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), p.returncode, (p.stderr or p.stdout).strip()[:800]))
    return p


def add_devices(netns, devices, lab_has_links):
    """The devices in namespace netns: stand-ins for those the lab has no link
    for (all of them when lab_has_links is False), and every address."""
    batch = []
    for d in devices:
        if not (d.in_lab and lab_has_links):
            # A veth pair stands in for a dummy (the kernel may lack the
            # dummy driver); its far end stays in the namespace, unused.
            batch += ["link add %s type veth peer name %sp" % (d.name, d.name), "link set %sp up" % d.name,
                      "link set %s up" % d.name]
        for k, a in enumerate(d.addrs):
            first_of_family = k == 0 or (":" in a) != (":" in d.addrs[k - 1])
            if d.in_lab and lab_has_links and first_of_family:
                continue  # the lab's own address of that link
            batch.append("addr add %s dev %s%s" % (a, d.name, " nodad" if ":" in a else ""))
    if batch:
        _run(["ip", "-n", netns, "-batch", "-"], inp="\n".join(batch) + "\n")


def remove_devices(netns, devices):
    """Undoes add_devices(netns, devices, True)."""
    batch = []
    for d in devices:
        if not d.in_lab:
            batch.append("link del %s" % d.name)
            continue
        for k, a in enumerate(d.addrs):
            if k > 0 and (":" in a) == (":" in d.addrs[k - 1]):
                batch.append("addr del %s dev %s" % (a, d.name))
    if batch:
        _run(["ip", "-n", netns, "-batch", "-"], inp="\n".join(batch) + "\n", ok=(0, 1))


class ScriptFailed(RuntimeError):
    """fwb_ipt's script stopped with an error (its last iptables message)."""

    def __init__(self, code, output):
        lines = [l.strip() for l in output.splitlines() if l.strip()]
        errs = [l for l in lines if "iptables" in l or "rror" in l or "failed" in l or "not supported" in l]
        self.last_error = "exit %d: %s" % (code, " / ".join(errs[-2:]) if errs else (lines[-1] if lines else ""))
        super().__init__("fwb_ipt's script " + self.last_error)


def original_tables(script, devices, netns):
    """(iptables-save text, ip6tables-save text) of what the script builds,
    run in a scratch namespace with the firewall's devices."""
    _run(["ip", "netns", "add", netns])
    try:
        _run(["ip", "-n", netns, "link", "set", "lo", "up"])
        add_devices(netns, devices, False)
        p = subprocess.run(["ip", "netns", "exec", netns, "/bin/sh", script, "start"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if p.returncode != 0:
            raise ScriptFailed(p.returncode, p.stdout)
        texts = []
        for tool in ("iptables-save", "ip6tables-save"):
            out = _run(["ip", "netns", "exec", netns, tool]).stdout
            texts.append(out if any(l.startswith("*") for l in out.splitlines()) else "")
        return tuple(texts)
    finally:
        subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL)


def have_fwb_ipt():
    return shutil.which("fwb_ipt") is not None
