// One node's launcher for test/dist.test.ts's two-host test:
//   node launch-node.js '<LaunchOptions JSON without command>' <worker.js> [worker args...]
import { launch, type LaunchOptions } from '../../src/dist/launch.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as Omit<LaunchOptions, 'command'>;
const r = await launch({ ...opts, command: process.execPath, args: process.argv.slice(3) });
for (const l of r.report) console.error(`[flm launch] ${l}`);
process.exitCode = r.exitCode;
