// Run by npm after every install (package.json "postinstall"): patches kafkajs 2.2.4 (its last
// release, unmaintained) where it cannot be worked around from outside.
//
// EndTxn, the request that commits or aborts a transaction, is sent once: if the transaction
// coordinator moved or died since the transaction began (one broker of three stopped or killed),
// commit() fails although another broker took over, and kafkajs cannot retry it (commit is legal
// only in state TRANSACTING, which the failed attempt left). An import then answered 503 and had to
// be sent again (fault suite, --cluster broker-import, 2 rounds of 30). The Java client retries
// EndTxn against the coordinator it finds anew; this does the same, with the retrier kafkajs uses
// for its other coordinator requests. A retried commit is safe: the coordinator answers a commit it
// already completed with success (test/int/publisher-leader-move.int.spec.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARK = '/* falcoria: EndTxn retried */';
const require = createRequire(import.meta.url);
let root;
try {
  root = dirname(require.resolve('kafkajs/package.json'));
} catch {
  process.exit(0); // kafkajs not installed (yet): nothing to patch
}
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const file = join(root, 'src/producer/eosManager/index.js');
let src = readFileSync(file, 'utf8');
if (src.includes(MARK)) process.exit(0);

const fail = (why) => {
  console.error(`patch-kafkajs: cannot patch kafkajs ${version} (${file}): ${why}; see scripts/patch-kafkajs.mjs`);
  process.exit(1);
};
const endTxn = (result) =>
  `        const broker = await findTransactionCoordinator()
        await broker.endTxn({
          producerId,
          producerEpoch,
          transactionalId,
          transactionResult: ${result},
        })
`;
const helper = `  ${MARK}
  const endTxn = transactionResult =>
    retrier(async () => {
      const broker = await findTransactionCoordinator()
      await broker.endTxn({ producerId, producerEpoch, transactionalId, transactionResult })
    })

  const transactionalGuard = () => {`;
for (const [from, to] of [
  [endTxn('true'), '        await endTxn(true)\n'],
  [endTxn('false'), '        await endTxn(false)\n'],
  ['  const transactionalGuard = () => {', helper],
]) {
  if (src.split(from).length !== 2) fail(`expected exactly one ${JSON.stringify(from.trim().split('\n')[0])}`);
  src = src.replace(from, to);
}
writeFileSync(file, src);
