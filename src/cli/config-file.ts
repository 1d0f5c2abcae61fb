// Run configuration files (JSON or YAML) merged under command-line overrides.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`config file ${path} must hold an object of settings`);
  return v as Record<string, unknown>;
}

/** Parses a numeric CLI value, naming the flag in the error. */
export function num(flag: string, v: string | undefined, o: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const ok = v.trim() !== '' && Number.isFinite(n) && (!o.int || Number.isInteger(n)) && n >= (o.min ?? -Infinity) && n <= (o.max ?? Infinity);
  if (!ok) {
    const range = o.min !== undefined || o.max !== undefined ? ` in [${o.min ?? '-inf'}, ${o.max ?? 'inf'}]` : '';
    throw new Error(`--${flag} must be ${o.int ? 'an integer' : 'a number'}${range}, got '${v}'`);
  }
  return n;
}
