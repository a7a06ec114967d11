// Run by npm after every install (package.json "postinstall") and by `npm run setup`: patches
// kafkajs 2.2.4 (its last release, unmaintained) where it cannot be worked around from outside.
//
// A transaction's coordinator is one broker. When it dies, the cluster moves the coordinator to
// another broker within seconds (broker.session.timeout.ms, then an election), but kafkajs
// - sends EndTxn, the request that commits or aborts, once: the commit fails, and cannot be retried
//   through kafkajs's API (commit is legal only in the state the failed attempt left);
// - gives up InitProducerId, which begins a transactional producer's life, at a connection error,
//   or when an inner retry loop (finding the coordinator) ran out before the cluster moved it.
// An import then was answered 503 and had to be sent again (fault suite, --cluster broker-import:
// 2 rounds of 30, and 1 of 30 after EndTxn alone was fixed). The Java client retries both against
// the coordinator it finds anew; this does the same, with the retrier kafkajs uses for its other
// coordinator requests. A retried commit is safe: the coordinator answers a commit it already
// completed with success (test/int/publisher-leader-move.int.spec.ts, which fails without this).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARK = '/* falcoria: EndTxn and InitProducerId retried */';
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
  // A connection error, or a retriable one an inner retrier gave up on: worth another round.
  const retriableCause = e => {
    const c = e && e.retriable === false && e.cause ? e.cause : e
    const retriable =
      c && (['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError'].includes(c.name) ||
        (c.name === 'KafkaJSProtocolError' && c.retriable))
    return retriable ? c : null
  }
  const endTxn = transactionResult =>
    retrier(async bail => {
      try {
        const broker = await findTransactionCoordinator()
        await broker.endTxn({ producerId, producerEpoch, transactionalId, transactionResult })
      } catch (e) {
        const cause = retriableCause(e)
        if (cause) throw cause
        bail(e)
      }
    })

  const transactionalGuard = () => {`;
const initBail = `              throw e
            }

            bail(e)
          }
        })
      },

      /**
       * Get the current sequence for a given Topic-Partition. Defaults to 0.`;
for (const [from, to] of [
  [endTxn('true'), '        await endTxn(true)\n'],
  [endTxn('false'), '        await endTxn(false)\n'],
  ['  const transactionalGuard = () => {', helper],
  [initBail, initBail.replace('            bail(e)', '            if (retriableCause(e)) throw retriableCause(e)\n            bail(e)')],
]) {
  if (src.split(from).length !== 2) fail(`expected exactly one ${JSON.stringify(from.trim().split('\n')[0])}`);
  src = src.replace(from, to);
}
writeFileSync(file, src);
