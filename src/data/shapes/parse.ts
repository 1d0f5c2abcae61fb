/**
 * Parser for the shapes-world grammar: caption text -> CaptionAst, NLVR2 statement -> Statement.
 * Recursive descent over lower-cased word tokens; multi-word phrases are matched longest first.
 */
import {
  CAPTION_PREFIXES, COLOUR_WORDS, CONNECTORS, CONTAIN_VERBS, COPULAS, GENERIC_NOUNS, IMAGE_SUBJECTS,
  LOCATION_WORDS, NUMBER_WORDS, RELATION_WORDS, SHAPE_WORDS, SIZE_WORDS, type ImageQuant,
} from './lexicon.js';
import type { CaptionAst, Chunk, NP, Pred, Quant, Statement } from './semantics.js';
import type { Colour, Location, Relation, Shape, Size } from './scene.js';

export class ParseError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
    this.name = 'ParseError';
  }
}

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    // A sentence break inside a caption acts as ";".
    .replace(/[.!?]+(?=\s*[a-z0-9])/g, ' ; ')
    .replace(/[-_/]/g, ' ')
    .replace(/([,;:])/g, ' $1 ')
    .replace(/[^a-z0-9,;: ]/g, ' ')
    .split(/\s+/)
    .filter((t) => t.length > 0);
}

type Phrase<T> = { words: string[]; value: T };
/** Phrases indexed by their first word, longest first (so "on the left of" beats "on the left"). */
type PhraseTable<T> = ReadonlyMap<string, readonly Phrase<T>[]>;

function index<T>(list: Phrase<T>[]): PhraseTable<T> {
  const m = new Map<string, Phrase<T>[]>();
  for (const p of list.sort((a, b) => b.words.length - a.words.length)) {
    const first = p.words[0] as string;
    m.set(first, [...(m.get(first) ?? []), p]);
  }
  return m;
}

function phrases<K extends string>(table: Readonly<Record<K, readonly string[]>>): PhraseTable<K> {
  const out: Phrase<K>[] = [];
  for (const key of Object.keys(table) as K[]) for (const p of table[key]) out.push({ words: p.split(' '), value: key });
  return index(out);
}

function plain(list: readonly string[]): PhraseTable<string> {
  return index(list.map((p) => ({ words: tokenize(p), value: p })));
}

type Noun = { shape?: Shape; plural: boolean };
type Adj = { colour: Colour } | { size: Size };

const SHAPE_SG = phrases(Object.fromEntries(Object.entries(SHAPE_WORDS).map(([k, v]) => [k, v.sg])) as Record<Shape, readonly string[]>);
const SHAPE_PL = phrases(Object.fromEntries(Object.entries(SHAPE_WORDS).map(([k, v]) => [k, v.pl])) as Record<Shape, readonly string[]>);
const COLOURS_P = phrases(COLOUR_WORDS);
const SIZES_P = phrases(SIZE_WORDS);
const RELATIONS_P = phrases(RELATION_WORDS);
const LOCATIONS_P = phrases(LOCATION_WORDS);
const IMAGES_P = phrases(IMAGE_SUBJECTS as Record<ImageQuant, readonly string[]>);
const PREFIXES_P = plain(CAPTION_PREFIXES);
const COPULAS_P = plain(COPULAS);
const CONNECTORS_P = plain(CONNECTORS);
const VERBS_P = plain(CONTAIN_VERBS);
const GENERIC_SG = plain(GENERIC_NOUNS.sg);
const GENERIC_PL = plain(GENERIC_NOUNS.pl);

class Parser {
  pos = 0;
  constructor(private readonly toks: readonly string[]) {}

  get done(): boolean {
    return this.pos >= this.toks.length;
  }

  fail(msg: string): never {
    const at = this.toks[this.pos];
    throw new ParseError(at === undefined ? `${msg} at end` : `${msg} at "${at}" (token ${this.pos})`, this.pos);
  }

  private matchAt<T>(table: PhraseTable<T>, at: number): Phrase<T> | undefined {
    const first = this.toks[at];
    const cands = first === undefined ? undefined : table.get(first);
    return cands?.find((p) => p.words.every((w, k) => this.toks[at + k] === w));
  }

  peek<T>(table: PhraseTable<T>, offset = 0): T | undefined {
    return this.matchAt(table, this.pos + offset)?.value;
  }

  eat<T>(list: PhraseTable<T>): T | undefined {
    const m = this.matchAt(list, this.pos);
    if (m) this.pos += m.words.length;
    return m?.value;
  }

  eatWords(...words: string[]): boolean {
    if (!words.every((w, k) => this.toks[this.pos + k] === w)) return false;
    this.pos += words.length;
    return true;
  }

  number(): number | undefined {
    const t = this.toks[this.pos];
    if (t === undefined) return undefined;
    const n = /^\d+$/.test(t) ? Number(t) : NUMBER_WORDS.indexOf(t);
    if (n < 0) return undefined;
    this.pos++;
    return n;
  }

  adjective(): Adj | undefined {
    const c = this.eat(COLOURS_P);
    if (c) return { colour: c };
    const s = this.eat(SIZES_P);
    return s ? { size: s } : undefined;
  }

  isAdjectiveAt(at: number): number {
    return this.matchAt(COLOURS_P, at)?.words.length ?? this.matchAt(SIZES_P, at)?.words.length ?? 0;
  }

  isNounAt(at: number): boolean {
    return [SHAPE_PL, SHAPE_SG, GENERIC_PL, GENERIC_SG].some((l) => this.matchAt<unknown>(l, at) !== undefined);
  }

  noun(): Noun | undefined {
    let s = this.eat(SHAPE_PL);
    if (s) return { shape: s, plural: true };
    s = this.eat(SHAPE_SG);
    if (s) return { shape: s, plural: false };
    if (this.eat(GENERIC_PL)) return { plural: true };
    if (this.eat(GENERIC_SG)) return { plural: false };
    return undefined;
  }

  determiner(): Quant {
    if (this.eatWords('a', 'single') || this.eatWords('only', 'one') || this.eatWords('just', 'one')) return { kind: 'exactly', n: 1 };
    if (this.eatWords('exactly')) {
      const n = this.number();
      return n === undefined ? this.fail('expected a number after "exactly"') : { kind: 'exactly', n };
    }
    if (this.eatWords('at', 'least')) {
      const n = this.number();
      return n === undefined ? this.fail('expected a number after "at least"') : { kind: 'atLeast', n };
    }
    if (this.eatWords('more', 'than')) {
      const n = this.number();
      return n === undefined ? this.fail('expected a number after "more than"') : { kind: 'atLeast', n: n + 1 };
    }
    for (const w of ['several', 'multiple', 'many']) if (this.eatWords(w)) return { kind: 'atLeast', n: 2 };
    if (this.eatWords('no')) return { kind: 'exactly', n: 0 };
    for (const w of ['a', 'an', 'the', 'some', 'any']) if (this.eatWords(w)) return { kind: 'exists' };
    const n = this.number();
    return n === undefined ? { kind: 'exists' } : { kind: 'exactly', n };
  }

  apply(pred: Pred, adj: Adj): void {
    if ('colour' in adj) {
      if (pred.colour !== undefined && pred.colour !== adj.colour) this.fail('conflicting colours');
      pred.colour = adj.colour;
    } else {
      if (pred.size !== undefined && pred.size !== adj.size) this.fail('conflicting sizes');
      pred.size = adj.size;
    }
  }

  /** After "that is": adjectives joined by "and" / ",", or a location. */
  adjectiveList(pred: Pred): void {
    const loc = this.eat(LOCATIONS_P);
    if (loc) {
      pred.loc = loc;
      return;
    }
    const first = this.adjective();
    if (!first) this.fail('expected an adjective');
    this.apply(pred, first);
    for (;;) {
      const joinLen = this.toks[this.pos] === 'and' || this.toks[this.pos] === ',' ? 1 : 0;
      if (joinLen === 0) {
        const a = this.isAdjectiveAt(this.pos) ? this.adjective() : undefined;
        if (!a) return;
        this.apply(pred, a);
        continue;
      }
      // "and" + adjectives + noun starts a new bare noun phrase, not more of this list.
      let at = this.pos + joinLen;
      if (this.isAdjectiveAt(at) === 0) return;
      while (this.isAdjectiveAt(at) > 0) at += this.isAdjectiveAt(at);
      if (this.isNounAt(at)) return;
      this.pos += joinLen;
      this.apply(pred, this.adjective() as Adj);
    }
  }

  np(): NP {
    const quant = this.determiner();
    const pred: Pred = {};
    for (let a = this.adjective(); a; a = this.adjective()) this.apply(pred, a);
    const noun = this.noun();
    if (!noun) this.fail('expected a shape noun');
    if (noun.shape) pred.shape = noun.shape;
    for (;;) {
      if (this.eatWords('that', 'is') || this.eatWords('that', 'are') || this.eatWords('which', 'is') || this.eatWords('which', 'are')) {
        this.adjectiveList(pred);
      } else if (this.toks[this.pos] === 'in' && this.matchAt(COLOURS_P, this.pos + 1)) {
        this.pos++;
        this.apply(pred, this.adjective() as Adj);
      } else if (!this.peek(RELATIONS_P) && this.peek(LOCATIONS_P)) {
        pred.loc = this.eat(LOCATIONS_P) as Location;
      } else {
        break;
      }
    }
    return { quant, pred };
  }

  chunk(): Chunk {
    this.eat(PREFIXES_P);
    const front = this.eat(RELATIONS_P);
    if (front) {
      // "to the left of a blue square (,) (is | there is) a red circle"
      const obj = this.np();
      this.eatWords(',');
      if (!this.eat(PREFIXES_P)) this.eat(COPULAS_P);
      return { kind: 'rel', subj: this.np(), rel: front, obj };
    }
    const subj = this.np();
    const copula = this.eat(COPULAS_P) !== undefined;
    const rel: Relation | undefined = this.eat(RELATIONS_P);
    if (rel) return { kind: 'rel', subj, rel, obj: this.np() };
    if (copula) {
      const loc = this.eat(LOCATIONS_P);
      if (!loc) this.fail('expected a relation or location after the verb');
      subj.pred.loc = loc;
    }
    this.eatWords('in', 'total');
    return { kind: 'np', np: subj };
  }

  body(): CaptionAst {
    const chunks = [this.chunk()];
    while (!this.done) {
      if (!this.eat(CONNECTORS_P)) this.fail('expected a connective');
      chunks.push(this.chunk());
    }
    return { chunks };
  }

  /** Adjectives then a (usually plural) noun, no determiner: "red circles". */
  barePred(): Pred {
    const pred: Pred = {};
    for (let a = this.adjective(); a; a = this.adjective()) this.apply(pred, a);
    const noun = this.noun();
    if (!noun) this.fail('expected a shape noun');
    if (noun.shape) pred.shape = noun.shape;
    return pred;
  }

  statement(): Statement {
    if (this.eatWords('in')) {
      const quant = this.eat(IMAGES_P);
      if (!quant) this.fail('expected an image subject after "in"');
      this.eatWords(',');
      return { kind: 'each', quant, body: this.body() };
    }
    if (this.eatWords('there', 'are') || this.eatWords('there', 'is')) {
      const np = this.np();
      if (!this.eatWords('in', 'total')) this.fail('expected "in total"');
      return { kind: 'total', np };
    }
    if (this.eatWords('the', 'two', 'images', 'together') || this.eatWords('together', ',', 'the', 'images') || this.eatWords('together', 'the', 'images')) {
      if (!this.eat(VERBS_P)) this.fail('expected a verb');
      return { kind: 'total', np: this.np() };
    }
    const quant = this.eat(IMAGES_P);
    if (!quant) this.fail('expected an image subject');
    if (!this.eat(VERBS_P)) this.fail('expected a verb');
    const cmp = this.eatWords('more') ? 'more' : this.eatWords('fewer') ? 'fewer' : this.eatWords('the', 'same', 'number', 'of') ? 'same' : undefined;
    if (cmp) {
      if (quant !== 'left' && quant !== 'right') this.fail('comparisons need "the left/right image"');
      const pred = this.barePred();
      if (!(this.eatWords('than') || this.eatWords('as'))) this.fail('expected "than"');
      const other = this.eat(IMAGES_P);
      if (other !== (quant === 'left' ? 'right' : 'left')) this.fail('expected the other image');
      const flipped = quant === 'right' && cmp !== 'same' ? (cmp === 'more' ? 'fewer' : 'more') : cmp;
      return { kind: 'compare', cmp: flipped, pred };
    }
    return { kind: 'each', quant, body: this.body() };
  }
}

function run<T>(text: string, f: (p: Parser) => T): T {
  const toks = tokenize(text);
  if (toks.length === 0) throw new ParseError('empty text', 0);
  const p = new Parser(toks);
  const out = f(p);
  if (!p.done) p.fail('unexpected trailing words');
  return out;
}

/** Parse a caption; throws ParseError when the text is outside the grammar. */
export function parseCaption(text: string): CaptionAst {
  return run(text, (p) => {
    p.eat(PREFIXES_P);
    return p.body();
  });
}

/** Parse an NLVR2-style statement about a left and a right image. */
export function parseStatement(text: string): Statement {
  return run(text, (p) => p.statement());
}
