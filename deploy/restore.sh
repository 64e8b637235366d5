#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh: PostgreSQL (pg_restore, replacing Lumen's tables),
# each Qdrant collection from its snapshot, and the key file. Stop the API and the workers first.
#
#   deploy/restore.sh BACKUP_DIR
#
# Settings (environment): DATABASE_URL or DATABASE_URL_FILE (required), QDRANT_URL and
# QDRANT_API_KEY(_FILE) (collections skipped when empty), KEY_FILE (where the backed-up key
# file is written; it must not exist yet: a key file is never overwritten), KEY_BACKUP (the
# key file's copy, default BACKUP_DIR/keys.json).
set -euo pipefail
umask 077

die() { echo "restore: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: restore.sh BACKUP_DIR"
in=$1
[ -f "$in/postgres.dump" ] || die "$in has no postgres.dump"

read_setting() {
    local name=$1 file_var="${1}_FILE"
    if [ -n "${!name:-}" ]; then printf '%s' "${!name}"
    elif [ -n "${!file_var:-}" ]; then tr -d '\r\n' < "${!file_var}"
    fi
}

if [ -f "$in/MANIFEST.sha256" ]; then
    (cd "$in" && sha256sum --check --quiet MANIFEST.sha256) || die "the backup's checksums do not match"
fi

# Checked before anything is touched: a key file is never overwritten.
if [ -n "${KEY_FILE:-}" ]; then
    source_keys=${KEY_BACKUP:-$in/keys.json}
    [ -f "$source_keys" ] || die "no key file backup at $source_keys"
    [ -e "$KEY_FILE" ] && die "$KEY_FILE exists: move it away first (a key file is never overwritten)"
fi

db_url=$(read_setting DATABASE_URL)
[ -n "$db_url" ] || die "set DATABASE_URL or DATABASE_URL_FILE"
db_url=$(printf '%s' "$db_url" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')
command -v pg_restore >/dev/null || die "pg_restore is not installed"

echo "restore: PostgreSQL"
pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
    --exit-on-error --dbname="$db_url" "$in/postgres.dump"

qdrant_url=${QDRANT_URL:-}
if [ -n "$qdrant_url" ] && [ -d "$in/qdrant" ]; then
    api_key=$(read_setting QDRANT_API_KEY)
    auth=()
    [ -n "$api_key" ] && auth=(-H "api-key: $api_key")
    for snapshot in "$in"/qdrant/*.snapshot; do
        [ -e "$snapshot" ] || continue
        collection=$(basename "$snapshot" .snapshot)
        echo "restore: Qdrant collection $collection"
        curl -fsS "${auth[@]}" -X POST \
            "$qdrant_url/collections/$collection/snapshots/upload?priority=snapshot&wait=true" \
            -F "snapshot=@$snapshot" >/dev/null
    done
fi

if [ -n "${KEY_FILE:-}" ]; then
    cp "$source_keys" "$KEY_FILE"
    chmod 600 "$KEY_FILE"
    echo "restore: key file -> $KEY_FILE"
fi
echo "restore: done"
