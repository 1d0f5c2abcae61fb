// The dataset spec syntax, shown by `flm --help` (kept free of imports so help needs no native code),
// and the query keys each scheme reads (parseDatasetSpec refuses any other: a mistyped key must not be
// ignored).
export const DATASET_SPEC_KEYS = {
  shapes: ['n', 'seed', 'size', 'task', 'captions', 'questions', 'pairs', 'objects', 'statements'],
  karpathy: ['images', 'split'],
  jsonl: ['images', 'image', 'caption', 'split'],
  csv: ['images', 'image', 'caption', 'header', 'delimiter', 'split'],
  tsv: ['images', 'image', 'caption', 'header', 'delimiter', 'split'],
  wds: ['split'],
  arrow: ['split', 'image', 'caption', 'cache'],
  vqa: ['annotations', 'images', 'template', 'subtype'],
  nlvr2: ['images'],
} as const satisfies Record<string, readonly string[]>;

export const DATASET_SPEC_HELP = `Dataset spec: SCHEME:PATH[?KEY=VALUE&...]  (relative paths are from the working directory)
  shapes:SPLIT?n=20000&seed=1&size=64        built-in procedural shapes world (train|val|test|test_compositional);
                                             task=caption|vqa|nlvr2, captions=5, questions=3, pairs=N,
                                             objects=4 (most objects per scene, 1-4),
                                             statements=exists,count (NLVR2 statement kinds; default all:
                                             exists, count, relation, compare, total; exists, count and
                                             relation also as form/images, e.g. exists/left)
  karpathy:dataset_coco.json?images=DIR&split=train,restval
                                             COCO/F30K Karpathy JSON; image = DIR/filepath/filename
  jsonl:pairs.jsonl?images=DIR&image=FIELD&caption=FIELD
  csv:pairs.csv?images=DIR  tsv:pairs.tsv?header=0&image=0&caption=1
                                             (image path, caption) rows; rows of one image are grouped;
                                             also delimiter=C
  wds:shards/{000..015}.tar                  webdataset shards (brace ranges and globs), streamed
  arrow:data/*.arrow?split=train             ViLT/METER Arrow files (image bytes + caption list per row);
                                             image=COL, caption=COL, cache=N record batches
  vqa:QUESTIONS.json?annotations=ANN.json&images=DIR&template={subtype}/COCO_{subtype}_{id:012}.jpg
                                             also subtype=NAME
  nlvr2:data/train.json?images=ROOT          NLVR2 JSON lines, ViLT image layout under ROOT
Common keys: split=a,b (keep those splits; karpathy, jsonl, csv, tsv, wds, arrow), images=DIR (image
root; default the file's folder). Other keys are an error.
A spec without a scheme is guessed from the extension (.jsonl .csv .tsv .tar .arrow, .json = karpathy).`;
