"""Document numbers and the document font (no database)."""

from pathlib import Path

import pytest

from server.services.followups import document_pdf
from server.services.followups.document_pdf import DocumentFontMissing, register_font
from server.services.followups.documents import format_number

NOTO_CFF = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def test_the_number_is_prefix_year_and_four_digit_serial():
    assert format_number("乌卫监意", 2026, 42) == "乌卫监意〔2026〕第0042号"
    assert format_number("乌卫监意", 2027, 12345) == "乌卫监意〔2027〕第12345号"


def test_a_missing_font_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(document_pdf, "FONT_NAME", "UnitMissingFont")
    with pytest.raises(DocumentFontMissing) as failure:
        register_font(str(tmp_path / "absent.ttc"))
    assert (failure.value.status, failure.value.code) == (503, "document_font_missing")
    assert "DOCUMENT_FONT" in failure.value.message


@pytest.mark.skipif(not NOTO_CFF.exists(), reason="fonts-noto-cjk is not installed")
def test_a_cff_font_is_refused_rather_than_rendering_boxes(monkeypatch):
    monkeypatch.setattr(document_pdf, "FONT_NAME", "UnitCffFont")
    with pytest.raises(DocumentFontMissing) as failure:
        register_font(str(NOTO_CFF))
    assert "TrueType" in failure.value.message
