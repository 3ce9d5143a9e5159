"""Interest tags vs the simulator's truth: does the tagger find what members care about?

The simulator gives each member 1-3 interest topics and makes them write about
them (and about other things, and chit-chat). The tagger knows nothing of the
simulator: its lexicon (src/qunyun/nlp/data/topics.toml) was written on its
own. For members with at least `--min-messages` messages, compares their
tags (score >= 0.5, as shipped) with their true interests:

- precision: share of the tags given that are true interests;
- recall: share of true interests that got a tag;
- top-1 precision: the strongest tag is a true interest.

    .venv/bin/python evals/interest_eval.py [--members 2000] [--days 120]

Prints one line: `interests precision=… recall=… top1=… members=…`.
"""

import argparse
from collections import defaultdict

from qunyun.domain import MESSAGE_KINDS
from qunyun.nlp.interests import TextEvent, interest_tags
from qunyun.nlp.topics import TopicLexicon
from qunyun.sim import SimConfig, Simulator


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--min-messages", type=int, default=5)
    args = parser.parse_args()
    sim = Simulator(SimConfig(members=args.members, days=args.days, seed=args.seed))
    truth = {t.member: set(t.interests) for t in sim.members()}
    texts: dict[str, list[TextEvent]] = defaultdict(list)
    for record in sim.activities():
        if record.kind in MESSAGE_KINDS and record.text:
            texts[record.member].append(TextEvent(record.reference_id or "", record.occurred_at, record.text))
    lexicon = TopicLexicon.default()
    given = right = true_total = found = top_right = judged = 0
    for member, events in texts.items():
        if len(events) < args.min_messages or member not in truth:
            continue
        tags = interest_tags(events, sim.end, lexicon)
        topics = [t.topic for t in tags]
        judged += 1
        given += len(topics)
        right += sum(t in truth[member] for t in topics)
        true_total += len(truth[member])
        found += sum(t in topics for t in truth[member])
        top_right += bool(topics) and topics[0] in truth[member]
    print(
        f"interests precision={right / max(1, given):.3f} recall={found / max(1, true_total):.3f} "
        f"top1={top_right / max(1, judged):.3f} members={judged}"
    )


if __name__ == "__main__":
    main()
