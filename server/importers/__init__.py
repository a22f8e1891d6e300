"""Importers: parse files that offices upload (no Flask, no database)."""

from .premises_csv import (
    ParsedPremises,
    PremisesFileError,
    PremisesRow,
    RowError,
    credit_code_check_character,
    parse_premises_csv,
)

__all__ = [
    "ParsedPremises",
    "PremisesFileError",
    "PremisesRow",
    "RowError",
    "credit_code_check_character",
    "parse_premises_csv",
]
