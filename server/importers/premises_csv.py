"""Parse a premises (监管对象) CSV exported from Excel into checked rows and per-line errors.

Pure (no Flask, no database): the caller supplies the category spellings and decides what to import.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass

from grid_maps.gcj02 import gcj02_to_wgs84, outside_china

REQUIRED = ("name", "category", "ownership", "address", "lon", "lat")
IDENTIFIERS = ("licence_no", "credit_code")
COORDINATE_SYSTEMS = ("wgs84", "gcj02")
MAX_LENGTH = {"name": 200, "address": 200, "licence_no": 64, "contact_name": 64, "contact_phone": 32}
MAX_LISTED_LINES = 50  # line numbers listed in a whole-file error's details

# Canonical column -> other header names accepted for it, Chinese name first; in template order.
_ALIASES = {
    "name": ("名称", "单位名称"), "category": ("类别", "监管类别"),
    "ownership": ("所有制", "性质"), "licence_no": ("许可证号", "执业许可证号", "卫生许可证号", "license_no"),
    "credit_code": ("统一社会信用代码", "信用代码"), "address": ("地址",),
    "lon": ("经度", "longitude", "lng"), "lat": ("纬度", "latitude"), "risk_level": ("风险等级",),
    "credit_grade": ("信用等级",), "list_status": ("名单", "名单状态"),
    "contact_name": ("联系人",), "contact_phone": ("联系电话",),
}
COLUMNS = tuple(_ALIASES)
HEADER_NAMES = {alias: column for column, aliases in _ALIASES.items() for alias in (column, *aliases)}

OWNERSHIP = {"public": "public", "公立": "public", "公办": "public", "国有": "public",
             "private": "private", "民营": "private", "私立": "private", "民办": "private",
             "私营": "private", "个体": "private"}
RISK_LEVELS = {"low": "low", "低": "low", "低风险": "low", "medium": "medium", "中": "medium",
               "中风险": "medium", "high": "high", "高": "high", "高风险": "high"}
CREDIT_GRADES = {key: g for g in "ABCD" for key in (g.lower(), f"{g.lower()}级")}
LIST_STATUSES = {"none": "none", "无": "none", "red": "red", "红名单": "red", "black": "black",
                 "黑名单": "black", "key": "key", "重点监管": "key", "重点监管名单": "key"}

# GB 32100-2015: 18 characters from this alphabet; weights 3**i mod 31; check = 31 - sum mod 31.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_EXCEL_NUMBER = re.compile(r"\d(\.\d+)?E\+?\d+")

_BOM = b"\xef\xbb\xbf"
_FILE_MESSAGES_ZH = {
    "empty_file": "文件为空", "no_rows": "文件中没有数据行", "malformed_csv": "CSV 格式错误",
    "encoding_unknown": "无法识别文件编码，请另存为“CSV UTF-8”或 GBK 编码的 CSV 文件",
    "mixed_encodings": "文件混用了 UTF-8 和 GBK 两种编码，请统一另存为一种编码",
    "missing_columns": "缺少必需的列，请使用标准导入模板", "duplicate_columns": "列名重复",
    "unknown_columns": "存在无法识别的列，请使用标准导入模板",
    "too_many_rows": "数据行数超过上限，请分批导入",
}


class PremisesFileError(ValueError):
    """A problem with the whole file: nothing in it can be imported."""

    def __init__(self, code: str, message: str, details=None, *, message_zh: str | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details
        self.message_zh = message_zh or _FILE_MESSAGES_ZH.get(code, "")

    def to_dict(self) -> dict:
        """Return the code, both messages and the details, ready for JSON."""
        return {key: getattr(self, key) for key in ("code", "message", "message_zh", "details")}


@dataclass(frozen=True)
class PremisesRow:
    """One good row: canonical values, WGS84 coordinates."""

    line: int
    name: str
    category: str
    ownership: str
    licence_no: str | None
    credit_code: str | None
    address: str
    lon: float
    lat: float
    risk_level: str
    credit_grade: str | None
    list_status: str
    contact_name: str | None
    contact_phone: str | None


@dataclass(frozen=True)
class RowError:
    """One thing wrong with one line; column is a canonical name, comma-joined for a pair."""

    line: int
    column: str | None
    code: str
    message: str
    message_zh: str

    def to_dict(self) -> dict:
        """Return every field, ready for JSON."""
        return asdict(self)


@dataclass
class ParsedPremises:
    """The good rows and the errors of every bad one, with the encoding the file was read in."""

    encoding: str
    rows: list[PremisesRow]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        """Return True when no row has an error."""
        return not self.errors

    def to_dict(self) -> dict:
        """Return a summary with every error, ready for JSON."""
        return {"encoding": self.encoding, "row_count": len(self.rows),
                "rejected_row_count": len({e.line for e in self.errors}),
                "error_count": len(self.errors), "errors": [e.to_dict() for e in self.errors]}


def credit_code_check_character(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a credit code."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def parse_premises_csv(data: bytes, *, categories: Mapping[str, str], coordinates: str = "wgs84",
                       max_rows: int | None = None) -> ParsedPremises:
    """Parse and check a premises CSV; raise PremisesFileError when the file as a whole is unusable.

    There is no row limit unless max_rows is given (the import works in batches).
    """
    if coordinates not in COORDINATE_SYSTEMS:
        raise ValueError(f"coordinates must be one of {COORDINATE_SYSTEMS}, not {coordinates!r}")
    text, encoding = _decode(data)
    first_line = next((ln for ln in text.splitlines() if ln.strip(" \t,;")), "")
    records = _records(text, _choose_delimiter(first_line))
    header_line, _, header = next(records, (0, 0, None))
    if header is None:
        raise PremisesFileError("empty_file", "the file holds only blank lines")
    checker = _RowChecker(_read_header(header), categories, coordinates)
    rows, count = [], 0
    for line, span, fields in records:
        count += 1
        if max_rows is not None and count > max_rows:
            raise PremisesFileError("too_many_rows", f"more than {max_rows} data rows; split the file",
                                    {"max_rows": max_rows})
        row = checker.check(line, span, fields)
        if row is not None:
            rows.append(row)
    if count == 0:
        raise PremisesFileError("no_rows", f"the header (line {header_line}) is followed by no data rows")
    return ParsedPremises(encoding=encoding, rows=rows, errors=checker.errors)


def _decode(data: bytes) -> tuple[str, str]:
    """Return the text and the encoding ("utf-8" or "gb18030"), deciding line by line."""
    bom = data.startswith(_BOM)
    body = data[len(_BOM):] if bom else data
    if not body.strip():
        raise PremisesFileError("empty_file", "the file is empty")
    if body[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
        raise PremisesFileError("encoding_unknown", "the file is an Excel workbook, not CSV; "
                                "save it from Excel as 'CSV UTF-8' or plain CSV")
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body:
        raise PremisesFileError("encoding_unknown", "the file is UTF-16 or binary, not a CSV text file; "
                                "save it from Excel as 'CSV UTF-8' or plain CSV")
    parts, utf8_lines, gb_lines, bad_lines = [], [], [], []
    # Neither UTF-8 nor GB18030 uses CR or LF inside a multi-byte character, so byte lines are
    # true lines. GB18030 accepts almost any bytes, so a line is GB only if it is not UTF-8.
    for number, raw in enumerate(body.splitlines(keepends=True), start=1):
        for encoding, found in (("utf-8", utf8_lines), ("gb18030", gb_lines)):
            try:
                parts.append(raw.decode(encoding))
            except UnicodeDecodeError:
                continue
            if not raw.isascii():  # plain ASCII lines are both, so they count for neither
                found.append(number)
            break
        else:
            bad_lines.append(number)
    if bad_lines:
        raise PremisesFileError(
            "encoding_unknown", f"{len(bad_lines)} line(s) are neither UTF-8 nor GBK/GB18030, "
            f"first line {bad_lines[0]}", {"lines": bad_lines[:MAX_LISTED_LINES]})
    if gb_lines and (utf8_lines or bom):
        utf8_shown = utf8_lines or [1]  # a UTF-8 byte-order mark on line 1 claims UTF-8
        raise PremisesFileError(
            "mixed_encodings", f"{len(utf8_shown)} line(s) are UTF-8 (first: line {utf8_shown[0]}) and "
            f"{len(gb_lines)} GBK/GB18030 (first: line {gb_lines[0]}); save the file in one encoding",
            {"utf-8": utf8_shown[:MAX_LISTED_LINES], "gb18030": gb_lines[:MAX_LISTED_LINES]})
    return "".join(parts), ("gb18030" if gb_lines else "utf-8")


def _choose_delimiter(first_line: str) -> str:
    """Return the delimiter (comma, tab or semicolon) that splits the header into most known names."""
    def known(delimiter: str) -> int:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        return sum(_header_key(c) in HEADER_NAMES for c in cells)
    return max(",\t;", key=known)  # max keeps the first (comma) on a tie


def _records(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (first line, lines spanned, fields) for each record that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if any(f.strip() for f in fields):
                yield start, end - start + 1, fields
    except csv.Error as exc:
        raise PremisesFileError("malformed_csv", f"line {end + 1}: {exc}", {"line": end + 1}) from exc


def _header_key(cell: str) -> str:
    # Templates often mark required columns with an asterisk; full-width forms fold via NFKC.
    return unicodedata.normalize("NFKC", cell).replace("\ufeff", "").strip().strip("*").strip().lower()


def _read_header(header: list[str]) -> list[tuple[str | None, str]]:
    """Return (canonical column or None for a blank cell, label as written) per header cell."""
    columns, unknown, seen = [], [], {}
    for cell in header:
        label = cell.replace("\ufeff", "").strip()
        column = HEADER_NAMES.get(_header_key(cell)) if label else None
        if label and column is None:
            unknown.append(label)
        if column:
            seen.setdefault(column, []).append(label)
        columns.append((column, label))
    missing = [c for c in REQUIRED if c not in seen]
    one_of = [] if any(c in seen for c in IDENTIFIERS) else list(IDENTIFIERS)
    if unknown:
        raise PremisesFileError(
            "unknown_columns", f"unknown column(s) {', '.join(unknown)}: is this the premises template?",
            {"columns": unknown, "missing": missing + one_of, "expected": list(COLUMNS)},
            message_zh=f"无法识别的列：{'、'.join(unknown)}，请使用标准导入模板")
    duplicated = {c: labels for c, labels in seen.items() if len(labels) > 1}
    if duplicated:
        raise PremisesFileError("duplicate_columns", "more than one column for " + ", ".join(
            f"{c} ({' / '.join(labels)})" for c, labels in duplicated.items()), {"columns": duplicated})
    if missing or one_of:
        wanted = missing + ([" or ".join(one_of)] if one_of else [])
        wanted_zh = [_ALIASES[c][0] for c in missing] + (["许可证号或统一社会信用代码"] if one_of else [])
        raise PremisesFileError("missing_columns", f"missing column(s): {', '.join(wanted)}",
                                {"columns": missing, "one_of": one_of},
                                message_zh=f"缺少必需的列：{'、'.join(wanted_zh)}")
    return columns


def _fold(value: str) -> str:
    """Return a code-like value with full-width forms folded and surrounding space removed."""
    return unicodedata.normalize("NFKC", value).strip()


class _RowChecker:
    """Check rows one by one, collecting errors and remembering identifiers already seen."""

    def __init__(self, columns, categories: Mapping[str, str], coordinates: str):
        self.columns = columns
        self.labels = {column: label for column, label in columns if column}
        self.categories = {_fold(k).lower(): v for k, v in categories.items()}
        self.coordinates = coordinates
        self.errors: list[RowError] = []
        self.first_seen: dict[tuple[str, str], int] = {}

    def error(self, line, column, code, message, message_zh) -> None:
        self.errors.append(RowError(line, column, code, message, message_zh))

    def label(self, column: str) -> str:
        return "、".join(f"「{self.labels.get(c, c)}」" for c in column.split(","))

    def check(self, line: int, span: int, fields: list[str]) -> PremisesRow | None:
        """Return the row when it is good; otherwise record its errors and return None."""
        before = len(self.errors)
        width = len(self.columns)
        if len(fields) < width or any(f.strip() for f in fields[width:]):
            hint = f" (it spans lines {line}-{line + span - 1}: an unclosed quote?)" if span > 1 else ""
            self.error(line, None, "field_count", f"the row has {len(fields)} fields, the header "
                       f"has {width}{hint}", f"该行有 {len(fields)} 列，表头有 {width} 列")
            return None
        pairs = [(column, raw.strip()) for (column, _), raw in zip(self.columns, fields)]
        values = {column: value for column, value in pairs if column}
        if any(value and not column for column, value in pairs):
            self.error(line, None, "unnamed_column_value", "a value under a column with no header",
                       "表头为空的列中有数据")
        get = values.get
        for column in REQUIRED:
            if not get(column):
                self.error(line, column, "required", f"{column} is required",
                           f"{self.label(column)}为必填项")
        if not get("licence_no") and not get("credit_code"):
            self.error(line, "licence_no,credit_code", "missing_identifier", "give a licence number "
                       "or a credit code", f"{self.label('licence_no,credit_code')}至少填写一项")
        for column, limit in MAX_LENGTH.items():
            if len(get(column) or "") > limit:
                self.error(line, column, "too_long", f"{column} is longer than {limit} characters",
                           f"{self.label(column)}超过 {limit} 个字符")
        category = self.enum(line, "category", get("category"), self.categories)
        ownership = self.enum(line, "ownership", get("ownership"), OWNERSHIP)
        risk_level = self.enum(line, "risk_level", get("risk_level"), RISK_LEVELS) or "medium"
        credit_grade = self.enum(line, "credit_grade", get("credit_grade"), CREDIT_GRADES)
        list_status = self.enum(line, "list_status", get("list_status"), LIST_STATUSES) or "none"
        licence_no = _fold(get("licence_no") or "") or None
        credit_code = self.credit_code(line, get("credit_code") or "")
        self.duplicates(line, licence_no, credit_code)
        point = self.point(line, get("lon") or "", get("lat") or "")
        if len(self.errors) > before:
            return None
        return PremisesRow(
            line=line, name=get("name"), category=category, ownership=ownership,
            licence_no=licence_no, credit_code=credit_code, address=get("address"),
            lon=point[0], lat=point[1], risk_level=risk_level, credit_grade=credit_grade,
            list_status=list_status, contact_name=get("contact_name") or None,
            contact_phone=_fold(get("contact_phone") or "") or None)

    def enum(self, line: int, column: str, raw: str | None, accepted: Mapping[str, str]) -> str | None:
        """Return the canonical value of a blank-or-known spelling, or record an error."""
        if not raw:
            return None
        value = accepted.get(_fold(raw).lower())
        if value is None:
            known = ", ".join(sorted(set(accepted.values())))
            self.error(line, column, f"unknown_{column}", f"unknown {column} {raw!r}; accepted: {known}",
                       f"{self.label(column)}的值“{raw}”无法识别")
        return value

    def credit_code(self, line: int, raw: str) -> str | None:
        """Return the folded, upper-case credit code, recording any error in it."""
        code = re.sub(r"\s+", "", _fold(raw)).upper()
        if not code:
            return None
        zh = f"{self.label('credit_code')}“{raw}”"
        if len(code) != 18:
            hint = ("; Excel turned it into a number: format the column as text"
                    if _EXCEL_NUMBER.fullmatch(code) else "")
            self.error(line, "credit_code", "credit_code_length", f"credit code {raw!r} has "
                       f"{len(code)} characters, not 18{hint}", f"{zh}不是 18 位")
        elif bad := sorted({c for c in code if c not in CREDIT_CODE_ALPHABET}):
            self.error(line, "credit_code", "credit_code_characters", f"credit code {raw!r} contains "
                       f"{', '.join(bad)}, never used in credit codes (no I, O, S, V, Z)",
                       f"{zh}含有无效字符 {''.join(bad)}")
        elif code[17] != credit_code_check_character(code[:17]):
            self.error(line, "credit_code", "credit_code_check", f"credit code {raw!r} fails its "
                       "check character: a character is mistyped", f"{zh}校验位不正确，请核对")
        return code

    def duplicates(self, line: int, licence_no: str | None, credit_code: str | None) -> None:
        """Record an error for an identifier already given on an earlier line."""
        for column, value, what in (("licence_no", licence_no, "licence number"),
                                    ("credit_code", credit_code, "credit code")):
            earlier = self.first_seen.setdefault((column, value), line) if value else line
            if earlier != line:
                self.error(line, column, f"duplicate_{column}", f"same {what} {value} as line {earlier}",
                           f"{self.label(column)}与第 {earlier} 行重复")

    def point(self, line: int, raw_lon: str, raw_lat: str) -> tuple[float, float] | None:
        """Return the WGS84 point, or None after recording why the coordinates are unusable."""
        lon, lat = self.number(line, "lon", raw_lon), self.number(line, "lat", raw_lat)
        if lon is None or lat is None:
            return None
        swapped = abs(lon) <= 90 and not outside_china(lat, lon)
        hint, hint_zh = (" — swapped lon/lat?", "，经纬度是否填反？") if swapped else ("", "")
        if abs(lon) > 180 or abs(lat) > 180:
            self.error(line, "lon" if abs(lon) > 180 else "lat", "projected_coordinates",
                       f"({raw_lon}, {raw_lat}) look like projected coordinates in metres; "
                       "give longitude/latitude in decimal degrees",
                       "坐标像是投影坐标（米），请填写经纬度（十进制度）")
        elif abs(lat) > 90:
            self.error(line, "lat", "out_of_range", f"latitude {raw_lat} is outside -90..90{hint}",
                       f"{self.label('lat')}超出范围{hint_zh}")
        elif outside_china(lon, lat):
            self.error(line, "lon,lat", "outside_china", f"({raw_lon}, {raw_lat}) is outside China{hint}",
                       f"坐标不在中国境内{hint_zh}")
        else:
            return gcj02_to_wgs84(lon, lat) if self.coordinates == "gcj02" else (lon, lat)
        return None

    def number(self, line: int, column: str, raw: str) -> float | None:
        """Return raw as a finite float; record an error unless it is blank (already required)."""
        if not raw:
            return None
        try:
            value = float(_fold(raw))
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return value
        hint = "; give decimal degrees such as 106.8" if "°" in raw else ""
        self.error(line, column, "not_a_number", f"{column} {raw!r} is not a number{hint}",
                   f"{self.label(column)}“{raw}”不是数字")
        return None
