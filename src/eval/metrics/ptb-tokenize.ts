/**
 * The caption tokenisation of the COCO caption evaluation toolkit, in pure TypeScript.
 *
 * Reference: pycocoevalcap/tokenizer/ptbtokenizer.py (tylin/coco-caption; salaniz/pycocoevalcap is
 * the same code for Python 3). It writes one caption per line (newlines inside a caption replaced by
 * spaces), runs
 *     java -cp stanford-corenlp-3.4.1.jar edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase
 * and from each output line drops the tokens in PUNCTUATIONS.
 *
 * The Java tokenizer runs with its default options, which in CoreNLP 3.4.1 are the PTB3 ones:
 * americanize, latex quotes (`` '' ` '), ( ) [ ] -> -LRB- -RRB-, { } -> -LCB- -RCB-, "..." for
 * ellipses, "--" for dashes, "\/" and "\*" escapes, currency normalisation, assimilations split
 * ("cannot" -> "can not", "gonna" -> "gon na"), hyphenated words and numbers kept whole.
 * `-lowerCase` lowercases every token *after* tokenisation, so the bracket tokens come out as
 * "-lrb-", "-rrb-", "-lcb-", "-rcb-". Those are NOT in PUNCTUATIONS (it lists the upper-case forms),
 * so the official toolkit keeps them, and so does this port.
 *
 * Known differences from the JFlex lexer (rare in English captions):
 * - captions are tokenised independently. The Java lexer sees the following caption as look-ahead
 *   (it only changes whether a period is duplicated after an abbreviation, and periods are removed);
 *   a "\r", U+2028/U+2029, \v or \f inside a caption is a line break to Java and shifts every
 *   following caption by a line, while here it is a space;
 * - abbreviation lists are a subset: acronyms (u.s., e.g., a.m., single letters "x."), common titles
 *   (mr. dr. st. mt. ...), etc./inc./corp./months/weekdays, and no./fig./vol. before a number keep
 *   their period; US state abbreviations and the rest of the WSJ lists are not special;
 * - no rules for URLs, e-mail addresses, SGML tags, phone numbers, smileys or character entities
 *   other than &amp; &lt; &gt;;
 * - a word with an inner apostrophe that is not a clitic (o'clock, y'all, rock'n'roll) is one token;
 * - symbols outside the BMP (emoji) and control characters are dropped, like the Java default
 *   "untokenizable=firstDelete" does for characters it does not know;
 * - [ and ] are mapped to -LRB-/-RRB- (3.4.1 documents normalizeOtherBrackets as mapping to
 *   -LCB-, -LRB-, -RCB-, -RRB-; later CoreNLP versions use -LSB-/-RSB-).
 */

import { americanize } from './americanize.js';

/** The tokens pycocoevalcap removes after tokenisation (upper-case bracket names included). */
export const PTB_PUNCTUATIONS: readonly string[] = [
  "''", "'", '``', '`', '-LRB-', '-RRB-', '-LCB-', '-RCB-',
  '.', '?', '!', ',', ':', '-', '--', '...', ';',
];

const PUNCT_SET: ReadonlySet<string> = new Set(PTB_PUNCTUATIONS);

const LETTER = '\\p{L}\\p{M}';
const ALNUM = '\\p{L}\\p{M}\\p{Nd}';
const WORD = `[${LETTER}][${ALNUM}]*(?:[.!?][${LETTER}][${ALNUM}]*)*`;
const APOS = "['\\u0092\\u2019]";
const APOSETC = "['\\u0092\\u2019`\\u0091\\u2018\\u201B]";
const REDAUX = `${APOSETC}(?:[mMsSdD]|[rR][eE]|[vV][eE]|[lL][lL])`;
const NOT = `[nN]${APOSETC}[tT][sS]?`;
const NUM = '\\p{Nd}*(?:[.:,]\\p{Nd}+)+|\\p{Nd}+';
const HYPHEN = '[-_\\u058A\\u2010\\u2011]';
const APO_PREFIX = `[dDoOlL]${APOSETC}[${ALNUM}]`;
const THING =
  `(?:${APO_PREFIX})?(?:[${ALNUM}]+|[-+]?(?:${NUM}))` +
  `(?:${HYPHEN}(?:${APO_PREFIX})?(?:[${ALNUM}]+|${NUM}))*`;
const SEG3 = `[${ALNUM}]+(?:-[${ALNUM}]+){0,2}`;
const THING3 = `${SEG3}(?:\\\\?\\/${SEG3}){1,2}`;

/** Function words after which "X." counts as a sentence end (CoreNLP's ABBREV2 look-ahead). */
const SENTENCE_STARTERS =
  'A|About|According|Additionally|After|All|Also|Although|An|Another|As|At|Before|Both|But|By|' +
  'Did|During|Each|Earlier|Following|For|From|He|Her|Here|His|How|However|If|In|It|Its|Last|' +
  'Later|Many|More|Most|Mrs?\\.|Ms\\.|Now|On|Once|One|Other|Our|She|Since|So|Some|Such|That|' +
  'The|Their|Then|There|These|They|This|Two|Under|Upon|We|When|While|What|Who|Why|Yet|You';
const ACRONYM_END = new RegExp(`\\s+(?:${SENTENCE_STARTERS})(?:\\s|[?!]|$)`, 'uy');
const SENTEND = /(?:\s+\p{Lu}|\s*$)/uy;

interface LexMatch {
  /** Length used to pick the longest match (includes trailing context, as JFlex does). */
  total: number;
  /** Characters consumed; the rest of `total` is lexed again. */
  consume: number;
  tokens: string[];
}

type Rule = (text: string, pos: number) => LexMatch | null;
/** Which first characters a rule can match: letters/digits, anything else, or both. */
type RuleStart = 'alnum' | 'other' | 'both';

function sticky(source: string, flags = ''): RegExp {
  return new RegExp(source, `uy${flags}`);
}

function execAt(re: RegExp, text: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(text);
}

function simple(re: RegExp, map: (m: string) => string): Rule {
  return (text, pos) => {
    const m = execAt(re, text, pos);
    if (m === null || m[0].length === 0) return null;
    return { total: m[0].length, consume: m[0].length, tokens: [map(m[0])] };
  };
}

/** `group 1` is the token; the rest of the match is trailing context. */
function withContext(re: RegExp, map: (m: string) => string): Rule {
  return (text, pos) => {
    const m = execAt(re, text, pos);
    const head = m?.[1];
    if (m === null || head === undefined || head.length === 0) return null;
    return { total: m[0].length, consume: head.length, tokens: [map(head)] };
  };
}

/** Split an assimilation, leaving `keep` characters to be lexed again ("cannot" -> "can" + "not"). */
function assimilation(re: RegExp, keep: number): Rule {
  return (text, pos) => {
    const m = execAt(re, text, pos);
    if (m === null) return null;
    const consume = m[0].length - keep;
    return { total: m[0].length, consume, tokens: [m[0].slice(0, consume)] };
  };
}

const identity = (s: string): string => s;
const cliticForm = (s: string): string => s.replace(/[\u0092\u2019`\u0091\u2018\u201B]/g, "'");
const latexInnerQuotes = (s: string): string =>
  s.replace(/[\u0092\u2019]/g, "'").replace(/[\u0091\u2018\u201B]/g, '`');
const escapeSlashes = (s: string): string => s.replace(/(?<!\\)\//g, '\\/');
const escapeStars = (s: string): string => s.replace(/(?<!\\)\*/g, '\\*');

function dashes(s: string): string {
  return s.length >= 3 && s.length <= 4 ? '--' : s;
}

const FRACTIONS: Readonly<Record<string, string>> = {
  '\u00BC': '1\\/4', '\u00BD': '1\\/2', '\u00BE': '3\\/4', '\u2153': '1\\/3', '\u2154': '2\\/3',
};

function currency(s: string): string {
  if (s === '\u00A2') return 'cents';
  if (s === '\u00A3') return '#';
  if (/^[\u0080\u00A4\u20A0\u20AC\u20B9]$/u.test(s)) return '$';
  return s;
}

const BRACKETS: Readonly<Record<string, string>> = {
  '(': '-LRB-', ')': '-RRB-', '[': '-LRB-', ']': '-RRB-', '{': '-LCB-', '}': '-RCB-',
};

const DOUBLE_QUOTE = sticky('"|\'\'|``|[\\u201C\\u201D\\u201E\\u00AB\\u00BB\\u0084\\u0093\\u0094]');
const SINGLE_QUOTE = sticky("['`\\u0082\\u0091\\u0092\\u2018\\u2019\\u201A\\u201B\\u2039\\u203A]");
const LEFT_DOUBLE_CONTEXT = /[\p{L}\p{Nd}$]/u;
const LEFT_SINGLE_CONTEXT = /^\p{L}\S/u;

const doubleQuote: Rule = (text, pos) => {
  const m = execAt(DOUBLE_QUOTE, text, pos);
  if (m === null) return null;
  const q = m[0];
  let left: boolean;
  if (q === '``' || /[\u201C\u201E\u00AB\u0084\u0093]/u.test(q)) left = true;
  else if (q === "''" || /[\u201D\u00BB\u0094]/u.test(q)) left = false;
  else left = LEFT_DOUBLE_CONTEXT.test(text.charAt(pos + q.length));
  return { total: q.length, consume: q.length, tokens: [left ? '``' : "''"] };
};

const singleQuote: Rule = (text, pos) => {
  const m = execAt(SINGLE_QUOTE, text, pos);
  if (m === null) return null;
  const q = m[0];
  let left: boolean;
  if (/[`\u0082\u0091\u2018\u201A\u201B\u2039]/u.test(q)) left = true;
  else if (/[\u0092\u2019\u203A]/u.test(q)) left = false;
  else left = LEFT_SINGLE_CONTEXT.test(text.slice(pos + 1, pos + 3));
  return { total: 1, consume: 1, tokens: [left ? '`' : "'"] };
};

const ACRONYM = /[A-Za-z](?:\.[A-Za-z])*\./y;
const TITLE = sticky(
  '(?:mr|mrs|ms|drs?|profs?|sens?|reps?|govs?|lt|col|gen|messrs|adm|rev|maj|sgt|cpl|pvt|capt|' +
    'st[ae]?|ave|pres|lieut|hon|brig|mt|ft|det)\\.',
  'i',
);
const ABBREV1 = sticky(
  '(?:etc|inc|corp|cos?|ltd|plc|jr|sr|bros|esq|al|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|' +
    'mon|tues?|wed|thu(?:rs)?|fri)\\.',
  'i',
);
const ABBREV3 = sticky('(?:ca|figs?|nos?|vols?|pp|approx)\\.(?=\\s?\\p{Nd})', 'i');

/** Abbreviations that keep their period ("u.s.", "dr.", "etc."), per CoreNLP's ABBREV1/2/3 rules. */
const abbreviation: Rule = (text, pos) => {
  const acr = execAt(ACRONYM, text, pos) ?? execAt(TITLE, text, pos);
  if (acr !== null) {
    const s = acr[0];
    const end = pos + s.length;
    if (execAt(ACRONYM_END, text, end) !== null) {
      // Sentence end after "X.": a single letter gives "X" + "."; longer ones duplicate the period.
      if (s.length === 2) return { total: 2, consume: 1, tokens: [s.slice(0, 1)] };
      return { total: s.length, consume: s.length, tokens: [s, '.'] };
    }
    return { total: s.length, consume: s.length, tokens: [s] };
  }
  const ab1 = execAt(ABBREV1, text, pos);
  if (ab1 !== null) {
    const s = ab1[0];
    const sentEnd = execAt(SENTEND, text, pos + s.length) !== null;
    return { total: s.length, consume: s.length, tokens: sentEnd ? [s, '.'] : [s] };
  }
  const ab3 = execAt(ABBREV3, text, pos);
  if (ab3 !== null) return { total: ab3[0].length, consume: ab3[0].length, tokens: [ab3[0]] };
  return null;
};

const miscSymbol: Rule = (text, pos) => {
  const cp = text.codePointAt(pos);
  if (cp === undefined) return null;
  const inRange = cp < 0x3000 || (cp >= 0xff00 && cp <= 0xffef);
  const ch = String.fromCodePoint(cp);
  if (!inRange || !/[\p{S}\p{P}]/u.test(ch)) return null;
  return { total: ch.length, consume: ch.length, tokens: [ch] };
};

/**
 * [which first characters the rule can match, rule], in priority order: on equal match length
 * the earlier rule wins (JFlex semantics).
 */
const RULES: readonly (readonly [RuleStart, Rule])[] = [
  ['both', assimilation(sticky(`(?:cannot|${APOS}twas)`, 'i'), 3)],
  ['both', assimilation(sticky(`(?:${APOS}tis|gonna|gotta|lemme|gimme|wanna)`, 'i'), 2)],
  ['alnum', withContext(sticky(`(${WORD})(?:${REDAUX})+(?![${LETTER}])`), americanize)],
  ['alnum', withContext(sticky(`([${LETTER}]*[A-MO-Za-mo-z])${NOT}(?:${REDAUX})*(?![${LETTER}])`), identity)],
  ['both', simple(sticky(`(?:${REDAUX}|${NOT})(?![${LETTER}])`), cliticForm)],
  [
    'other',
    simple(
      sticky(`${APOS}(?:[eE][mM]|[tT][iI][lL][lL]?|[cC][aA][uU][sS][eE]|[nN]${APOS}?|[1-9]0[sS])(?![${ALNUM}])`),
      cliticForm,
    ),
  ],
  ['alnum', withContext(sticky(`(${WORD}\\.)[,;:]`), identity)],
  ['alnum', simple(sticky(WORD), americanize)],
  ['alnum', simple(sticky(`${WORD}(?:${APOSETC}${WORD})+`), latexInnerQuotes)],
  ['alnum', abbreviation],
  ['alnum', simple(sticky('\\p{Nd}{1,2}[-/]\\p{Nd}{1,2}[-/]\\p{Nd}{2,4}'), escapeSlashes)],
  ['both', simple(sticky(`[-+]?(?:${NUM})`), identity)],
  [
    'alnum',
    simple(sticky('(?:\\p{Nd}{1,4}[- \\u00A0])?\\p{Nd}{1,4}\\\\?\\/\\p{Nd}{1,4}'), (s) =>
      escapeSlashes(s).replace(/ /g, '\u00A0'),
    ),
  ],
  ['other', simple(sticky('[\\u00BC\\u00BD\\u00BE\\u2153\\u2154]'), (s) => FRACTIONS[s] ?? s)],
  ['alnum', simple(sticky(THING3), escapeSlashes)],
  ['both', simple(sticky(THING), latexInnerQuotes)],
  ['alnum', simple(sticky('[A-Z]+(?:(?:[+&]|&amp;)[A-Z]+)+'), (s) => s.replace(/&amp;/g, '&'))],
  ['other', simple(sticky('\\.\\.\\.+|[\\u2026\\u0085]|\\.(?:[ \\u00A0]\\.){2,}'), () => '...')],
  ['other', simple(sticky('-+'), dashes)],
  ['other', simple(sticky('[\\u2013\\u2014\\u2015\\u0096\\u0097]'), () => '--')],
  ['other', doubleQuote],
  ['other', singleQuote],
  ['other', simple(sticky('[()\\[\\]{}]'), (s) => BRACKETS[s] ?? s)],
  ['other', simple(sticky('[,;:]'), identity)],
  ['other', simple(sticky('[?!]+'), identity)],
  ['other', simple(sticky('\\.'), identity)],
  ['other', simple(sticky('\\/'), escapeSlashes)],
  ['other', simple(sticky('\\*+'), escapeStars)],
  ['other', simple(sticky('=+|@+|#+|_+'), identity)],
  ['both', simple(sticky('[A-Z]*\\$'), identity)],
  ['other', simple(sticky('[\\u00A2-\\u00A5\\u0080\\u20A0-\\u20CF]'), currency)],
  ['other', simple(sticky('&amp;', 'i'), () => '&')],
  ['other', simple(sticky('<|&lt;', 'i'), () => '<')],
  ['other', simple(sticky('>|&gt;', 'i'), () => '>')],
  ['other', miscSymbol],
];

const ALNUM_START = /[\p{L}\p{M}\p{Nd}]/u;
const RULES_ALNUM: readonly Rule[] = RULES.filter(([start]) => start !== 'other').map(([, rule]) => rule);
const RULES_OTHER: readonly Rule[] = RULES.filter(([start]) => start !== 'alnum').map(([, rule]) => rule);

/** Plain ASCII words followed by whitespace lex as WORD unless they are assimilations. */
const FAST_WORD = /[A-Za-z]+(?=\s|$)/y;
const ASSIMILATED = /^(?:cannot|gonna|gotta|lemme|gimme|wanna)$/i;

/** Whitespace, line breaks, C0 controls and zero-width characters separate tokens. */
const SEPARATOR = /[\s\u0000-\u001F\u007F\u200B-\u200F\u2060\uFEFF]/u;

/**
 * PTB-tokenise one caption and lowercase the tokens (the Java `-lowerCase` output),
 * before pycocoevalcap's punctuation removal.
 */
export function ptbTokenize(caption: string): string[] {
  const text = caption.replace(/\u00AD/g, '');
  const tokens: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    const ch = text.charAt(pos);
    if (SEPARATOR.test(ch)) {
      pos += 1;
      continue;
    }
    const fast = execAt(FAST_WORD, text, pos);
    if (fast !== null && !ASSIMILATED.test(fast[0])) {
      tokens.push(americanize(fast[0]).toLowerCase());
      pos += fast[0].length;
      continue;
    }
    let best: LexMatch | null = null;
    for (const rule of ALNUM_START.test(ch) ? RULES_ALNUM : RULES_OTHER) {
      const m = rule(text, pos);
      if (m !== null && (best === null || m.total > best.total)) best = m;
    }
    if (best === null || best.consume <= 0) {
      // Untokenizable (emoji, stray controls): deleted, like CoreNLP's default firstDelete.
      pos += (text.codePointAt(pos) ?? 0) > 0xffff ? 2 : 1;
      continue;
    }
    for (const t of best.tokens) tokens.push(t.toLowerCase());
    pos += best.consume;
  }
  return tokens;
}

/** One caption as pycocoevalcap returns it: PTB tokens without punctuation, joined by spaces. */
export function cocoTokenize(caption: string): string {
  return ptbTokenize(caption.replace(/\n/g, ' '))
    .filter((t) => !PUNCT_SET.has(t))
    .join(' ');
}

export type CaptionRecord = string | { readonly caption: string };

/**
 * `PTBTokenizer().tokenize(captions_for_image)`: image id -> captions (strings or
 * `{caption}` records) to image id -> tokenised caption strings, order preserved.
 */
export function cocoTokenizeCaptions(
  captionsForImage: Readonly<Record<string, readonly CaptionRecord[]>>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, caps] of Object.entries(captionsForImage)) {
    out[id] = caps.map((c) => cocoTokenize(typeof c === 'string' ? c : c.caption));
  }
  return out;
}
