"""A map's levels and root: known codes top to bottom, at most five; bad declarations are
refused naming why."""

import pytest

from grid_maps.levels import LevelsError, default_levels, normalise_levels, read_root


def refused(declared, reader=normalise_levels):
    with pytest.raises(LevelsError) as caught:
        reader(declared)
    return caught.value.code, caught.value.message


def test_the_default_is_district_street_community_with_chinese_and_english_labels():
    assert [(l["code"], l["zh"], l["en"]) for l in default_levels()] == [
        ("district", "区/县", "District"), ("street", "街道/镇", "Street / town"),
        ("community", "社区/村", "Community / village")]


def test_five_levels_from_province_down_with_a_renamed_level():
    levels = normalise_levels(["province", "city", {"code": "district", "zh": "旗", "en": "Banner"},
                               "street", "community"])
    assert [l["code"] for l in levels] == ["province", "city", "district", "street", "community"]
    assert (levels[0]["zh"], levels[1]["zh"], levels[2]["zh"]) == ("省", "市", "旗")


@pytest.mark.parametrize("declared, code, words", [
    ([], "levels_invalid", "non-empty"),
    (["province", "city", "district", "street", "community", "community"], "levels_too_deep",
     "at most 5"),
    (["county", "street"], "unknown_level", "unknown level 'county'"),
    (["street", "district"], "levels_out_of_order", "must go down the grid"),
    (["city", "city"], "levels_invalid", "repeat"),
    ([{"code": "city", "zh": ""}], "levels_invalid", "labels"),
    ([{"code": "city", "colour": "red"}], "levels_invalid", "unknown key"),
    ([3], "levels_invalid", "levels[0]"),
])
def test_bad_levels_are_refused_naming_the_problem(declared, code, words):
    got_code, message = refused(declared)
    assert got_code == code and words in message


def test_a_root_needs_code_name_and_a_known_level():
    root = read_root({"code": "156150300", "name": "乌海市", "level": "city"})
    assert (root.code, root.name, root.level, root.geometry) == ("156150300", "乌海市", "city", None)
    assert refused({"code": "X", "name": "甲", "level": "nation"}, read_root)[0] == "unknown_level"
    assert refused({"code": "", "name": "甲", "level": "city"}, read_root)[0] == "root_invalid"
    assert refused({"code": "X", "level": "city"}, read_root)[0] == "root_invalid"
    assert refused({"code": "X", "name": "甲", "level": "city", "geometry": "box"},
                   read_root)[0] == "root_invalid"
    assert refused(["X"], read_root)[0] == "root_invalid"
