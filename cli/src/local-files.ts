import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { fileError } from './errors.js';

/**
 * Checks a report before anything is sent: a wrong path or a non-nmap file is a local mistake,
 * cheaper to say here than after uploading megabytes. Reads only the first 16 KB.
 */
export function checkNmapReport(path: string): { size: number } {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw fileError(`${path} is a directory, not an nmap XML report`);
    if (!st.isFile()) throw fileError(`${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw fileError(`no such file: ${path}`);
    if ((e as { code?: string }).code === 'EACCES') throw fileError(`cannot read ${path}: permission denied`);
    throw e;
  }
  if (size === 0) throw fileError(`${path} is empty: expected an nmap XML report (nmap -oX)`);
  const head = readHead(path, 16 * 1024);
  if (!/<nmaprun[\s>]/.test(head)) {
    throw fileError(`${path} is not an nmap XML report: no <nmaprun> element at its start`, 'produce one with nmap -oX report.xml (masscan -oX works too)');
  }
  return { size };
}

function readHead(path: string, n: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(`cannot read ${path}: ${(e as { code?: string }).code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(n);
    const read = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** One target per line; blank lines and `#` comments dropped (the original had no comment syntax). */
export function readTargetsFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}
