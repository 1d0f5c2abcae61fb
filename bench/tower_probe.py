"""The image-tower probe of bench/tower.ts: the mini preset's ViT trained alone on multi-hot scene labels.

python3 bench/tower_probe.py DIR N_TRAIN N_TEST STEPS LR STEM... (STEM: patch | conv:C1,C2[,C3])
Prints, per stem, the test scores at a quarter, half, three quarters and the end of the run: 'shapes' and
'colours' (the exact set of shapes / colours present), 'pair F1' (colour-shape pairs present) and 'count'.
"""
import sys, time
import numpy as np
import torch
import torch.nn as nn

SHAPES, COLOURS, SIZE = 6, 7, 48
LABELS = SHAPES + COLOURS + COLOURS * SHAPES + 4
MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)  # CLIP's, as flm normalises
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)


def load(d, split, n):
    x = np.fromfile(f'{d}/{split}.img', dtype=np.uint8).reshape(n, SIZE, SIZE, 3)
    y = np.fromfile(f'{d}/{split}.lab', dtype=np.uint8).reshape(n, LABELS)
    return (torch.tensor(x).permute(0, 3, 1, 2).float() / 255 - MEAN) / STD, torch.tensor(y).float()


class Block(nn.Module):
    def __init__(s, w, heads):
        super().__init__()
        s.ln1, s.ln2 = nn.LayerNorm(w), nn.LayerNorm(w)
        s.att = nn.MultiheadAttention(w, heads, batch_first=True)
        s.mlp = nn.Sequential(nn.Linear(w, 4 * w), nn.GELU(), nn.Linear(4 * w, w))

    def forward(s, x):
        h = s.ln1(x)
        x = x + s.att(h, h, h, need_weights=False)[0]
        return x + s.mlp(s.ln2(x))


class Tower(nn.Module):
    def __init__(s, stem, patch=8, w=128, depth=2):
        super().__init__()
        chans = [int(c) for c in stem.split(':')[1].split(',')] if stem.startswith('conv:') else []
        layers, prev = [], 3
        for c in chans:
            layers += [nn.Conv2d(prev, c, 3, 2, 1), nn.GELU()]
            prev = c
        if patch % 2 ** len(chans):
            sys.exit(f'tower_probe.py: {len(chans)} stride-2 convolutions do not divide the patch ({patch})')
        k = patch // 2 ** len(chans)
        overlap = len(chans) > 0 and k > 1  # as flm's VisualTransformer: kernel k + 1, padding 1 after a stem
        s.embed = nn.Sequential(*layers, nn.Conv2d(prev, w, k + 1 if overlap else k, k, 1 if overlap else 0, bias=False))
        n = (SIZE // patch) ** 2
        s.cls = nn.Parameter(torch.randn(w) * w ** -0.5)
        s.pos = nn.Parameter(torch.randn(n + 1, w) * w ** -0.5)
        s.ln_pre, s.ln_post = nn.LayerNorm(w), nn.LayerNorm(w)
        s.blocks = nn.Sequential(*[Block(w, 4) for _ in range(depth)])
        s.head = nn.Linear(w, LABELS)

    def forward(s, x):
        t = s.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([s.cls.expand(t.shape[0], 1, -1), t], 1) + s.pos
        return s.head(s.ln_post(s.blocks(s.ln_pre(t)))[:, 0])


def scores(p, y):
    pairs = slice(SHAPES + COLOURS, SHAPES + COLOURS + COLOURS * SHAPES)
    tp = (p[:, pairs] * y[:, pairs]).sum()
    return {
        'shapes': (p[:, :SHAPES] == y[:, :SHAPES]).all(1).float().mean().item(),
        'colours': (p[:, SHAPES:SHAPES + COLOURS] == y[:, SHAPES:SHAPES + COLOURS]).all(1).float().mean().item(),
        'pair F1': (2 * tp / (p[:, pairs].sum() + y[:, pairs].sum())).item(),
        'count': (p[:, -4:].argmax(1) == y[:, -4:].argmax(1)).float().mean().item(),
    }


def run(stem, steps, lr, xtr, ytr, xte, yte):
    torch.manual_seed(0)
    m = Tower(stem)
    opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    warm, out, t0 = 0.1 * steps, [], time.time()
    for step in range(1, steps + 1):
        f = step / warm if step < warm else (steps - step) / (steps - warm)  # linear warmup, linear decay
        for pg in opt.param_groups:
            pg['lr'] = lr * f
        idx = torch.randint(0, xtr.shape[0], (32,), generator=g)
        m.train()
        loss = nn.functional.binary_cross_entropy_with_logits(m(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % (steps // 4) == 0:
            m.eval()
            with torch.no_grad():
                s = scores((m(xte) > 0).float(), yte)
            out.append(f'{step}: ' + ' '.join(f'{k} {v:.2f}' for k, v in s.items()))
    print(f'{stem} ({(time.time() - t0) / steps * 1000:.0f} ms/step): ' + ' | '.join(out), flush=True)


if __name__ == '__main__':
    d, ntr, nte, steps, lr, *stems = sys.argv[1:]
    if int(steps) < 4:
        sys.exit('tower_probe.py: STEPS must be at least 4 (scores are read at each quarter)')
    xtr, ytr = load(d, 'train', int(ntr))
    xte, yte = load(d, 'test', int(nte))
    for stem in stems:
        run(stem, int(steps), float(lr), xtr, ytr, xte, yte)
