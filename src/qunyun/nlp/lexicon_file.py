"""Lexicon files: TOML tables of name → list of strings (topics → keywords, categories → terms)."""

import tomllib
from importlib import resources
from pathlib import Path


def parse_lexicon(text: str, where: str, field: str) -> dict[str, list[str]]:
    """`[name] field = ["…", …]` tables as a dict; errors name the file and the table."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    lexicon: dict[str, list[str]] = {}
    for name, section in data.items():
        values = section.get(field) if isinstance(section, dict) else None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f'{where}: ["{name}"] needs {field} = ["…", …]')
        lexicon[name] = values
    return lexicon


def read_lexicon(path: Path, field: str) -> dict[str, list[str]]:
    return parse_lexicon(path.read_text(encoding="utf-8"), str(path), field)


def packaged_lexicon(name: str, field: str) -> dict[str, list[str]]:
    """A lexicon shipped in `qunyun/nlp/data/`."""
    text = resources.files("qunyun.nlp.data").joinpath(name).read_text(encoding="utf-8")
    return parse_lexicon(text, f"qunyun/nlp/data/{name}", field)
