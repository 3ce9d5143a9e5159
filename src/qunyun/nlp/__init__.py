"""Text intelligence, Chinese first: normalisation, sensitive words and spam signals, sentiment, tags."""

from qunyun.nlp.normalize import NormalizedText, normalize

__all__ = ["NormalizedText", "normalize"]
