// `npm run test:node24` (the last step of `npm test`): the unit tier once more on Node.js 24, so
// that the supported majors other than the one running npm stay green. The binary is the Node.js
// project's own build as npm publishes it (`node-<platform>-<arch>`), fetched once from the same
// registry `npm ci` uses into `.cache/node/<version>`; nothing is downloaded from anywhere else.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** The exact release to test (package.json names it), so that a run repeats. */
const version = process.argv[2];
if (version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) {
  console.error('usage: tsx infra/node/unit-tier.ts <exact Node.js version, e.g. 24.22.3>');
  process.exit(2);
}
const platform = process.platform === 'win32' ? 'win' : process.platform;
const packageName = `node-${platform}-${process.arch}`;
const prefix = join(root, '.cache', 'node', version);
const binary = join(prefix, 'node_modules', packageName, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');

if (!existsSync(binary)) {
  console.log(`[node ${version}] fetching ${packageName}@${version} from the npm registry into ${prefix} …`);
  const fetched = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', prefix, `${packageName}@${version}`], { stdio: 'inherit' });
  if (fetched.status !== 0 || !existsSync(binary)) {
    console.error(`[node ${version}] could not fetch ${packageName}@${version} (npm exited ${fetched.status}); the unit tier on Node ${version} did not run`);
    process.exit(1);
  }
}

console.log(`[node ${version}] the unit tier on ${binary}`);
const run = spawnSync(binary, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'unit'], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
