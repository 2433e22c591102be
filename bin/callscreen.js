#!/usr/bin/env node
'use strict';
// The command runs the compiled daemon in dist/. A checkout has it only after a build: say exactly what to
// run instead of dying with a module-not-found stack trace.
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', 'dist', 'main.js');
if (!fs.existsSync(main)) {
  const root = path.resolve(__dirname, '..');
  process.stderr.write(
    `callscreen: not built yet (${path.relative(root, main)} is missing).\n` +
      `Run \`npm run build\` in ${root} once (after \`npm ci\`), then run this again.\n`,
  );
  process.exit(2);
}
require(main).main(process.argv);
