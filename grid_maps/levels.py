"""Grid levels: the known level codes, top to bottom, and a map's own list of them.

A map declares its levels as an ordered list of known codes (top first), each with zh/en
labels that may override the defaults (e.g. 旗 / Banner for a district in Inner Mongolia).
Codes come from one vocabulary so that rule tables (escalation) can name a level and know
which is higher without reading any map.
"""

from __future__ import annotations

from dataclasses import dataclass

KNOWN_LEVELS = ("province", "city", "district", "street", "community")  # top to bottom
DEFAULT_LEVELS = ("district", "street", "community")
MAX_DEPTH = 5
DEFAULT_LABELS = {
    "province": ("省", "Province"),
    "city": ("市", "City"),
    "district": ("区/县", "District"),
    "street": ("街道/镇", "Street / town"),
    "community": ("社区/村", "Community / village"),
}
LABEL_MAX = 32


class LevelsError(ValueError):
    """A declaration of levels or of a root that cannot be used; code names the problem."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def rank(level: str) -> int:
    """Return a known level's place from the top (province 0 … community 4)."""
    return KNOWN_LEVELS.index(level)


def normalise_levels(declared) -> list[dict]:
    """Return [{"code", "zh", "en"}, ...] top to bottom from codes or dicts, or raise LevelsError.

    Refuses: no levels, more than MAX_DEPTH, unknown codes, repeats, an order other than
    province → city → district → street → community (levels may be left out), bad labels.
    """
    if not isinstance(declared, (list, tuple)) or not declared:
        raise LevelsError("levels_invalid", "levels must be a non-empty list of level codes")
    if len(declared) > MAX_DEPTH:
        raise LevelsError("levels_too_deep",
                          f"a map has at most {MAX_DEPTH} levels, not {len(declared)}")
    levels = []
    for n, item in enumerate(declared):
        entry = {"code": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            raise LevelsError("levels_invalid", f"levels[{n}] must be a code or "
                                                "{\"code\", \"zh\", \"en\"}")
        code = entry["code"]
        if code not in KNOWN_LEVELS:
            raise LevelsError("unknown_level", f"levels[{n}]: unknown level {code!r}; "
                                               f"expected one of {list(KNOWN_LEVELS)}")
        unknown_keys = sorted(set(entry) - {"code", "zh", "en"})
        if unknown_keys:
            raise LevelsError("levels_invalid", f"levels[{n}]: unknown key(s) {unknown_keys}")
        zh, en = DEFAULT_LABELS[code]
        zh, en = entry.get("zh", zh), entry.get("en", en)
        for label in (zh, en):
            if not isinstance(label, str) or not 1 <= len(label.strip()) <= LABEL_MAX:
                raise LevelsError("levels_invalid",
                                  f"levels[{n}]: labels must be text of 1..{LABEL_MAX} characters")
        levels.append({"code": code, "zh": zh.strip(), "en": en.strip()})
    codes = [level["code"] for level in levels]
    if len(set(codes)) != len(codes):
        raise LevelsError("levels_invalid", f"levels repeat a code: {codes}")
    if [rank(c) for c in codes] != sorted(rank(c) for c in codes):
        raise LevelsError("levels_out_of_order",
                          f"levels must go down the grid ({' → '.join(KNOWN_LEVELS)}), "
                          f"not {' → '.join(codes)}")
    return levels


def level_codes(levels) -> list[str]:
    """Return the codes of a normalised list of levels, top first."""
    return [level["code"] for level in levels]


def default_levels() -> list[dict]:
    """Return the levels of a map that declares none: district → street → community."""
    return normalise_levels(list(DEFAULT_LEVELS))


@dataclass(frozen=True)
class RootSpec:
    """A root cell declared over a map's top level: code, name, level, optional geometry."""

    code: str
    name: str
    level: str
    geometry: dict | None = None


def read_root(spec) -> RootSpec:
    """Return the RootSpec a dict declares, or raise LevelsError naming what is wrong."""
    if not isinstance(spec, dict):
        raise LevelsError("root_invalid", "root must be an object with code, name and level")
    unknown_keys = sorted(set(spec) - {"code", "name", "level", "geometry"})
    if unknown_keys:
        raise LevelsError("root_invalid", f"root: unknown key(s) {unknown_keys}")
    code, name, level = spec.get("code"), spec.get("name"), spec.get("level")
    if not isinstance(code, str) or not 1 <= len(code.strip()) <= 64:
        raise LevelsError("root_invalid", "root.code must be text of 1..64 characters")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
        raise LevelsError("root_invalid", "root.name must be text of 1..128 characters")
    if level not in KNOWN_LEVELS:
        raise LevelsError("unknown_level", f"root.level: unknown level {level!r}; "
                                           f"expected one of {list(KNOWN_LEVELS)}")
    geometry = spec.get("geometry")
    if geometry is not None and not isinstance(geometry, dict):
        raise LevelsError("root_invalid", "root.geometry must be a GeoJSON geometry object")
    return RootSpec(code.strip(), name.strip(), level, geometry)
