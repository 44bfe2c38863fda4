#!/usr/bin/env bash
# Create .venv with Python 3.10 and install Stackwise from the lock file, unless already done.
# Idempotent: a stamp holding the hash of pyproject.toml + constraints.txt skips the install.
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests: Debian's Chromium (never a browser downloaded by Playwright), axe-core and
# rasa-webchat (the stock Rasa client the college-stack test drives), from package-lock.json.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Chromium for the browser tests (apt-get)"
    { apt-get update -qq >/dev/null 2>&1 || true; } && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || echo "setup: could not install chromium; browser tests will be skipped" >&2
  else
    echo "setup: /usr/bin/chromium missing (install the 'chromium' package); browser tests will be skipped" >&2
  fi
fi
if { [ ! -d node_modules/axe-core ] || [ ! -d node_modules/rasa-webchat ]; } && [ -f package-lock.json ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "setup: npm ci (axe-core for the accessibility checks, rasa-webchat for the stock-client test)"
    npm ci --no-audit --no-fund --silent || echo "setup: npm ci failed; accessibility checks will be skipped" >&2
  else
    echo "setup: npm not found; accessibility checks will be skipped" >&2
  fi
fi

VENV=.venv
STAMP="$VENV/.stackwise-install"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
  exit 0
fi

is_py310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

find_python() {
  local c
  if [ -n "${STACKWISE_PYTHON:-}" ]; then
    is_py310 "$STACKWISE_PYTHON" && { echo "$STACKWISE_PYTHON"; return; }
    echo "setup: STACKWISE_PYTHON=$STACKWISE_PYTHON is not a working Python 3.10" >&2; return 1
  fi
  for c in python3.10 "$HOME"/.pyenv/versions/3.10.*/bin/python /usr/local/bin/python3.10 /usr/bin/python3.10; do
    if command -v "$c" >/dev/null 2>&1 && is_py310 "$(command -v "$c")"; then
      command -v "$c"; return
    fi
  done
  return 1
}

if ! PY=$(find_python); then
  cat >&2 <<MSG
setup: Python 3.10 not found (Rasa 3.6 requires exactly 3.10).
  Looked for: python3.10 on PATH, ~/.pyenv/versions/3.10.*/bin/python, /usr/bin/python3.10.
  Install it (e.g. 'pyenv install 3.10') or point STACKWISE_PYTHON at a Python 3.10 interpreter.
MSG
  exit 1
fi

echo "setup: using $PY ($("$PY" --version 2>&1))"
if [ ! -x "$VENV/bin/python" ] || ! is_py310 "$VENV/bin/python"; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi
echo "setup: installing dependencies from constraints.txt (first time: a few minutes, ~8 GB)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c constraints.txt -e ".[dev]"
echo "$want" > "$STAMP"
echo "setup: done"

