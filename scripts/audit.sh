#!/usr/bin/env bash
# pip-audit --strict over the lock (constraints.txt). Fails on a known vulnerability or on a
# package it could not audit. Where the vulnerability service cannot be reached at all (a
# machine whose network reaches only a package mirror), it says so loudly and audits nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
AUDIT=${PIP_AUDIT:-.venv/bin/pip-audit}
probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
echo "pip==24.0" > "$probe"
if ! "$AUDIT" --strict --no-deps --disable-pip -r "$probe" >/dev/null 2>&1 \
    && "$AUDIT" --no-deps --disable-pip -r "$probe" 2>&1 | grep -q "could not be audited"; then
    echo "audit: NOT RUN - the vulnerability service is unreachable from this machine" >&2
    exit 0
fi
exec "$AUDIT" --strict --no-deps --disable-pip -r constraints.txt
