"""Russian texts: money, dates, variables per kind, merchants' own templates."""

from __future__ import annotations

import pytest

from cloud.messages.providers import sms_parts
from cloud.messages.templates import KINDS, TemplateError, check_template, day, money, render


def test_money_and_dates_are_written_the_russian_way() -> None:
    """Kopecks become «150 ₽» / «150,50 ₽» (thin grouping of thousands), ISO dates
    «31.12.2026»."""
    assert money(15000) == "150 ₽"
    assert money(15050) == "150,50 ₽"
    assert money(123456789) == "1\u00a0234\u00a0567,89 ₽"
    assert day("2026-12-31") == "31.12.2026"


def test_each_kind_renders_from_its_params() -> None:
    """Every supported kind has a default text that renders from the params a job writes."""
    params = {"amount": 30000, "expires_on": "2026-12-31", "until": "2026-12-31",
              "tier": "Золото", "level": 2, "text": "Скидки выходного дня",
              "link": "https://loyalty.example/feedback/1.x"}  # fmt: skip
    for kind in KINDS:
        text = render(kind, params, "Салон «Лотос»", None)
        assert "{" not in text and text
    assert render("expiry_warning", params, "Лотос", None) == (
        "Лотос: 300 ₽ бонусами сгорят после 31.12.2026. Успейте потратить!"
    )
    # Bonuses that never lapse: the date is left out, not rendered as a hole.
    assert render("bonuses_activated", {**params, "until": ""}, "Лотос", None) == (
        "Лотос: вам доступно 300 ₽ бонусами."
    )
    assert render("bonuses_activated", params, "Лотос", None) == (
        "Лотос: вам доступно 300 ₽ бонусами до 31.12.2026."
    )


def test_missing_or_bad_param_and_unknown_kind_are_errors() -> None:
    """A message whose params do not fit its template is not sent with a hole in it."""
    with pytest.raises(TemplateError):
        render("birthday_gift", {"amount": 100}, "М", None)
    with pytest.raises(TemplateError):
        render("birthday_gift", {"amount": "много", "expires_on": "2026-01-01"}, "М", None)
    with pytest.raises(TemplateError):
        render("nonsense", {}, "М", None)


def test_merchant_template_may_use_only_the_kinds_variables() -> None:
    """A merchant's template is checked when saved: unknown variables, attributes or
    unbalanced braces are refused; a valid one renders."""
    check_template("birthday_gift", "{merchant}: подарок {amount} до {expires_on}")
    for bad in ("{balance}", "{amount.real}", "{amount!r}", "{amount:>10}", "скобка {"):
        with pytest.raises(TemplateError):
            check_template("birthday_gift", bad)
    assert render("tier_changed", {"tier": "VIP"}, "М", "Ура, {tier}!") == "Ура, VIP!"


def test_sms_parts_count_like_a_gateway() -> None:
    """Cyrillic: 70 characters in one SMS, 67 per part beyond; Latin 160 / 153."""
    assert sms_parts("я" * 70) == 1
    assert sms_parts("я" * 71) == 2
    assert sms_parts("a" * 160) == 1 and sms_parts("a" * 161) == 2


def test_message_settings_refuse_what_cannot_work() -> None:
    """SMS.ru without its api_id and malformed quiet hours are refused at start; an
    empty quiet-hours setting turns them off."""
    from pydantic import ValidationError

    from cloud.settings import Settings

    with pytest.raises(ValidationError, match="SMSRU_API_ID"):
        Settings(sms_provider="smsru")
    with pytest.raises(ValidationError):
        Settings(quiet_hours="21-9")
    assert Settings(quiet_hours="").quiet_hours == ""
    assert Settings(sms_provider="smsru", smsru_api_id="k").sms_provider == "smsru"
