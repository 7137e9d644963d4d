"""A reader of SQLite database files at the page level, as an attacker with a copy of the file would
use it (issue 18.1): every record of a table's b-tree with the page and the byte offset of its cell.

Inside a b-tree page SQLite allocates cells downwards from the page end, so within one page a lower
offset usually means a later insert. Python's ``sqlite3`` has neither ``dbstat`` nor ``sqlite_dbpage``
compiled in, hence this parser (file format: https://www.sqlite.org/fileformat2.html)."""

from __future__ import annotations

import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEAF_INDEX, INTERIOR_INDEX, LEAF_TABLE, INTERIOR_TABLE = 10, 2, 13, 5


@dataclass(frozen=True)
class Cell:
    page: int
    offset: int
    values: tuple[Any, ...]


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    for index in range(9):
        byte = data[position + index]
        if index == 8:
            return (value << 8) | byte, position + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, position + index + 1
    raise AssertionError("unreachable")


def _record(payload: bytes) -> tuple[Any, ...]:
    header_size, position = _varint(payload, 0)
    types = []
    while position < header_size:
        serial, position = _varint(payload, position)
        types.append(serial)
    values: list[Any] = []
    body = header_size
    sizes = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in sizes:
            size = sizes[serial]
            values.append(int.from_bytes(payload[body:body + size], "big", signed=True))
            body += size
        elif serial == 7:
            values.append(struct.unpack(">d", payload[body:body + 8])[0])
            body += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            size = (serial - 12) // 2
            raw = payload[body:body + size]
            values.append(raw if serial % 2 == 0 else raw.decode("utf-8", "replace"))
            body += size
        else:
            raise AssertionError(f"serial type {serial}")
    return tuple(values)


class DatabaseFile:
    def __init__(self, path: Path) -> None:
        self.data = path.read_bytes()
        self.page_size = struct.unpack(">H", self.data[16:18])[0] or 65536
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            self.roots = dict(connection.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'"))

    def _page(self, number: int) -> tuple[bytes, int]:
        start = (number - 1) * self.page_size
        return self.data[start:start + self.page_size], (100 if number == 1 else 0)

    def cells(self, table: str) -> list[Cell]:
        """Every record of the table's b-tree (index b-trees keep records in interior pages too)."""
        found: list[Cell] = []
        pending = [self.roots[table]]
        while pending:
            number = pending.pop()
            page, header = self._page(number)
            kind = page[header]
            count = struct.unpack(">H", page[header + 3:header + 5])[0]
            interior = kind in (INTERIOR_INDEX, INTERIOR_TABLE)
            if interior:
                pending.append(struct.unpack(">I", page[header + 8:header + 12])[0])
            pointers = header + (12 if interior else 8)
            for index in range(count):
                offset = struct.unpack(">H", page[pointers + 2 * index:pointers + 2 * index + 2])[0]
                position = offset
                if interior:
                    pending.append(struct.unpack(">I", page[position:position + 4])[0])
                    position += 4
                if kind == INTERIOR_TABLE:
                    continue
                size, position = _varint(page, position)
                if kind == LEAF_TABLE:
                    _rowid, position = _varint(page, position)
                local = min(size, self.page_size - 35)  # small records only: no overflow pages here
                found.append(Cell(number, offset, _record(page[position:position + local])))
        return found


def insertion_order(cells: list[Cell]) -> list[Cell]:
    """The attacker's guess of the insertion order: by page, then by falling offset in the page."""
    return sorted(cells, key=lambda cell: (cell.page, -cell.offset))
