"""Premises CSV import: encodings, headers, per-row checks and coordinate conversion."""

import csv
import io
import math
from pathlib import Path

import pytest

from grid_maps.gcj02 import wgs84_to_gcj02
from server.importers import (
    PremisesFileError,
    PremisesRow,
    credit_code_check_character,
    parse_premises_csv,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "premises"
GOOD_UTF8 = (DATA / "wuhai-good-utf8.csv").read_bytes()

LABELS = {"clinic": ("诊所", "Clinic"), "dental_clinic": ("口腔诊所", "Dental clinic"),
          "public_place": ("公共场所", "Public place"), "school": ("学校", "School"),
          "water_supplier": ("供水单位", "Water supplier")}
CATEGORIES = {spelling: code for code, labels in LABELS.items() for spelling in (code, *labels)}

ENGLISH = ["name", "category", "ownership", "licence_no", "credit_code", "address", "lon", "lat",
           "risk_level", "credit_grade", "list_status", "contact_name", "contact_phone"]


def good_table():
    """Return the good file as a list of rows of fields, header first."""
    return list(csv.reader(io.StringIO(GOOD_UTF8.decode("utf-8"), newline="")))


def to_csv(rows, encoding="utf-8", delimiter=","):
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def changed(row_index, **values):
    """Return the good file with some fields of one data row (1 = first) replaced."""
    table = good_table()
    for column, value in values.items():
        table[row_index][ENGLISH.index(column)] = value
    return to_csv(table)


def parse(data, **options):
    return parse_premises_csv(data, categories=CATEGORIES, **options)


def file_error(data, **options):
    with pytest.raises(PremisesFileError) as info:
        parse(data, **options)
    return info.value


def errors_of(result):
    return [(e.line, e.column, e.code) for e in result.errors]


def metres(a, b):
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


# --- good files -------------------------------------------------------------------------------

def test_good_utf8_file_with_chinese_headers_gives_five_canonical_rows():
    result = parse(GOOD_UTF8)
    assert result.ok and result.encoding == "utf-8"
    assert [r.line for r in result.rows] == [2, 3, 4, 5, 6]
    assert [r.category for r in result.rows] == [
        "clinic", "dental_clinic", "public_place", "school", "water_supplier"]
    assert result.rows[0] == PremisesRow(
        line=2, name="乌海市海勃湾区仁和诊所", category="clinic", ownership="private",
        licence_no="PDY00352X15030217D2122", credit_code="92150302MA0N4K2L98",
        address="内蒙古自治区乌海市海勃湾区新华街道人民路18号", lon=106.824712, lat=39.666215,
        risk_level="medium", credit_grade="B", list_status="none", contact_name="王建国",
        contact_phone="0473-3961234")


def test_chinese_enum_labels_map_to_canonical_values():
    rows = parse(GOOD_UTF8).rows
    assert [r.ownership for r in rows] == ["private", "private", "private", "public", "public"]
    assert [r.risk_level for r in rows] == ["medium", "medium", "low", "medium", "high"]
    assert [r.list_status for r in rows] == ["none", "none", "red", "none", "key"]


def test_blank_optional_values_become_none_or_defaults():
    rows = parse(GOOD_UTF8).rows
    assert rows[1].list_status == "none"  # blank 名单状态
    assert rows[3].licence_no is None and rows[3].credit_grade is None  # the school


def test_risk_level_defaults_to_medium_when_the_column_is_absent():
    table = [row[:8] for row in good_table()]  # up to 纬度
    assert {r.risk_level for r in parse(to_csv(table)).rows} == {"medium"}


def test_gbk_file_gives_the_same_rows_as_utf8():
    result = parse((DATA / "wuhai-good-gbk.csv").read_bytes())
    assert result.encoding == "gb18030"
    assert result.rows == parse(GOOD_UTF8).rows


def test_utf8_bom_is_stripped_from_the_first_header():
    result = parse(b"\xef\xbb\xbf" + GOOD_UTF8)
    assert result.encoding == "utf-8"
    assert result.rows == parse(GOOD_UTF8).rows


def test_english_headers_and_labels_are_case_insensitive():
    table = good_table()
    table[0] = [h.upper() for h in ENGLISH]
    table[1][1], table[1][2], table[1][8] = "DENTAL CLINIC", "Private", "High"
    row = parse(to_csv(table)).rows[0]
    assert (row.category, row.ownership, row.risk_level) == ("dental_clinic", "private", "high")


def test_header_marks_and_fullwidth_spaces_are_ignored():
    table = good_table()
    table[0][0], table[0][6] = "*单位名称", "\u3000经度\u3000"
    assert parse(to_csv(table)).ok


@pytest.mark.parametrize("delimiter", ["\t", ";"], ids=["tab", "semicolon"])
def test_tab_or_semicolon_separated_file_is_read(delimiter):
    assert parse(to_csv(good_table(), delimiter=delimiter)).rows == parse(GOOD_UTF8).rows


def test_blank_lines_are_skipped_and_line_numbers_stay_true():
    lines = GOOD_UTF8.split(b"\r\n")
    data = b"\r\n".join([lines[0], b"", lines[1], b",,,,,,,,,,,,", lines[2]]) + b"\r\n"
    assert [r.line for r in parse(data).rows] == [3, 5]


def test_quoted_multiline_address_keeps_following_line_numbers_true():
    table = good_table()
    table[1][5] = "人民路18号\n（二楼）"
    result = parse(to_csv(table))
    assert [r.line for r in result.rows] == [2, 4, 5, 6, 7]
    assert result.rows[0].address == "人民路18号\n（二楼）"


def test_trailing_blank_fields_after_the_header_width_are_tolerated():
    data = GOOD_UTF8.replace(b"0473-3961234\r\n", b"0473-3961234,,\r\n")
    assert parse(data).ok


def test_gcj02_coordinates_move_hundreds_of_metres_onto_wgs84():
    table = good_table()
    wgs = [(float(r[6]), float(r[7])) for r in table[1:]]
    for row, point in zip(table[1:], wgs):
        row[6], row[7] = map(repr, wgs84_to_gcj02(*point))
    rows = parse(to_csv(table), coordinates="gcj02").rows
    for row, source, expected in zip(rows, table[1:], wgs):
        assert abs(row.lon - expected[0]) < 1e-6 and abs(row.lat - expected[1]) < 1e-6
        assert 100 < metres((float(source[6]), float(source[7])), (row.lon, row.lat)) < 1000


def test_unknown_coordinate_system_is_a_value_error():
    with pytest.raises(ValueError, match="coordinates"):
        parse(GOOD_UTF8, coordinates="bd09")


def test_to_dict_summarises_counts_and_errors():
    result = parse(changed(2, lat="abc"))
    assert result.to_dict() == {
        "encoding": "utf-8", "row_count": 4, "rejected_row_count": 1, "error_count": 1,
        "errors": [{"line": 3, "column": "lat", "code": "not_a_number",
                    "message": "lat 'abc' is not a number", "message_zh": "「纬度」“abc”不是数字"}]}


# --- whole-file problems ----------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \r\n\r\n"], ids=["empty", "bom", "blank"])
def test_empty_file_is_a_file_error(data):
    assert file_error(data).code == "empty_file"


def test_header_without_rows_is_no_rows():
    assert file_error(GOOD_UTF8.split(b"\r\n")[0] + b"\r\n\r\n").code == "no_rows"


def test_more_rows_than_the_limit_is_too_many_rows():
    error = file_error(GOOD_UTF8, max_rows=4)
    assert (error.code, error.details) == ("too_many_rows", {"max_rows": 4})


def test_excel_workbook_is_rejected_with_a_save_as_csv_hint():
    error = file_error(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    assert error.code == "encoding_unknown" and "Excel workbook" in error.message


def test_bytes_in_no_known_encoding_are_encoding_unknown():
    error = file_error(GOOD_UTF8.replace("王建国".encode(), b"\xff\xfe\xfd"))
    assert (error.code, error.details) == ("encoding_unknown", {"lines": [2]})


def test_mixed_encodings_name_the_lines_in_each():
    error = file_error((DATA / "mixed-encodings.csv").read_bytes())
    assert error.code == "mixed_encodings"
    assert error.details == {"utf-8": [1, 2, 3], "gb18030": [4, 5, 6]}
    assert error.message_zh


def test_gbk_lines_after_a_utf8_bom_are_mixed_encodings():
    error = file_error(b"\xef\xbb\xbf" + (DATA / "wuhai-good-gbk.csv").read_bytes())
    assert error.code == "mixed_encodings"
    assert error.details["gb18030"] == [1, 2, 3, 4, 5, 6]


def test_unknown_column_names_it_and_lists_the_expected_ones():
    table = good_table()
    table[0][6] = "经纬度"
    error = file_error(to_csv(table))
    assert error.code == "unknown_columns"
    assert error.details["columns"] == ["经纬度"] and error.details["missing"] == ["lon"]
    assert error.details["expected"] == ENGLISH


def test_missing_required_columns_are_listed():
    table = [row[:5] + row[6:7] for row in good_table()]  # no 地址, no 纬度
    error = file_error(to_csv(table))
    assert (error.code, error.details) == ("missing_columns", {"columns": ["address", "lat"], "one_of": []})


def test_missing_columns_are_named_in_chinese_for_the_office():
    table = [row[:5] + row[6:7] for row in good_table()]
    assert file_error(to_csv(table)).message_zh == "缺少必需的列：地址、纬度"


def test_file_without_licence_or_credit_code_column_is_missing_columns():
    table = [row[:3] + row[5:] for row in good_table()]
    error = file_error(to_csv(table))
    assert (error.code, error.details["one_of"]) == ("missing_columns", ["licence_no", "credit_code"])


def test_two_headers_for_one_column_are_duplicate_columns():
    table = good_table()
    table[0][11] = "名称"  # 联系人 mistyped as a second name column
    error = file_error(to_csv(table))
    assert (error.code, error.details) == ("duplicate_columns", {"columns": {"name": ["单位名称", "名称"]}})


# --- row problems -----------------------------------------------------------------------------

def test_bad_rows_are_reported_and_good_rows_kept():
    result = parse(changed(2, lon="东经106度"))
    assert not result.ok
    assert [r.line for r in result.rows] == [2, 4, 5, 6]
    assert errors_of(result) == [(3, "lon", "not_a_number")]


def test_every_error_in_a_row_is_reported():
    result = parse(changed(1, ownership="合资", risk_level="极高", lat="", name="x" * 201))
    assert errors_of(result) == [(2, "lat", "required"), (2, "name", "too_long"),
                                 (2, "ownership", "unknown_ownership"),
                                 (2, "risk_level", "unknown_risk_level")]


def test_row_without_licence_or_credit_code_is_an_error():
    result = parse(changed(1, licence_no="", credit_code=""))
    assert errors_of(result) == [(2, "licence_no,credit_code", "missing_identifier")]


def test_unknown_category_is_a_row_error():
    assert errors_of(parse(changed(1, category="网吧"))) == [(2, "category", "unknown_category")]


def test_degree_minute_second_coordinates_get_a_decimal_hint():
    result = parse(changed(1, lon="106°49'29\""))
    assert "decimal degrees" in result.errors[0].message


def test_projected_coordinates_get_a_hint():
    result = parse(changed(1, lon="36535000.12", lat="4392000.55"))
    assert errors_of(result) == [(2, "lon", "projected_coordinates")]
    assert "metres" in result.errors[0].message


def test_swapped_coordinates_outside_china_ask_whether_they_are_swapped():
    result = parse(changed(1, lon="39.666215", lat="106.824712"))
    assert errors_of(result) == [(2, "lat", "out_of_range")]
    assert "swapped lon/lat?" in result.errors[0].message


def test_swapped_point_still_in_range_is_outside_china_with_a_swap_hint():
    result = parse(changed(1, lon="39.4677", lat="75.9894"))  # Kashgar, swapped
    assert errors_of(result) == [(2, "lon,lat", "outside_china")]
    assert result.errors[0].message.endswith("is outside China — swapped lon/lat?")


def test_point_outside_china_without_a_swap_hint():
    result = parse(changed(1, lon="13.405", lat="52.52"))
    assert errors_of(result) == [(2, "lon,lat", "outside_china")]
    assert "swapped" not in result.errors[0].message


def test_repeated_licence_number_names_the_earlier_line():
    result = parse(changed(3, licence_no="PDY00352X15030217D2122"))
    assert errors_of(result) == [(4, "licence_no", "duplicate_licence_no")]
    assert "line 2" in result.errors[0].message and "第 2 行" in result.errors[0].message_zh


def test_repeated_credit_code_names_the_earlier_line():
    result = parse(changed(5, credit_code="92150302ma0p7r3d7m"))  # line 3's, in lower case
    assert errors_of(result) == [(6, "credit_code", "duplicate_credit_code")]
    assert "line 3" in result.errors[0].message


def test_credit_code_with_a_wrong_check_character_is_an_error():
    result = parse(changed(1, credit_code="92150302MA0N4K2L99"))
    assert errors_of(result) == [(2, "credit_code", "credit_code_check")]


def test_credit_code_turned_into_a_number_by_excel_gets_a_hint():
    result = parse(changed(4, credit_code="1.21503E+17"))
    assert errors_of(result) == [(5, "credit_code", "credit_code_length")]
    assert "format the column as text" in result.errors[0].message


def test_credit_code_with_letters_never_used_is_an_error():
    result = parse(changed(1, credit_code="92150302MAON4K2L98"))  # letter O for zero
    assert errors_of(result) == [(2, "credit_code", "credit_code_characters")]


def test_credit_code_check_character_matches_published_codes():
    for code in ("91350100M000100Y43", "914403001922038216", "9144030071526726XG"):
        assert credit_code_check_character(code[:17]) == code[17]


def test_value_under_a_blank_header_cell_is_a_row_error():
    table = [row + [""] for row in good_table()]
    table[2][-1] = "备注"
    assert errors_of(parse(to_csv(table))) == [(3, None, "unnamed_column_value")]


def test_row_with_an_extra_field_is_a_field_count_error():
    data = GOOD_UTF8.replace("人民路18号".encode(), "人民路18号,二楼".encode())
    result = parse(data)
    assert errors_of(result) == [(2, None, "field_count")]
    assert "14 fields" in result.errors[0].message


def test_row_with_missing_fields_is_a_field_count_error():
    data = GOOD_UTF8.replace(b",0473-3961234\r\n", b"\r\n")
    assert errors_of(parse(data)) == [(2, None, "field_count")]


def test_unclosed_quote_is_reported_with_a_hint_on_its_first_line():
    data = GOOD_UTF8.replace(",内蒙古".encode(), ",\"内蒙古".encode(), 1)
    result = parse(data)
    assert errors_of(result) == [(2, None, "field_count")]
    assert "an unclosed quote?" in result.errors[0].message


def test_there_is_no_row_limit_by_default():
    header, first = GOOD_UTF8.split(b"\r\n")[:2]
    body = header + b"\r\n" + b"".join(first.replace(b"PDY", b"PDX%06d" % n, 1) + b"\r\n"
                                       for n in range(100_001))
    parsed = parse_premises_csv(body, categories=CATEGORIES)
    assert len(parsed.rows) + len({e.line for e in parsed.errors}) == 100_001
