"""The Evotor product catalogue and its program categories.

An Evotor position names its product (``productUuid`` / ``product_id``) but no category,
while a program's rules are written per category (services 50 % / goods 10 %, car wash
only, gifts only). Evotor is the master of products: they are pulled from the Evotor
cloud and pushed to us by its products notification, each with ``group`` (a product
group) and ``parentUuid`` (the group it sits in; groups nest).

A product's category is decided by its groups, nearest first:

1. a group the merchant mapped explicitly (``evotor_group_categories``, edited with
   ``PUT /evotor/merchant/v1/product-groups``) gives its category;
2. otherwise the nearest group's own name, lower-cased, is the category code (a
   merchant who names the group «services» needs no mapping at all).

A line whose product we do not know, or that sits in no group, keeps no category (the
program's rule for lines without one applies, as on the native API).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cloud.clock import to_epoch
from cloud.db.database import Row
from cloud.services.deps import Deps
from schemas import checkout as wire

MAX_DEPTH = 16
"""Groups nest; a cycle in broken data must not loop for ever."""


@dataclass(frozen=True, slots=True)
class ProductRecord:
    store_external_id: str
    uuid: str
    name: str
    is_group: bool
    parent_uuid: str | None
    product_type: str | None = None


@dataclass(frozen=True, slots=True)
class GroupView:
    uuid: str
    name: str
    parent_uuid: str | None
    category: str | None
    """The merchant's explicit mapping, if any."""
    effective: str | None
    """The category its products get."""


async def sync_products(deps: Deps, merchant_id: int, records: Sequence[ProductRecord]) -> int:
    """Insert or update products and groups (one row per store + uuid); returns how many
    were new."""
    now = to_epoch(deps.clock())
    created = 0
    async with deps.db.transaction() as tx:
        for r in records:
            params = {
                "m": merchant_id, "s": r.store_external_id[:128], "u": r.uuid[:128],
                "n": r.name[:256], "g": int(r.is_group),
                "p": None if not r.parent_uuid else r.parent_uuid[:128],
                "t": None if r.product_type is None else r.product_type[:32], "now": now,
            }  # fmt: skip
            seen = await tx.fetch_value(
                "SELECT id FROM evotor_products WHERE merchant_id = :m "
                "AND store_external_id = :s AND uuid = :u",
                params,
            )
            if seen is None:
                created += 1
                await tx.insert(
                    "INSERT INTO evotor_products (merchant_id, store_external_id, uuid, name, "
                    "is_group, parent_uuid, product_type, updated_at) VALUES (:m, :s, :u, :n, "
                    ":g, :p, :t, :now) RETURNING id",
                    params,
                )
            else:
                await tx.execute(
                    "UPDATE evotor_products SET name = :n, is_group = :g, parent_uuid = :p, "
                    "product_type = :t, updated_at = :now WHERE id = :id",
                    {**params, "id": seen},
                )
    return created


async def set_group_categories(
    deps: Deps, merchant_id: int, mapping: dict[str, str | None]
) -> None:
    """Map groups to categories; ``None`` removes a group's mapping."""
    now = to_epoch(deps.clock())
    async with deps.db.transaction() as tx:
        for group_uuid, category in mapping.items():
            await tx.execute(
                "DELETE FROM evotor_group_categories WHERE merchant_id = :m AND group_uuid = :g",
                {"m": merchant_id, "g": group_uuid},
            )
            if category:
                await tx.insert(
                    "INSERT INTO evotor_group_categories (merchant_id, group_uuid, category, "
                    "updated_at) VALUES (:m, :g, :c, :now) RETURNING id",
                    {"m": merchant_id, "g": group_uuid, "c": category, "now": now},
                )


async def groups(deps: Deps, merchant_id: int) -> list[GroupView]:
    """Every product group of the merchant (once per uuid) with its category."""
    rows = await deps.db.fetch_all(
        "SELECT uuid, name, parent_uuid FROM evotor_products WHERE merchant_id = :m "
        "AND is_group = 1 ORDER BY name, uuid",
        {"m": merchant_id},
    )
    mapped = await _mappings(deps, merchant_id, [str(r["uuid"]) for r in rows])
    nodes = {str(r["uuid"]): r for r in rows}
    views: dict[str, GroupView] = {}
    for r in rows:
        uuid = str(r["uuid"])
        if uuid not in views:
            views[uuid] = GroupView(
                uuid=uuid, name=str(r["name"]), parent_uuid=r["parent_uuid"],
                category=mapped.get(uuid),
                effective=_category_of(uuid, nodes, mapped),
            )  # fmt: skip
    return list(views.values())


async def with_categories(
    deps: Deps, merchant_id: int, store_external_id: str | None, receipt: wire.Receipt
) -> wire.Receipt:
    """The receipt with each line's category taken from its product's groups (a line
    that already names a category keeps it)."""
    wanted = {line.sku for line in receipt.lines if line.sku and line.category is None}
    if not wanted:
        return receipt
    categories = await categories_of(deps, merchant_id, store_external_id, wanted)
    if not categories:
        return receipt
    lines = [
        line.model_copy(update={"category": categories[line.sku]})
        if line.category is None and line.sku in categories
        else line
        for line in receipt.lines
    ]
    return receipt.model_copy(update={"lines": lines})


async def categories_of(
    deps: Deps, merchant_id: int, store_external_id: str | None, uuids: Iterable[str]
) -> dict[str, str]:
    """Product uuid -> category, for the products that have one."""
    nodes: dict[str, Row] = {}
    pending = set(uuids)
    for _ in range(MAX_DEPTH):
        pending -= set(nodes)
        if not pending:
            break
        found = await _load(deps, merchant_id, store_external_id, pending)
        if not found:
            break
        nodes.update(found)
        pending = {str(r["parent_uuid"]) for r in found.values() if r["parent_uuid"]}
    if not nodes:
        return {}
    mapped = await _mappings(deps, merchant_id, [u for u, r in nodes.items() if r["is_group"]])
    result = {}
    for uuid in uuids:
        node = nodes.get(uuid)
        if node is None or not node["parent_uuid"]:
            continue
        category = _category_of(str(node["parent_uuid"]), nodes, mapped)
        if category:
            result[uuid] = category
    return result


def _category_of(group_uuid: str, nodes: dict[str, Row], mapped: dict[str, str]) -> str | None:
    """Nearest explicit mapping up the chain of groups, else the nearest group's name."""
    chain: list[str] = []
    current: str | None = group_uuid
    while current and current in nodes and current not in chain and len(chain) < MAX_DEPTH:
        chain.append(current)
        parent = nodes[current]["parent_uuid"]
        current = str(parent) if parent else None
    for uuid in chain:
        if uuid in mapped:
            return mapped[uuid]
    if chain:
        name = str(nodes[chain[0]]["name"]).strip().lower()
        return name[:64] or None
    return None


async def _load(
    deps: Deps, merchant_id: int, store_external_id: str | None, uuids: set[str]
) -> dict[str, Row]:
    names = {f"u{i}": uuid for i, uuid in enumerate(sorted(uuids)[:500])}
    marks = ", ".join(f":{name}" for name in names)
    rows = await deps.db.fetch_all(
        "SELECT uuid, name, is_group, parent_uuid, store_external_id FROM evotor_products "
        f"WHERE merchant_id = :m AND uuid IN ({marks}) ORDER BY id",
        {"m": merchant_id, **names},
    )
    found: dict[str, Row] = {}
    for row in rows:
        uuid = str(row["uuid"])
        # The document's own store wins when a product is known in several stores.
        if uuid not in found or row["store_external_id"] == store_external_id:
            found[uuid] = row
    return found


async def _mappings(deps: Deps, merchant_id: int, group_uuids: list[str]) -> dict[str, str]:
    if not group_uuids:
        return {}
    rows = await deps.db.fetch_all(
        "SELECT group_uuid, category FROM evotor_group_categories WHERE merchant_id = :m",
        {"m": merchant_id},
    )
    wanted = set(group_uuids)
    return {str(r["group_uuid"]): str(r["category"]) for r in rows if r["group_uuid"] in wanted}
