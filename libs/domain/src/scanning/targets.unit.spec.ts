import { countTargets, iterateTargets, parseTargets, targetSetFromJson, targetSetHas, targetSetToJson, type RefusedTargetInput } from './targets.js';
import { TargetScopeError, validateTargetScope } from './scope.js';

const all = (inputs: string[], opts = {}) => [...iterateTargets(parseTargets(inputs, opts).targets)];
const refusal = (input: string, opts = {}) => parseTargets([input], opts).inputs[0] as RefusedTargetInput;

describe('parseTargets: refusals', () => {
  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['-iL /etc/passwd', 'option_like'],
    ['--script=evil', 'option_like'],
    ['-oN', 'option_like'],
    ['127.0.0.1;id', 'shell_metacharacter'],
    ['$(id)', 'shell_metacharacter'],
    ['`id`', 'shell_metacharacter'],
    ['a b', 'shell_metacharacter'],
    ['example.com&&x', 'shell_metacharacter'],
    ['"10.0.0.1"', 'shell_metacharacter'],
    ["'10.0.0.1'", 'shell_metacharacter'],
    ['10.0.0.1|nc', 'shell_metacharacter'],
    ['10.0.0.1\nid', 'shell_metacharacter'],
    ['10.0.0.*', 'shell_metacharacter'],
    ['10.0.0.1,2', 'shell_metacharacter'],
    ['../x', 'shell_metacharacter'],
    ['/etc/passwd', 'shell_metacharacter'],
    ['example.com/admin', 'shell_metacharacter'],
    ['fe80::1%eth0', 'shell_metacharacter'],
    ['256.0.0.1', 'invalid_ip'],
    ['1.2.3', 'invalid_ip'],
    ['010.0.0.1', 'invalid_ip'],
    ['2001:db8::1::2', 'invalid_ip'],
    ['example.com:80', 'invalid_ip'],
    ['::ffff:10.0.0.1', 'invalid_ip'],
    ['10.0.0.0/33', 'invalid_cidr'],
    ['300.0.0.0/24', 'invalid_cidr'],
    ['::ffff:0:0/120', 'invalid_cidr'],
    ['10.0.0.0/8', 'cidr_too_large'],
    ['2001:db8::/64', 'cidr_too_large'],
    // Found by fuzzing: "::/0" was refused as a stray "/", and an oversized block over the mapped range as "mapped".
    ['::/0', 'cidr_too_large'],
    ['::/64', 'cidr_too_large'],
    ['::ffff:0:0/96', 'cidr_too_large'],
    ['10.0.0.20-10.0.0.1', 'reversed_range'],
    ['10.0.0.9-3', 'reversed_range'],
    ['10.0.0.1-300', 'invalid_range'],
    ['10.0.0.1-2001:db8::1', 'invalid_range'],
    ['10.0.0.0-10.1.0.0', 'range_too_large'],
    ['under_score.example.com', 'invalid_hostname'],
    ['-bad.example.com', 'option_like'],
    ['bad-.example.com', 'invalid_hostname'],
    [`${'a'.repeat(250)}.com`, 'invalid_hostname'],
  ])('refuses %j as %s', (input, reason) => {
    const out = refusal(input);
    expect(out).toMatchObject({ input, status: 'refused', reason });
    expect(out.message.length).toBeGreaterThan(5);
  });

  it('names the cap in the too-large message', () => {
    expect(refusal('10.0.0.0/8').message).toMatch(/10\.0\.0\.0\/8 has 16777216 addresses; the cap is \/16 \(65536 addresses\)/);
    expect(refusal('2001:db8::/100').message).toMatch(/the cap is \/112/);
  });

  it('honours a configured cap', () => {
    expect(parseTargets(['10.0.0.0/8'], { cidrCap: { ipv4: 8 } }).summary.accepted).toBe(16777216);
    expect(refusal('10.0.0.0/24', { cidrCap: { ipv4: 28 } }).reason).toBe('cidr_too_large');
    expect(() => parseTargets([], { cidrCap: { ipv6: 64 } })).toThrow(RangeError);
  });

  it('counts refusals per reason in the summary', () => {
    const s = parseTargets(['', '-x', 'a;b', 'a b', '10.0.0.1']).summary;
    expect(s.refused).toEqual({ empty: 1, option_like: 1, shell_metacharacter: 2 });
    expect(s.provided).toBe(5);
    expect(s.accepted).toBe(1);
  });
});

describe('parseTargets: accepted forms', () => {
  it('normalises IPv4, IPv6, CIDRs, ranges and names', () => {
    const p = parseTargets([' 10.0.0.1 ', '2001:DB8:0::1', '10.1.0.7/30', '10.2.0.1-3', 'WWW.Example.com.', '2001:db8::/127']);
    expect(p.inputs.map((o) => (o.status === 'refused' ? o.reason : o.normalized))).toEqual([
      '10.0.0.1',
      '2001:db8::1',
      '10.1.0.4/30',
      '10.2.0.1-10.2.0.3',
      'www.example.com',
      '2001:db8::/127',
    ]);
    expect(p.hostnames).toEqual(['www.example.com']);
    expect(all(['10.1.0.7/30', '10.2.0.1-3', '2001:db8::/127'])).toEqual([
      '10.1.0.4',
      '10.1.0.5',
      '10.1.0.6',
      '10.1.0.7',
      '10.2.0.1',
      '10.2.0.2',
      '10.2.0.3',
      '2001:db8::',
      '2001:db8::1',
    ]);
  });

  it('keeps private, loopback and link-local addresses', () => {
    expect(all(['192.168.1.1', '127.0.0.1', '169.254.0.1', 'fe80::1'])).toEqual(['127.0.0.1', '169.254.0.1', '192.168.1.1', 'fe80::1']);
  });
});

describe('parseTargets: deduplication', () => {
  it('removes exact duplicates after normalisation', () => {
    const p = parseTargets(['10.0.0.1', '10.0.0.1', '2001:db8::1', '2001:DB8:0::1', 'a.example', 'A.EXAMPLE.']);
    expect(p.summary).toMatchObject({ provided: 6, duplicatesRemoved: 3, accepted: 2, hostnamesPending: 1 });
    expect(p.inputs.map((o) => o.status !== 'refused' && o.duplicate)).toEqual([false, true, false, true, false, true]);
  });

  it('drops addresses covered by a CIDR or range of the same request, in any order', () => {
    // Unlike v1, a CIDR is not "its first host": 10.0.0.1 is inside 10.0.0.0/30 and the rest stays.
    const p = parseTargets(['192.168.0.1', '192.168.0.2', '192.168.0.2', '192.168.0.0/30', '192.168.0.3-5']);
    expect(p.summary).toMatchObject({ accepted: 6, duplicatesRemoved: 4 });
    expect([...iterateTargets(p.targets)]).toEqual(['192.168.0.0', '192.168.0.1', '192.168.0.2', '192.168.0.3', '192.168.0.4', '192.168.0.5']);
  });

  it('merges overlapping CIDRs into intervals', () => {
    const p = parseTargets(['10.0.0.0/24', '10.0.0.128/25', '10.0.1.0/24'], { cidrCap: { ipv4: 8 } });
    expect(p.targets.v4).toEqual([[0x0a000000, 0x0a0001ff]]);
    expect(p.summary).toMatchObject({ accepted: 512, duplicatesRemoved: 128 });
  });
});

describe('parseTargets: scope', () => {
  const scope = { allow: ['10.0.0.0/16', 'example.com', '*.corp.example'], deny: ['10.0.5.0/24', 'secret.corp.example'] };

  it('refuses targets outside the allow list', () => {
    const p = parseTargets(['10.0.0.1', '198.51.100.8', 'example.com', 'www.example.com', 'a.corp.example', 'corp.example'], { scope });
    expect(p.inputs.map((o) => o.status)).toEqual(['accepted', 'refused', 'pending', 'pending', 'pending', 'pending']);
    // names not on the allow list still resolve: their addresses may be inside an allowed CIDR
    expect(p.hostnames).toEqual(['example.com', 'www.example.com', 'a.corp.example', 'corp.example']);
  });

  it('lets the deny list win over the allow list', () => {
    const p = parseTargets(['10.0.5.9', 'secret.corp.example'], { scope });
    expect(p.inputs.map((o) => o.status === 'refused' && o.reason)).toEqual(['out_of_scope', 'out_of_scope']);
    expect(p.summary.refused).toEqual({ out_of_scope: 2 });
  });

  it('cuts the denied part out of a CIDR and counts it', () => {
    const p = parseTargets(['10.0.4.0/23'], { scope, cidrCap: { ipv4: 8 } });
    expect(p.inputs[0]).toMatchObject({ status: 'accepted', inScope: 256, excludedByScope: 256 });
    expect(p.summary).toMatchObject({ accepted: 256, excludedByScope: 256, duplicatesRemoved: 0 });
    expect(targetSetHas(p.targets, '10.0.4.255')).toBe(true);
    expect(targetSetHas(p.targets, '10.0.5.0')).toBe(false);
  });

  it('with an empty allow list allows everything not denied', () => {
    const p = parseTargets(['198.51.100.8', '203.0.113.1', 'evil.example'], { scope: { deny: ['203.0.113.1', 'evil.example'] } });
    expect(p.inputs.map((o) => o.status)).toEqual(['accepted', 'refused', 'refused']);
  });

  it('with only names allowed, refuses IPs and unlisted names before any lookup', () => {
    const p = parseTargets(['10.0.0.1', 'other.example', 'example.com'], { scope: { allow: ['example.com'] } });
    expect(p.inputs.map((o) => o.status)).toEqual(['refused', 'refused', 'pending']);
    expect(p.hostnames).toEqual(['example.com']);
  });

  it('matches "*.name" below the name only', () => {
    const p = parseTargets(['a.example.com', 'x.y.example.com', 'example.com', 'badexample.com'], { scope: { allow: ['*.example.com'] } });
    expect(p.inputs.map((o) => o.status)).toEqual(['pending', 'pending', 'refused', 'refused']);
  });

  it('refuses an invalid scope with the entries named', () => {
    expect(validateTargetScope({ allow: ['10.0.0.0/40', 'ok.example'], deny: ['a b'] })).toEqual([
      expect.objectContaining({ list: 'allow', index: 0 }),
      expect.objectContaining({ list: 'deny', index: 0 }),
    ]);
    expect(() => parseTargets(['10.0.0.1'], { scope: { allow: ['nope/'] } })).toThrow(TargetScopeError);
  });
});

describe('lazy expansion', () => {
  it('counts and enumerates a /12 without materialising it', () => {
    const p = parseTargets(['10.16.0.0/12'], { cidrCap: { ipv4: 12 } });
    expect(countTargets(p.targets)).toBe(1_048_576);
    expect(p.targets.v4).toHaveLength(1);
    const it = iterateTargets(p.targets);
    expect(it.next().value).toBe('10.16.0.0');
    let last = '';
    let n = 1;
    for (const ip of it) {
      last = ip;
      n++;
    }
    expect(n).toBe(1_048_576);
    expect(last).toBe('10.31.255.255');
  });

  it('yields only what the caller takes', () => {
    const it = iterateTargets(parseTargets(['0.0.0.0/0'], { cidrCap: { ipv4: 0 } }).targets);
    expect([it.next().value, it.next().value]).toEqual(['0.0.0.0', '0.0.0.1']);
  });
});

describe('target sets as JSON', () => {
  it('round-trip through JSON text', () => {
    const set = parseTargets(['10.0.0.0/24', '10.0.2.1', '2001:db8::/126']).targets;
    const json = JSON.parse(JSON.stringify(targetSetToJson(set)));
    expect(json).toEqual({ ranges: [['10.0.0.0', '10.0.0.255'], ['10.0.2.1', '10.0.2.1'], ['2001:db8::', '2001:db8::3']] });
    expect(targetSetFromJson(json)).toEqual(set);
  });

  it.each([null, {}, { ranges: [['10.0.0.2', '10.0.0.1']] }, { ranges: [['10.0.0.1', '::1']] }, { ranges: [['-iL', 'x']] }, { ranges: [['10.0.0.1']] }])(
    'refuses %j',
    (json) => {
      expect(() => targetSetFromJson(json)).toThrow(RangeError);
    },
  );
});
