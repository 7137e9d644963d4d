"""Exports: results as CSV and ODS (OpenDocument spreadsheet, odfpy), invitation codes as CSV.

Rules: the same rows in both formats; numbers are numbers in ODS; CSV is UTF-8 with BOM and ``;``
as separator (what German spreadsheet programs open without asking); free-text answers only as
published by moderation."""

from __future__ import annotations

import csv
import io

from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

from citizen_portal.core.i18n import _

from .common import format_code
from .results import PollResults


def result_rows(results: PollResults) -> list[list[object]]:
    rows: list[list[object]] = [[_("Frage"), _("Art"), _("Antwort"), _("Stimmen"), _("Prozent")]]
    rows.append([_("Abgegebene Stimmzettel"), "", "", results.ballots, ""])
    for question in results.questions:
        for option in question.options:
            rows.append([question.text, question.kind, option.label, option.votes, option.percent])
        if question.average is not None:
            rows.append([question.text, question.kind, _("Durchschnitt"), question.average, ""])
        for text in question.texts:
            rows.append([question.text, question.kind, text, "", ""])
    return rows


def to_csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([_safe_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _safe_cell(cell: object) -> object:
    """Neutralise spreadsheet formulas in citizen-written text (CSV injection)."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def to_ods(rows: list[list[object]], sheet_name: str) -> bytes:
    document = OpenDocumentSpreadsheet()
    table = Table(name=sheet_name[:31] or "Sheet")
    for row in rows:
        table_row = TableRow()
        for cell in row:
            if isinstance(cell, (int, float)) and not isinstance(cell, bool):
                table_cell = TableCell(valuetype="float", value=cell)
            else:
                table_cell = TableCell(valuetype="string")
            table_cell.addElement(P(text=str(cell)))
            table_row.addElement(table_cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def codes_csv(codes: list[str]) -> bytes:
    return to_csv([[_("Nummer"), _("Code")]] + [[index, format_code(code)] for index, code in enumerate(codes, 1)])
