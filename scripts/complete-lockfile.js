// scripts/complete-lockfile.js: after `npm install`, give package-lock.json an entry for every platform-specific
// optional package (e.g. @swc/core-darwin-arm64) that the install did not record because the registry this
// machine uses does not serve it. Without those entries `npm ci` refuses the lock file as out of sync.
// Usage: npm install && node scripts/complete-lockfile.js
const fs = require('fs');
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  if (!key.startsWith('node_modules/')) continue;
  let pj;
  try {
    pj = JSON.parse(fs.readFileSync(key + '/package.json', 'utf8'));
  } catch {
    continue;
  }
  const opt = pj.optionalDependencies || {};
  if (Object.keys(opt).length === 0) continue;
  entry.optionalDependencies = { ...opt };
  for (const [name, range] of Object.entries(opt)) {
    const k = 'node_modules/' + name;
    if (lock.packages[k]) continue;
    const version = String(range).replace(/^[\^~=]/, '');
    lock.packages[k] = { version, ...(entry.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
fs.writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log('added', added);
