#!/usr/bin/env bash
# Debian's Chromium for the browser tests of the release pages (Playwright drives it: no browser download), on a
# Debian machine as root. Idempotent. Exit 1 when it cannot be done here (the browser tests skip, and fail under CI).
set -euo pipefail
if command -v chromium >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-chromium: needs root and apt-get; the browser tests will not run here (under CI they fail)" >&2
    exit 1
fi
echo "install-chromium: installing Debian's chromium (about 130 MB with its libraries)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }
command -v chromium >/dev/null
