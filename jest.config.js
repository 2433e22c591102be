'use strict';
// Two projects: "unit" (pure logic, no I/O, fast) and "integration" (real Asterisk + Redis from
// scripts/testbed; the contract suites for the ARI and AMI adapters live there too).
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] };
module.exports = {
  // Coverage (on with --coverage, as scripts/test runs it) counts every file under src/, also those no test
  // loads, so the figure says how much of the daemon the tests exercise. Istanbul's counters (jest instruments
  // SWC's output with babel-plugin-istanbul): per statement, and cheaper here than V8's, which slowed the unit
  // tests about threefold and counts every comment and blank line of a loaded file as run.
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.d.ts'],
  coverageProvider: 'babel',
  coverageReporters: ['text-summary', 'json'],
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/contract/**/*.test.ts'],
      transform,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      slowTestThreshold: 30,
    },
  ],
};
