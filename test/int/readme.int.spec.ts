import { readFileSync } from 'node:fs';

const block = (text: string) => text.slice(text.indexOf('<!-- matrix:start -->'), text.indexOf('<!-- matrix:end -->'));

describe('README', () => {
  it('carries the same import-mode matrix as docs/import-modes.md (which the fold tests check cell by cell)', () => {
    const readme = block(readFileSync('README.md', 'utf8'));
    const doc = block(readFileSync('docs/import-modes.md', 'utf8'));
    expect(doc.length).toBeGreaterThan(1000);
    expect(readme).toBe(doc);
  });

  it('names the two commands that CI and a fresh machine use', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m);
  });
});
