"""Helpers for every CSV/XLSX the service exports: no cell may be read as a formula.

A spreadsheet treats text starting with = + - @ (and tab or carriage return, which some
strip first) as a formula; a premises name such as `=HYPERLINK(...)` typed on a terminal
would run in the office's spreadsheet. Such text gets a leading apostrophe, which the
spreadsheet shows as text. Writers of XLSX (openpyxl stores "=..." strings as formulas)
must pass every value through neutralise_cell too.
"""

import csv
import re

# ASCII triggers and their full-width forms, which CJK input methods produce.
FORMULA_STARTS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
CONTROL_STARTS = ("\t", "\r", "\n")
SIGNED_NUMBER = re.compile(r"[+-]\d+(\.\d+)?")


def neutralise_cell(value):
    """Return the value, prefixed with ' if a spreadsheet would read it as a formula."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(CONTROL_STARTS):
        return "'" + value
    stripped = value.lstrip(" ")
    if stripped.startswith(FORMULA_STARTS) and not SIGNED_NUMBER.fullmatch(stripped):
        return "'" + value
    return value


def neutralise_row(values):
    """Return the row's values, each passed through neutralise_cell."""
    return [neutralise_cell(value) for value in values]


def write_csv(stream, rows):
    """Write rows (header included) to a text stream as CSV, every cell neutralised."""
    writer = csv.writer(stream)
    for row in rows:
        writer.writerow(neutralise_row(row))
