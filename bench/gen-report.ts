// Synthetic nmap 7.93 -oX report for parser/import benchmarks. The addresses (10.0.0.0/8, counting
// up) are only strings in a file; nothing is ever scanned.

const HOSTS_PER_CHUNK = 64;

const ipOf = (i: number): string => {
  const n = 0x0a000001 + i; // 10.0.0.1 onwards
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
};

const hex = (seed: number, len: number): string => {
  let s = '';
  let x = seed >>> 0 || 1;
  while (s.length < len) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s += (x >>> 0).toString(16).padStart(8, '0');
  }
  return s.slice(0, len);
};

const sshPort = (i: number): string => {
  const fp = hex(i * 7 + 1, 32);
  const fp2 = hex(i * 7 + 2, 32);
  return (
    `<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="63"/>` +
    `<service name="ssh" product="OpenSSH" version="8.9p1 Ubuntu 3ubuntu0.${i % 7}" extrainfo="Ubuntu Linux; protocol 2.0" ostype="Linux" method="probed" conf="10">` +
    `<cpe>cpe:/a:openbsd:openssh:8.9p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service>` +
    `<script id="ssh-hostkey" output="&#xa;  256 ${fp} (ECDSA)&#xa;  256 ${fp2} (ED25519)">` +
    `<table><elem key="type">ecdsa-sha2-nistp256</elem><elem key="bits">256</elem><elem key="fingerprint">${fp}</elem></table>` +
    `<table><elem key="type">ssh-ed25519</elem><elem key="bits">256</elem><elem key="fingerprint">${fp2}</elem></table>` +
    `</script></port>\n`
  );
};

const httpPort = (i: number, port: number): string =>
  `<port protocol="tcp" portid="${port}"><state state="open" reason="syn-ack" reason_ttl="63"/>` +
  `<service name="http" product="nginx" version="1.${18 + (i % 8)}.0" extrainfo="Ubuntu" method="probed" conf="10">` +
  `<cpe>cpe:/a:igor_sysoev:nginx:1.${18 + (i % 8)}.0</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service>` +
  `<script id="http-methods" output="&#xa;  Supported Methods: GET HEAD POST OPTIONS">` +
  `<table key="Supported Methods"><elem>GET</elem><elem>HEAD</elem><elem>POST</elem><elem>OPTIONS</elem></table>` +
  `</script></port>\n`;

const tlsPort = (i: number): string =>
  `<port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="63"/>` +
  `<service name="http" product="nginx" version="1.${18 + (i % 8)}.0" tunnel="ssl" method="probed" conf="10">` +
  `<cpe>cpe:/a:igor_sysoev:nginx:1.${18 + (i % 8)}.0</cpe></service>` +
  `<script id="ssl-cert" output="Subject: commonName=host-${i}.example.internal&#xa;Not valid after:  2026-01-01T00:00:00">` +
  `<table key="subject"><elem key="commonName">host-${i}.example.internal</elem></table>` +
  `<table key="validity"><elem key="notBefore">2025-01-01T00:00:00</elem><elem key="notAfter">2026-01-01T00:00:00</elem></table>` +
  `<elem key="sha1">${hex(i * 3 + 5, 40)}</elem>` +
  `</script></port>\n`;

/** One <host> as nmap 7.93 writes it for -sS -sV -sC: three open ports, each with a structured script. */
export function hostXml(i: number): string {
  const ip = ipOf(i);
  const name = `host-${ip.replace(/\./g, '-')}.example.internal`;
  const t = 1_700_000_000 + (i >> 4);
  const third = i % 3 === 0 ? httpPort(i, 8080) : tlsPort(i);
  return (
    `<host starttime="${t}" endtime="${t + 12}"><status state="up" reason="echo-reply" reason_ttl="63"/>\n` +
    `<address addr="${ip}" addrtype="ipv4"/>\n` +
    `<hostnames>\n<hostname name="${name}" type="PTR"/>\n</hostnames>\n` +
    `<ports><extraports state="closed" count="997">\n` +
    `<extrareasons reason="reset" count="997" proto="tcp" ports="1-21,23-79,81-442,444-1000"/>\n` +
    `</extraports>\n` +
    sshPort(i) +
    httpPort(i, 80) +
    third +
    `</ports>\n` +
    `<times srtt="${1000 + (i % 500)}" rttvar="${200 + (i % 100)}" to="100000"/>\n` +
    `</host>\n`
  );
}

function header(hosts: number): string {
  const start = 1_700_000_000;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n` +
    `<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>\n` +
    `<!-- Nmap 7.93 scan initiated as: nmap -sS -sV -sC -oX bench.xml 10.0.0.0/8 -->\n` +
    `<nmaprun scanner="nmap" args="nmap -sS -sV -sC -oX bench.xml 10.0.0.0/8" start="${start}" startstr="Tue Nov 14 22:13:20 2023" version="7.93" xmloutputversion="1.05">\n` +
    `<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>\n` +
    `<verbose level="0"/>\n<debugging level="0"/>\n` +
    `<!-- ${hosts} synthetic hosts -->\n`
  );
}

function footer(hosts: number): string {
  const end = 1_700_000_000 + (hosts >> 4) + 60;
  return (
    `<runstats><finished time="${end}" timestr="Tue Nov 14 23:00:00 2023" summary="Nmap done; ${hosts} IP addresses (${hosts} hosts up) scanned" elapsed="${end - 1_700_000_000}" exit="success"/>` +
    `<hosts up="${hosts}" down="0" total="${hosts}"/>\n</runstats>\n</nmaprun>\n`
  );
}

/** Streams a synthetic report with `hosts` hosts, a few KiB per chunk, never building it whole. */
export async function* generateReport(hosts: number): AsyncIterable<string> {
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 0xfffffe) throw new RangeError('hosts must be an integer in 0..16777214 (10.0.0.0/8)');
  yield header(hosts);
  for (let i = 0; i < hosts; i += HOSTS_PER_CHUNK) {
    let s = '';
    const end = Math.min(hosts, i + HOSTS_PER_CHUNK);
    for (let k = i; k < end; k++) s += hostXml(k);
    yield s;
  }
  yield footer(hosts);
}
