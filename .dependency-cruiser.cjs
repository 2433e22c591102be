'use strict';
// The import boundaries of src/ (and tools/), checked by dependency-cruiser in npm test's lint step
// (`npm run lint:boundaries`). The layering, bottom to top:
//   domain < ports < errors < adapters | config < features (calls, reputation, blacklist, call-log, accuracy, http-api)
//   < daemon < cli < main.ts
// Paths are relative to the directory the cruise runs in, so the same rules check the real tree and the
// fixture tree in test/fixtures/boundaries (test/unit/import-boundaries.test.ts runs them there).
// Type-only imports count like value imports (tsPreCompilationDeps): a type pulls its module's layer in too.

const features = '^src/(calls|reputation|blacklist|call-log|accuracy|http-api|config)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment:
        'src/domain is the pure core (numbers, rules, signals, score, policies): no I/O and no knowledge of ' +
        'config, ports or adapters, so it imports only itself and libphonenumber-js (no node: builtins).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '(^|/)node_modules/libphonenumber-js/'] },
    },
    {
      name: 'ports-are-interfaces',
      comment:
        'src/ports holds the interfaces the features use; it may speak in domain types but knows no ' +
        'implementation, so among our files it imports only ports and domain.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/ports/', '^src/domain/'] },
    },
    {
      name: 'ports-are-interfaces',
      comment:
        'A port may name a package type (a pino Logger, a node EventEmitter) but not pull in its code: ' +
        'imports of packages and node builtins from src/ports must be type-only.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { dependencyTypesNot: ['local', 'type-only'] },
    },
    {
      name: 'errors-are-low',
      comment:
        'The coded errors are thrown from every layer, so they may depend only on what sits below them: ' +
        'errors, ports and domain.',
      severity: 'error',
      from: { path: '^src/errors/' },
      to: { dependencyTypes: ['local'], pathNot: ['^src/errors/', '^src/ports/', '^src/domain/'] },
    },
    {
      name: 'adapters-stay-apart',
      comment:
        'An adapter implements ports over one technology (ami, ari, redis, logging); it imports only ports, ' +
        'domain, errors and its own folder - never another adapter, config, a feature, the daemon or the CLI - ' +
        'so any adapter can be replaced or tested alone.',
      severity: 'error',
      from: { path: '^src/adapters/([^/]+)/' },
      to: {
        dependencyTypes: ['local'],
        pathNot: ['^src/ports/', '^src/domain/', '^src/errors/', '^src/adapters/$1/'],
      },
    },
    {
      name: 'features-use-ports',
      comment:
        'The features (and config) reach the outside world through ports; only the daemon and the CLI ' +
        'choose and build adapters. Features may use each other.',
      severity: 'error',
      from: { path: features },
      to: { path: ['^src/adapters/', '^src/daemon/', '^src/cli/', '^src/main\\.ts$'] },
    },
    {
      name: 'daemon-below-cli',
      comment: 'The daemon is wiring that the CLI starts (`callscreen run`); it never reaches up into the CLI.',
      severity: 'error',
      from: { path: '^src/daemon/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'main-is-the-top',
      comment:
        'src/main.ts only dispatches to the CLI commands; nothing imports it except bin/ (plain JS, outside src/).',
      severity: 'error',
      from: {},
      to: { path: '^src/main\\.ts$' },
    },
    {
      name: 'src-never-imports-test-or-tools',
      comment:
        'test/ and tools/ (test bed, demo) are not built into dist/ nor shipped in the image; code in src/ ' +
        'that imports them would fail there.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|tools)/' },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle makes the load order matter and blurs which of the two modules is the lower layer; ' +
        'move the shared part down (usually into domain or ports).',
      severity: 'error',
      from: { path: '^(src|tools)/' },
      to: { circular: true },
    },
  ],
  options: {
    // Look into node_modules only far enough to know a package is there.
    doNotFollow: { path: 'node_modules' },
    // Count `import type` as an import: a type-only import breaks a boundary just like a value import.
    tsPreCompilationDeps: true,
    moduleSystems: ['cjs', 'es6'],
  },
};
