"""Administration over the API: the operator creates merchants (operator token); a
merchant key manages stores, terminals, their tokens, the merchant's keys, and reads the
Evotor link. Every query is scoped by the key's merchant: another merchant's store or
terminal is a 404, as if it did not exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime

import structlog
from aiohttp import web
from pydantic import BaseModel

from cloud.api.keys import MERCHANT, deps_of
from cloud.api.wire import json_response, read_model
from cloud.services.admin import keys, operator, signing, stores, terminals
from cloud.services.merchants import MerchantContext
from schemas import admin_api as api
from schemas.bounds import BIGINT_MAX

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Credentials changes are logged with the key that made them (its id, never a value):
# who issued or revoked what is the first question after a leak.
audit = structlog.get_logger("loyalty.admin")


def _merchant(request: web.Request) -> MerchantContext:
    return request[MERCHANT]


def _id(request: web.Request, name: str) -> int:
    """A path id; one beyond the BIGINT column is simply not found (PostgreSQL would
    overflow instead). The route's pattern admits ASCII digits only."""
    text = request.match_info[name]
    value = int(text) if len(text) <= 19 else 0
    return value if value <= BIGINT_MAX else 0


async def create_merchant(request: web.Request) -> web.Response:
    deps = deps_of(request)
    body = await read_model(request, api.MerchantCreate)
    created = await operator.onboard_merchant(deps.db, body.name, deps.clock(), body.timezone)
    audit.info("merchant_created", merchant=created.merchant_id, by="operator")
    return json_response(
        api.MerchantCreated(merchant_id=created.merchant_id, owner_key=created.owner_key),
        status=201,
    )


def _store(info: stores.StoreInfo) -> api.StoreOut:
    return api.StoreOut(**asdict(info))


async def list_stores(request: web.Request) -> web.Response:
    found = await stores.list_stores(deps_of(request).db, _merchant(request).merchant_id)
    return json_response(api.StoreList(stores=[_store(s) for s in found]))


async def create_store(request: web.Request) -> web.Response:
    deps = deps_of(request)
    body = await read_model(request, api.StoreCreate)
    info = await stores.add_store(
        deps.db, _merchant(request).merchant_id, body.name, deps.clock(), body.timezone,
        body.address or None,
    )  # fmt: skip
    return json_response(_store(info), status=201)


async def update_store(request: web.Request) -> web.Response:
    body = await read_model(request, api.StoreUpdate)
    info = await stores.update_store(
        deps_of(request).db, _merchant(request).merchant_id, _id(request, "store_id"),
        name=body.name, timezone=body.timezone, address=body.address,
    )  # fmt: skip
    return json_response(_store(info))


def _terminal(info: terminals.TerminalInfo) -> api.TerminalOut:
    return api.TerminalOut.model_validate(asdict(info))


async def list_terminals(request: web.Request) -> web.Response:
    found = await terminals.list_terminals(deps_of(request).db, _merchant(request).merchant_id)
    return json_response(api.TerminalList(terminals=[_terminal(t) for t in found]))


async def create_terminal(request: web.Request) -> web.Response:
    deps = deps_of(request)
    body = await read_model(request, api.TerminalCreate)
    info = await terminals.add_terminal(
        deps.db, _merchant(request).merchant_id, body.store_id, body.name, deps.clock(),
        body.channel,
    )  # fmt: skip
    return json_response(_terminal(info), status=201)


async def issue_token(request: web.Request) -> web.Response:
    deps = deps_of(request)
    merchant_id = _merchant(request).merchant_id
    terminal_id = _id(request, "terminal_id")
    label = (await read_model(request, api.TokenCreate)).label
    token = await terminals.issue_token(deps.db, merchant_id, terminal_id, deps.clock(), label)
    info = await terminals.get_terminal(deps.db, merchant_id, terminal_id)
    audit.info("terminal_token_issued", merchant=merchant_id, terminal=terminal_id,
               by_key=_merchant(request).credential_id)  # fmt: skip
    return json_response(
        api.TokenIssued(terminal_id=terminal_id, channel=info.channel, token=token), status=201
    )


async def revoke_tokens(request: web.Request) -> web.Response:
    deps = deps_of(request)
    body = await read_model(request, api.TokenRevoke)
    revoked = await terminals.revoke(
        deps.db, _merchant(request).merchant_id, deps.clock(),
        token=body.token, terminal_id=body.terminal_id,
    )  # fmt: skip
    audit.info("terminal_tokens_revoked", merchant=_merchant(request).merchant_id,
               terminal=body.terminal_id, count=revoked,
               by_key=_merchant(request).credential_id)  # fmt: skip
    return json_response(api.TokensRevoked(revoked=revoked))


async def issue_signing_secret(request: web.Request) -> web.Response:
    deps = deps_of(request)
    merchant = _merchant(request)
    terminal_id = _id(request, "terminal_id")
    issued = await signing.issue_secret(deps, merchant.merchant_id, terminal_id, deps.clock())
    audit.info("terminal_signing_secret_issued", merchant=merchant.merchant_id,
               terminal=terminal_id, by_key=merchant.credential_id)  # fmt: skip
    until = issued.previous_valid_until
    return json_response(
        api.SigningSecretIssued(
            terminal_id=terminal_id, secret=issued.secret,
            previous_valid_until=None if until is None else datetime.fromtimestamp(until, UTC),
        ),
        status=201,
    )  # fmt: skip


async def revoke_signing_secrets(request: web.Request) -> web.Response:
    deps = deps_of(request)
    merchant = _merchant(request)
    terminal_id = _id(request, "terminal_id")
    revoked = await signing.revoke_secrets(deps, merchant.merchant_id, terminal_id, deps.clock())
    audit.info("terminal_signing_secrets_revoked", merchant=merchant.merchant_id,
               terminal=terminal_id, count=revoked, by_key=merchant.credential_id)  # fmt: skip
    return json_response(api.SigningSecretsRevoked(revoked=revoked))


async def issue_key(request: web.Request) -> web.Response:
    deps = deps_of(request)
    body = await read_model(request, api.KeyCreate)
    key = await keys.issue_key(deps.db, _merchant(request), body.role, deps.clock(), body.label)
    audit.info("merchant_key_issued", merchant=_merchant(request).merchant_id, role=body.role,
               by_key=_merchant(request).credential_id)  # fmt: skip
    return json_response(api.KeyIssued(key=key, role=body.role), status=201)


async def rotate_key(request: web.Request) -> web.Response:
    deps = deps_of(request)
    merchant = _merchant(request)
    key = await keys.rotate_key(deps.db, merchant, deps.clock())
    audit.info("merchant_key_rotated", merchant=merchant.merchant_id,
               by_key=merchant.credential_id)  # fmt: skip
    return json_response(api.KeyIssued(key=key, role=merchant.role))


async def list_keys(request: web.Request) -> web.Response:
    found = await keys.list_keys(deps_of(request).db, _merchant(request))
    return json_response(api.KeyList(keys=[api.KeyOut(**asdict(k)) for k in found]))


async def revoke_key(request: web.Request) -> web.Response:
    deps = deps_of(request)
    key_id = _id(request, "key_id")
    await keys.revoke_key(deps.db, _merchant(request), key_id, deps.clock())
    audit.info("merchant_key_revoked", merchant=_merchant(request).merchant_id, key=key_id,
               by_key=_merchant(request).credential_id)  # fmt: skip
    return json_response(api.KeyRevoked(id=key_id, revoked=True))


async def evotor_link(request: web.Request) -> web.Response:
    link = await keys.evotor_link(deps_of(request).db, _merchant(request).merchant_id)
    return json_response(api.EvotorLinkOut(**asdict(link)))


_STORE = "/api/v1/stores/{store_id:[0-9]+}"
_TOKENS = "/api/v1/terminals/{terminal_id:[0-9]+}/tokens"
_SIGNING = "/api/v1/terminals/{terminal_id:[0-9]+}/signing-secret"
_KEY_REVOKE = "/api/v1/merchant/keys/{key_id:[0-9]+}/revoke"
CREATED = {
    ("POST", "/api/v1/operator/merchants"), ("POST", "/api/v1/stores"),
    ("POST", "/api/v1/terminals"), ("POST", _TOKENS), ("POST", "/api/v1/merchant/keys"),
    ("POST", _SIGNING),
}  # fmt: skip
"""Routes whose success is 201 Created (for the OpenAPI document)."""

ROUTES: list[tuple[str, str, Handler, str, type[BaseModel] | None, type[BaseModel] | None]] = [
    ("POST", "/api/v1/operator/merchants", create_merchant,
     "Создать компанию (токен оператора платформы); ключ владельца показывается один раз",
     api.MerchantCreate, api.MerchantCreated),
    ("GET", "/api/v1/stores", list_stores, "Магазины компании", None, api.StoreList),
    ("POST", "/api/v1/stores", create_store, "Добавить магазин", api.StoreCreate, api.StoreOut),
    ("PATCH", _STORE, update_store, "Изменить магазин", api.StoreUpdate, api.StoreOut),
    ("GET", "/api/v1/terminals", list_terminals, "Терминалы компании (всех каналов)",
     None, api.TerminalList),
    ("POST", "/api/v1/terminals", create_terminal, "Добавить терминал",
     api.TerminalCreate, api.TerminalOut),
    ("POST", _TOKENS, issue_token, "Выдать токен терминала (показывается один раз)",
     api.TokenCreate, api.TokenIssued),
    ("POST", _SIGNING, issue_signing_secret,
     "Выдать или сменить секрет подписи хуков SIGMA (показывается один раз; прежний "
     "действует ещё 24 часа)", None, api.SigningSecretIssued),
    ("POST", _SIGNING + "/revoke", revoke_signing_secrets,
     "Отозвать все секреты подписи терминала SIGMA (действует сразу)",
     None, api.SigningSecretsRevoked),
    ("POST", "/api/v1/terminal-tokens/revoke", revoke_tokens,
     "Отозвать токен или все токены терминала (действует сразу)",
     api.TokenRevoke, api.TokensRevoked),
    ("POST", "/api/v1/merchant/keys", issue_key, "Выдать ключ компании (только владелец)",
     api.KeyCreate, api.KeyIssued),
    ("GET", "/api/v1/merchant/keys", list_keys, "Ключи компании (только владелец)",
     None, api.KeyList),
    ("POST", _KEY_REVOKE, revoke_key,
     "Отозвать ключ компании (только владелец; действует сразу)", None, api.KeyRevoked),
    ("POST", "/api/v1/merchant/keys/rotate", rotate_key,
     "Заменить свой ключ компании (только владелец; старый перестаёт работать сразу)",
     None, api.KeyIssued),
    ("GET", "/api/v1/merchant/evotor", evotor_link, "Связь с аккаунтом Эвотор",
     None, api.EvotorLinkOut),
]  # fmt: skip
