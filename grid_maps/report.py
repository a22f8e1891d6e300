"""Validation reports: problems found in a grid map and repairs made to it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .levels import KNOWN_LEVELS as LEVELS  # every level code a map may use, top to bottom

ERROR = "error"
WARNING = "warning"

# Short Chinese wording shown beside the English message in the import screen.
MESSAGES_ZH = {
    "malformed_json": "文件不是有效的 JSON",
    "not_feature_collection": "文件不是 GeoJSON FeatureCollection",
    "empty_collection": "文件中没有任何要素",
    "invalid_feature": "要素格式错误",
    "missing_property": "缺少必填属性（编码或名称）",
    "not_polygon": "几何类型不是面（Polygon/MultiPolygon）",
    "empty_geometry": "几何图形为空",
    "invalid_geometry": "几何图形无效（如自相交）",
    "coordinates_out_of_range": "坐标超出经纬度范围，请转换为 WGS84 经纬度",
    "crs_not_wgs84": "坐标系不是 WGS84（EPSG:4326）",
    "duplicate_code": "网格编码重复",
    "unknown_parent": "上级网格编码不存在",
    "no_parent": "找不到包含该网格的上级网格",
    "overlap": "同级网格相互重叠",
    "gap": "上级网格内存在未被下级网格覆盖的空隙",
    "outside_parent": "网格超出上级网格范围",
    "sliver_overlap": "同级网格存在细小重叠",
    "sliver_gap": "上级网格内存在细小空隙",
    "sliver_outside_parent": "网格细小部分超出上级网格",
    "parent_without_children": "上级网格没有下级网格",
}


@dataclass
class Problem:
    """One thing wrong with a grid map file, located as precisely as known."""

    code: str
    severity: str
    message: str
    cell_code: str | None = None
    feature_index: int | None = None
    other_code: str | None = None
    point: tuple[float, float] | None = None
    bbox: tuple[float, float, float, float] | None = None
    area_m2: float | None = None
    message_zh: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in (ERROR, WARNING):
            raise ValueError(f"severity must be 'error' or 'warning', not {self.severity!r}")
        if self.message_zh is None:
            self.message_zh = MESSAGES_ZH.get(self.code)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict with every field (None where unknown)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "message_zh": self.message_zh,
            "cell_code": self.cell_code,
            "feature_index": self.feature_index,
            "other_code": self.other_code,
            "point": list(self.point) if self.point is not None else None,
            "bbox": list(self.bbox) if self.bbox is not None else None,
            "area_m2": self.area_m2,
        }


@dataclass
class Repair:
    """One change made to a cell's geometry when validating with repair=True."""

    cell_code: str
    action: str  # "make_valid" | "snap_to_parent" | "clip_to_parent"
    message: str

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {"cell_code": self.cell_code, "action": self.action, "message": self.message}


@dataclass
class ValidationReport:
    """Collect the problems and repairs of one grid map import."""

    problems: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    cell_count: int = 0

    @property
    def errors(self) -> list[Problem]:
        """Return the problems that block an import."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Return the problems that do not block an import."""
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        """Return True when there is no error."""
        return not any(p.severity == ERROR for p in self.problems)

    def error(self, code: str, message: str, **where) -> Problem:
        """Record an error and return it."""
        problem = Problem(code, ERROR, message, **where)
        self.problems.append(problem)
        return problem

    def warning(self, code: str, message: str, **where) -> Problem:
        """Record a warning and return it."""
        problem = Problem(code, WARNING, message, **where)
        self.problems.append(problem)
        return problem

    def to_dict(self) -> dict:
        """Return a JSON-ready dict: ok, cell_count, errors, warnings, repairs."""
        return {
            "ok": self.ok,
            "cell_count": self.cell_count,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "repairs": [r.to_dict() for r in self.repairs],
        }


class GeoJSONError(ValueError):
    """Signal that a whole GeoJSON file cannot be read."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict:
        """Return a JSON-ready dict with code, message and message_zh."""
        return {"code": self.code, "message": self.message, "message_zh": MESSAGES_ZH.get(self.code)}
