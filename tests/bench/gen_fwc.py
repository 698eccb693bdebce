#!/usr/bin/env python3
"""Writes fwc policies of the same synthetic shapes the peers' generators write.

  gen_fwc.py fwb N [-o FILE]          Firewall Builder's bench shape
  gen_fwc.py capirca N [-o FILE]      Capirca's bench shape
  gen_fwc.py forward N [-o FILE]      the forwarding benchmark's policy

The peers' generators in PEERS (default /work/shared/peers, env FWC_PEERS) are
imported and run, so the objects and the rule order are the ones the peers
compile, not a copy of their formulas:

fwb      gen_fwb.build_bench(db, N): N rules "any -> host_i tcp/port_i accept",
         host_i a distinct host, then "deny any any, log".
capirca  gen_policy.build_model(N): N rules "H_i -> LB_VIP port 1024+i" (every
         5th udp, every 10th logged, every 7th counted), then default deny.
forward  not a peer shape: N rules "accept tcp port_i from any to host_i" with
         distinct hosts in 10.64.0.0/10 and ports 1024.., then the rules the
         benchmark traffic needs; stateless, so that every packet walks the
         chain (see forwarding.sh).
"""
import argparse
import os
import sys

PEERS = os.environ.get("FWC_PEERS", "/work/shared/peers")

FIREWALL = """firewall fw {
    interface outside eth1 10.1.1.1/24;
    interface inside  eth2 10.1.2.1/24;
}
"""


class FwbRecorder:
    """Stands in for gen_fwb.Db: records the objects and rules build_bench makes."""

    def __init__(self):
        self.objects, self.services, self.rules = [], [], []
        self.names = {}

    def host(self, name, addr):
        self.objects.append("host %s %s;" % (name, addr))
        return name

    def tcp(self, name, lo, hi=None):
        port = str(lo) if hi is None or hi == lo else "%d-%d" % (lo, hi)
        self.services.append("service %s tcp %s;" % (name, port))
        return name

    def rule(self, action, src=None, dst=None, srv=None, log=False, comment="", **_):
        act = {"Accept": "accept", "Deny": "drop", "Reject": "reject"}[action]
        text = "    %s" % act
        if srv:
            text += " " + srv
        text += " from %s to %s" % (src or "any", dst or "any")
        if log:
            text += " log"
        if comment:
            text += ' comment "%s"' % comment
        self.rules.append(text + ";")


def fwb(n):
    sys.path.insert(0, os.path.join(PEERS, "fwbuilder"))
    import gen_fwb  # noqa: E402
    db = FwbRecorder()
    gen_fwb.build_bench(db, n)
    return (FIREWALL + "\n".join(db.objects + db.services) +
            "\n\npolicy bench default drop {\n" + "\n".join(db.rules) + "\n}\n")


def capirca(n):
    sys.path.insert(0, os.path.join(PEERS, "capirca"))
    import gen_policy  # noqa: E402
    model = gen_policy.build_model(n)
    out = [FIREWALL]
    for name, vals in model["objects"]["networks"].items():
        if all(v.endswith("/32") for v in vals):
            out.append("host %s %s;" % (name, ", ".join(v[:-3] for v in vals)))
        else:
            out.append("network %s %s;" % (name, ", ".join(vals)))
    for name, vals in model["objects"]["services"].items():
        items = []
        for v in vals:
            port, proto = v.split("/")
            items.append("%s %s" % (proto, port))
        out.append("service %s %s;" % (name, ", ".join(items)))
    out.append("\npolicy bench default drop {")
    for r in model["rules"]:
        if "src" not in r:  # the default deny: the policy's default
            continue
        act = "accept" if r["action"] == "accept" else "drop"
        line = "    %s %s from %s to %s" % (act, r["service"], r["src"], r["dst"])
        if r.get("log"):
            line += " log"
        if r.get("counter"):
            line += " counter"
        out.append(line + ' comment "%s";' % r["name"])
    out.append("}\n")
    return "\n".join(out)


def forward(n):
    out = ["""# Forwarding benchmark: N objects, each a host with its own service.
firewall fw {
    interface src  veth-src 10.0.1.1/24;
    interface sink veth-sink 10.0.2.1/24;
}
host sink_host 10.0.2.2;
host src_host  10.0.1.2;
service bench  udp 5201;
service iperf  tcp 5201;
"""]
    for i in range(n):
        a = 64 + (i >> 16)
        out.append("host h%d 10.%d.%d.%d;" % (i, a, (i >> 8) & 255, i & 255))
    out.append("\npolicy forward default drop {\n    option stateful no;")
    for i in range(n):
        out.append("    accept tcp %d from any to h%d;" % (1024 + i % 60000, i))
    out.append("""    accept bench from src_host to sink_host comment "the measured flow";
    accept iperf from src_host to sink_host comment "iperf3 control";
    accept from sink_host to src_host comment "iperf3 control, replies";
}
""")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shape", choices=["fwb", "capirca", "forward"])
    ap.add_argument("n", type=int)
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    text = {"fwb": fwb, "capirca": capirca, "forward": forward}[a.shape](a.n)
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
