/**
 * Dataset spec strings: `scheme:path?key=value&...`, one string per dataset on the command line.
 */
import { resolve } from 'node:path';
import { ArrowSource } from './formats/arrow.js';
import { splitFilter } from './formats/common.js';
import { openCsv } from './formats/csv.js';
import { openJsonl } from './formats/jsonl.js';
import { openKarpathy } from './formats/karpathy.js';
import { openNlvr2 } from './formats/nlvr2.js';
import { ShapesSource } from './formats/shapes.js';
import { openVqa } from './formats/vqa.js';
import { openWebDataset } from './formats/webdataset.js';
import { DataError, type DatasetSource } from './types.js';

export const DATASET_SCHEMES = ['shapes', 'karpathy', 'jsonl', 'csv', 'tsv', 'wds', 'arrow', 'vqa', 'nlvr2'] as const;
export type DatasetScheme = (typeof DATASET_SCHEMES)[number];

export interface DatasetSpec {
  scheme: DatasetScheme;
  path: string;
  query: URLSearchParams;
  /** The string it was parsed from. */
  source: string;
}

/** Help text for `--help` and the README. */
import { DATASET_SPEC_HELP, DATASET_SPEC_KEYS } from './spec-help.js';

export { DATASET_SPEC_HELP, DATASET_SPEC_KEYS };

function guessScheme(path: string): DatasetScheme | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(path.replace(/\{.*\}/g, ''))?.[1]?.toLowerCase();
  switch (ext) {
    case 'jsonl': return 'jsonl';
    case 'csv': return 'csv';
    case 'tsv': return 'tsv';
    case 'tar': return 'wds';
    case 'arrow': return 'arrow';
    case 'json': return 'karpathy';
    default: return undefined;
  }
}

export function parseDatasetSpec(spec: string): DatasetSpec {
  const s = spec.trim();
  if (s === '') throw new DataError('empty dataset spec');
  const colon = s.indexOf(':');
  const head = colon > 0 ? s.slice(0, colon) : '';
  let scheme: DatasetScheme | undefined;
  let rest: string;
  if ((DATASET_SCHEMES as readonly string[]).includes(head)) {
    scheme = head as DatasetScheme;
    rest = s.slice(colon + 1);
  } else {
    rest = s;
  }
  const qi = rest.indexOf('?');
  const path = qi >= 0 ? rest.slice(0, qi) : rest;
  const query = new URLSearchParams(qi >= 0 ? rest.slice(qi + 1) : '');
  scheme ??= guessScheme(path);
  if (scheme === undefined) {
    throw new DataError(`cannot tell the format of "${spec}": start it with one of ${DATASET_SCHEMES.map((x) => `${x}:`).join(' ')}\n${DATASET_SPEC_HELP}`);
  }
  if (path === '') throw new DataError(`dataset spec "${spec}" has no path`);
  checkQueryKeys(spec, scheme, query);
  return { scheme, path, query, source: s };
}

/** Every key must be one the scheme reads, given once: a mistyped key is an error, never ignored. */
function checkQueryKeys(spec: string, scheme: DatasetScheme, query: URLSearchParams): void {
  const known: readonly string[] = DATASET_SPEC_KEYS[scheme];
  const seen = new Set<string>();
  for (const key of query.keys()) {
    if (!known.includes(key)) {
      throw new DataError(`dataset spec "${spec}": unknown key '${key}'; ${scheme}: data takes ${known.join(', ')}`);
    }
    if (seen.has(key)) throw new DataError(`dataset spec "${spec}": key '${key}' is given twice`);
    seen.add(key);
  }
}

/** Open the dataset a spec names. Bad files throw a DataError; bad rows become openFailures. */
export async function openDataset(spec: string | DatasetSpec): Promise<DatasetSource> {
  const p = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const { path, query: q, source: name } = p;
  switch (p.scheme) {
    case 'shapes': return new ShapesSource(name, path, q);
    case 'karpathy': return openKarpathy(resolve(path), q, name);
    case 'jsonl': return openJsonl(resolve(path), q, name);
    case 'csv': return openCsv(resolve(path), q, name, ',');
    case 'tsv': return openCsv(resolve(path), q, name, '\t');
    case 'wds': return openWebDataset(path, splitFilter(q), name);
    case 'arrow': return ArrowSource.open(path, q, name);
    case 'vqa': return openVqa(resolve(path), q, name);
    case 'nlvr2': return openNlvr2(resolve(path), q, name);
  }
}
