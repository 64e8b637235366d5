#!/usr/bin/env bash
# Create deploy/secrets/ for the compose stack: random passwords, the URLs that carry them,
# an API key for Qdrant and the model server, and Lumen's encryption key file. Existing files
# are kept, so running it again changes nothing.
#
#   deploy/init-secrets.sh            (as root, so that the files can be given to their users)
set -euo pipefail
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 700 secrets

random() { openssl rand -base64 32 | tr -d '/+=\n' | cut -c1-32; }

write() {  # NAME VALUE: write secrets/NAME once
    if [ ! -e "secrets/$1" ]; then
        printf '%s\n' "$2" > "secrets/$1"
        echo "init-secrets: created secrets/$1"
    fi
}

[ -e secrets/postgres_password ] || write postgres_password "$(random)"
[ -e secrets/redis_password ] || write redis_password "$(random)"
write database_url "postgresql+psycopg://lumen:$(tr -d '\n' < secrets/postgres_password)@postgres:5432/lumen"
write redis_url "redis://:$(tr -d '\n' < secrets/redis_password)@redis:6379/0"
write qdrant_api_key "$(random)"
write llm_api_key "$(random)"
write grafana_admin_password "$(random)"
if [ ! -e secrets/keys.json ]; then
    key_id="k$(date -u +%Y%m%d)"
    printf '{"active": "%s", "keys": {"%s": "%s"}}\n' "$key_id" "$key_id" "$(openssl rand -base64 32)" \
        > secrets/keys.json
    echo "init-secrets: created secrets/keys.json (back it up apart from the data: see docs/deploy.md)"
fi

# Compose mounts each file as it is: the services' users must be able to read them, while the
# folder (0700) keeps other users of this host out. Lumen's key file is for Lumen (uid 10001) alone.
chmod 444 secrets/*
if [ "$(id -u)" = 0 ]; then
    chown 10001:10001 secrets/keys.json
    chmod 400 secrets/keys.json
else
    echo "init-secrets: not root: secrets/keys.json stays readable by every container user" >&2
fi
