"""The overall verdict of "what may be built here?": the most restrictive rule among zones with a real share."""

from __future__ import annotations

import pytest

from spatial import layers
from spatial.errors import InvalidParameter
from spatial.queries.check import (
    DEFAULT_MIN_SHARE_PCT,
    USE_CATEGORIES,
    VERDICT_ORDER,
    ZoneVerdict,
    check_min_share,
    check_use,
    overall_verdict,
    reasons,
)


def zone(code: str, share: float, verdict: str, kind: str = "region") -> ZoneVerdict:
    rule = None if verdict == "no_rule" else {"code": f"RULE-{code}", "note_vi": "ghi chú", "note_en": "note"}
    return ZoneVerdict(code, f"Vùng {code}", f"Region {code}", kind, share, verdict, rule)


def test_most_restrictive_meaningful_zone_decides() -> None:
    zones = [zone("R1", 60, "allowed"), zone("R3", 40, "prohibited")]
    verdict, deciding = overall_verdict(zones, DEFAULT_MIN_SHARE_PCT)
    assert verdict == "prohibited"
    assert [z.code for z in deciding] == ["R3"]


def test_conditional_beats_allowed_and_all_deciding_zones_are_listed() -> None:
    zones = [zone("R1", 50, "conditional"), zone("C1", 30, "conditional", "centre"), zone("R2", 20, "allowed")]
    verdict, deciding = overall_verdict(zones, 5)
    assert verdict == "conditional"
    assert [z.code for z in deciding] == ["R1", "C1"]


def test_a_sliver_under_the_threshold_does_not_decide_but_the_threshold_itself_does() -> None:
    assert overall_verdict([zone("R1", 95.5, "allowed"), zone("R3", 4.5, "prohibited")], 5)[0] == "allowed"
    assert overall_verdict([zone("R1", 95, "allowed"), zone("R3", 5, "prohibited")], 5)[0] == "prohibited"
    assert overall_verdict([zone("R1", 99.99, "allowed"), zone("R3", 0.01, "prohibited")], 0)[0] == "prohibited"


def test_zones_without_a_rule_never_decide() -> None:
    assert overall_verdict([zone("Z", 100, "no_rule", "industrial")], 5) == ("unknown", [])
    assert overall_verdict([zone("Z", 80, "no_rule"), zone("R2", 20, "allowed")], 5)[0] == "allowed"
    assert overall_verdict([], 5) == ("unknown", [])


def test_reasons_name_the_deciding_zone_and_the_ignored_sliver_in_both_languages() -> None:
    zones = [zone("R1", 96, "allowed"), zone("R3", 4, "prohibited")]
    verdict, deciding = overall_verdict(zones, 5)
    out = reasons("industrial", zones, verdict, deciding, 5)
    assert len(out) == 2
    assert out[0]["en"] == "Region R1 (96% of the parcel): Industry — allowed. note"
    assert out[0]["vi"].startswith("Vùng R1 (96% thửa): Công nghiệp — được phép.")
    assert "Region R3 covers only 4% of the parcel (under 5%)" in out[1]["en"]
    assert "dưới 5%" in out[1]["vi"]


def test_unknown_verdict_says_why() -> None:
    out = reasons("tourism", [], "unknown", [], 5)
    assert len(out) == 1 and "No rule for tourism covers at least 5% of the parcel" in out[0]["en"]


def test_bad_use_and_share_are_parameter_errors() -> None:
    assert check_use("industrial") == "industrial"
    with pytest.raises(InvalidParameter) as err:
        check_use("casino")
    assert err.value.parameter == "use" and "industrial" in str(err.value)
    assert check_min_share(0) == 0 and check_min_share(100) == 100
    for bad in (-0.1, 100.1):
        with pytest.raises(InvalidParameter) as err:
            check_min_share(bad)
        assert err.value.parameter == "min_share_pct"


def test_every_use_category_of_the_registry_is_named_and_verdicts_run_least_to_most_restrictive() -> None:
    assert tuple(USE_CATEGORIES) == layers.USE_CATEGORIES
    assert all(vi and en for vi, en in USE_CATEGORIES.values())
    assert VERDICT_ORDER == ("allowed", "conditional", "prohibited")


def test_shares_in_reasons_read_with_one_decimal_at_most() -> None:
    zones = [zone("R1", 50.5055, "allowed"), zone("R3", 49.4945, "conditional")]
    verdict, deciding = overall_verdict(zones, 5)
    out = reasons("residential", zones, verdict, deciding, 5)
    assert out[0]["en"].startswith("Region R3 (49.5% of the parcel)")
    assert "(50.5%" not in out[0]["en"] and len(out) == 1
