"""The program form's mapping, without a server: what is typed lands at its path in the
document, and every refusal is named by the input it belongs beside."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cloud.cabinet import program_forms as forms
from schemas.program import Program
from tests.conftest import DEMO_PROGRAM

BASE: dict[str, Any] = json.loads(DEMO_PROGRAM.read_text())


def _form(**changes: str) -> dict[str, str]:
    values = {k: v for k, v in forms.shown(BASE).items() if v}
    values.update(changes)
    return values


@given(st.decimals(min_value=0, max_value=100, places=2), st.integers(0, 2))
def test_a_rate_typed_with_a_comma_is_the_tiers_rate(rate: Decimal, tier: int) -> None:
    """Any rate 0…100 with two places, typed with a comma, becomes that tier's accrual
    percentage exactly; the rest of the document is unchanged."""
    typed = f"{rate:f}".replace(".", ",")
    program, errors, _ = forms.apply(BASE, _form(**{f"tiers.{tier}.accrual_percent": typed}))
    assert not errors and program is not None
    assert program.tiers[tier].accrual_percent == rate
    others = [t.accrual_percent for i, t in enumerate(program.tiers) if i != tier]
    assert others == [Decimal(t["accrual_percent"]) for i, t in enumerate(BASE["tiers"])
                      if i != tier]  # fmt: skip


@given(st.decimals(min_value=Decimal("100.01"), max_value=Decimal("10000"), places=2))
def test_a_rate_over_100_is_refused_beside_its_input(rate: Decimal) -> None:
    """A rate over 100 % is refused with a Russian message under that very input."""
    program, errors, values = forms.apply(
        BASE, _form(**{"tiers.1.max_redeem_percent": f"{rate:f}"})
    )
    assert program is None
    expected = "должно быть не больше 100" if rate < 1000 else (
        "слишком много цифр до запятой (максимум 3)")  # fmt: skip
    assert errors == {"tiers.1.max_redeem_percent": expected}
    assert values["tiers.1.max_redeem_percent"] == f"{rate:f}"


def test_an_unticked_box_turns_a_setting_off_and_a_document_error_has_no_input() -> None:
    """A checkbox not sent is «off»; a rule over the whole document (thresholds that do
    not grow) is reported under the empty name, shown above the form."""
    program, errors, _ = forms.apply(BASE, _form(no_accrual_when_redeeming="on"))
    assert program is not None and program.no_accrual_when_redeeming
    program, _, _ = forms.apply(BASE, _form())
    assert program is not None and not program.no_accrual_when_redeeming
    _, errors, _ = forms.apply(BASE, _form(**{"tiers.2.purchases_over": "100"}))
    assert errors == {"": "пороги уровней должны возрастать"}


def test_every_fixture_program_survives_its_own_form_unchanged() -> None:
    """Each of the fixture programs, rendered as the form and posted back untouched, is
    the same document: nothing the form does not show (referrals by «1 bonus per N
    roubles», modifiers, promotions) is lost, and nothing shown is altered."""
    for path in sorted(DEMO_PROGRAM.parent.glob("*.json")):
        base = json.loads(Program.model_validate_json(path.read_text()).model_dump_json())
        form = {k: v for k, v in forms.shown(base).items() if v}
        program, errors, _ = forms.apply(base, form)
        assert not errors and program is not None, (path.name, errors)
        assert json.loads(program.model_dump_json()) == base, path.name
