#!/usr/bin/env bash
# The web app (web/): build the static export that `lumen serve` serves, or test it in
# Debian's Chromium against a real `lumen serve`.
#
#   scripts/web.sh build     npm ci if needed, ESLint, tsc, API types check, next build -> web/out
#   scripts/web.sh ensure    build only when web/out is missing or older than its sources
#   scripts/web.sh test      build when the sources changed, then the browser suite
#   scripts/web.sh dev       next dev on :3000, proxying /api to LUMEN_API_URL (default :8000)
#   scripts/web.sh api       regenerate web/openapi.json and web/lib/api/schema.d.ts
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WEB=$ROOT/web
export NEXT_TELEMETRY_DISABLED=1
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}

say() { echo "web: $*"; }

need_node() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        say "node and npm are needed (Node 20 or later)" >&2
        exit 2
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$major" -lt 20 ]; then
        say "Node 20 or later is needed (found $(node --version))" >&2
        exit 2
    fi
}

lock_hash() { sha256sum "$WEB/package-lock.json" | cut -d' ' -f1; }

# npm ci when node_modules is missing or was installed from another package-lock.json.
deps() {
    need_node
    local stamp=$WEB/node_modules/.lumen-lock-sha256
    if [ ! -d "$WEB/node_modules" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(lock_hash)" ]; then
        say "installing dependencies (npm ci)"
        (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
        lock_hash >"$stamp"
    fi
}

# A digest of everything the export is built from.
sources_hash() {
    (cd "$WEB" && find app components lib public package-lock.json next.config.mjs tsconfig.json \
        .eslintrc.json openapi.json -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

build() {
    deps
    cd "$WEB"
    say "lint (ESLint)"
    npm run --silent lint
    say "type-check (tsc --noEmit)"
    npm run --silent typecheck
    say "API types are current (api:check)"
    npm run --silent api:check
    say "next build (static export to web/out)"
    npm run --silent build >/tmp/lumen-web-build.$$.log 2>&1 || { cat /tmp/lumen-web-build.$$.log; rm -f /tmp/lumen-web-build.$$.log; exit 1; }
    rm -f /tmp/lumen-web-build.$$.log
    sources_hash >"$WEB/out/.lumen-build-sha256"
    cd "$ROOT"
    say "built web/out"
}

ensure_chromium() {
    if [ -x "$CHROMIUM_PATH" ]; then
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Debian's chromium (apt-get)"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    if [ ! -x "$CHROMIUM_PATH" ]; then
        say "Chromium not found at $CHROMIUM_PATH: apt-get install chromium (or set CHROMIUM_PATH)" >&2
        exit 2
    fi
}

test_suite() {
    deps
    if ! built_is_current; then
        build
    else
        say "web/out is up to date; checking lint and types only"
        (cd "$WEB" && npm run --silent lint && npm run --silent typecheck && npm run --silent api:check)
    fi
    ensure_chromium
    say "browser suite (Chromium $("$CHROMIUM_PATH" --version 2>/dev/null | awk '{print $2}'))"
    node "$WEB/tests/e2e.mjs"
}

built_is_current() {
    [ -f "$WEB/out/.lumen-build-sha256" ] && [ "$(cat "$WEB/out/.lumen-build-sha256")" = "$(sources_hash)" ]
}

case "${1:-}" in
build) build ;;
ensure)
    if built_is_current; then say "web/out is up to date"; else build; fi
    ;;
test) test_suite ;;
dev)
    deps
    cd "$WEB" && exec npm run dev
    ;;
api)
    deps
    cd "$WEB" && npm run --silent api:generate
    ;;
*)
    echo "usage: scripts/web.sh build|ensure|test|dev|api" >&2
    exit 2
    ;;
esac
