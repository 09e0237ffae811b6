#!/usr/bin/env bash
# Installs the test-only npm dependency oidc-provider (pinned in package-lock.json) into
# tests/oidc/node_modules. Idempotent: does nothing when node_modules is already there.
# Needs node and npm (scripts/install-deps.sh) and, the first time, the npm registry.
set -euo pipefail
cd "$(dirname "$0")"
if [ -d node_modules/oidc-provider ]; then
  exit 0
fi
command -v node >/dev/null || { echo "tests/oidc/install.sh: node is not installed (scripts/install-deps.sh)" >&2; exit 1; }
command -v npm >/dev/null || { echo "tests/oidc/install.sh: npm is not installed (scripts/install-deps.sh)" >&2; exit 1; }
# npm ci installs exactly the lock file's versions (integrity-checked) and never rewrites it.
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
