// The layering of src/: every top-level folder under src/ is a layer, and imports flow one way, from
// the native bridge up to the command line. The order is written down here as data (LAYERS); the test
// parses every import / export-from / import('...') / import-type of src/**/*.ts (TypeScript's own
// parser, so comments and strings never count) and fails on
//   (a) a cycle among the folders, and
//   (b) an import of a folder that is not strictly below the importing one in LAYERS
//       (folders in the same tier are independent: they may not import each other),
// and on a folder missing from the table, so a new folder has to be placed before it is used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Lowest first. `.` is src/*.ts itself: the package entry (index.ts) and its namespace files. */
export const LAYERS: ReadonlyArray<readonly string[]> = [
  ['config'], //                      the settings tables and their resolution (pure data, no imports)
  ['native'], //                      the libtorch addon binding
  ['tensor'], //                      Tensor, autograd, scopes, dtypes over the binding
  ['nn'], //                          modules, layers, init
  ['models'], //                      CLIP ViT, RoBERTa, FLM / single-stream models, configs
  ['objectives'], //                  masks and losses (tensor only)
  ['optim', 'dist'], //               optimisers; process groups and DDP
  ['io'], //                          file formats: safetensors, torch pickle, atomic writes, weights files
  ['convert', 'verify'], //           model-aware weight conversion; parity with the PyTorch reference
  ['data'], //                        datasets, loader, tokenizer, shapes world, seeded PRNG (tensor-free)
  ['train'], //                       the one trainer, its loop, recipes' interface, checkpoints, schedules
  ['eval'], //                        metrics (tensor-free)
  ['tasks'], //                       fine-tuning tasks, inference, evaluation runs
  ['api'], //                         the library API for trained models: loadModel, evaluate, exportModel
  ['bench', 'compare', 'demo', 'dashboard'], // benchmarks, objective comparison, the demo, the web dashboard
  ['cli'], //                         the `flm` command line
  ['.'], //                           package entry
];

/** The only folders that may import the native bridge directly (everything else goes through tensor). */
export const NATIVE_CLIENTS: readonly string[] = ['tensor', 'optim', 'dist', 'io'];

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

export interface Edge {
  /** importing file, relative to src/ with '/' separators */
  from: string;
  /** imported file, relative to src/ */
  to: string;
  line: number;
  kind: 'import' | 'export' | 'dynamic' | 'type';
}

/** Every relative import of one source file (non-relative ones are packages or node: builtins). */
export function importsOf(file: string, text: string): Array<{ spec: string; line: number; kind: Edge['kind'] }> {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Array<{ spec: string; line: number; kind: Edge['kind'] }> = [];
  const add = (node: ts.Node, spec: ts.Expression | undefined, kind: Edge['kind']): void => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    if (spec === undefined) return;
    if (!ts.isStringLiteralLike(spec)) {
      // an import whose target cannot be read off the source cannot be checked
      out.push({ spec: `<computed: ${spec.getText(sf)}>`, line, kind });
      return;
    }
    out.push({ spec: spec.text, line, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, 'import');
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier) add(node, node.moduleSpecifier, 'export');
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression, 'import');
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0], 'dynamic');
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal as ts.Expression, 'type');
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** All .ts files under `root`, relative, with '/' separators. */
function sourceFiles(root: string): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.split(sep).join('/'))
    .sort();
}

/** The import edges among the files of src/ (targets resolved, .js -> .ts). */
function srcEdges(): { files: string[]; edges: Edge[]; unresolved: string[] } {
  const files = sourceFiles(SRC);
  const known = new Set(files);
  const edges: Edge[] = [];
  const unresolved: string[] = [];
  for (const f of files) {
    for (const { spec, line, kind } of importsOf(f, readFileSync(join(SRC, f), 'utf8'))) {
      if (spec.startsWith('<computed')) {
        unresolved.push(`${f}:${line} ${spec}`);
        continue;
      }
      if (!spec.startsWith('.')) continue;
      const abs = resolve(SRC, dirname(f), spec);
      const rel = relative(SRC, abs).split(sep).join('/');
      if (rel.startsWith('..')) continue; // outside src/ (package.json)
      const to = rel.replace(/\.js$/, '.ts');
      if (!known.has(to)) unresolved.push(`${f}:${line} ${spec}`);
      else edges.push({ from: f, to, line, kind });
    }
  }
  return { files, edges, unresolved };
}

/** The layer (top-level folder under src/) of a file; '.' for src/*.ts. */
export function layerOf(file: string): string {
  const i = file.indexOf('/');
  return i < 0 ? '.' : file.slice(0, i);
}

/** Strongly connected components with more than one node (Tarjan): the cycles of a graph. */
export function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return out;
}

const VERB: Record<Edge['kind'], string> = { import: 'imports', export: 're-exports', dynamic: "import()s", type: 'type-imports' };

/** Everything wrong with a set of edges against LAYERS, one line each (empty: the layering holds). */
export function layerViolations(edges: readonly Edge[], layers: ReadonlyArray<readonly string[]> = LAYERS): string[] {
  const rank = new Map<string, number>();
  layers.forEach((tier, i) => tier.forEach((l) => rank.set(l, i)));
  const problems: string[] = [];
  const graph = new Map<string, Set<string>>();
  const unknown = new Set<string>();
  for (const e of edges) {
    const a = layerOf(e.from);
    const b = layerOf(e.to);
    for (const l of [a, b]) if (!rank.has(l)) unknown.add(l);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
    if (rank.has(a) && rank.has(b) && rank.get(b)! >= rank.get(a)!) {
      const how = rank.get(b) === rank.get(a) ? 'same tier as' : 'above';
      problems.push(`upward import: src/${e.from}:${e.line} (${a}) ${VERB[e.kind]} src/${e.to} (${b}, ${how} ${a})`);
    }
    if (b === 'native' && !NATIVE_CLIENTS.includes(a)) {
      problems.push(`native bridge: src/${e.from}:${e.line} imports src/${e.to}; only ${NATIVE_CLIENTS.join(', ')} talk to the addon`);
    }
  }
  for (const l of unknown) problems.push(`folder src/${l} is not in LAYERS (test/layers.test.ts): place it in the order`);
  for (const c of cycles(graph)) problems.push(`import cycle among folders: ${c.join(' <-> ')}`);
  return problems;
}

test('layers: the import parser sees static, export-from, dynamic and type imports, not comments', () => {
  const src = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    "import './side.js';",
    "export { c } from './c.js';",
    "export * as d from './d.js';",
    "const e = await import('../e/e.js');",
    "let f: import('./f.js').F;",
    "// import { g } from './g.js';",
    "const s = \"import('./h.js')\";",
    'export const x = 1;',
  ].join('\n');
  assert.deepEqual(importsOf('x.ts', src).map((i) => `${i.kind} ${i.spec} @${i.line}`), [
    'import ./a.js @1', 'import ../b/b.js @2', 'import ./side.js @3', 'export ./c.js @4', 'export ./d.js @5',
    'dynamic ../e/e.js @6', 'type ./f.js @7',
  ]);
  assert.deepEqual(importsOf('x.ts', 'const m = "y"; await import(m);').map((i) => i.spec), ['<computed: m>']);
});

test('layers: the checker flags upward imports, same-tier imports, cycles, unknown folders and native access', () => {
  const e = (from: string, to: string): Edge => ({ from, to, line: 1, kind: 'import' });
  assert.deepEqual(layerViolations([e('train/loop.ts', 'models/index.ts'), e('cli/main.ts', 'verify/index.ts'), e('models/flm.ts', 'models/roberta.ts')]), []);
  const up = layerViolations([e('models/flm.ts', 'train/loop.ts')]);
  assert.equal(up.length, 1);
  assert.match(up[0]!, /^upward import: src\/models\/flm\.ts:1 \(models\) imports src\/train\/loop\.ts \(train, above models\)$/);
  assert.match(layerViolations([e('optim/sgd.ts', 'dist/ddp.ts')])[0]!, /same tier as optim/);
  const cyc = layerViolations([e('a/x.ts', 'b/y.ts'), e('b/y.ts', 'a/z.ts')], [['a'], ['b']]);
  assert.ok(cyc.includes('import cycle among folders: a <-> b'), cyc.join('\n'));
  assert.match(layerViolations([e('newthing/x.ts', 'tensor/index.ts')]).join('\n'), /folder src\/newthing is not in LAYERS/);
  assert.match(layerViolations([e('models/flm.ts', 'native/binding.ts')]).join('\n'), /native bridge: src\/models\/flm\.ts/);
});

test('layers: src/ imports flow one way (LAYERS), with no cycle among folders', () => {
  const { files, edges, unresolved } = srcEdges();
  assert.ok(files.length > 100 && edges.length > 300, `parsed ${files.length} files, ${edges.length} imports`);
  assert.deepEqual(unresolved, [], 'imports that do not resolve to a file under src/');
  const folders = new Set(files.map(layerOf));
  for (const tier of LAYERS) for (const l of tier) assert.ok(folders.has(l), `LAYERS names src/${l}, which does not exist`);
  assert.deepEqual(layerViolations(edges), []);
});
