import { execFileSync, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { createNetnsLan, lanUnavailableReason, sweepStaleLans, type Lan } from '../../bench/netns-lan.js';

// The scale-out benchmark's target LAN (bench/netns-lan.ts): real namespaces, bridge, veth and
// nftables, as root only. Only the LAN's own addresses are contacted.

const links = () => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

/** What a TCP connect meets within ms: the first bytes, a refusal, or nothing (a filtered port). */
function knock(ip: string, port: number, ms: number): Promise<{ outcome: 'data' | 'refused' | 'silent'; text: string; afterMs: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect({ host: ip, port });
    const done = (outcome: 'data' | 'refused' | 'silent', text = '') => {
      clearTimeout(timer);
      s.destroy();
      resolve({ outcome, text, afterMs: Date.now() - t0 });
    };
    const timer = setTimeout(() => done('silent'), ms);
    s.once('data', (b) => done('data', b.toString()));
    s.once('error', (e) => done((e as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'refused' : 'silent'));
  });
}

const maybe = lanUnavailableReason() === undefined ? describe : describe.skip;

maybe('netns LAN for the scale-out benchmark', () => {
  let lan: Lan | undefined;
  afterEach(() => lan?.close());

  it('builds hosts on one bridge with late banners and filtered ports, and removes every trace on close', async () => {
    lan = await createNetnsLan({ hosts: 3, tcp: [{ port: 22, banner: 'SSH-2.0-OpenSSH_9.2p1', bannerDelayMs: 300 }], dropOtherTcp: true });
    expect(lan.ips).toHaveLength(3);
    expect(lan.range).toBe(`${lan.ips[0]}-${lan.ips[2]}`);
    expect(lan.cidr).toMatch(/^10\.213\.\d+\.0\/24$/);
    for (const ip of lan.ips) expect(ip.startsWith(lan.cidr.replace('0/24', ''))).toBe(true);

    const banner = await knock(lan.ips[1], 22, 5000);
    expect(banner.outcome).toBe('data');
    expect(banner.text).toContain('SSH-2.0-OpenSSH_9.2p1');
    expect(banner.afterMs).toBeGreaterThanOrEqual(250);
    // Dropped, not refused: the client hears nothing.
    expect((await knock(lan.ips[2], 23, 700)).outcome).toBe('silent');

    const { bridge, namespaces: nss } = lan;
    lan.close();
    lan = undefined;
    expect(links()).not.toContain(`${bridge}`);
    for (const ns of nss) expect(namespaces()).not.toContain(ns);
  });

  it('without drop rules a port nobody listens on is closed (refused)', async () => {
    lan = await createNetnsLan({ hosts: 1, tcp: [] });
    expect((await knock(lan.ips[0], 23, 3000)).outcome).toBe('refused');
  });

  it('sweeps what a dead run left behind, and never a live run', async () => {
    lan = await createNetnsLan({ hosts: 1, tcp: [] });
    const dead = spawnSync('true').pid;
    const stale = `fsb-${dead}-0`;
    execFileSync('ip', ['netns', 'add', stale]);
    execFileSync('ip', ['link', 'add', `fsb${dead}`, 'type', 'bridge']);
    try {
      expect(sweepStaleLans()).toBeGreaterThanOrEqual(2);
      expect(namespaces()).not.toContain(stale);
      expect(links()).not.toMatch(new RegExp(`: fsb${dead}[@:]`));
      expect(namespaces()).toContain(lan.namespaces[0]);
      expect(links()).toContain(lan.bridge);
    } finally {
      spawnSync('ip', ['netns', 'del', stale]);
      spawnSync('ip', ['link', 'del', `fsb${dead}`]);
    }
  });
});
