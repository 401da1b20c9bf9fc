"""The fixed lists of DOMAIN.md §3 that forms and records use, checked against the sources."""

from __future__ import annotations

import json
from pathlib import Path

from app.services.platform.catalogue_data import CATALOGUES

ROOT = Path(__file__).resolve().parents[2]


def _names(kind: str) -> dict[str, str]:
    return {code: name for code, name, _parent in CATALOGUES[kind]}


def test_levels_and_categories_of_physicians() -> None:
    # 医师法 第八条; 医师执业注册管理办法 第七条: two levels, four categories; the
    # 卫统 codes 11 = 执业医师, 12 = 执业助理医师 [S6]
    assert _names("physician_level") == {"11": "执业医师", "12": "执业助理医师"}
    assert set(_names("practice_category").values()) == {"临床", "口腔", "公共卫生", "中医"}


def test_education_and_title_lists_of_the_info_change() -> None:
    # DOMAIN §3 [S6]: 学历 and 任职资格 as the national lists give them
    form = json.loads((ROOT / "forms" / "info_change_apply.json").read_text("utf-8"))
    props = form["properties"]
    assert props["title"]["enum"] == ["主任医师", "副主任医师", "主治医师", "医师", "医士", "无"]
    assert props["education"]["enum"] == ["研究生（博士）", "研究生（硕士）", "大学本科", "大学专科",
                                          "中专", "其他"]
