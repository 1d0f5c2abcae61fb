/**
 * The real artwork behind `flm data emoji`: two emoji sets drawn by different studios, as the npm
 * packages of the Iconify project ship them (SVG bodies + Unicode names + categories):
 *
 *   fluent   Fluent Emoji Flat, Microsoft, MIT        (@iconify-json/fluent-emoji-flat)
 *   noto     Noto Emoji, Google, Apache-2.0           (@iconify-json/noto)
 *
 * Only the emoji both sets draw are used, so every concept exists in both styles.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DataError } from '../types.js';

export const EMOJI_STYLES = ['fluent', 'noto'] as const;
export type EmojiStyle = (typeof EMOJI_STYLES)[number];

const PACKAGES: Readonly<Record<EmojiStyle, string>> = { fluent: '@iconify-json/fluent-emoji-flat', noto: '@iconify-json/noto' };

interface IconifyIcon { body: string; width?: number; height?: number; left?: number; top?: number; rotate?: number; hFlip?: boolean; vFlip?: boolean }
interface IconifySet { prefix: string; icons: Record<string, IconifyIcon>; width?: number; height?: number; left?: number; top?: number }
interface IconifyInfo { name: string; author: { name: string; url?: string }; license: { title: string; spdx: string; url?: string } }

/** What a built dataset records about each artwork set (its ARTWORK-LICENSES.md). */
export interface ArtworkCredit { style: EmojiStyle; package: string; version: string; name: string; author: string; authorUrl: string; license: string; licenseUrl: string }

export interface EmojiArtwork {
  /** concept id (the Unicode name, kebab-case) -> category, for the concepts both styles draw */
  categories: Map<string, string>;
  /** a standalone SVG document of a concept in a style, `px` pixels square */
  svg(style: EmojiStyle, concept: string, px: number): string;
  credits: ArtworkCredit[];
}

const require = createRequire(import.meta.url);

function readPackageJson<T>(pkg: string, file: string): T {
  let path: string;
  try {
    path = require.resolve(`${pkg}/${file}`);
  } catch {
    throw new DataError(`the emoji artwork package ${pkg} is not installed (it is a dependency of flm: run npm install)`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

let cached: EmojiArtwork | undefined;

/** Loads both sets once (the Noto set is ~25 MB of JSON). */
export function loadEmojiArtwork(): EmojiArtwork {
  if (cached) return cached;
  const sets = {} as Record<EmojiStyle, IconifySet>;
  const credits: ArtworkCredit[] = [];
  for (const style of EMOJI_STYLES) {
    const pkg = PACKAGES[style];
    sets[style] = readPackageJson<IconifySet>(pkg, 'icons.json');
    const info = readPackageJson<IconifyInfo>(pkg, 'info.json');
    const version = readPackageJson<{ version: string }>(pkg, 'package.json').version;
    credits.push({
      style, package: pkg, version, name: info.name, author: info.author.name, authorUrl: info.author.url ?? '',
      license: info.license.spdx, licenseUrl: info.license.url ?? '',
    });
  }
  const meta = readPackageJson<{ categories: Record<string, string[]> }>(PACKAGES.fluent, 'metadata.json');
  const categories = new Map<string, string>();
  for (const [category, names] of Object.entries(meta.categories)) {
    for (const n of names) if (EMOJI_STYLES.every((s) => sets[s].icons[n] !== undefined)) categories.set(n, category);
  }
  const svg = (style: EmojiStyle, concept: string, px: number): string => {
    const set = sets[style];
    const icon = set.icons[concept];
    if (!icon) throw new DataError(`emoji: ${style} has no "${concept}"`);
    // transformed icons are aliases in the sets used today; a later version drawing one is refused, not drawn wrong
    if (icon.rotate || icon.hFlip || icon.vFlip) throw new DataError(`emoji: ${style} draws "${concept}" with a transform, which this reader does not apply`);
    const w = icon.width ?? set.width ?? 16;
    const h = icon.height ?? set.height ?? 16;
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}" viewBox="${icon.left ?? set.left ?? 0} ${icon.top ?? set.top ?? 0} ${w} ${h}">${icon.body}</svg>`;
  };
  cached = { categories, svg, credits };
  return cached;
}
