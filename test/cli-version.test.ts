// `flm --version` / `-V`: prints package.json's version and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { program } from '../src/cli/main.js';
import { flmVersion } from '../src/cli/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };

test('version: flmVersion() is package.json\'s version', () => {
  assert.match(PKG.version, /^\d+\.\d+\.\d+/);
  assert.equal(flmVersion(), PKG.version);
});

test('version: the program prints it for --version and -V (in process)', async () => {
  for (const flag of ['--version', '-V']) {
    let out = '';
    const p = program().configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
    await assert.rejects(p.parseAsync(['node', 'flm', flag]), (e: { code?: string; exitCode?: number }) => e.code === 'commander.version' && e.exitCode === 0);
    assert.equal(out, `${PKG.version}\n`);
  }
  assert.match(program().helpInformation(), /-V, --version\s+print the flm version/);
});

test('version: `flm --version` from bin/flm.js prints the version and exits 0', () => {
  const r = spawnSync(process.execPath, [`${ROOT}bin/flm.js`, '--version'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${PKG.version}\n`);
});
