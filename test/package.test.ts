// What `npm pack` ships: what a user needs (the compiled library and its types, the CLI, the native
// sources the install script builds, LICENSE, README) and nothing else: no compiled tests, benchmarks
// or fuzzers, no test fixtures, no source maps (the TypeScript sources are not shipped), no stale
// output of deleted sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Where shipped files may live; a new kind of runtime file belongs in package.json `files` and here. */
const ALLOWED = [/^bin\/flm\.js$/, /^dist\/src\/.+\.(js|d\.ts)$/, /^native\/[a-z_]+\.(cc|h|def)$/, /^binding\.gyp$/, /^scripts\/(install|find-libtorch)\.mjs$/,
  /^bench\/(engine|step)_peer\.py$/, /^web\/(dashboard|onnx-demo)\/[a-z-]+\.(html|js|css)$/, /^(LICENSE|README\.md|package\.json)$/];

test('npm pack ships what a user needs and nothing else', (t) => {
  // --ignore-scripts: the `prepare` build is the test runner's job; this reads the file list only
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return void t.skip('npm is not on PATH');
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort();
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { main: string; types: string; bin: Record<string, string>; license: string; repository?: { url?: string } };

  assert.deepEqual(files.filter((f) => !ALLOWED.some((a) => a.test(f))), [], 'files outside what the package needs');
  assert.deepEqual(files.filter((f) => /^dist\/(test|bench|fuzz)\//.test(f) || f.startsWith('fixtures/') || f.endsWith('.map')), []);
  for (const need of ['LICENSE', 'README.md', 'package.json', pkg.main, pkg.types, ...Object.values(pkg.bin), 'dist/src/cli/main.js', 'dist/src/api/index.d.ts', 'web/dashboard/index.html', 'web/onnx-demo/index.html', 'dist/src/web/index.js', 'dist/src/web/index.d.ts', 'binding.gyp', 'scripts/install.mjs', 'native/ops.def']) {
    assert.ok(files.includes(need.replace(/^\.\//, '')), `${need} is shipped`);
  }
  // every native source binding.gyp compiles is shipped
  for (const src of readFileSync(join(REPO, 'binding.gyp'), 'utf8').match(/native\/[a-z_]+\.cc/g) ?? []) assert.ok(files.includes(src), src);
  // compiled output of sources that no longer exist would ship dead code
  const stale = files.filter((f) => f.startsWith('dist/src/') && !existsSync(join(REPO, f.replace(/^dist\//, '').replace(/(\.d\.ts|\.js)$/, '.ts'))));
  assert.deepEqual(stale, [], 'dist/ files without a source (run a clean build)');
  assert.equal(pkg.license, 'MIT');
  assert.match(readFileSync(join(REPO, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 the flm authors\n/);
  assert.match(pkg.repository?.url ?? '', /^git\+https:\/\/github\.com\/.+\.git$/);
});
