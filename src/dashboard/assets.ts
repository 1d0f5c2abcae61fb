// The page's files: the HTML/CSS/JS of web/dashboard/ (shipped in the package beside dist/) and the
// chart library uPlot from node_modules, so the page needs no network. Served by name from a table
// made at start-up, so no request string ever becomes a path here.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json; charset=utf-8', '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8', '.jsonl': 'text/plain; charset=utf-8', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp',
};

export function contentType(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** web/dashboard/ of the package: dist/src/dashboard/assets.js -> ../../../web/dashboard */
export const PAGE_DIR = fileURLToPath(new URL('../../../web/dashboard/', import.meta.url));

export function loadAssets(): { page: Map<string, Asset>; vendor: Map<string, Asset> } {
  if (!existsSync(join(PAGE_DIR, 'index.html'))) throw new Error(`the dashboard page is missing: no index.html in ${PAGE_DIR} (a broken install?)`);
  const page = new Map<string, Asset>();
  for (const name of readdirSync(PAGE_DIR)) {
    const path = join(PAGE_DIR, name);
    if (statSync(path).isFile()) page.set(name, { type: contentType(name), body: readFileSync(path) });
  }
  const require = createRequire(import.meta.url);
  const vendor = new Map<string, Asset>();
  for (const f of ['uplot/dist/uPlot.iife.min.js', 'uplot/dist/uPlot.min.css']) {
    let path: string;
    try {
      path = require.resolve(f);
    } catch {
      throw new Error(`the chart library is missing: cannot resolve ${f} (run npm install in the flm folder)`);
    }
    const name = f.split('/').pop()!;
    vendor.set(name, { type: contentType(name), body: readFileSync(path) });
  }
  return { page, vendor };
}
