"""The program document as cabinet form fields, and back.

Every input is named by its path in the document (``tiers.1.accrual_percent``,
``gifts.welcome.amount``), so a pydantic error's ``loc`` names the input it belongs
beside. A form is applied over the document it was rendered from (the draft, else the
live version): what the form does not show (modifiers, promotions, coupons…) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from cloud.validation import error_message
from schemas.program import Program

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Field:
    path: Path
    label: str
    kind: str
    """``percent``, ``money`` (roubles), ``int``, ``bool``, ``text`` or ``choice``."""
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return ".".join(str(part) for part in self.path)


KINDS = (("bonus", "бонусы"), ("discount", "скидка"), ("bonus_and_discount", "бонусы и скидка"))
BASES = (("money_paid", "на оплаченное деньгами"), ("whole_receipt", "на весь чек"))
ROUNDING = (
    ("floor_kopeck", "вниз до копейки"), ("floor_bonus", "вниз до целого бонуса"),
    ("half_up_kopeck", "до копейки по правилам округления"),
)  # fmt: skip
TIER_FIELDS = (
    ("name", "Название", "text"), ("accrual_percent", "Начисление, %", "percent"),
    ("discount_percent", "Скидка, %", "percent"),
    ("max_redeem_percent", "Оплата бонусами до, % чека", "percent"),
    ("purchases_over", "Покупки за всё время больше, ₽", "money"),
)  # fmt: skip
CATEGORY_FIELDS = (
    ("accrual", "Начислять", "bool"), ("redemption", "Оплата бонусами", "bool"),
    ("discount", "Скидка", "bool"), ("accrual_percent", "Свой процент начисления", "percent"),
    ("max_redeem_percent", "Своя доля оплаты бонусами, %", "percent"),
)  # fmt: skip
GENERAL = (
    Field(("kind",), "Тип программы", "choice", KINDS),
    Field(("accrual_base",), "Бонусы начисляются", "choice", BASES),
    Field(("accrual_rounding",), "Округление начисления", "choice", ROUNDING),
    Field(("no_accrual_when_redeeming",), "Не начислять на чек, оплаченный бонусами", "bool"),
    Field(("redeem_step",), "Шаг списания, ₽", "money"),
    Field(("redeem_requires_sms_code",), "Списание по коду из SMS", "bool"),
)
LIFETIME = (
    Field(("activation_delay_days",), "Бонусы доступны через, дней", "int"),
    Field(("lifetime_days",), "Бонусы сгорают через, дней (пусто — не сгорают)", "int"),
    Field(("expiry_warning_days",), "Предупредить о сгорании за, дней", "int"),
)
GIFTS = (
    Field(("gifts", "welcome", "amount"), "Приветственные бонусы, ₽ (пусто — нет)", "money"),
    Field(("gifts", "welcome", "on_self_registration"), "И при самостоятельной регистрации",
          "bool"),
    Field(("gifts", "welcome", "valid_days"), "Приветственные сгорают через, дней", "int"),
    Field(("gifts", "birthday", "amount"), "Бонусы ко дню рождения, ₽ (пусто — нет)", "money"),
    Field(("gifts", "birthday", "days_before"), "За сколько дней до дня рождения", "int"),
    Field(("gifts", "birthday", "valid_days"), "Бонусы ко дню рождения сгорают через, дней",
          "int"),
)  # fmt: skip
REFERRALS = (
    Field(("gifts", "referral", "levels", 0, "accrual_percent"),
          "Пригласившему, % покупок друга (пусто — нет программы)", "percent"),
    Field(("gifts", "referral", "referee_bonus"), "Приглашённому на старт, ₽", "money"),
)  # fmt: skip
OPTIONAL_OBJECTS: dict[str, Path] = {
    "gifts.welcome.amount": ("gifts", "welcome"),
    "gifts.birthday.amount": ("gifts", "birthday"),
    "gifts.referral.levels.0.accrual_percent": ("gifts", "referral"),
}
"""A gift whose key input is left empty is removed from the document."""


NEW_TIER = (
    Field(("new_tier", "code"), "Код (латиницей, например vip)", "text"),
    *(Field(("new_tier", key), label, kind) for key, label, kind in TIER_FIELDS),
)
NEW_CATEGORY = (
    Field(("new_category", "code"), "Код категории (как в кассе)", "text"),
    *(Field(("new_category", key), label, kind) for key, label, kind in CATEGORY_FIELDS),
)


def tier_fields(document: dict[str, Any]) -> list[list[Field]]:
    return [
        [Field(("tiers", i, key), label, kind) for key, label, kind in TIER_FIELDS]
        for i in range(len(document["tiers"]))
    ]


def category_fields(document: dict[str, Any]) -> list[tuple[str, list[Field]]]:
    return [
        (code, [Field(("categories", code, key), label, kind)
                for key, label, kind in CATEGORY_FIELDS])
        for code in sorted(document.get("categories", {}))
    ]  # fmt: skip


def all_fields(document: dict[str, Any]) -> list[Field]:
    fields = [*GENERAL, *LIFETIME, *GIFTS, *REFERRALS]
    for row in tier_fields(document):
        fields.extend(row)
    for _, row in category_fields(document):
        fields.extend(row)
    return fields


def _get(document: Any, path: Path) -> Any:
    for part in path:
        if isinstance(document, dict):
            document = document.get(str(part))
        elif isinstance(document, list) and isinstance(part, int) and part < len(document):
            document = document[part]
        else:
            return None
    return document


def _set(document: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = document
    for i, part in enumerate(path[:-1]):
        following = path[i + 1]
        if isinstance(node, list):
            assert isinstance(part, int)
            while len(node) <= part:
                node.append({})
            node = node[part]
            continue
        if node.get(part) is None:
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    last = path[-1]
    if isinstance(node, list):
        assert isinstance(last, int)
        while len(node) <= last:
            node.append({})
        node[last] = value
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value


def shown(document: dict[str, Any]) -> dict[str, str]:
    """The inputs' values for a document: roubles and percentages with a comma."""
    values: dict[str, str] = {}
    for field in all_fields(document):
        value = _get(document, field.path)
        if field.kind == "bool":
            values[field.name] = "on" if value else ""
        elif value is None:
            values[field.name] = ""
        else:
            values[field.name] = str(value).replace(".", ",")
    # A new category starts with everything allowed (its overrides are then unticked).
    values.update({f"new_category.{k}": "on" for k in ("accrual", "redemption", "discount")})
    return values


def _parse(field: Field, raw: str) -> Any:
    raw = raw.strip()
    if field.kind == "bool":
        return raw == "on"
    if raw == "":
        return None
    if field.kind in ("percent", "money"):
        return raw.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if field.kind == "int":
        return int(raw) if raw.isdigit() and len(raw) < 10 else raw
    return raw


def apply(base: dict[str, Any], form: Any) -> tuple[Program | None, dict[str, str], dict[str, str]]:
    """The form over ``base``: the program, or the errors by input name (``""``: the
    whole document). Also the raw values, to show back."""
    document: dict[str, Any] = json_copy(base)
    values: dict[str, str] = {}
    removed: list[Path] = []
    for field in all_fields(base):
        raw = form.get(field.name, "")
        raw = raw if isinstance(raw, str) else ""
        values[field.name] = raw.strip()[:200]
        if field.name in OPTIONAL_OBJECTS and not raw.strip():
            # Emptied: the gift goes. Empty already (e.g. a referral paid "1 bonus per N
            # roubles", which the form does not show): the gift stays as it is.
            if (
                _get(base, field.path) is not None
                or _get(base, OPTIONAL_OBJECTS[field.name]) is None
            ):
                removed.append(OPTIONAL_OBJECTS[field.name])
                _set(document, OPTIONAL_OBJECTS[field.name], None)
            continue
        if any(field.path[: len(path)] == path for path in removed):
            continue  # a detail of a gift that is being removed
        _set(document, field.path, _parse(field, values[field.name]))
    gifts = document.get("gifts") or {}
    for key in ("welcome", "birthday", "referral"):
        if gifts.get(key) is None:
            gifts.pop(key, None)
    renames = _add_and_remove(document, form, values)
    try:
        return Program.model_validate(document), {}, values
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for name, message in field_errors(exc).items():
            errors.setdefault(renames(name), message)
        return None, errors, values


def _add_and_remove(document: dict[str, Any], form: Any, values: dict[str, str]) -> Any:
    """Tiers and categories removed by their checkbox, a new one added from its row;
    returns how an error's name in the result maps back to an input of the page (a
    removal shifts the tiers after it)."""
    for field in (*NEW_TIER, *NEW_CATEGORY):
        raw = form.get(field.name, "")
        values[field.name] = raw.strip()[:200] if isinstance(raw, str) else ""
    tiers: list[Any] = []
    origin: dict[int, str] = {}
    for i, tier in enumerate(document["tiers"]):
        if i and form.get(f"tiers.{i}.remove") == "on":
            values[f"tiers.{i}.remove"] = "on"
            continue
        origin[len(tiers)] = f"tiers.{i}"
        tiers.append(tier)
    if values["new_tier.code"]:
        origin[len(tiers)] = "new_tier"
        tiers.append({f.path[1]: _parse(f, values[f.name]) for f in NEW_TIER
                      if _parse(f, values[f.name]) is not None})  # fmt: skip
    document["tiers"] = tiers
    categories = document.setdefault("categories", {})
    for code in list(categories):
        if form.get(f"categories.{code}.remove") == "on":
            del categories[code]
    new_code = values["new_category.code"]
    if new_code:
        categories[new_code] = {f.path[1]: _parse(f, values[f.name]) for f in NEW_CATEGORY[1:]
                                if _parse(f, values[f.name]) is not None}  # fmt: skip

    def rename(name: str) -> str:
        parts = name.split(".")
        if len(parts) >= 2 and parts[0] == "tiers" and parts[1].isdigit():
            return ".".join([origin.get(int(parts[1]), name), *parts[2:]])
        if new_code and name.startswith(f"categories.{new_code}"):
            rest = name[len(f"categories.{new_code}") :]
            return "new_category.code" if rest in ("", ".[key]") else "new_category" + rest
        return name

    return rename


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors by input name; an error about an object (a tier row, a gift)
    goes to that object's name, one about the whole document to ``""``."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        errors.setdefault(name, error_message(error))
    return errors


def json_copy(document: dict[str, Any]) -> dict[str, Any]:
    import json

    copied: dict[str, Any] = json.loads(json.dumps(document))
    return copied


def roubles_to_kopecks(raw: str) -> int | None:
    """``"1 234,50"`` -> 123450; ``None`` for anything that is not a sum."""
    from decimal import InvalidOperation

    try:
        value = Decimal(raw.strip().replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > 10_000_000:
        return None
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return int(value * 100)
