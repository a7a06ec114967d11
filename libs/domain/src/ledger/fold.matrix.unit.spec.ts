import { readFileSync, writeFileSync } from 'node:fs';
import { MATRIX, MODES, renderMatrix } from './import-modes.matrix.js';
import { givenState } from './ledger.testkit.js';

// Every cell of docs/import-modes.md, executed. Set UPDATE_IMPORT_MODES_DOC=1 to rewrite the table in
// the doc from MATRIX after changing a rule (then review the diff: the doc is the contract).

describe.each(MATRIX.map((row) => [row.situation, row] as const))('import-mode matrix: %s', (_situation, row) => {
  it.each(MODES.map((m) => [m]))('%s', (mode) => {
    givenState(row.given(mode)).when(row.when(mode)).then(row.then[mode]);
  });
});

describe('docs/import-modes.md', () => {
  const path = new URL('../../../../docs/import-modes.md', import.meta.url);
  const START = '<!-- matrix:start -->';
  const END = '<!-- matrix:end -->';

  it('holds exactly the matrix the tests above execute', () => {
    const doc = readFileSync(path, 'utf8');
    const table = `${START}\n${renderMatrix()}\n${END}`;
    if (process.env.UPDATE_IMPORT_MODES_DOC) {
      writeFileSync(path, doc.slice(0, doc.indexOf(START)) + table + doc.slice(doc.indexOf(END) + END.length));
    }
    const current = readFileSync(path, 'utf8');
    expect(current.slice(current.indexOf(START), current.indexOf(END) + END.length)).toBe(table);
  });
});
