// The scale of BERT's N(0, 0.02) Linear init. The official models are wide (768) and start from a
// pretrained image tower, where 0.02 is about 1/sqrt(width). In the narrow models trained from scratch
// here (width 32-256) 0.02 is 2-4x below 1/sqrt(fan_in): every layer starts close to zero, the image
// pathway reaches the text as a trace, and the fine-tunes measured in the README sat at chance (a
// 16-image retrieval set at ln 4 for 120 steps) where the 'fan-in' scale, std = max(0.02, 1/sqrt(fan_in))
// (LeCun normal), learned it. Set around model construction, like torch.set_default_dtype.
export type InitScale = 'official' | 'fan-in';

let current: InitScale = 'official';

/** Builds with the given init scale for BERT-initialised Linear layers (restored afterwards). */
export function withInitScale<T>(scale: InitScale, build: () => T): T {
  const previous = current;
  current = scale;
  try {
    return build();
  } finally {
    current = previous;
  }
}

/** The standard deviation a normal-initialised Linear layer with `fanIn` inputs gets now. */
export function scaledInitStd(std: number, fanIn: number): number {
  return current === 'fan-in' ? Math.max(std, 1 / Math.sqrt(fanIn)) : std;
}
