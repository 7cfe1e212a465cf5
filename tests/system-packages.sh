#!/usr/bin/env bash
# What the test suite needs from Debian beyond Python, installed only when missing:
# - chromium, which the web page's browser tests drive headless (tests/adapters/browser.py; never downloaded by Playwright);
# - as root, PostgreSQL's server binaries: initdb refuses root, so the tests run the cluster as the postgres user (else
#   nobody), who may not reach the build in the pgserver wheel inside this checkout (tests/pgserver.py). A user who is
#   not root runs that wheel's build and needs nothing here for PostgreSQL.
# apt-get needs root: as another user the installs go through sudo.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "$(id -u)" -eq 0 ] && ! command -v pg_ctl >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; then
  need+=(postgresql)
fi
if [ "${#need[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing Debian's ${need[*]} for the tests" >&2
  ("${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
fi
