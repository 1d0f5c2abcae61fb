#!/usr/bin/env node
// `npm install` hook: find libtorch (installing Debian's libtorch-dev when run as root on Debian/Ubuntu),
// then build the native addon with node-gyp against it. Never downloads anything but system packages.
//   node scripts/install.mjs [--force]
import { existsSync, statSync, readdirSync, writeFileSync, realpathSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'flm_native.node');
const force = process.argv.includes('--force');

function say(msg) {
  console.error(`[flm install] ${msg}`);
}

function upToDate() {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  const sources = readdirSync(join(root, 'native')).map((f) => join(root, 'native', f));
  sources.push(join(root, 'binding.gyp'));
  return sources.every((f) => statSync(f).mtimeMs <= built);
}

function isDebianLike() {
  try {
    return /ID(_LIKE)?=.*(debian|ubuntu)/.test(execFileSync('cat', ['/etc/os-release']).toString());
  } catch {
    return false;
  }
}

let lt = findLibtorch();
if (!lt) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && isDebianLike()) {
    say('no libtorch found: installing Debian\'s libtorch-dev with apt-get (this takes a few minutes)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // libopenblas0-openmp: Debian's libtorch calls the generic libblas.so.3, which is the reference
    // (netlib) BLAS unless an optimised one provides it: matmul is ~30x slower without it.
    for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'libtorch-dev', 'libopenblas0-openmp', 'libgloo-dev']]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
      if (r.status !== 0) {
        say(`apt-get ${args.join(' ')} failed (exit ${r.status})`);
        process.exit(1);
      }
    }
    lt = findLibtorch();
  }
  if (!lt) {
    say('no libtorch found. Install one, then run `npm install` again:');
    say('  sudo apt-get install libtorch-dev            (Debian/Ubuntu)');
    say('  or: export LIBTORCH=/path/to/libtorch          (an unpacked libtorch or a pip torch/ folder)');
    process.exit(1);
  }
}
say(`libtorch ${lt.version} from ${lt.source}: ${lt.root}${lt.cuda ? ' (CUDA)' : ''}`);
checkBlas();
checkGloo();

// Debian's libtorch-dev does not depend on the Gloo headers that c10d's ProcessGroupGloo.hpp includes;
// without them the addon builds without distributed training.
function checkGloo() {
  if (lt.source !== 'system libtorch-dev' && !lt.root.startsWith('/usr/lib/python3')) return;
  if (existsSync('/usr/include/gloo/config.h')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && isDebianLike()) {
    say('installing libgloo-dev (headers for distributed training) with apt-get');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'libgloo-dev'], { stdio: 'inherit', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'libgloo-dev'], { stdio: 'inherit', env });
    }
    if (r.status !== 0) say('warning: libgloo-dev could not be installed: distributed training will be unavailable');
  } else {
    say('warning: Gloo headers not found (/usr/include/gloo): distributed training will be unavailable; sudo apt-get install libgloo-dev');
  }
}

// Debian's libtorch is built against the generic BLAS interface (libblas.so.3). Make sure an optimised
// implementation provides it; the netlib reference BLAS makes every matmul ~30x slower.
function checkBlas() {
  const link = `${lt.libDir}/libblas.so.3`;
  const sys = '/usr/lib/x86_64-linux-gnu/libblas.so.3';
  const target = [link, sys].find((p) => existsSync(p));
  if (!target) return;
  let real = target;
  try {
    real = realpathSync(target);
  } catch {
    return;
  }
  if (/openblas|mkl|blis|atlas/i.test(real)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && isDebianLike()) {
    say(`libblas.so.3 is the reference BLAS (${real}): installing libopenblas0-openmp with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'libopenblas0-openmp'], { stdio: 'inherit', env });
    if (r.status === 0) return;
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'libopenblas0-openmp'], { stdio: 'inherit', env });
  } else {
    say(`warning: libblas.so.3 is the reference BLAS (${real}); matrix products will be ~30x slower.`);
    say('  install an optimised one: sudo apt-get install libopenblas0-openmp');
  }
}

if (!force && upToDate()) {
  writeFileSync(join(root, 'build', 'libtorch.json'), JSON.stringify(lt, null, 1));
  say('native addon is up to date');
  process.exit(0);
}
const gyp = process.env.npm_config_node_gyp || join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const jobs = String(Math.max(1, (await import('node:os')).availableParallelism()));
say('building the native addon (node-gyp)');
// Build against the running Node's own headers when they are installed (no download of headers).
const nodedir = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
const gypArgs = [gyp, 'rebuild', '--jobs', jobs];
if (existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${nodedir}`);
const r = spawnSync(process.execPath, gypArgs, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  say('native build failed');
  process.exit(r.status ?? 1);
}
writeFileSync(join(root, 'build', 'libtorch.json'), JSON.stringify(lt, null, 1));
say(`built ${addon}`);
