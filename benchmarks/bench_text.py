"""Text throughput on one core: normalisation, sensitive words and spam signals per message.

Messages come from the simulator's corpus (Chinese-first chat, with some
English, emoji, links and contact details mixed in), repeated to the size
asked. Target (Step 5): at least 20,000 messages/s for normalisation +
sensitive words + spam signals together.

    .venv/bin/python benchmarks/bench_text.py [--messages 200000]
"""

import argparse
import random
import time

from qunyun.nlp.normalize import normalize
from qunyun.nlp.sensitive import SensitiveWords
from qunyun.nlp.spam import spam_signals
from qunyun.sim import SimConfig, Simulator

EXTRAS = [
    "有需要的加我vx: abc_123 私聊领取",
    "電話 138 1234-5678 隨時聯繫",
    "扫码进群领福利 https://x.cn/q",
    "@小林\u2005明天见👍",
    "Ｈｅｌｌｏ　ＷＯＲＬＤ！这个课程很有帮助",
]


def corpus(size: int) -> list[str]:
    sim = Simulator(SimConfig(members=300, days=60, seed=7))
    texts = [r.text for r in sim.activities() if r.text]
    rng = random.Random(7)
    texts += EXTRAS * max(1, len(texts) // 50)
    return [rng.choice(texts) for _ in range(size)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    messages = corpus(args.messages)
    words = SensitiveWords.default()
    normalize(messages[0])  # load OpenCC's tables outside the timer

    started = time.perf_counter()
    normalised = [normalize(m) for m in messages]
    normalise_s = time.perf_counter() - started
    started = time.perf_counter()
    hits = sum(len(words.find(n.text)) for n in normalised)
    words_s = time.perf_counter() - started
    started = time.perf_counter()
    signals = sum(len(spam_signals(n)) for n in normalised)
    spam_s = time.perf_counter() - started
    total = normalise_s + words_s + spam_s
    n = len(messages)
    print(f"messages {n:,}, mean length {sum(map(len, messages)) / n:.1f} characters")
    print(f"normalise      {n / normalise_s:>10,.0f} msgs/s")
    print(f"sensitive      {n / words_s:>10,.0f} msgs/s  ({hits:,} hits)")
    print(f"spam signals   {n / spam_s:>10,.0f} msgs/s  ({signals:,} signals)")
    print(f"all three      {n / total:>10,.0f} msgs/s  (target >= 20,000)")


if __name__ == "__main__":
    main()
