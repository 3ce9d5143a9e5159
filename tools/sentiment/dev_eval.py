"""Score model files on the dev set with the run-time code (as evals/sentiment_eval.py does). Each call is a
dev comparison: record it in README.md."""
import sys
from pathlib import Path
import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from data import load_eval
from qunyun.nlp.sentiment import SentimentModel
ev, ey = load_eval()
for p in sys.argv[1:]:
    pr = (SentimentModel(Path(p)).positive_probability(ev) >= 0.5).astype(int)
    print(f"{p}: dev acc={accuracy_score(ey, pr):.4f} macroF1={f1_score(ey, pr, average='macro'):.4f}")
