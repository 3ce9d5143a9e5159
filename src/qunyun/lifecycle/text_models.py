"""The text models a refresh uses, built from the settings (lexicons extended by the operator's files)."""

from datetime import timedelta

from qunyun.config import Settings
from qunyun.lifecycle.text_refresh import TextModels
from qunyun.nlp.sensitive import SensitiveWords
from qunyun.nlp.sentiment import default_model
from qunyun.nlp.topics import TopicLexicon


def text_models(settings: Settings) -> TextModels:
    config = settings.text
    lexicon = (
        TopicLexicon.from_file(settings.resolve_path(config.topics_file))
        if config.topics_file
        else TopicLexicon.default()
    )
    words = SensitiveWords.default()
    if config.sensitive_words_file:
        words = words.extended(SensitiveWords.from_file(settings.resolve_path(config.sensitive_words_file)))
    return TextModels(
        lexicon=lexicon,
        words=words,
        sentiment=default_model(),
        half_life_days=config.interest_half_life_days,
        settle=timedelta(minutes=settings.analytics.settle_minutes),
    )
