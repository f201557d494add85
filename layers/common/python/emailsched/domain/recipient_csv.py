"""A recipient list from CSV, read as a stream: one row at a time, never the whole file.

Shapes handled: a UTF-8 BOM; Excel's `sep=;` first line; comma, semicolon or tab between
cells (sniffed on the header line, comma when unsure); quoted cells holding the separator,
quotes or line breaks; CRLF line ends. The header row names the columns: the one named
`email` (any case; also `e-mail`, `email address`, ...) is the address, else the first
whose name mentions mail, else the first whose first value looks like an address. Every
other column is a field, its name made identifier-like (`First Name` -> `first_name`).
An empty cell is left out of the fields, so a template's `default(...)` applies to it.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from emailsched.domain.recipient_fields import (
    CONTROL_CHARACTER,
    MAX_FIELDS_CHARS,
    MAX_VALUE_LENGTH,
    check_field_name,
    field_value,
)
from emailsched.domain.recipients import normalise_address
from emailsched.errors import InvalidRequest

MAX_COLUMNS = 51  # the address and recipient_fields.MAX_FIELDS fields
MAX_CELL_CHARS = 10_000
_DELIMITERS = ",;\t"
_EXCEL_SEP = re.compile(r'^"?sep=(.)"?\s*$')
_EMAIL_NAMES = frozenset({"email", "e-mail", "e_mail", "email address", "email_address",
                          "e-mail address", "mail"})
_LOOKS_LIKE_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CsvRecipient(NamedTuple):  # a tuple: an import reads a million of them
    line: int  # where the row starts (1 is the first line of the file)
    email: str
    fields: dict[str, str]


@dataclass(frozen=True)
class CsvRowError:
    line: int
    message: str


CsvItem = CsvRecipient | CsvRowError


def decode_lines(chunks: Iterable[bytes], encoding: str = "utf-8-sig") -> Iterator[str]:
    """Lines (ends kept) from byte chunks such as an S3 body's, decoded incrementally."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *lines, pending = pending.splitlines(keepends=True) or [""]
        # a lone CR at the end may be the first half of a CRLF: keep it for the next chunk
        if pending == "" and lines and lines[-1].endswith("\r"):
            pending = lines.pop()
        yield from lines
    pending += decoder.decode(b"", final=True)
    yield from pending.splitlines(keepends=True)


def field_name_from_header(header: str) -> str:
    """`First Name` -> `first_name`: lower case, runs of other characters as one `_`."""
    name = re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")
    return f"f_{name}" if name[:1].isdigit() else name


def parse_recipient_csv(lines: Iterable[str]) -> Iterator[CsvItem]:
    """Each data row as a CsvRecipient or a CsvRowError; InvalidRequest for a bad header."""
    return iter(RecipientCsvReader(lines))


@dataclass(frozen=True)
class CsvLayout:
    """What the header said: enough to read the rest of the file from any row on."""

    delimiter: str
    address_column: int
    names: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"delimiter": self.delimiter, "addressColumn": self.address_column,
                "names": list(self.names)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> CsvLayout:
        return cls(str(value["delimiter"]), int(value["addressColumn"]),
                   tuple(str(name) for name in value["names"]))


class RecipientCsvReader:
    """parse_recipient_csv that can start again part way (an import's next invocation).

    From the top, `layout` is known once the header and the first row were read. Given a
    `layout` and `next_line` (the physical line the lines start at), the lines are data
    rows from a row boundary on. Rows are read lazily: after an item is yielded, exactly
    the lines of the rows so far were taken from `lines`.
    """

    def __init__(self, lines: Iterable[str], layout: CsvLayout | None = None,
                 next_line: int = 1) -> None:
        self._lines, self.layout, self._next_line = lines, layout, next_line

    def __iter__(self) -> Iterator[CsvItem]:
        if self.layout is not None:
            reader = csv.reader(iter(self._lines), delimiter=self.layout.delimiter,
                                strict=False)
            layout = self.layout
            rows = _numbered_rows(reader, self._next_line - 1)
            yield from (_row(line, cells, layout.address_column, list(layout.names))
                        for line, cells in rows)
            return
        source = _without_bom(iter(self._lines))
        delimiter, header_line, offset = _read_preamble(source)
        reader = csv.reader(itertools.chain([header_line], source), delimiter=delimiter,
                            strict=False)
        header = next(reader)
        rows = _numbered_rows(reader, offset)
        first = next(rows, None)
        address_column, names = _columns(header, first[1] if first else None)
        self.layout = CsvLayout(delimiter, address_column, tuple(names))
        if first is not None:
            yield from (_row(line, cells, address_column, names)
                        for line, cells in itertools.chain([first], rows))


def _without_bom(lines: Iterator[str]) -> Iterator[str]:
    for index, line in enumerate(lines):
        yield line.lstrip("\ufeff") if index == 0 else line


def _read_preamble(source: Iterator[str]) -> tuple[str, str, int]:
    """(delimiter, header line, lines before the header)."""
    first = next(source, None)
    if first is None or not first.strip():
        raise _header_error("the file is empty; the first line must name the columns")
    excel = _EXCEL_SEP.match(first.strip())
    if excel:
        header = next(source, None)
        if header is None:
            raise _header_error("no header row after sep=")
        return excel[1], header, 1
    return _sniff_delimiter(first), first, 0


def _sniff_delimiter(header: str) -> str:
    try:
        return csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _numbered_rows(reader: Iterator[list[str]], offset: int) -> Iterator[tuple[int, list[str]]]:
    # reader.line_num counts physical lines read so far, so a row starts one after the last
    last = reader.line_num  # type: ignore[attr-defined]
    for cells in reader:
        start, last = last + 1, reader.line_num  # type: ignore[attr-defined]
        if "".join(cells).strip():  # a row of blank cells is no row
            yield start + offset, cells


def _columns(header: list[str], first_row: list[str] | None) -> tuple[int, list[str]]:
    if len(header) > MAX_COLUMNS:
        raise _header_error(f"more than {MAX_COLUMNS} columns")
    address_column = _address_column(header, first_row)
    names = [field_name_from_header(cell) for cell in header]
    others = [name for i, name in enumerate(names) if i != address_column and name]
    for name in others:
        try:
            check_field_name(name)
        except ValueError as error:
            raise _header_error(str(error)) from None
    duplicate = next((name for name in others if others.count(name) > 1), None)
    if duplicate:
        raise _header_error(f"two columns are named {duplicate!r}")
    return address_column, names


def _address_column(header: list[str], first_row: list[str] | None) -> int:
    keys = [cell.strip().casefold() for cell in header]
    for index, key in enumerate(keys):
        if key in _EMAIL_NAMES:
            return index
    for index, key in enumerate(keys):
        if "mail" in key:
            return index
    for index, value in enumerate(first_row or []):
        if _LOOKS_LIKE_ADDRESS.match(value.strip()):
            return index
    raise _header_error("no column named email, and none holds an address in the first row")


def _row(line: int, cells: list[str], address_column: int, names: list[str]) -> CsvItem:
    if len(cells) > len(names):
        return CsvRowError(line, f"{len(cells)} cells, but the header names {len(names)} columns")
    if address_column >= len(cells):
        return CsvRowError(line, "no address")
    try:
        address = normalise_address(cells[address_column])
        fields = _checked(_fields(cells, address_column, names))
    except ValueError as error:
        return CsvRowError(line, str(error))
    return CsvRecipient(line, address, fields)


def _fields(cells: list[str], address_column: int, names: list[str]) -> dict[str, str]:
    if max(map(len, cells)) > MAX_CELL_CHARS:  # cells: never empty (a row has a cell)
        raise ValueError(f"a cell longer than {MAX_CELL_CHARS} characters")
    # a column without a name (Excel's trailing separators) is not a field
    return {names[i]: cell for i, cell in enumerate(cells)
            if i != address_column and names[i] and cell != ""}


def _checked(fields: dict[str, str]) -> dict[str, str]:
    """recipient_fields.check_fields for a CSV row, same answers, one pass on the common
    case: the names were checked once on the header and every value is a string, so only
    the values' length, control characters and total size are left to check."""
    values = fields.values()
    joined = "".join(values)
    if _CONTROL_SEARCH(joined) or max(map(len, values), default=0) > MAX_VALUE_LENGTH:
        for name, value in fields.items():
            field_value(name, value)  # raises on the first, as check_fields would
    if len(joined) + sum(map(len, fields)) > MAX_FIELDS_CHARS:
        raise ValueError(f"fields longer than {MAX_FIELDS_CHARS} characters in all")
    return fields


_CONTROL_SEARCH = CONTROL_CHARACTER.search


def _header_error(message: str) -> InvalidRequest:
    return InvalidRequest(f"CSV header: {message}", [{"line": 1, "message": message}])
