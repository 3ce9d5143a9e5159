"""Experiment (not shipped): clause-level training and scoring for NB-LR, 5-fold CV on the training text.
usage: python exp_clause.py --mode text|clause|both [--cw 1] [--C 4] [--hows whole,mean,sqrtw,contrast,contrast_sqrtw]
Its own fit() lets clause documents count towards min_df (the "vocabbug" logs); train.py does not."""
import os, sys, re, json, time, argparse
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import f1_score, accuracy_score
from train import build, nb_ratio, preprocess

SPLIT = re.compile(r"[，。！？；…,.!?;\n\r~～、]+|\s{2,}")
CONTRAST = ("但是", "可是", "不过", "然而", "只是", "就是", "但", "却")
SUMMARY = ("总的来说", "总体", "总之", "综上", "总而言之", "整体", "总的")

def clauses(t):
    p = preprocess(t)
    cs = [c.strip() for c in SPLIT.split(p)]
    cs = [c for c in cs if c]
    return cs or [p]

def fit(docs, y, w, C, ng=(1, 4), min_df=2):
    v = CountVectorizer(analyzer="char", ngram_range=ng, min_df=min_df, binary=True, lowercase=False, preprocessor=preprocess)
    X = v.fit_transform(docs).tocsr().astype(np.float64)
    r = nb_ratio(X, y, w)
    Xr = X.multiply(r).tocsr()
    norms = np.sqrt(np.asarray(Xr.multiply(Xr).sum(1)).ravel()); norms[norms == 0] = 1
    Xr = sp.diags(1 / norms) @ Xr
    m = LogisticRegression(C=C, max_iter=5000, solver="liblinear", random_state=0).fit(Xr, y, sample_weight=w)
    return v, r * m.coef_.ravel(), r * r, m.intercept_[0]

def zs(model, docs):
    v, a, s, b = model
    X = v.transform(docs).tocsr()
    A = X @ a; S = X @ s
    z = b + np.divide(A, np.sqrt(S), out=np.zeros_like(A), where=S > 0)
    return z, S > 0, np.asarray(X.sum(1)).ravel()

def weights_contrast(cs):
    w = np.ones(len(cs)); boost = False
    for i, c in enumerate(cs):
        if any(c.startswith(k) or k in c[:4] for k in SUMMARY):
            w[i:] = np.maximum(w[i:], 2.0)
        if any(c.startswith(k) for k in CONTRAST) or "但" in c[:3]:
            w[:i] *= 0.5
            w[i] *= 2.0
    return w

def aggregate(model, texts, how):
    if how == "whole":
        return zs(model, texts)[0]
    C = [clauses(t) for t in texts]
    flat = [c for cs in C for c in cs]
    z, known, nn = zs(model, flat)
    out = np.zeros(len(texts)); k = 0
    for i, cs in enumerate(C):
        zz = z[k:k + len(cs)]; kk = known[k:k + len(cs)]; n = nn[k:k + len(cs)]; k += len(cs)
        if not kk.any():
            out[i] = 0.0; continue
        if how == "mean": w = kk.astype(float)
        elif how == "lenw": w = n * kk
        elif how == "sqrtw": w = np.sqrt(n) * kk
        elif how == "contrast": w = weights_contrast(cs) * kk
        elif how == "contrast_sqrtw": w = weights_contrast(cs) * np.sqrt(n) * kk
        out[i] = (w * zz).sum() / w.sum()
    return out

def training_docs(T, y, w, extra, mode, cw):
    ET = [t for t, _, _ in extra]; Ey = [c for _, c, _ in extra]; Ew = [x for _, _, x in extra]
    docs, yy, ww = [], [], []
    if mode in ("text", "both"):
        docs += list(T); yy += list(y); ww += list(w)
    if mode in ("clause", "both"):
        for t, l, x in zip(T, y, w):
            cs = clauses(t)
            if mode == "both" and len(cs) == 1:
                continue
            f = cw / len(cs) if mode == "both" else cw
            docs += cs; yy += [l] * len(cs); ww += [x * f] * len(cs)
    return docs + ET, np.array(yy + Ey), np.array(ww + Ew)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="text"); ap.add_argument("--cw", type=float, default=1.0)
    ap.add_argument("--C", type=float, default=4.0); ap.add_argument("--zw", type=float, default=0.3)
    ap.add_argument("--hows", default="whole,mean,sqrtw,contrast,contrast_sqrtw")
    ap.add_argument("--nocv", action="store_true")
    a = ap.parse_args()
    T, y, w, extra = build(a.zw, 1.0, a.C, False, False)  # the 2026-11-24 training text
    hows = a.hows.split(",")
    t0 = time.time()
    if not a.nocv:
        P = {h: np.zeros(len(T)) for h in hows}
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(T, y):
            d, yy, ww = training_docs([T[i] for i in tr], y[tr], w[tr], extra, a.mode, a.cw)
            m = fit(d, yy, ww, a.C)
            for h in hows:
                P[h][te] = aggregate(m, [T[i] for i in te], h)
        nc = np.array([len(clauses(t)) for t in T])
        ht = np.array([bool(re.search("酒店|宾馆|房间|前台|入住|服务员|携程", t)) for t in T])
        for h in hows:
            pr = (P[h] >= 0).astype(int)
            lg = nc >= 4
            print(f"CV mode={a.mode} cw={a.cw} C={a.C} zw={a.zw} how={h}: macroF1={f1_score(y, pr, average='macro'):.4f} "
                  f"long(>=4 clauses, n={lg.sum()})={f1_score(y[lg], pr[lg], average='macro'):.4f} hotel-words(n={ht.sum()})={f1_score(y[ht], pr[ht], average='macro'):.4f}", flush=True)
        print("cv time", time.time() - t0)

if __name__ == "__main__":
    main()
