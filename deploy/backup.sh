#!/usr/bin/env bash
# Back up Lumen: PostgreSQL (pg_dump, custom format), every Qdrant collection (a snapshot
# through Qdrant's HTTP API) and the encryption key file, into OUT_DIR/lumen-backup-<UTC time>/.
#
#   deploy/backup.sh OUT_DIR
#
# Settings (environment):
#   DATABASE_URL or DATABASE_URL_FILE  PostgreSQL URL (postgresql://... or Lumen's
#                                      postgresql+psycopg://...); required
#   QDRANT_URL                          Qdrant server (e.g. http://qdrant:6333); empty: skipped
#   QDRANT_API_KEY or QDRANT_API_KEY_FILE
#   KEY_FILE                            Lumen's key file (keys.json); empty: skipped
#   KEY_BACKUP_DIR                      where the key file's copy goes (default: with the rest).
#                                       Keep keys apart from the data they decrypt.
# Needs pg_dump (the server's major version or newer), sha256sum, and curl and jq for Qdrant.
set -euo pipefail
umask 077

die() { echo "backup: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: backup.sh OUT_DIR"

read_setting() {  # NAME: the variable's value, or the content of the file NAME_FILE names
    local name=$1 file_var="${1}_FILE"
    if [ -n "${!name:-}" ]; then printf '%s' "${!name}"
    elif [ -n "${!file_var:-}" ]; then tr -d '\r\n' < "${!file_var}"
    fi
}

db_url=$(read_setting DATABASE_URL)
[ -n "$db_url" ] || die "set DATABASE_URL or DATABASE_URL_FILE"
db_url=$(printf '%s' "$db_url" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')
command -v pg_dump >/dev/null || die "pg_dump is not installed"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$1/lumen-backup-$stamp"
mkdir -p "$out"

echo "backup: PostgreSQL -> $out/postgres.dump"
pg_dump --format=custom --no-owner --no-privileges --file="$out/postgres.dump" --dbname="$db_url"

qdrant_url=${QDRANT_URL:-}
if [ -n "$qdrant_url" ]; then
    if ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
        die "curl and jq are needed for Qdrant"
    fi
    api_key=$(read_setting QDRANT_API_KEY)
    auth=()
    [ -n "$api_key" ] && auth=(-H "api-key: $api_key")
    mkdir -p "$out/qdrant"
    collections=$(curl -fsS "${auth[@]}" "$qdrant_url/collections" \
        | jq -r '.result.collections[].name')
    for collection in $collections; do
        echo "backup: Qdrant collection $collection"
        name=$(curl -fsS "${auth[@]}" -X POST "$qdrant_url/collections/$collection/snapshots?wait=true" \
            | jq -r '.result.name')
        curl -fsS "${auth[@]}" -o "$out/qdrant/$collection.snapshot" \
            "$qdrant_url/collections/$collection/snapshots/$name"
        # The copy is taken: free the server's disk.
        curl -fsS "${auth[@]}" -X DELETE "$qdrant_url/collections/$collection/snapshots/$name" >/dev/null
    done
fi

if [ -n "${KEY_FILE:-}" ]; then
    key_dir=${KEY_BACKUP_DIR:-$out}
    if [ "$key_dir" != "$out" ]; then key_dir="$key_dir/lumen-keys-$stamp"; fi
    mkdir -p "$key_dir"
    cp "$KEY_FILE" "$key_dir/keys.json"
    chmod 600 "$key_dir/keys.json"
    echo "backup: key file -> $key_dir/keys.json"
fi

manifest=$(cd "$out" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
printf '%s\n' "$manifest" > "$out/MANIFEST.sha256"
echo "backup: done: $out"
