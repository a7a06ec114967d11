import { foldObservation, type HostState } from '#domain';
import type { HostObservedV1 } from '#events';
import { packState, unpackState } from './state-codec.js';

const obs = (ports: number[], eventId: string): [HostObservedV1, { eventId: string; occurredAt: string; actor: { kind: string; id: string } }] => [
  {
    projectId: 'p', mode: 'replace', trackHistory: true, source: { kind: 'import', importId: eventId, fileSha256: 'x' }, run: { scanner: 'nmap' },
    coverage: { tcp: [[1, 1000]] }, observedAt: `2026-01-0${ports.length}T00:00:00.000Z`,
    host: {
      ip: '10.0.0.1', addresses: [{ addr: '10.0.0.1', addrtype: 'ipv4' }], hostnames: [{ name: 'a.example', type: 'PTR' }], extraPorts: [], hostScripts: [],
      ports: ports.map((port) => ({ protocol: 'tcp', port, state: { state: 'open', reason: 'syn-ack' }, service: { name: 'http', product: `p${port}`, cpes: ['cpe:/a:x'] }, scripts: [{ id: 's', output: 'o', nodes: [{ kind: 'elem', key: 'k', value: 'v' }] }] })),
    },
  },
  { eventId, occurredAt: '2026-01-05T00:00:00.000Z', actor: { kind: 'user', id: 'u' } },
];

describe('stored host state codec', () => {
  it('round-trips a state with facts from several events exactly', () => {
    let s: HostState = foldObservation(null, ...obs([22, 80], '11111111-1111-4111-8111-111111111111')).state;
    s = foldObservation(s, ...obs([22, 80, 443], '22222222-2222-4222-8222-222222222222')).state;
    const packed = packState(s);
    expect(unpackState(packed)).toEqual(s);
  });

  it('reads the text a jsonb column gave back (rows stored before the column became text)', () => {
    const s = foldObservation(null, ...obs([22, 80], '11111111-1111-4111-8111-111111111111')).state;
    const reordered = JSON.stringify(JSON.parse(packState(s)), null, 1);
    expect(unpackState(reordered)).toEqual(s);
  });

  it('stores each distinct stamp once, so the stored form is much smaller', () => {
    const s = foldObservation(null, ...obs([22, 80, 443, 8080], '11111111-1111-4111-8111-111111111111')).state;
    const packed = packState(s);
    expect(JSON.parse(packed).stamps).toHaveLength(1);
    expect(packed.length).toBeLessThan(JSON.stringify(s).length * 0.75);
  });

  it('reads states stored before packing unchanged', () => {
    const s = foldObservation(null, ...obs([22], '11111111-1111-4111-8111-111111111111')).state;
    expect(unpackState(JSON.stringify(s))).toEqual(s);
  });
});
