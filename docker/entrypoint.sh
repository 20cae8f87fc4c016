#!/bin/sh
# The image's entry point: migrate (under PostgreSQL's advisory lock, so every replica
# and the scheduler may start at once), load the demo merchant when LOYALTY_DEMO=1 and
# it is not there yet, then become the command (`loyalty serve` by default).
# tests/ops/test_entrypoint.py runs this very script against a temporary PostgreSQL.
set -eu

if [ "$#" -eq 0 ]; then
    set -- loyalty serve
fi

echo "entrypoint: applying migrations"
loyalty migrate

if [ "${LOYALTY_DEMO:-0}" = "1" ]; then
    # In production the demo gets fresh tokens, printed here once (docker compose logs).
    echo "entrypoint: loading the demo merchant unless it is there"
    loyalty demo --if-absent
fi

exec "$@"
