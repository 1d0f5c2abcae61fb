// `flm export … --format onnx --web-demo`: a static page next to the exported model that captions a
// dropped image, answers a typed question and ranks typed captions in the browser. No bundler: the page
// loads the compiled library (dist/src/web and the browser-safe data/ files it imports, copied as they
// are) as ES modules, with an import map pointing the two packages it imports at copies of their
// browser builds: onnxruntime-web's WASM build (ort.wasm.min.mjs with its .mjs/.wasm runtime files) and
// @huggingface/tokenizers' ESM file. Any static file server serves the folder.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/ (the compiled sources): dist/src/api/web-demo.js -> ../ */
const DIST_SRC = fileURLToPath(new URL('../', import.meta.url));
/** web/onnx-demo/ of the package (the page's HTML and script) */
export const DEMO_PAGE_DIR = fileURLToPath(new URL('../../../web/onnx-demo/', import.meta.url));

/** The packages the library imports, and the browser file each is mapped to (in vendor/). */
export const WEB_PACKAGES: Readonly<Record<string, { resolve: string; files: readonly string[]; entry: string }>> = {
  'onnxruntime-web': { resolve: 'onnxruntime-web', files: ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'], entry: 'ort.wasm.min.mjs' },
  '@huggingface/tokenizers': { resolve: '@huggingface/tokenizers', files: ['tokenizers.min.mjs'], entry: 'tokenizers.min.mjs' },
};

export interface LibraryFile {
  /** path under dist/src, '/'-separated (web/index.js, data/tokenizer.js, ...) */
  path: string;
  /** static imports of packages (bare specifiers) */
  packages: string[];
  /** dynamic import() of packages or builtins, never run in a browser unless called (data/tokenizer.js: node:fs/promises in fromFile) */
  dynamic: string[];
}

const IMPORT = /(?:^|[;\n])\s*(?:import|export)\s+(?:[^'";()=]*?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The compiled library's files: everything dist/src/web/index.js loads, following relative imports. */
export function webLibraryFiles(root = DIST_SRC): LibraryFile[] {
  const out: LibraryFile[] = [];
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const file = join(root, path);
    if (!existsSync(file)) throw new Error(`the compiled browser library is missing ${file} (run npm run build)`);
    const text = readFileSync(file, 'utf8');
    const entry: LibraryFile = { path, packages: [], dynamic: [] };
    out.push(entry);
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(posix.normalize(posix.join(posix.dirname(path), spec)));
      else entry.packages.push(spec);
    }
    for (const m of text.matchAll(DYNAMIC)) entry.dynamic.push(m[1]!);
  };
  visit('web/index.js');
  return out;
}

function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(name));
  } catch {
    throw new Error(`the web demo needs ${name}: cannot resolve it (run npm install in the flm folder)`);
  }
}

/** Writes index.html, demo.js, lib/ and vendor/ into `dir` (the export folder); returns the files written, relative. */
export function writeWebDemo(dir: string): string[] {
  const files: string[] = [];
  const put = (rel: string, data: string | Buffer): void => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), data);
    files.push(rel);
  };
  for (const f of webLibraryFiles()) {
    const unknown = f.packages.filter((p) => !(p in WEB_PACKAGES));
    if (unknown.length) throw new Error(`the browser library imports ${unknown.join(', ')} (${f.path}), which the web demo does not ship`);
    // without its source map (not shipped): no 404 in the browser's developer tools
    put(`lib/${f.path}`, readFileSync(join(DIST_SRC, f.path), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'));
  }
  for (const [name, p] of Object.entries(WEB_PACKAGES)) {
    const from = packageDir(p.resolve);
    for (const f of p.files) {
      const src = join(from, f);
      if (!existsSync(src)) throw new Error(`the web demo needs ${src} (${name}), which is missing`);
      mkdirSync(join(dir, 'vendor'), { recursive: true });
      copyFileSync(src, join(dir, 'vendor', f));
      files.push(`vendor/${f}`);
    }
  }
  const imports = Object.fromEntries(Object.entries(WEB_PACKAGES).map(([name, p]) => [name, `./vendor/${p.entry}`]));
  for (const f of ['index.html', 'demo.js']) {
    const src = join(DEMO_PAGE_DIR, f);
    if (!existsSync(src)) throw new Error(`the web demo page is missing: no ${f} in ${DEMO_PAGE_DIR} (a broken install?)`);
    put(f, readFileSync(src, 'utf8').replace('"@IMPORT_MAP@"', JSON.stringify({ imports }, null, 1)));
  }
  return files;
}
