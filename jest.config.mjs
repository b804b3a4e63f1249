// Jest 30 + ts-jest in ESM mode (NODE_OPTIONS=--experimental-vm-modules is set by scripts/test.mjs).
// Two projects: fast unit tests (*.spec.ts, no I/O) and end-to-end tests
// (*.e2e-spec.ts) that start the built api and worker against real Postgres and Redis.
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^#core$': '<rootDir>/libs/core/src/index.ts',
    '^#registry$': '<rootDir>/libs/registry/src/index.ts',
    '^#realtime$': '<rootDir>/libs/realtime/src/index.ts',
    '^#runbooks$': '<rootDir>/libs/runbooks/src/index.ts',
    '^#slo$': '<rootDir>/libs/slo/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

export default {
  // Jest reads testTimeout from the root config only (a project's own is ignored); unit tests finish in milliseconds anyway.
  testTimeout: 120_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,test}/**/*.spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/{apps,libs,test}/**/*.e2e-spec.ts'], slowTestThreshold: 30 },
  ],
};
