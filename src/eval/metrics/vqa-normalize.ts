/**
 * VQAv2 answer normalisation: `processPunctuation` and `processDigitArticle` of the official VQA
 * evaluation (GT-Vision-Lab/VQA, PythonEvaluationTools/vqaEvaluation/vqaEval.py), and
 * `normalizeVqaWord`, the ViLT/METER/FLM `normalize_word` (utils/glossary.py) used to build the
 * answer vocabulary, which is both of them followed by removing every remaining comma.
 *
 * Quirks kept on purpose:
 * - punctuation is deleted (not replaced by a space) when it touches a space *or* when the text
 *   contains a digit-comma-digit anywhere;
 * - `periodStrip` is written `(?!<=\d)(\.)(?!\d)` (a look-ahead typo for a look-behind), so it
 *   removes every period not followed by a digit; it is called as `sub("", text, re.UNICODE)`,
 *   whose third argument is the replacement *count*, so at most 32 periods are removed;
 * - number words map to digits and a/an/the are dropped only as whole words, after lowercasing;
 *   contractions are then restored ("dont" -> "don't"); the table's keys are case-sensitive,
 *   so its "Im"/"Ive" entries never match lowercased words.
 */

const CONTRACTIONS: ReadonlyMap<string, string> = new Map(
  (
    "aint:ain't arent:aren't cant:can't couldve:could've couldnt:couldn't couldn'tve:couldn't've " +
    "couldnt've:couldn't've didnt:didn't doesnt:doesn't dont:don't hadnt:hadn't hadnt've:hadn't've " +
    "hadn'tve:hadn't've hasnt:hasn't havent:haven't hed:he'd hed've:he'd've he'dve:he'd've hes:he's " +
    "howd:how'd howll:how'll hows:how's Id've:I'd've I'dve:I'd've Im:I'm Ive:I've isnt:isn't itd:it'd " +
    "itd've:it'd've it'dve:it'd've itll:it'll let's:let's maam:ma'am mightnt:mightn't " +
    "mightnt've:mightn't've mightn'tve:mightn't've mightve:might've mustnt:mustn't mustve:must've " +
    "neednt:needn't notve:not've oclock:o'clock oughtnt:oughtn't ow's'at:'ow's'at 'ows'at:'ow's'at " +
    "'ow'sat:'ow's'at shant:shan't shed've:she'd've she'dve:she'd've she's:she's shouldve:should've " +
    "shouldnt:shouldn't shouldnt've:shouldn't've shouldn'tve:shouldn't've somebody'd:somebodyd " +
    "somebodyd've:somebody'd've somebody'dve:somebody'd've somebodyll:somebody'll somebodys:somebody's " +
    "someoned:someone'd someoned've:someone'd've someone'dve:someone'd've someonell:someone'll " +
    "someones:someone's somethingd:something'd somethingd've:something'd've " +
    "something'dve:something'd've somethingll:something'll thats:that's thered:there'd " +
    "thered've:there'd've there'dve:there'd've therere:there're theres:there's theyd:they'd " +
    "theyd've:they'd've they'dve:they'd've theyll:they'll theyre:they're theyve:they've twas:'twas " +
    "wasnt:wasn't wed've:we'd've we'dve:we'd've weve:we've werent:weren't whatll:what'll " +
    "whatre:what're whats:what's whatve:what've whens:when's whered:where'd wheres:where's " +
    "whereve:where've whod:who'd whod've:who'd've who'dve:who'd've wholl:who'll whos:who's " +
    "whove:who've whyll:why'll whyre:why're whys:why's wont:won't wouldve:would've wouldnt:wouldn't " +
    "wouldnt've:wouldn't've wouldn'tve:wouldn't've yall:y'all yall'll:y'all'll y'allll:y'all'll " +
    "yall'd've:y'all'd've y'alld've:y'all'd've y'all'dve:y'all'd've youd:you'd youd've:you'd've " +
    "you'dve:you'd've youll:you'll youre:you're youve:you've"
  )
    .split(' ')
    .map((pair): [string, string] => {
      const i = pair.indexOf(':');
      return [pair.slice(0, i), pair.slice(i + 1)];
    }),
);

const MANUAL_MAP: ReadonlyMap<string, string> = new Map([
  ['none', '0'], ['zero', '0'], ['one', '1'], ['two', '2'], ['three', '3'], ['four', '4'],
  ['five', '5'], ['six', '6'], ['seven', '7'], ['eight', '8'], ['nine', '9'], ['ten', '10'],
]);

const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the']);
const PUNCT = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];
const COMMA_STRIP = /(\d)(,)(\d)/;
const PERIOD_STRIP = /(?!<=\d)(\.)(?!\d)/g;
/** `re.UNICODE` (== 32) passed positionally as `count` in the reference code. */
const PERIOD_STRIP_MAX = 32;

/** Python `str.split()` on whitespace. */
const WS = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

export function processPunctuation(inText: string): string {
  let outText = inText;
  const hasDigitComma = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    if (inText.includes(p + ' ') || inText.includes(' ' + p) || hasDigitComma) {
      outText = outText.split(p).join('');
    } else {
      outText = outText.split(p).join(' ');
    }
  }
  let removed = 0;
  return outText.replace(PERIOD_STRIP, (m) => (removed++ < PERIOD_STRIP_MAX ? '' : m));
}

export function processDigitArticle(inText: string): string {
  const words = inText
    .toLowerCase()
    .split(WS)
    .filter((w) => w.length > 0)
    .map((w) => MANUAL_MAP.get(w) ?? w)
    .filter((w) => !ARTICLES.has(w));
  return words.map((w) => CONTRACTIONS.get(w) ?? w).join(' ');
}

/** FLM/ViLT `normalize_word`: the official two steps, then every comma removed. */
export function normalizeVqaWord(answer: string): string {
  return processDigitArticle(processPunctuation(answer)).split(',').join('');
}
