"""The merchant's own message texts per kind (``message_templates``); defaults in code."""

from __future__ import annotations

from cloud.clock import to_epoch
from cloud.errors import BadRequest
from cloud.messages.templates import DEFAULTS, KINDS, VARIABLES, TemplateError, check_template
from cloud.services.deps import Deps
from schemas import messages as wire


def _info(kind: str, custom: str | None) -> wire.TemplateInfo:
    return wire.TemplateInfo(
        kind=kind, body=custom or DEFAULTS[kind], default=DEFAULTS[kind],
        custom=custom is not None, variables=["merchant", *VARIABLES[kind]],
    )  # fmt: skip


async def list_templates(deps: Deps, merchant_id: int) -> wire.TemplateList:
    rows = await deps.db.fetch_all(
        "SELECT kind, body FROM message_templates WHERE merchant_id = :m", {"m": merchant_id}
    )
    custom = {str(row["kind"]): str(row["body"]) for row in rows}
    return wire.TemplateList(templates=[_info(kind, custom.get(kind)) for kind in KINDS])


async def put_template(
    deps: Deps, merchant_id: int, request: wire.TemplateRequest
) -> wire.TemplateInfo:
    """Save the merchant's text for a kind; the default's own text resets it."""
    kind = request.kind
    if kind not in DEFAULTS:
        raise BadRequest("unknown_message_kind", f"Нет такого вида сообщений «{kind}»")
    try:
        check_template(kind, request.body)
    except TemplateError as exc:
        raise BadRequest("invalid_template", f"Шаблон: {exc}") from exc
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        await tx.execute(
            "DELETE FROM message_templates WHERE merchant_id = :m AND kind = :k",
            {"m": merchant_id, "k": kind},
        )
        if request.body != DEFAULTS[kind]:
            await tx.execute(
                "INSERT INTO message_templates (merchant_id, kind, body, updated_at) "
                "VALUES (:m, :k, :b, :now)",
                {"m": merchant_id, "k": kind, "b": request.body, "now": now},
            )
    return _info(kind, None if request.body == DEFAULTS[kind] else request.body)
