import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tokenizerTrainCommand } from '../src/data/commands.js';
import { dedupeCaptions, preprocessCaption } from '../src/data/text.js';
import { TextTokenizer, TokenizerError } from '../src/data/tokenizer.js';
import { trainTokenizer } from '../src/data/tokenizer-train.js';
import { tempDir } from './data-fixtures.js';

const special = (content: string, id: number): object => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** A tiny bert-base-uncased look-alike. */
function wordpieceJson(): object {
  const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'a', 'dog', '##s', 'run', '##ning', '.', 'red', 'ball'];
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [special('[PAD]', 0), special('[UNK]', 1), special('[CLS]', 2), special('[SEP]', 3), special('[MASK]', 4)],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(tokens.map((t, i) => [t, i])) },
  };
}

/** A tiny roberta-base look-alike (byte-level BPE, Ġ marks a leading space). */
function bpeJson(): object {
  const tokens = ['<s>', '<pad>', '</s>', '<unk>', 'a', 'r', 'e', 'd', 'o', 'g', 'Ġ', '.', 'Ġr', 'Ġre', 'Ġred', 'Ġd', 'og', 'Ġdog', '<mask>'];
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [special('<s>', 0), special('<pad>', 1), special('</s>', 2), special('<unk>', 3), { ...special('<mask>', 18), lstrip: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false,
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges: ['Ġ r', 'Ġr e', 'Ġre d', 'Ġ d', 'o g', 'Ġd og'],
    },
  };
}

describe('loading tokenizer.json', () => {
  it('BERT WordPiece: specials, word ids, truncation, padding, round trip', () => {
    const tok = new TextTokenizer(wordpieceJson(), { maxLength: 12 });
    assert.deepEqual(tok.specialIds, { cls: 2, sep: 3, pad: 0, mask: 4, unk: 1 });
    const e = tok.encode('The dogs running.');
    assert.deepEqual(e.tokens, ['[CLS]', 'the', 'dog', '##s', 'run', '##ning', '.', '[SEP]']);
    assert.deepEqual(Array.from(e.ids), [2, 5, 7, 8, 9, 10, 11, 3, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(e.attentionMask), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(e.specialTokensMask), [1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.deepEqual(Array.from(e.wordIds), [-1, 0, 1, 1, 2, 2, 3, -1, -1, -1, -1, -1]);
    assert.equal(e.length, 8);
    assert.equal(tok.decode(e.ids, { skipSpecialTokens: true }), 'the dogs running.');
    const t = tok.encode('the dogs running.', { maxLength: 5 });
    assert.deepEqual(t.tokens, ['[CLS]', 'the', 'dog', '##s', '[SEP]']);
    assert.equal(tok.encode('zebra').tokens[1], '[UNK]');
    assert.equal(tok.encode('zebra').specialTokensMask[1], 0, 'an unknown word is not a special token');
  });

  it('RoBERTa byte-level BPE: merges, word ids, round trip', () => {
    const tok = new TextTokenizer(bpeJson(), { maxLength: 8 });
    assert.deepEqual(tok.specialIds, { cls: 0, sep: 2, pad: 1, mask: 18, unk: 3 });
    const e = tok.encode('a red dog.');
    assert.deepEqual(e.tokens, ['<s>', 'a', 'Ġred', 'Ġdog', '.', '</s>']);
    assert.deepEqual(Array.from(e.ids), [0, 4, 14, 17, 11, 2, 1, 1]);
    assert.deepEqual(Array.from(e.wordIds), [-1, 0, 1, 2, 3, -1, -1, -1]);
    assert.equal(tok.decode(e.ids, { skipSpecialTokens: true }), 'a red dog.');
    const b = tok.encodeBatch(['a dog', 'red'], 6);
    assert.deepEqual(b.shape, [2, 6]);
    assert.deepEqual(Array.from(b.ids), [0, 4, 17, 2, 1, 1, 0, 5, 6, 7, 2, 1]);
    assert.deepEqual(Array.from(b.lengths), [4, 5]);
  });

  it('takes explicit special tokens and rejects unknown ones', () => {
    const tok = new TextTokenizer(wordpieceJson(), { specialTokens: { cls: '[SEP]', sep: '[CLS]', pad: '[PAD]', mask: '[MASK]' } });
    assert.equal(tok.specialIds.cls, 3);
    assert.throws(() => new TextTokenizer(wordpieceJson(), { specialTokens: { cls: '<s>', sep: '</s>', pad: '<pad>', mask: '<mask>' } }), TokenizerError);
    assert.throws(() => new TextTokenizer({ nothing: true }), TokenizerError);
  });
});

describe('caption preprocessing (spec E.4, D.11)', () => {
  it('strips trailing dots and spaces, appends one "." and drops duplicate captions', () => {
    assert.equal(preprocessCaption('A dog runs. . '), 'A dog runs.');
    assert.equal(preprocessCaption('a dog'), 'a dog.');
    assert.deepEqual(dedupeCaptions(['a', 'b', 'a']), ['a', 'b']);
  });
});

describe('training a vocabulary', () => {
  const corpus = [
    'A red circle is left of a blue square.', 'Two green triangles are above the yellow star.',
    'The small red circle is next to a big blue square.', 'There are three circles and two squares.',
    'A blue star is right of the green triangle.', 'The circles are red; the squares are blue.',
  ];
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    const t = await tempDir('tok');
    dir = t.dir;
    cleanup = t.cleanup;
  });
  after(() => cleanup());

  for (const kind of ['wordpiece', 'bpe'] as const) {
    it(`${kind}: writes a tokenizer.json that loads back and round-trips`, async () => {
      const vocabSize = kind === 'bpe' ? 300 : 120;
      const json = await trainTokenizer(Array.from({ length: 10 }, () => corpus).flat(), { kind, vocabSize, extraSpecialTokens: ['<bos>'] });
      const path = join(dir, `${kind}.json`);
      await writeFile(path, JSON.stringify(json));
      const tok = await TextTokenizer.fromFile(path, { maxLength: 32 });
      assert.ok(tok.vocabSize <= vocabSize, `${tok.vocabSize} <= ${vocabSize}`);
      assert.ok(tok.vocabSize > vocabSize - 40, 'the merges fill the budget');
      for (const text of corpus) {
        const e = tok.encode(text);
        assert.ok(Array.from(e.ids).every((id) => id >= 0 && id < tok.vocabSize));
        const expected = kind === 'wordpiece' ? text.toLowerCase().replace(/;/g, ' ;') : text;
        assert.equal(tok.decode(e.ids, { skipSpecialTokens: true }), expected);
        assert.equal(e.ids[0], tok.specialIds.cls);
        assert.equal(e.ids[e.length - 1], tok.specialIds.sep);
      }
      // Frequent words become single tokens, and word ids group sub-words.
      const circle = tok.encode('circle');
      assert.equal(circle.length, 3, circle.tokens.join(' '));
      const w = tok.encode('squares circles.');
      const words = new Set(Array.from(w.wordIds).filter((x) => x >= 0));
      assert.deepEqual([...words], [0, 1, 2]);
      // Added tokens are atomic words.
      const bos = tok.encode('<bos> a red circle');
      assert.equal(bos.tokens[1], '<bos>');
      assert.equal(bos.wordIds[1], 0);
    });
  }

  it('is deterministic', async () => {
    const a = await trainTokenizer(corpus, { kind: 'bpe', vocabSize: 280, minFrequency: 1 });
    const b = await trainTokenizer(corpus, { kind: 'bpe', vocabSize: 280, minFrequency: 1 });
    assert.deepEqual(a, b);
  });

  it('flm tokenizer train reads text files and dataset specs', async () => {
    const txt = join(dir, 'corpus.txt');
    await writeFile(txt, `${corpus.join('\n')}\n`);
    const out = join(dir, 'out', 'tokenizer.json');
    const log = console.log;
    console.log = () => undefined;
    try {
      assert.equal(await tokenizerTrainCommand({ corpus: [txt, 'shapes:train?n=20&seed=1'], vocabSize: 200, kind: 'wordpiece', out }), 0);
    } finally {
      console.log = log;
    }
    const json = JSON.parse(await readFile(out, 'utf8')) as { model: { type: string } };
    assert.equal(json.model.type, 'WordPiece');
    const err = console.error;
    console.error = () => undefined;
    try {
      assert.notEqual(await tokenizerTrainCommand({ corpus: join(dir, 'none.txt'), vocabSize: 200, kind: 'bpe', out }), 0);
    } finally {
      console.error = err;
    }
  });
});
