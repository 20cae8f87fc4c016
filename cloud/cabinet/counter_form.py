"""The cashier's workplace forms: roubles and quantities as a cashier types them, the
receipt's lines, and the open receipt kept in the session between pages."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from cloud.cabinet.core import form_text
from schemas import checkout as wire

ROWS = 5
"""Empty line rows the receipt form offers (no script adds more)."""
MAX_AMOUNT = Decimal("10000000")


class FormError(Exception):
    """A field the cashier typed wrong: ``message`` is shown on the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def text(form: Any, name: str, limit: int = 200) -> str:
    return form_text(form, name, limit)


def _number(raw: str) -> Decimal:
    return Decimal(raw.replace("\u00a0", "").replace(" ", "").replace(",", "."))


def roubles(raw: str, what: str, *, zero: bool = False) -> Decimal:
    """``1 234,5`` -> ``Decimal('1234.50')``: a comma or a dot, at most two places,
    never a float."""
    try:
        value = _number(raw)
        if (
            not value.is_finite()
            or value < 0
            or (value == 0 and not zero)
            or value > MAX_AMOUNT
            or value.as_tuple().exponent < -2  # type: ignore[operator]
        ):
            raise InvalidOperation
    except InvalidOperation:
        raise FormError(
            f"{what}: сумма в рублях больше нуля, не больше 10 000 000, "
            "не больше двух знаков после запятой"
        ) from None
    return value.quantize(Decimal("0.01"))


def quantity(raw: str, row: int) -> Decimal:
    try:
        value = _number(raw or "1")
        if not value.is_finite() or value <= 0 or value > 100_000 or (
            value.as_tuple().exponent < -3  # type: ignore[operator]
        ):  # fmt: skip
            raise InvalidOperation
    except InvalidOperation:
        raise FormError(
            f"Строка {row}: количество больше нуля, не больше трёх знаков после запятой"
        ) from None
    return value


def wire_line(line: dict[str, str]) -> wire.ReceiptLine:
    """A kept line as the checkout's model (amounts back to Decimal)."""
    return wire.ReceiptLine(
        id=line["id"], name=line.get("name", ""), category=line.get("category"),
        price=Decimal(line["price"]), quantity=Decimal(line["quantity"]),
    )  # fmt: skip


@dataclass
class OpenReceipt:
    """The receipt being rung up, as the session keeps it between pages."""

    receipt_id: str
    lines: list[dict[str, str]]
    held: str = "0"
    customer_id: int | None = None

    def wire(self) -> wire.Receipt:
        customer = None
        if self.customer_id is not None:
            customer = wire.CustomerRef(customer_id=self.customer_id)
        return wire.Receipt(
            id=self.receipt_id,
            customer=customer,
            lines=[wire_line(line) for line in self.lines],
        )

    def dump(self) -> dict[str, Any]:
        return {"id": self.receipt_id, "lines": self.lines, "held": self.held,
                "customer": self.customer_id}  # fmt: skip

    @classmethod
    def load(cls, data: Any) -> OpenReceipt | None:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        customer = data.get("customer")
        return cls(
            data["id"], list(data.get("lines") or []), str(data.get("held") or "0"),
            customer if isinstance(customer, int) else None,
        )  # fmt: skip


def receipt_lines(form: Any, categories: dict[str, str]) -> list[dict[str, str]]:
    """The form's lines (name, category, price, quantity), or one line of the whole
    amount when only the amount is given. Categories are the live program's codes."""
    lines: list[dict[str, str]] = []
    for row in range(1, ROWS + 1):
        name, price = text(form, f"name{row}"), text(form, f"price{row}", 20)
        if not name and not price:
            continue
        if not price:
            raise FormError(f"Строка {row}: укажите цену")
        line = {
            "id": str(row),
            "name": name or f"Позиция {row}",
            "price": str(roubles(price, f"Строка {row}, цена")),
            "quantity": str(quantity(text(form, f"qty{row}", 20), row)),
        }
        category = text(form, f"category{row}", 64)
        if category:
            if category not in categories:
                raise FormError(f"Строка {row}: нет такой категории в программе")
            line["category"] = category
        lines.append(line)
    amount = text(form, "amount", 20)
    if lines and amount:
        raise FormError("Укажите либо сумму чека, либо позиции — не то и другое")
    if not lines:
        if not amount:
            raise FormError("Укажите сумму чека или хотя бы одну позицию")
        lines = [{"id": "1", "name": "Покупка", "price": str(roubles(amount, "Сумма чека")),
                  "quantity": "1"}]  # fmt: skip
    try:
        wire.Receipt(id="check", lines=[wire_line(line) for line in lines])
    except ValidationError as exc:
        raise FormError("Чек не принят: " + "; ".join(e["msg"] for e in exc.errors())) from exc
    return lines
