#!/bin/sh
# What `npm test` needs beyond npm packages: Debian's docker-compose, to validate
# docker-compose.yml (no Docker engine runs here; `docker-compose config` needs none), and
# Debian's chromium for the browser tests (playwright-core drives it; it cannot download one).
# Installed with apt-get when we may (root on Debian); otherwise the exact command is printed.
set -eu

missing=""
command -v docker-compose >/dev/null 2>&1 || missing="$missing docker-compose"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test prerequisites: installing$missing with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  exit 0
fi

echo "npm test needs:$missing. Install it with: sudo apt-get install -y$missing" >&2
exit 1
