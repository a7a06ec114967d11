import fc from 'fast-check';
import type { NmapHost } from '#events';
import { hostCheck, runMetaCheck } from '../../../events/src/ledger/nmap.schema.js';
import { parseNmapReport, readNmapReport, type NmapReportEvent } from './index.js';

const collect = async (input: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>): Promise<NmapReportEvent[]> => {
  const out: NmapReportEvent[] = [];
  for await (const e of parseNmapReport(input)) out.push(e);
  return out;
};
const hostsOf = (events: NmapReportEvent[]): NmapHost[] => events.flatMap((e) => (e.kind === 'host' ? [e.host] : []));

// Everything nmap 7.9x can say about a run, in the order nmap writes it, plus the noise the parser must skip.
const FULL = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/share/nmap/nmap.xsl" type="text/xsl"?>
<!-- Nmap 7.94 scan initiated Tue Nov 14 22:13:20 2023 as: nmap -sS -sU -A -p T:22,80,443,U:53 192.0.2.0/24 -->
<nmaprun scanner="nmap" args="nmap -sS -sU -A -p T:22,80,443,U:53 -oX out.xml 192.0.2.0/24" start="1700000000" startstr="Tue Nov 14 22:13:20 2023" version="7.94" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="3" services="22,80,443"/>
<scaninfo type="udp" protocol="udp" numservices="1" services="53"/>
<verbose level="2"/>
<debugging level="0"/>
<taskbegin task="NSE" time="1700000001"/>
<prescript><script id="broadcast-dhcp-discover" output="&#xa;  Response 1 of 1: &#xa;    IP Offered: 192.0.2.50"><table key="Response 1 of 1"><elem key="IP Offered">192.0.2.50</elem></table></script></prescript>
<taskend task="NSE" time="1700000002"/>
<hosthint><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.0.2.99" addrtype="ipv4"/>
<hostnames>
</hostnames>
</hosthint>
<taskprogress task="SYN Stealth Scan" time="1700000003" percent="50.00" remaining="5" etc="1700000008"/>
<output type="interactive">Starting Nmap 7.94 ( https://nmap.org )</output>
<host starttime="1700000010" endtime="1700000090" comment="lab box"><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.0.2.10" addrtype="ipv4"/>
<address addr="2001:0DB8:0000:0000:0000:0000:0000:0001" addrtype="ipv6"/>
<address addr="00:11:22:aa:bb:cc" addrtype="mac" vendor="Acme Networks"/>
<hostnames>
<hostname name="café.example" type="user"/>
<hostname name="box.lab.example" type="PTR"/>
</hostnames>
<ports><extraports state="closed" count="2">
<extrareasons reason="reset" count="2" proto="tcp" ports="80,443"/>
</extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64" reason_ip="192.0.2.1"/><owner name="root"/><service name="ssh" product="OpenSSH" version="9.6p1 Ubuntu 3ubuntu13" extrainfo="Ubuntu Linux; protocol 2.0" ostype="Linux" method="probed" conf="10" tunnel="ssl" proto="rpc" rpcnum="100000" lowver="2" highver="4" hostname="box" devicetype="general purpose" servicefp="SF-Port22-TCP:V=7.94%I=7"><cpe>cpe:/a:openbsd:openssh:9.6p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service><script id="ssh-hostkey" output="&#xa;  256 aa:bb (ECDSA) &#x1F511;"><table><elem key="type">ecdsa-sha2-nistp256</elem><elem key="bits">256</elem><table key="nested"><elem>x &amp; y &lt;z&gt; 🔑</elem></table></table><elem key="top">level</elem></script></port>
<port protocol="udp" portid="53"><state state="open|filtered" reason="no-response" reason_ttl="0"/><service name="domain" method="table" conf="3"/></port>
</ports>
<os><portused state="open" proto="tcp" portid="22"/>
<portused state="closed" proto="udp" portid="31337"/>
<osmatch name="Linux 5.0 - 5.14" accuracy="98" line="70000">
<osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="5.X" accuracy="98"><cpe>cpe:/o:linux:linux_kernel:5</cpe></osclass>
</osmatch>
<osfingerprint fingerprint="OS:SCAN(V=7.94%E=4)"/>
</os>
<uptime seconds="86400" lastboot="Mon Nov 13 22:13:20 2023"/>
<distance value="1"/>
<tcpsequence index="262" difficulty="Good luck!" values="A,B,C"/>
<ipidsequence class="All zeros" values="0,0"/>
<tcptssequence class="1000HZ" values="1,2"/>
<hostscript><script id="smb-os-discovery" output="&#xa;  OS: Unix"><elem key="os">Unix</elem></script></hostscript>
<trace port="22" proto="tcp">
<hop ttl="1" ipaddr="192.0.2.1" rtt="0.50" host="gw.example"/>
<hop ttl="2" ipaddr="2001:DB8::0:2" rtt="1.25"/>
</trace>
<times srtt="500" rttvar="100" to="100000"/>
</host>
<host><status state="down" reason="no-response" reason_ttl="0"/>
<address addr="192.0.2.11" addrtype="ipv4"/>
<hostnames/>
</host>
<postscript><script id="ssh-hostkey" output="keys"><table key="192.0.2.10"><elem key="bits">256</elem></table></script></postscript>
<runstats><finished time="1700000100" timestr="Tue Nov 14 22:15:00 2023" summary="Nmap done; 256 IP addresses (1 host up) scanned in 100.00 seconds" elapsed="100.00" exit="success"/><hosts up="1" down="255" total="256"/>
</runstats>
</nmaprun>
`;

const FULL_HOST: NmapHost = {
  ip: '192.0.2.10',
  startTime: 1700000010,
  endTime: 1700000090,
  comment: 'lab box',
  status: { state: 'up', reason: 'arp-response', reasonTtl: 0 },
  addresses: [
    { addr: '192.0.2.10', addrtype: 'ipv4' },
    { addr: '2001:db8::1', addrtype: 'ipv6' },
    { addr: '00:11:22:AA:BB:CC', addrtype: 'mac', vendor: 'Acme Networks' },
  ],
  hostnames: [
    { name: 'café.example', type: 'user' },
    { name: 'box.lab.example', type: 'PTR' },
  ],
  extraPorts: [{ state: 'closed', count: 2, protocol: 'tcp', reasons: [{ reason: 'reset', count: 2, proto: 'tcp', ports: '80,443' }] }],
  ports: [
    {
      protocol: 'tcp',
      port: 22,
      state: { state: 'open', reason: 'syn-ack', reasonTtl: 64, reasonIp: '192.0.2.1' },
      owner: 'root',
      service: {
        name: 'ssh',
        product: 'OpenSSH',
        version: '9.6p1 Ubuntu 3ubuntu13',
        extrainfo: 'Ubuntu Linux; protocol 2.0',
        ostype: 'Linux',
        method: 'probed',
        conf: 10,
        tunnel: 'ssl',
        proto: 'rpc',
        rpcnum: '100000',
        lowver: '2',
        highver: '4',
        hostname: 'box',
        devicetype: 'general purpose',
        servicefp: 'SF-Port22-TCP:V=7.94%I=7',
        cpes: ['cpe:/a:openbsd:openssh:9.6p1', 'cpe:/o:linux:linux_kernel'],
      },
      scripts: [
        {
          id: 'ssh-hostkey',
          output: '\n  256 aa:bb (ECDSA) 🔑',
          nodes: [
            {
              kind: 'table',
              children: [
                { kind: 'elem', key: 'type', value: 'ecdsa-sha2-nistp256' },
                { kind: 'elem', key: 'bits', value: '256' },
                { kind: 'table', key: 'nested', children: [{ kind: 'elem', value: 'x & y <z> 🔑' }] },
              ],
            },
            { kind: 'elem', key: 'top', value: 'level' },
          ],
        },
      ],
    },
    {
      protocol: 'udp',
      port: 53,
      state: { state: 'open|filtered', reason: 'no-response', reasonTtl: 0 },
      service: { name: 'domain', method: 'table', conf: 3, cpes: [] },
      scripts: [],
    },
  ],
  os: {
    portsUsed: [
      { state: 'open', proto: 'tcp', portid: 22 },
      { state: 'closed', proto: 'udp', portid: 31337 },
    ],
    matches: [
      {
        name: 'Linux 5.0 - 5.14',
        accuracy: 98,
        line: 70000,
        classes: [{ type: 'general purpose', vendor: 'Linux', osfamily: 'Linux', osgen: '5.X', accuracy: 98, cpes: ['cpe:/o:linux:linux_kernel:5'] }],
      },
    ],
    fingerprint: 'OS:SCAN(V=7.94%E=4)',
  },
  uptime: { seconds: 86400, lastboot: 'Mon Nov 13 22:13:20 2023' },
  distance: 1,
  tcpSequence: { index: 262, difficulty: 'Good luck!', values: 'A,B,C' },
  ipIdSequence: { class: 'All zeros', values: '0,0' },
  tcpTsSequence: { class: '1000HZ', values: '1,2' },
  hostScripts: [{ id: 'smb-os-discovery', output: '\n  OS: Unix', nodes: [{ kind: 'elem', key: 'os', value: 'Unix' }] }],
  trace: {
    port: 22,
    proto: 'tcp',
    hops: [
      { ttl: 1, ipaddr: '192.0.2.1', rtt: 0.5, host: 'gw.example' },
      { ttl: 2, ipaddr: '2001:db8::2', rtt: 1.25 },
    ],
  },
  times: { srtt: 500, rttvar: 100, to: 100000 },
};

const DOWN_HOST: NmapHost = {
  ip: '192.0.2.11',
  status: { state: 'down', reason: 'no-response', reasonTtl: 0 },
  addresses: [{ addr: '192.0.2.11', addrtype: 'ipv4' }],
  hostnames: [],
  ports: [],
  extraPorts: [],
  hostScripts: [],
};

const RUN_HEADER = {
  scanner: 'nmap',
  args: 'nmap -sS -sU -A -p T:22,80,443,U:53 -oX out.xml 192.0.2.0/24',
  version: '7.94',
  xmlOutputVersion: '1.05',
  start: 1700000000,
  scanInfo: [
    { type: 'syn', protocol: 'tcp', numservices: 3, services: '22,80,443' },
    { type: 'udp', protocol: 'udp', numservices: 1, services: '53' },
  ],
};
const PRESCRIPT = {
  id: 'broadcast-dhcp-discover',
  output: '\n  Response 1 of 1: \n    IP Offered: 192.0.2.50',
  nodes: [{ kind: 'table', key: 'Response 1 of 1', children: [{ kind: 'elem', key: 'IP Offered', value: '192.0.2.50' }] }],
};

describe('parseNmapReport: a full nmap 7.9x report', () => {
  it('yields run, every host and end, in document order, keeping every field', async () => {
    const events = await collect([FULL]);
    expect(events.map((e) => e.kind)).toEqual(['run', 'host', 'host', 'end']);
    expect(events[0]).toEqual({ kind: 'run', meta: { ...RUN_HEADER, preScripts: [PRESCRIPT], postScripts: [] } });
    expect(events[1]).toEqual({ kind: 'host', host: FULL_HOST });
    expect(events[2]).toEqual({ kind: 'host', host: DOWN_HOST });
    expect(events[3]).toEqual({
      kind: 'end',
      meta: {
        ...RUN_HEADER,
        preScripts: [PRESCRIPT],
        postScripts: [{ id: 'ssh-hostkey', output: 'keys', nodes: [{ kind: 'table', key: '192.0.2.10', children: [{ kind: 'elem', key: 'bits', value: '256' }] }] }],
        runStats: {
          finishedTime: 1700000100,
          elapsed: 100,
          summary: 'Nmap done; 256 IP addresses (1 host up) scanned in 100.00 seconds',
          exit: 'success',
          hostsUp: 1,
          hostsDown: 255,
          hostsTotal: 256,
        },
      },
    });
  });

  it('never turns a <hosthint> into a host', async () => {
    const ips = hostsOf(await collect([FULL])).map((h) => h.ip);
    expect(ips).not.toContain('192.0.2.99');
  });

  it('produces hosts and run metadata that pass the wire schema of HostObserved/ImportCompleted', async () => {
    const { hosts, meta } = await readNmapReport([FULL]);
    for (const h of hosts) expect(hostCheck(h, 'host')).toBe(h);
    expect(runMetaCheck(meta, 'run')).toBe(meta);
    // JSON is how hosts travel: nothing undefined or non-serialisable may hide in them
    expect(JSON.parse(JSON.stringify(hosts))).toEqual(hosts);
  });

  it('gives the same result however the bytes are chunked (multi-byte characters split included)', async () => {
    const bytes = Buffer.from(FULL, 'utf8');
    const expected = await collect([bytes]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
        expect(await collect(chunks)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('splits pathological 1-byte chunks and a single string alike', async () => {
    const bytes = Buffer.from(FULL, 'utf8');
    const oneByte = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(await collect(oneByte)).toEqual(await collect([FULL]));
  });
});

describe('parseNmapReport: older and minimal shapes', () => {
  it('emits run and end for a report with no hosts', async () => {
    const events = await collect([
      '<?xml version="1.0"?><nmaprun scanner="nmap" args="nmap -sn 10.0.0.1" start="1" version="7.80"><verbose level="0"/><runstats><finished time="2" elapsed="1.00"/><hosts up="0" down="1" total="1"/></runstats></nmaprun>',
    ]);
    expect(events.map((e) => e.kind)).toEqual(['run', 'end']);
    expect(events[1].kind === 'end' && events[1].meta.runStats).toEqual({ finishedTime: 2, elapsed: 1, hostsUp: 0, hostsDown: 1, hostsTotal: 1 });
  });

  it('keeps nmap 4.x <osclass> that sits directly under <os>, and infers extraports protocol from a single scaninfo', async () => {
    const { hosts } = await readNmapReport([
      `<nmaprun scanner="nmap" version="4.53"><scaninfo type="syn" protocol="tcp" numservices="1714" services="1-1027"/>
<host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/>
<ports><extraports state="filtered" count="1712"/><port protocol="tcp" portid="80"><state state="open"/></port></ports>
<os><osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="2.6.X" accuracy="100"/><osmatch name="Linux 2.6.17" accuracy="100" line="10"/></os>
</host></nmaprun>`,
    ]);
    expect(hosts[0].extraPorts).toEqual([{ state: 'filtered', count: 1712, protocol: 'tcp' }]);
    expect(hosts[0].os).toEqual({
      portsUsed: [],
      matches: [{ name: 'Linux 2.6.17', accuracy: 100, line: 10, classes: [] }],
      classes: [{ type: 'general purpose', vendor: 'Linux', osfamily: 'Linux', osgen: '2.6.X', accuracy: 100, cpes: [] }],
    });
  });

  it('leaves extraports protocol unset when several protocols were scanned and nmap did not say', async () => {
    const { hosts } = await readNmapReport([
      `<nmaprun scanner="nmap"><scaninfo type="syn" protocol="tcp"/><scaninfo type="udp" protocol="udp"/>
<host><address addr="10.0.0.1" addrtype="ipv4"/><ports><extraports state="closed" count="1998"/></ports></host></nmaprun>`,
    ]);
    expect(hosts[0].extraPorts).toEqual([{ state: 'closed', count: 1998 }]);
  });

  it('uses the first IP address as the primary ip even when a MAC comes first', async () => {
    const { hosts } = await readNmapReport([
      `<nmaprun scanner="nmap"><host><address addr="AA:BB:CC:DD:EE:FF" addrtype="mac"/><address addr="FE80:0:0:0:0:0:0:1%eth0" addrtype="ipv6"/><address addr="10.0.0.7" addrtype="ipv4"/></host></nmaprun>`,
    ]);
    expect(hosts[0].ip).toBe('fe80::1%eth0');
    expect(hosts[0].addresses.map((a) => a.addr)).toEqual(['AA:BB:CC:DD:EE:FF', 'fe80::1%eth0', '10.0.0.7']);
  });
});

describe('parseNmapReport: masscan -oX', () => {
  const MASSCAN = `<?xml version="1.0"?>
<!-- masscan v1.0 scan -->
<nmaprun scanner="masscan" start="1629960654" version="1.0-BETA"  xmloutputversion="1.03">
<scaninfo type="syn" protocol="tcp" />
<host endtime="1629960654"><address addr="93.184.216.34" addrtype="ipv4"/><ports><port protocol="icmp" portid="0"><state state="open" reason="none" reason_ttl="54"/></port></ports></host>
<host endtime="1629960654"><address addr="93.184.216.34" addrtype="ipv4"/><ports><port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="54"/></port></ports></host>
<host endtime="1629960657"><address addr="93.184.216.34" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open" reason="response" reason_ttl="54" /><service name="http" banner="HTTP/1.0 404 Not Found\\x0d\\x0a"></service></port></ports></host>
<runstats>
<finished time="1629960666" timestr="2021-08-25 23:51:06" elapsed="12" />
<hosts up="2" down="0" total="2" />
</runstats>
</nmaprun>`;

  it('yields each <host> element as its own unmerged host, icmp apart and banners kept', async () => {
    const { hosts, meta } = await readNmapReport([MASSCAN]);
    expect(meta.scanner).toBe('masscan');
    expect(hosts.map((h) => h.ip)).toEqual(['93.184.216.34', '93.184.216.34', '93.184.216.34']);
    expect(hosts[0].ports).toEqual([]);
    expect(hosts[0].otherPorts).toEqual([{ protocol: 'icmp', port: 0, state: { state: 'open', reason: 'none', reasonTtl: 54 }, scripts: [] }]);
    expect(hosts[1].ports).toEqual([{ protocol: 'tcp', port: 443, state: { state: 'open', reason: 'syn-ack', reasonTtl: 54 }, scripts: [] }]);
    expect(hosts[2].ports[0].service).toEqual({ name: 'http', banner: 'HTTP/1.0 404 Not Found\\x0d\\x0a', cpes: [] });
    expect(hosts[2].endTime).toBe(1629960657);
  });
});

describe('parseNmapReport: streaming', () => {
  it('yields the run header and each host before reading the rest of the input', async () => {
    const pulled: string[] = [];
    async function* source() {
      for (const part of [
        '<nmaprun scanner="nmap"><scaninfo protocol="tcp" services="1-10"/>',
        '<host><address addr="10.0.0.1" addrtype="ipv4"/></host>',
        '<host><address addr="10.0.0.2" addrtype="ipv4"/></host>',
        '</nmaprun>',
      ]) {
        pulled.push(part);
        yield part;
      }
    }
    const seen: string[] = [];
    for await (const e of parseNmapReport(source())) {
      seen.push(`${e.kind}@${pulled.length}`);
    }
    expect(seen).toEqual(['run@2', 'host@2', 'host@3', 'end@4']);
  });
});
