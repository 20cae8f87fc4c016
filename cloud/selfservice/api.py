"""The merchant's join links over the API (merchant key): the self-registration link of
a store, optionally for a campaign, and the address of its QR code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, Field

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.openapi import Operation, Param
from cloud.api.wire import int_query, json_response
from cloud.clock import to_epoch
from cloud.errors import BadRequest, NotFound
from cloud.selfservice import links
from cloud.selfservice.pages import base_url, join_url
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PATH = "/api/v1/merchant/join-links"
MAX_VALID_DAYS = 3650


class JoinLinkInfo(BaseModel):
    store_id: int = Field(description="магазин, к которому относится регистрация")
    campaign: str | None = Field(description="кампания: записывается в карточку клиента")
    url: str = Field(description="ссылка на страницу регистрации; личная ссылка клиента: "
                     "добавьте ?ref=<код приглашения>")  # fmt: skip
    qr_svg_url: str = Field(description="QR-код этой ссылки, SVG")
    expires_at: int | None = Field(description="до какого момента (Unix-время) ссылка "
                                   "действует; null — бессрочно")  # fmt: skip


def _campaign(request: web.Request) -> str | None:
    text = request.query.get("campaign")
    if text is None or text == "":
        return None
    text = text.strip()
    if not text or len(text) > links.CAMPAIGN_MAX or not text.isprintable():
        raise BadRequest(
            "invalid_campaign",
            f"Кампания: от 1 до {links.CAMPAIGN_MAX} печатных символов",
        )
    return text


async def join_link(request: web.Request) -> web.Response:
    merchant_id = request[MERCHANT].merchant_id
    deps = deps_of(request)
    store_id = int_query(request, "store_id", None)
    if store_id is None:
        raise BadRequest(
            "invalid_query", "Параметр store_id: целое от 1 до 9 223 372 036 854 775 807"
        )
    campaign = _campaign(request)
    valid_days = int_query(request, "valid_days", None)
    if valid_days is not None and valid_days > MAX_VALID_DAYS:
        raise BadRequest("invalid_query", f"Параметр valid_days: от 1 до {MAX_VALID_DAYS}")
    found = await deps.db.fetch_value(
        "SELECT id FROM stores WHERE id = :s AND merchant_id = :m",
        {"s": store_id, "m": merchant_id},
    )
    if found is None:
        # Another merchant's store is as absent as one that never was.
        raise NotFound("store_not_found", f"Магазин #{store_id} не найден")
    until = None if valid_days is None else to_epoch(deps.clock()) + valid_days * 86400
    token = links.sign_link(
        deps.settings.secret_key, links.JoinLink(merchant_id, store_id, campaign, until)
    )
    url = join_url(base_url(request), token)
    info = JoinLinkInfo(store_id=store_id, campaign=campaign, url=url,
                        qr_svg_url=f"{url}/qr.svg", expires_at=until)  # fmt: skip
    return json_response(info)


_PARAMS = (
    Param(
        "store_id",
        "query",
        "магазин",
        {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX},
        required=True,
    ),
    Param(
        "campaign",
        "query",
        "кампания (печатные символы)",
        {"type": "string", "minLength": 1, "maxLength": links.CAMPAIGN_MAX},
    ),
    Param(
        "valid_days",
        "query",
        "срок действия ссылки в днях; без него ссылка бессрочна",
        {"type": "integer", "minimum": 1, "maximum": MAX_VALID_DAYS},
    ),
)

ROUTES: list[tuple[Operation, Handler]] = [
    (Operation("get", PATH, "Ссылка и QR-код самостоятельной регистрации для магазина "
               "(и кампании)", None, JoinLinkInfo, parameters=_PARAMS), join_link),
]  # fmt: skip
