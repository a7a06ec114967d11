"""Reads an nmap XML file with python-libnmap and prints what it understood as JSON.

Used by test/e2e/export-readback.e2e-spec.ts to check that a third-party nmap parser reads the
ledger's export back with the same content. Run with the venv that `scripts/setup.sh --test`
creates: .cache/pyenv/bin/python test/support/libnmap-summary.py FILE
"""
import json
import sys

from libnmap.parser import NmapParser


def script(s):
    return {"id": s.get("id"), "output": s.get("output"), "elements": s.get("elements", {})}


def host(h):
    return {
        "address": h.address,
        "ipv4": h.ipv4,
        "ipv6": h.ipv6,
        "mac": h.mac,
        "vendor": h.vendor,
        "status": h.status,
        "hostnames": h.hostnames,
        "ports": [
            {
                "proto": p.protocol,
                "port": p.port,
                "state": p.state,
                "reason": p.reason,
                "name": p.service,
                "product": p.service_dict.get("product"),
                "version": p.service_dict.get("version"),
                "extrainfo": p.service_dict.get("extrainfo"),
                "tunnel": p.tunnel,
                "cpes": [c.cpestring for c in p.cpelist],
                "scripts": [script(s) for s in p.scripts_results],
            }
            for p in h.services
        ],
        "openPorts": sorted([proto, port] for port, proto in h.get_open_ports()),
        "hostScripts": [script(s) for s in h.scripts_results],
        "osMatches": [{"name": m.name, "accuracy": m.accuracy} for m in h.os.osmatches] if h.os_fingerprinted else [],
        "distance": h.distance,
    }


report = NmapParser.parse_fromfile(sys.argv[1])
json.dump(
    {
        "version": report.version,
        "hostsTotal": report.hosts_total,
        "hostsUp": report.hosts_up,
        "hostsDown": report.hosts_down,
        "hosts": [host(h) for h in report.hosts],
    },
    sys.stdout,
)
