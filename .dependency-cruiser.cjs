/** Layering rules, enforced in `npm run lint` (and so in CI). */
const FRAMEWORKS = '(^|/)node_modules/(@nestjs|@mikro-orm|kafkajs|pg|express|busboy|ink|react|class-validator|class-transformer)/';
module.exports = {
  forbidden: [
    {
      name: 'pure-libs-no-frameworks',
      comment: 'libs/domain and libs/events are plain types and functions: no Nest, ORM, Kafka, HTTP or UI',
      severity: 'error',
      from: { path: '^libs/(domain|events)/' },
      to: { path: FRAMEWORKS },
    },
    {
      name: 'pure-libs-no-platform-or-apps',
      severity: 'error',
      from: { path: '^libs/(domain|events)/' },
      to: { path: '^(libs/platform|apps|cli)/' },
    },
    {
      name: 'events-below-domain',
      comment: 'the event contract must not depend on domain logic',
      severity: 'error',
      from: { path: '^libs/events/' },
      to: { path: '^libs/domain/' },
    },
    {
      name: 'apps-never-import-each-other',
      comment: 'apps meet on Kafka only',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'platform-not-apps',
      severity: 'error',
      from: { path: '^libs/platform/' },
      to: { path: '^(apps|cli)/' },
    },
    {
      name: 'cli-speaks-http-only',
      comment: 'the CLI may use the pure contract types, but never the server side or Kafka/ORM',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: ['^(apps|libs/platform)/', '(^|/)node_modules/(@nestjs|@mikro-orm|kafkajs|pg)/'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { conditionNames: ['types', 'import', 'default'], extensions: ['.ts', '.tsx', '.js', '.json'], exportsFields: ['exports'], mainFields: ['types', 'module', 'main'] },
  },
};
