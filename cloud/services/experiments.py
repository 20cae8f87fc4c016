"""A/B tests of one program parameter: the split, the checkout's variant, start, stop and
apply the winner. The results and their statistics are in ``experiment_results``.

Variant A is the version live when the test starts, variant B a version made from it with
one parameter changed. A customer's variant is a hash of (experiment, customer): the same
customer always gets the same variant, on every till and every worker, with nothing
stored per customer, and reports compute it in SQL (the same arithmetic, in integers
that fit 63 bits on SQLite and PostgreSQL alike).

The checkout reads ``merchants.running_experiment_id`` in its one snapshot query; the
experiment itself never changes once started, so it is cached by id forever. A merchant
with no running test pays nothing; one with a test pays one query per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cloud.clock import to_epoch
from cloud.db.database import Executor, PostgresDatabase, SqliteDatabase
from cloud.errors import BadRequest, Conflict, NotFound
from cloud.services import programs
from cloud.services.programs import LoadedProgram, ProgramCache
from schemas.program import Program

Database = SqliteDatabase | PostgresDatabase

_P = 4294967291  # the largest prime below 2**32
_M1 = 1597334677  # < 2**31: (x < 2**32) * _M1 stays below 2**63
_M2 = 668265263
BUCKETS = 10000
"""A variant's share is given in whole percent: 100 buckets per percent."""


def _xor_shift(value: int, bits: int) -> int:
    return value ^ (value >> bits)


def bucket(experiment_id: int, customer_id: int) -> int:
    """The customer's bucket in ``[0, BUCKETS)`` for this experiment (``bucket_sql``
    computes the same number in SQL)."""
    h = ((customer_id % _P) * _M1 + experiment_id * 40503 + 12345) % _P
    h = (_xor_shift(h, 15) * _M2) % _P
    return _xor_shift(h, 13) % BUCKETS


def bucket_sql(experiment_id: int, customer: str) -> str:
    """``bucket`` as an SQL expression over the column ``customer`` (XOR spelt with | and
    &, which both dialects have). ``experiment_id`` is an int from our own row."""
    eid = int(experiment_id)

    def xor_shift(expr: str, bits: int) -> str:
        return f"(({expr}) | (({expr}) >> {bits})) - (({expr}) & (({expr}) >> {bits}))"

    h1 = f"((({customer}) % {_P}) * {_M1} + {eid * 40503 + 12345}) % {_P}"
    h2 = f"(({xor_shift(h1, 15)}) * {_M2}) % {_P}"
    return f"({xor_shift(h2, 13)}) % {BUCKETS}"


@dataclass(frozen=True, slots=True)
class Split:
    """What the checkout needs of a running experiment (immutable once started)."""

    id: int
    control_version_id: int
    variant_version_id: int
    share_b: int
    """Percent of customers in variant B."""

    def variant_of(self, customer_id: int) -> str:
        return "B" if bucket(self.id, customer_id) < self.share_b * (BUCKETS // 100) else "A"


class ExperimentCache:
    """Running experiments by id, read once per process."""

    def __init__(self) -> None:
        self._by_id: dict[int, Split] = {}

    async def get(self, executor: Executor, experiment_id: int) -> Split | None:
        split = self._by_id.get(experiment_id)
        if split is None:
            row = await executor.fetch_one(
                "SELECT id, control_version_id, variant_version_id, share_b FROM experiments "
                "WHERE id = :id",
                {"id": experiment_id},
            )
            if row is None:
                return None
            split = Split(
                int(row["id"]), int(row["control_version_id"]),
                int(row["variant_version_id"]), int(row["share_b"]),
            )  # fmt: skip
            self._by_id[experiment_id] = split
        return split


async def program_for(
    program_cache: ProgramCache,
    executor: Executor,
    split: Split,
    program: LoadedProgram,
    customer_id: int,
) -> LoadedProgram:
    """The version that prices this customer: variant B's when the experiment puts them
    in B and ``program`` is the experiment's control (a draft's preview, a hold quoted by
    another version, or a live version activated after the test started price as they
    are)."""
    if program.id != split.control_version_id or split.variant_of(customer_id) == "A":
        return program
    return await program_cache.get(split.variant_version_id, executor)


async def running_at(
    executor: Executor, cache: ExperimentCache, merchant_id: int, moment: int
) -> Split | None:
    """The experiment that was running at ``moment`` (a late sale's time): a sale made
    during a test is priced by its variant even when confirmed after the stop, and one
    made before the start by the control even while a test runs."""
    found = await executor.fetch_value(
        "SELECT id FROM experiments WHERE merchant_id = :m AND started_at <= :t "
        "AND (stopped_at IS NULL OR stopped_at > :t) ORDER BY id DESC LIMIT 1",
        {"m": merchant_id, "t": moment},
    )
    return None if found is None else await cache.get(executor, int(found))


# ---- the parameter a test changes -----------------------------------------------------------

PARAMETERS = {
    "accrual_percent": "Начисление бонусов, % от покупки",
    "max_redeem_percent": "Оплата бонусами, не больше % чека",
    "discount_percent": "Скидка, %",
}
REFUSED = {
    "birthday_gift": "Подарок ко дню рождения",
    "welcome_gift": "Приветственные бонусы",
}
REFUSED_MESSAGE = (
    "Подарки начисляют ночные задания сразу по всей базе одной версией программы: "
    "делить их по вариантам пока нельзя. Проверить можно начисление, оплату бонусами "
    "и скидку уровня"
)
MAX_PERCENT = Decimal(100)


def parse_value(raw: str) -> Decimal:
    """A percent as typed by a person: a comma or a dot, up to two decimals."""
    text = raw.strip().replace(",", ".").replace("%", "").strip()
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value > MAX_PERCENT:
        raise BadRequest("invalid_experiment", "Значение — процент от 0 до 100")
    if value != value.quantize(Decimal("0.01")):
        raise BadRequest("invalid_experiment", "Процент — не больше двух знаков после запятой")
    return value


def variant_program(
    program: Program, parameter: str, tier_code: str | None, value: Decimal
) -> Program:
    """The control program with ``parameter`` of one tier (or of every tier) set to
    ``value``; refused when it changes nothing or the parameter is not supported."""
    if parameter in REFUSED:
        raise BadRequest("experiment_parameter_unsupported", REFUSED_MESSAGE)
    if parameter not in PARAMETERS:
        raise BadRequest("experiment_parameter_unsupported", "Такой параметр проверить нельзя")
    codes = [tier.code for tier in program.tiers]
    if tier_code is not None and tier_code not in codes:
        raise BadRequest("invalid_experiment", f"Уровня «{tier_code}» нет в программе")
    document: dict[str, Any] = program.model_dump(mode="json")
    changed = False
    for tier in document["tiers"]:
        if tier_code is not None and tier["code"] != tier_code:
            continue
        current = tier.get(parameter)
        if current is None or Decimal(str(current)) != value:
            changed = True
        tier[parameter] = str(value)
        if parameter == "accrual_percent":
            # A tier accrues by percent or by "1 bonus per N roubles", not both.
            tier["accrual_roubles_per_bonus"] = None
    if not changed:
        raise BadRequest("invalid_experiment", "Вариант B не отличается от действующей программы")
    document["name"] = program.name
    return programs.parse_program(document)


# ---- start, stop, apply ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Experiment:
    id: int
    name: str
    parameter: str
    tier_code: str | None
    value: Decimal
    control_version_id: int
    variant_version_id: int
    share_b: int
    status: str
    started_at: int
    stopped_at: int | None
    winner: str | None
    applied_version_id: int | None

    @property
    def split(self) -> Split:
        return Split(self.id, self.control_version_id, self.variant_version_id, self.share_b)


_COLUMNS = (
    "id, name, parameter, tier_code, value, control_version_id, variant_version_id, share_b, "
    "status, started_at, stopped_at, winner, applied_version_id"
)


def _experiment(row: Any) -> Experiment:
    values = dict(row)
    values["value"] = Decimal(values["value"])
    return Experiment(**values)


async def list_experiments(db: Database, merchant_id: int) -> list[Experiment]:
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM experiments WHERE merchant_id = :m ORDER BY id DESC",
        {"m": merchant_id},
    )
    return [_experiment(row) for row in rows]


async def variant_versions(db: Database, merchant_id: int) -> set[int]:
    """The program versions made as an A/B test's variant B: drafts, but not the
    merchant's draft of the program (the program page must not offer them)."""
    rows = await db.fetch_all(
        "SELECT variant_version_id FROM experiments WHERE merchant_id = :m", {"m": merchant_id}
    )
    return {int(row["variant_version_id"]) for row in rows}


async def get_experiment(db: Executor, merchant_id: int, experiment_id: int) -> Experiment:
    """One of this merchant's experiments (another merchant's is not found)."""
    row = await db.fetch_one(
        f"SELECT {_COLUMNS} FROM experiments WHERE id = :id AND merchant_id = :m",
        {"id": experiment_id, "m": merchant_id},
    )
    if row is None:
        raise NotFound("experiment_not_found", "Эксперимент не найден")
    return _experiment(row)


async def start(
    db: Database,
    cache: ProgramCache,
    merchant_id: int,
    *,
    name: str,
    parameter: str,
    tier_code: str | None,
    value: Decimal,
    share_b: int,
    now: Any,
    created_by: str | None = None,
) -> Experiment:
    """Make variant B from the live version and start splitting the customers."""
    name = name.strip()
    if not name or len(name) > 200:
        raise BadRequest("invalid_experiment", "Назовите эксперимент (до 200 символов)")
    if not 1 <= share_b <= 99:
        raise BadRequest("invalid_experiment", "Доля варианта B — от 1 до 99 %")
    row = await db.fetch_one(
        "SELECT active_program_version_id AS live, running_experiment_id AS running "
        "FROM merchants WHERE id = :m",
        {"m": merchant_id},
    )
    if row is None:
        raise NotFound("merchant_not_found", "Компания не найдена")
    if row["running"] is not None:
        raise Conflict("experiment_running", "Уже идёт эксперимент: остановите его сначала")
    if row["live"] is None:
        raise Conflict("no_program", "У компании нет активной программы лояльности")
    control = await cache.get(int(row["live"]))
    document = variant_program(control.program, parameter, tier_code, value)
    variant = await programs.create_version(db, merchant_id, document, now)
    epoch = to_epoch(now)
    async with db.transaction() as tx:
        experiment_id = await tx.insert(
            "INSERT INTO experiments (merchant_id, name, parameter, tier_code, value, "
            "control_version_id, variant_version_id, share_b, status, started_at, created_by) "
            "VALUES (:m, :name, :p, :tier, :value, :a, :b, :share, 'running', :now, :by) "
            "RETURNING id",
            {"m": merchant_id, "name": name, "p": parameter, "tier": tier_code,
             "value": str(value), "a": control.id, "b": variant.id, "share": share_b,
             "now": epoch, "by": created_by},
        )  # fmt: skip
        # Guarded: of two owners starting at once, one wins; the live version must still
        # be the control the variant was made from.
        claimed = await tx.fetch_one(
            "UPDATE merchants SET running_experiment_id = :e WHERE id = :m "
            "AND running_experiment_id IS NULL AND active_program_version_id = :a RETURNING id",
            {"e": experiment_id, "m": merchant_id, "a": control.id},
        )
        if claimed is None:
            raise Conflict("experiment_running", "Уже идёт эксперимент или сменилась программа")
    return await get_experiment(db, merchant_id, experiment_id)


async def stop(db: Database, merchant_id: int, experiment_id: int, now: Any) -> Experiment:
    """End the split: every customer is priced by the live version again. The results
    stay, counted up to the stop."""
    experiment = await get_experiment(db, merchant_id, experiment_id)
    if experiment.status != "running":
        raise Conflict("experiment_stopped", "Эксперимент уже остановлен")
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE experiments SET status = 'stopped', stopped_at = :now "
            "WHERE id = :id AND merchant_id = :m AND status = 'running'",
            {"now": to_epoch(now), "id": experiment_id, "m": merchant_id},
        )
        await tx.execute(
            "UPDATE merchants SET running_experiment_id = NULL "
            "WHERE id = :m AND running_experiment_id = :id",
            {"m": merchant_id, "id": experiment_id},
        )
    return await get_experiment(db, merchant_id, experiment_id)


async def apply(
    db: Database, cache: ProgramCache, merchant_id: int, experiment_id: int, winner: str, now: Any
) -> Experiment:
    """Stop the test (when running) and make the winner's program a new active version."""
    if winner not in ("A", "B"):
        raise BadRequest("invalid_experiment", "Победитель — вариант A или B")
    experiment = await get_experiment(db, merchant_id, experiment_id)
    if experiment.status == "applied":
        raise Conflict("experiment_applied", "Победитель этого эксперимента уже применён")
    if experiment.status == "running":
        experiment = await stop(db, merchant_id, experiment_id, now)
    version_id = experiment.variant_version_id if winner == "B" else experiment.control_version_id
    document = (await cache.get(version_id)).program
    published = await programs.publish(db, merchant_id, document, now)
    await db.execute(
        "UPDATE experiments SET status = 'applied', winner = :w, applied_version_id = :v "
        "WHERE id = :id AND merchant_id = :m",
        {"w": winner, "v": published.id, "id": experiment_id, "m": merchant_id},
    )
    return await get_experiment(db, merchant_id, experiment_id)
