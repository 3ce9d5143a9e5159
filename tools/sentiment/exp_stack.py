"""Experiment (not shipped): out-of-fold clause / contrast features of the NB-LR model for a stacker
chosen by CV. usage: python exp_stack.py text|both OUT.npz; then exp_stack_analyse.py OUT.npz ..."""
import os, sys, re, json, time, argparse
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
from sklearn.model_selection import StratifiedKFold
from exp_clause import build, fit, zs, clauses, training_docs, preprocess

CONTRAST = re.compile(r"但是|可是|不过|然而|只是|但|却|总的来说|总体来说|总体|总之|综上|总而言之|整体来说|整体|总的")

def feats(m, texts):
    P = [preprocess(t) for t in texts]
    zw, kw, _ = zs(m, P)
    C = [clauses(t) for t in texts]
    flat = [c for cs in C for c in cs]
    zc, kc, nc = zs(m, flat)
    tails, heads, has = [], [], []
    for p in P:
        ms = list(CONTRAST.finditer(p))
        if ms:
            k = ms[-1].start(); tails.append(p[k:]); heads.append(p[:k] or p); has.append(1)
        else:
            tails.append(p); heads.append(p); has.append(0)
    zt = zs(m, tails)[0]; zh = zs(m, heads)[0]
    F = np.zeros((len(texts), 9)); k = 0
    for i, cs in enumerate(C):
        z = zc[k:k + len(cs)]; kk = kc[k:k + len(cs)]; k += len(cs)
        zk = z[kk] if kk.any() else np.zeros(1)
        F[i] = [zw[i], zk.mean(), zk[-1], zk[0], zk.min(), zk.max(), zt[i], zh[i], has[i]]
    return F

if __name__ == "__main__":
    mode = sys.argv[1]; out = sys.argv[2]
    T, y, w, extra = build(0.3, 1.0, 4.0, False, False)
    F = np.zeros((len(T), 9))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(T, y):
        d, yy, ww = training_docs([T[i] for i in tr], y[tr], w[tr], extra, mode, 1.0)
        m = fit(d, yy, ww, 4.0)
        F[te] = feats(m, [T[i] for i in te])
    np.savez(out, F=F, y=y)
    print("done", out)
