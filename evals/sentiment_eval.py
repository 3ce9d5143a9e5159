"""Sentiment: our shipped model vs SnowNLP's bundled one on the ChnSentiCorp hotel dev set.

The set (../shared/data/sentiment/chnsenticorp_htl_dev.csv, see its README) is
binary: a model's answer counts as positive when P(positive) >= 0.5, whatever
its neutral band says. We never train on it (tools/sentiment/README.md says
how the training text was kept apart from it). Throughput is messages/s on one
core, batch prediction for ours, SnowNLP's per-message API for SnowNLP.

    .venv/bin/python evals/sentiment_eval.py [--data PATH] [--no-baseline]

Ends with one line per model: `qunyun accuracy=… macro_f1=… msgs_per_s=…`.
"""

import argparse
import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from qunyun.nlp.sentiment import default_model

DATA = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sentiment" / "chnsenticorp_htl_dev.csv"
)


def load(path: Path) -> tuple[list[str], list[int]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["review"] for r in rows], [int(r["label"]) for r in rows]


def scores(truth: Sequence[int], guess: Sequence[int]) -> tuple[float, float]:
    """Accuracy and macro-F1 over the two classes."""
    accuracy = sum(t == g for t, g in zip(truth, guess, strict=True)) / len(truth)
    f1s = []
    for label in (0, 1):
        tp = sum(t == label and g == label for t, g in zip(truth, guess, strict=True))
        fp = sum(t != label and g == label for t, g in zip(truth, guess, strict=True))
        fn = sum(t == label and g != label for t, g in zip(truth, guess, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return accuracy, sum(f1s) / 2


def timed(predict: Callable[[list[str]], list[int]], texts: list[str]) -> tuple[list[int], float]:
    started = time.perf_counter()
    guesses = predict(texts)
    return guesses, len(texts) / (time.perf_counter() - started)


def ours(texts: list[str]) -> list[int]:
    model = default_model()
    return [int(p >= 0.5) for p in model.positive_probability(texts)]


def snownlp(texts: list[str]) -> list[int]:
    from snownlp import SnowNLP

    return [int(SnowNLP(text).sentiments >= 0.5) for text in texts]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-baseline", action="store_true", help="Skip SnowNLP (slow: ~100-600 msgs/s).")
    args = parser.parse_args()
    texts, truth = load(args.data)
    default_model()  # loading the model is not prediction time
    print(f"{len(texts):,} reviews ({sum(truth):,} positive) from {args.data}", flush=True)
    lines = []
    guesses, rate = timed(ours, texts)
    accuracy, f1 = scores(truth, guesses)
    lines.append(f"qunyun accuracy={accuracy:.3f} macro_f1={f1:.3f} msgs_per_s={rate:.0f}")
    print(lines[-1], flush=True)  # first, so a run cut short still reports ours
    if not args.no_baseline:
        guesses, rate = timed(snownlp, texts)
        accuracy, f1 = scores(truth, guesses)
        lines.append(f"snownlp accuracy={accuracy:.3f} macro_f1={f1:.3f} msgs_per_s={rate:.0f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
