export interface FixturePort {
  readonly port: number;
  readonly proto?: 'tcp' | 'udp';
  readonly state?: string;
  readonly service?: string;
  readonly product?: string;
  readonly version?: string;
  readonly script?: { id: string; output: string };
}

export interface FixtureHost {
  readonly ip: string;
  readonly hostname?: string;
  readonly ports: readonly FixturePort[];
}

/** A small, valid nmap 7.93 report; `services` sets the scanned range (coverage) per protocol. */
export function nmapReport(hosts: readonly FixtureHost[], opts: { services?: string; udpServices?: string; args?: string; start?: number } = {}): string {
  const start = opts.start ?? 1795300000;
  const scaninfo = [
    opts.services !== undefined ? `<scaninfo type="syn" protocol="tcp" numservices="1" services="${opts.services}"/>` : '',
    opts.udpServices !== undefined ? `<scaninfo type="udp" protocol="udp" numservices="1" services="${opts.udpServices}"/>` : '',
  ].join('');
  const body = hosts
    .map((h) => {
      const ports = h.ports
        .map((p) => {
          const svc = p.service ? `<service name="${p.service}"${p.product ? ` product="${p.product}"` : ''}${p.version ? ` version="${p.version}"` : ''} method="probed" conf="10"/>` : '';
          const script = p.script ? `<script id="${p.script.id}" output="${p.script.output}"/>` : '';
          return `<port protocol="${p.proto ?? 'tcp'}" portid="${p.port}"><state state="${p.state ?? 'open'}" reason="syn-ack" reason_ttl="64"/>${svc}${script}</port>`;
        })
        .join('');
      const names = h.hostname ? `<hostname name="${h.hostname}" type="user"/>` : '';
      return `<host starttime="${start}" endtime="${start + 5}"><status state="up" reason="user-set" reason_ttl="0"/><address addr="${h.ip}" addrtype="ipv4"/><hostnames>${names}</hostnames><ports>${ports}</ports></host>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="${opts.args ?? 'nmap -sS -p1-1000 -oX - 10.0.0.0/24'}" start="${start}" version="7.93" xmloutputversion="1.05">
${scaninfo}
${body}
<runstats><finished time="${start + 10}" elapsed="10" exit="success"/><hosts up="${hosts.length}" down="0" total="${hosts.length}"/></runstats>
</nmaprun>
`;
}
