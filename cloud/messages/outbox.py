"""The outbox worker: claims due rows of ``notifications``, checks consent and quiet
hours at send time, renders the text, sends through the provider and records the result.

Rows a job or a mailing writes are ``pending`` with ``next_attempt_at`` 0 (due now). A
worker claims a batch by setting ``claimed`` and a lease in ``next_attempt_at``: on
PostgreSQL under ``FOR UPDATE SKIP LOCKED`` (several workers take disjoint batches), on
SQLite under the single writer. A lease that runs out (a worker died mid-batch) makes the
rows claimable again, so delivery is at least once. A result is written only while the
row still holds this worker's lease. One-time codes (``sending``) are sent inline by
``cloud.services.sms_codes`` and never touched here.

Statuses: ``sent`` (then ``delivered`` / ``undelivered`` by the gateway's callback),
``failed`` (permanent error, or attempts used up), ``skipped_opt_out`` (no consent to
advertising, or «СТОП»), ``skipped_blocked`` (the card is blocked).

An advertising message (``ADVERTISING_KINDS``) gets the customer's refusal link
appended when it is rendered (``unsubscribe.footer``): the body stored and the cost the
provider reports are those of the text with the link.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog

from cloud.clock import to_epoch
from cloud.db.database import Executor, Row
from cloud.messages.providers import BatchProvider, Delivery, PermanentFailure, Provider
from cloud.messages.templates import ADVERTISING_KINDS, TemplateError, render
from cloud.messages.unsubscribe import footer
from cloud.services.deps import Deps

log = structlog.get_logger(__name__)


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    cost: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped + self.deferred


def quiet_until(setting: str | None, moment: datetime, zone: str) -> datetime | None:
    """The end of the quiet hours ``moment`` falls in, in the zone's local time; None
    when it falls outside them."""
    if not setting:
        return None
    start_text, end_text = setting.split("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    local = moment.astimezone(ZoneInfo(zone))
    now = local.time().replace(tzinfo=None)
    inside = (start <= now or now < end) if start > end else (start <= now < end)
    if not inside:
        return None
    until = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if until <= local:
        until = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=local.tzinfo)
    return until


_CLAIM = (
    "UPDATE notifications SET status = 'claimed', next_attempt_at = :lease "
    "WHERE id IN (SELECT id FROM notifications "
    "WHERE status IN ('pending', 'claimed') AND next_attempt_at <= :now "
    "ORDER BY next_attempt_at, id LIMIT :limit{lock}) RETURNING id"
)
_ROWS = (
    "SELECT n.id, n.merchant_id, n.customer_id, n.channel, n.recipient_enc, n.body, n.kind, "
    "n.params, n.attempts, c.id AS customer, c.phone_enc, c.email_enc, c.telegram_chat_id, "
    "c.consent_messages_at, c.messages_opt_out_at, c.blocked_at, m.name AS merchant_name, "
    "COALESCE(s.timezone, m.timezone) AS timezone, tb.token_enc AS bot_token_enc "
    "FROM notifications n JOIN merchants m ON m.id = n.merchant_id "
    "LEFT JOIN telegram_bots tb ON tb.merchant_id = n.merchant_id "
    "LEFT JOIN customers c ON c.id = n.customer_id AND c.merchant_id = n.merchant_id "
    "LEFT JOIN stores s ON s.id = c.registered_store_id AND s.merchant_id = n.merchant_id "
    "WHERE n.id {ids} AND n.status = 'claimed' AND n.next_attempt_at = :lease"
)
_RESULT = (
    "UPDATE notifications SET status = :status, attempts = :attempts, "
    "next_attempt_at = :next, last_error = :error, cost = :cost, provider = :provider, "
    "provider_id = :provider_id, sent_at = :sent_at, channel = :channel, body = :body "
    "WHERE id = :id AND status = 'claimed' AND next_attempt_at = :lease"
)


Templates = dict[tuple[int, str], str]


async def _claim(
    deps: Deps, now: int, lease: int, limit: int
) -> tuple[Sequence[Row], Templates] | None:
    async with deps.db.transaction() as tx:
        postgres = tx.dialect == "postgresql"
        claimed = await tx.fetch_all(
            _CLAIM.format(lock=" FOR UPDATE SKIP LOCKED" if postgres else ""),
            {"lease": lease, "now": now, "limit": limit},
        )
        if not claimed:
            return None
        ids = [int(row["id"]) for row in claimed]
        param: list[int] | str
        if postgres:
            sql, param = _ROWS.format(ids="= ANY(:ids::bigint[])"), ids
        else:
            sql, param = _ROWS.format(ids="IN (SELECT value FROM json_each(:ids))"), json.dumps(ids)
        rows = await tx.fetch_all(sql, {"ids": param, "lease": lease})
        merchants = sorted({int(row["merchant_id"]) for row in rows})
        return rows, await _templates(tx, merchants)


async def _templates(tx: Executor, merchants: Sequence[int]) -> Templates:
    found: Templates = {}
    for merchant_id in merchants:
        for row in await tx.fetch_all(
            "SELECT kind, body FROM message_templates WHERE merchant_id = :m", {"m": merchant_id}
        ):
            found[(merchant_id, str(row["kind"]))] = str(row["body"])
    return found


@dataclass
class _Outcome:
    id: int
    status: str
    attempts: int
    next: int = 0
    error: str | None = None
    cost: int = 0
    provider: str | None = None
    provider_id: str | None = None
    sent_at: int | None = None
    channel: str = "sms"
    body: str = ""


class _Skip(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _route(deps: Deps, row: Row) -> tuple[Provider, str, str]:
    """The provider, the channel it stands for and the recipient in clear. Telegram wins
    over SMS (it is free) for a customer who linked a chat with the merchant's bot;
    email stays email."""
    merchant_id = int(row["merchant_id"])
    channel = str(row["channel"])
    chat, bot = row["telegram_chat_id"], row["bot_token_enc"]
    if deps.telegram is not None and chat is not None and bot is not None and channel == "sms":
        return deps.telegram.provider(deps, merchant_id, bytes(bot)), "telegram", str(int(chat))
    if channel == "email":
        blob = row["email_enc"] if row["customer"] is not None else row["recipient_enc"]
        if not blob:
            raise _Skip("failed", "у клиента нет адреса почты")
        return deps.email, "email", deps.cipher.decrypt(merchant_id, bytes(blob))
    blob = row["phone_enc"] if row["customer"] is not None else row["recipient_enc"]
    return deps.sms, "sms", deps.cipher.decrypt(merchant_id, bytes(blob))


def _check_consent(row: Row) -> None:
    if row["customer"] is None:
        return
    if row["messages_opt_out_at"] is not None:
        raise _Skip("skipped_opt_out", "клиент отказался от сообщений")
    if row["kind"] in ADVERTISING_KINDS and row["consent_messages_at"] is None:
        raise _Skip("skipped_opt_out", "нет согласия на рекламные сообщения")
    if row["blocked_at"] is not None:
        raise _Skip("skipped_blocked", "карта заблокирована")


@dataclass
class _Send:
    outcome: _Outcome
    provider: Provider
    recipient: str


def _prepare(deps: Deps, row: Row, templates: Templates) -> _Outcome | _Send:
    """Everything decided before a provider is called: consent, quiet hours, the channel
    and the text. An ``_Outcome`` is final; a ``_Send`` still has to go out."""
    outcome = _Outcome(int(row["id"]), "failed", int(row["attempts"]),
                       channel=str(row["channel"]), body=str(row["body"] or ""))  # fmt: skip
    try:
        _check_consent(row)
        until = quiet_until(deps.settings.quiet_hours, deps.clock(), str(row["timezone"]))
        if until is not None:
            outcome.status, outcome.next = "pending", to_epoch(until)
            return outcome
        provider, outcome.channel, recipient = _route(deps, row)
        if not outcome.body:
            params = json.loads(row["params"] or "{}")
            key = (int(row["merchant_id"]), str(row["kind"]))
            outcome.body = render(str(row["kind"]), params, str(row["merchant_name"]),
                                  templates.get(key))  # fmt: skip
            if row["kind"] in ADVERTISING_KINDS and row["customer"] is not None:
                # The refusal link is part of the text the provider bills for.
                outcome.body += footer(deps.settings, int(row["merchant_id"]),
                                       int(row["customer"]))  # fmt: skip
    except _Skip as skip:
        outcome.status, outcome.error = skip.status, str(skip)
        return outcome
    except (TemplateError, ValueError) as exc:
        outcome.error = f"шаблон: {exc}"
        return outcome
    outcome.provider = provider.name
    outcome.attempts += 1
    return _Send(outcome, provider, recipient)


def _settle(deps: Deps, send: _Send, result: Delivery | BaseException) -> None:
    outcome, settings = send.outcome, deps.settings
    now = to_epoch(deps.clock())
    if isinstance(result, Delivery):
        outcome.status, outcome.cost = "sent", result.cost
        outcome.provider_id, outcome.sent_at = result.provider_id, now
    elif isinstance(result, PermanentFailure):
        outcome.error = str(result)[:500]
    else:
        outcome.error = f"{type(result).__name__}: {result}"[:500]
        if outcome.attempts < settings.outbox_max_attempts:
            delay = settings.outbox_backoff_seconds * 2 ** (outcome.attempts - 1)
            outcome.status = "pending"
            outcome.next = now + min(delay, settings.outbox_backoff_max_seconds)


async def _deliver(deps: Deps, sends: list[_Send]) -> None:
    """Send, at most ``outbox_concurrency`` requests at a time. A provider that takes
    many messages per request (SMS.ru: up to 100 numbers) gets them in chunks, each
    number once per chunk; the others one by one."""
    gate = asyncio.Semaphore(deps.settings.outbox_concurrency)

    async def one(send: _Send) -> None:
        try:
            async with gate:
                result: Delivery | BaseException = await send.provider.send(
                    send.recipient, send.outcome.body
                )
        except Exception as exc:
            result = exc
        _settle(deps, send, result)

    async def many(provider: BatchProvider, chunk: list[_Send]) -> None:
        try:
            async with gate:
                results = await provider.send_many([(s.recipient, s.outcome.body) for s in chunk])
        except Exception as exc:
            results = [exc] * len(chunk)
        for send, result in zip(chunk, results, strict=True):
            _settle(deps, send, result)

    tasks = []
    chunks: dict[int, list[list[_Send]]] = {}
    for send in sends:
        provider = send.provider
        if not isinstance(provider, BatchProvider):
            tasks.append(one(send))
            continue
        open_chunks = chunks.setdefault(id(provider), [])
        for chunk in open_chunks:
            if len(chunk) < provider.batch_size and all(
                other.recipient != send.recipient for other in chunk
            ):
                chunk.append(send)
                break
        else:
            open_chunks.append([send])
    for send_chunks in chunks.values():
        for chunk in send_chunks:
            provider = chunk[0].provider
            assert isinstance(provider, BatchProvider)
            tasks.append(many(provider, chunk))
    await asyncio.gather(*tasks)


async def drain_batch(deps: Deps, report: DrainReport | None = None) -> DrainReport:
    """Claim one batch of due messages and handle it; an empty report when none is due."""
    report = report or DrainReport()
    settings = deps.settings
    now = to_epoch(deps.clock())
    lease = now + settings.outbox_lease_seconds
    claimed = await _claim(deps, now, lease, settings.outbox_batch)
    if not claimed:
        return report
    rows, templates = claimed
    prepared = [_prepare(deps, row, templates) for row in rows]
    await _deliver(deps, [p for p in prepared if isinstance(p, _Send)])
    outcomes = [p.outcome if isinstance(p, _Send) else p for p in prepared]
    async with deps.db.transaction() as tx:
        await tx.execute_many(_RESULT, [{**vars(o), "lease": lease} for o in outcomes])
    for outcome in outcomes:
        if outcome.status == "sent":
            report.sent += 1
            report.cost += outcome.cost
        elif outcome.status == "pending" and outcome.attempts > 0 and outcome.error:
            report.retried += 1
        elif outcome.status == "pending":
            report.deferred += 1
        elif outcome.status == "failed":
            report.failed += 1
        else:
            report.skipped += 1
        if outcome.error and outcome.status in ("pending", "failed"):
            log.warning("outbox.error", notification=outcome.id, status=outcome.status,
                        error=outcome.error)  # fmt: skip
    return report


async def drain(deps: Deps) -> DrainReport:
    """Handle every message due now, batch after batch (``loyalty outbox drain --once``)."""
    report = DrainReport()
    while True:
        before = report.handled
        await drain_batch(deps, report)
        if report.handled == before:
            return report


async def run_worker(deps: Deps, stop: asyncio.Event) -> None:
    """Drain until ``stop`` is set, sleeping the poll interval whenever nothing is due."""
    while not stop.is_set():
        try:
            report = await drain_batch(deps)
        except Exception:
            log.exception("outbox.worker_failed")
            report = DrainReport()
        if report.handled:
            continue
        try:
            await asyncio.wait_for(stop.wait(), deps.settings.outbox_poll_seconds)
        except TimeoutError:
            pass
