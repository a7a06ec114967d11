/**
 * A token file others can read is a leaked token: refuse it, as ssh does with private keys,
 * rather than use it and warn. Returns the problem in words, or null when the mode is safe.
 */
export function tokenFileProblem(path: string, mode: number, platform: NodeJS.Platform = process.platform): string | null {
  if (platform === 'win32') return null;
  const loose = mode & 0o077;
  if (!loose) return null;
  const who = [loose & 0o070 ? 'group' : null, loose & 0o007 ? 'others' : null].filter(Boolean).join(' and ');
  return `token file ${path} is accessible by ${who} (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it`;
}
