// ESM everywhere (Nest 12, MikroORM 7 and ink 8 are ESM-only): jest runs in
// --experimental-vm-modules mode and swc strips types with decorator metadata.
const swc = [
  '@swc/jest',
  {
    swcrc: false,
    jsc: {
      parser: { syntax: 'typescript', decorators: true, tsx: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false, react: { runtime: 'automatic' } },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'es6' },
  },
];
const common = {
  extensionsToTreatAsEsm: ['.ts', '.tsx'],
  transform: { '^.+\\.tsx?$': swc },
  moduleNameMapper: {
    '^#events$': '<rootDir>/libs/events/src/index.ts',
    '^#domain$': '<rootDir>/libs/domain/src/index.ts',
    '^#platform$': '<rootDir>/libs/platform/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/**/*.unit.spec.ts', '<rootDir>/**/*.unit.spec.tsx'], testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.cache/'] },
    { ...common, displayName: 'int', testMatch: ['<rootDir>/**/*.int.spec.ts', '<rootDir>/**/*.int.spec.tsx'], testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.cache/'], setupFiles: ['<rootDir>/test/support/jest-env.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/jest-timeout.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/**/*.e2e-spec.ts', '<rootDir>/**/*.e2e-spec.tsx'], testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.cache/'], setupFiles: ['<rootDir>/test/support/jest-env.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/jest-timeout.ts'] },
  ],
};
