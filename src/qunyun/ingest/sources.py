"""Reading import files as a stream of raw rows, whatever their size or encoding.

A source yields `(line, mapping)` for each record, or a `RowProblem` for a
record it cannot even split into fields. Files are decoded with
`surrogateescape`, so a byte that is invalid in the file's encoding does not
abort the file: it survives into the field as a lone surrogate and
`rows.parse_row` rejects that one row, naming the field.
"""

import codecs
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from qunyun.errors import IngestError
from qunyun.ingest.rows import FIELDS, RowProblem

RawRow = tuple[int, dict[str, Any]]
_SNIFF_BYTES = 1 << 20
# A huge text field must not exhaust memory; 1 MiB per field is far beyond any chat message.
csv.field_size_limit(1 << 20)


def _errors_when_decoded(data: bytes, encoding: str) -> int:
    # A multi-byte character cut at the sniff boundary is not an error.
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(data, final=False).count("\ufffd")


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' with a BOM; otherwise UTF-8 or GB18030 (a superset of GBK), whichever fits.

    A UTF-8 file with one corrupt line is still UTF-8: the encoding that
    decodes the head with fewer errors wins, ties going to UTF-8, so the bad
    line is rejected rather than the whole file read as mojibake.
    """
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf8_errors = _errors_when_decoded(head, "utf-8")
    if utf8_errors == 0:
        return "utf-8"
    return "gb18030" if _errors_when_decoded(head, "gb18030") < utf8_errors else "utf-8"


def _resolve_encoding(path: Path, encoding: str) -> str:
    if encoding == "auto":
        return detect_encoding(path)
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise IngestError(f"unknown encoding {encoding!r}", code="import.format") from exc
    return "gb18030" if encoding.lower() in ("gbk", "gb2312") else encoding


class RowSource(Protocol):
    path: Path
    encoding: str

    def __iter__(self) -> Iterator[RawRow | RowProblem]: ...

    def bytes_read(self) -> int: ...


class _FileSource:
    def __init__(self, path: Path, encoding: str = "auto") -> None:
        if not path.is_file():
            raise IngestError(f"{path}: no such file", code="import.unreadable")
        self.path = path
        self.encoding = _resolve_encoding(path, encoding)
        self._binary: IO[bytes] | None = None

    def bytes_read(self) -> int:
        handle = self._binary
        if handle is None or handle.closed:
            return self.path.stat().st_size
        return handle.tell()

    def _open_text(self) -> io.TextIOWrapper:
        self._binary = self.path.open("rb")
        return io.TextIOWrapper(self._binary, encoding=self.encoding, errors="surrogateescape", newline="")


class CsvSource(_FileSource):
    """CSV with a header row; extra columns are ignored, quoted newlines allowed."""

    def __iter__(self) -> Iterator[RawRow | RowProblem]:
        with self._open_text() as text:
            reader = csv.reader(text)
            header = self._header(reader)
            width = len(header)
            known = [(i, name) for i, name in enumerate(header) if name in FIELDS]
            start = reader.line_num + 1
            try:
                for values in reader:
                    line, start = start, reader.line_num + 1
                    if not values or (len(values) == 1 and not values[0].strip()):
                        continue
                    if len(values) != width:
                        yield RowProblem(line, "*", f"expected {width} columns, found {len(values)}")
                        continue
                    yield line, {name: values[i] for i, name in known}
            except csv.Error as exc:
                yield RowProblem(start, "*", f"unreadable CSV: {exc}")

    def _header(self, reader: Any) -> list[str]:
        try:
            header = [name.strip().lower() for name in next(reader)]
        except StopIteration as exc:
            raise IngestError(f"{self.path}: empty file", code="import.format") from exc
        missing = [f for f in ("occurred_at", "member", "kind") if f not in header]
        if missing:
            raise IngestError(
                f"{self.path}: line 1: header lacks required column(s) {', '.join(missing)}",
                code="import.format",
            )
        return header


class JsonlSource(_FileSource):
    """One JSON object per line; blank lines skipped."""

    def __iter__(self) -> Iterator[RawRow | RowProblem]:
        with self._open_text() as text:
            for line_no, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield RowProblem(line_no, "*", f"not valid JSON: {exc.msg} (column {exc.colno})")
                    continue
                if not isinstance(value, dict):
                    yield RowProblem(line_no, "*", "a line must hold one JSON object")
                    continue
                yield line_no, value
