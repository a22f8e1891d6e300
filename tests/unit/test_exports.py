"""Spreadsheet formula text is neutralised in every exported cell."""

import csv
import io
from datetime import date

import pytest

from server.services.exports import neutralise_cell, write_csv


@pytest.mark.parametrize("value", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "=HYPERLINK(\"x\")",
                                   "\t=1", "\r=1", "＝1+1", " =1+1"])
def test_formula_text_gets_a_leading_quote(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["海勃湾区", "a=b", "", "1-2", "user@example.org"])
def test_plain_text_is_unchanged(value):
    assert neutralise_cell(value) == value


@pytest.mark.parametrize("value", ["-12", "+86", "-0.5", "+3.25"])
def test_signed_numbers_written_as_text_stay_numbers(value):
    assert neutralise_cell(value) == value


@pytest.mark.parametrize("value", [-3, 2.5, None, True, date(2026, 1, 2)])
def test_values_that_are_not_text_are_unchanged(value):
    assert neutralise_cell(value) == value


def test_csv_writer_neutralises_every_cell_header_included():
    out = io.StringIO()
    write_csv(out, [["=name", "code"], ["=cmd|' /C calc'!A0", -1], ["乙区", "@x"]])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["'=name", "code"], ["'=cmd|' /C calc'!A0", "-1"], ["乙区", "'@x"]]
