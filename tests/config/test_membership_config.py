"""``config/membership.yaml``: the shipped file, tier lookups, and refusals of bad files."""

from __future__ import annotations

import pytest

from config.membership import Basis, Mode, load_membership, membership_from


def test_the_shipped_file():
    rules = membership_from(None)
    assert [t.id for t in rules.tiers] == ["普通会员", "高级会员", "VIP会员", "尊贵VIP会员"]
    assert (rules.basis, rules.mode, rules.window_days) == (Basis.SPEND, Mode.UPGRADE_ONLY, 365)
    assert rules.tier_for(0, 0) is None, "no order, no tier"
    assert rules.tier_for(0, 1).id == "普通会员"
    assert rules.tier_for(499.99, 3).id == "普通会员"
    assert rules.tier_for(2000, 1).id == "VIP会员"
    assert rules.tier("VIP会员").name("en") == "VIP member"
    assert rules.tier("VIP会员").benefit("zh-CN").startswith("全场 9 折")
    assert [rules.is_member(t) for t in (None, "普通会员", "高级会员", "尊贵VIP会员")] == [
        False,
        False,
        True,
        True,
    ]
    assert rules.stages.churned_days == 180 and rules.satisfaction.low_score == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("tiers: []", "at least one tier"),
        ("tiers: [{id: a, min: 5}, {id: b, min: 1}]", "lowest first"),
        ("members_from: x\ntiers: [{id: a, min: 0}]", "members_from"),
        ("mode: sometimes\ntiers: [{id: a, min: 0}]", "sometimes"),
        ("tiers: [{min: 0}]", "tier"),
    ],
)
def test_bad_files_are_refused(tmp_path, text, error):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_membership(path)
