#!/usr/bin/env bash
# Makes a machine ready to run Jieli and its tests: the system packages the browser tests
# need (Debian's chromium and CJK fonts), then .venv with the pinned dependencies
# (requirements.lock) and Jieli itself. Safe to run again; it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Jieli needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version))" >&2; exit 1; }

# The browser tests drive Debian's chromium (never a browser Playwright downloads) and need
# fonts with Chinese glyphs for screenshots people can read.
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi micro hei"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and fonts-wqy-microhei (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    echo "warning: the browser tests need Debian's chromium and fonts-wqy-microhei;" \
         "run: sudo apt-get install -y chromium fonts-wqy-microhei" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# uv (pinned) installs the lock's exact versions, as pip would, in a fifth of the time: 9 s
# against 41 s for a new .venv on the 2-core machine, most of what a clean clone's set-up took.
.venv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
# uv reads none of pip's configuration (an index mirror, a certificate): where it cannot
# install, pip does, as it did before.
uv() { .venv/bin/uv pip "$@" --quiet --python .venv/bin/python; }
pip() { .venv/bin/python -m pip "$@" --quiet --disable-pip-version-check; }
uv install --compile-bytecode -r requirements.lock \
  || { echo "uv could not install requirements.lock; installing with pip" >&2
       pip install -r requirements.lock; }
uv install --no-deps -e . || pip install --no-deps -e .
# Jieli's own modules compiled to bytecode once: every flow pass, CLI call and server is a new
# process, and where PYTHONDONTWRITEBYTECODE is set (CI machines set it) each would compile
# them again, about half a CPU-second a process. A changed file is compiled again in memory.
.venv/bin/python -m compileall -q -j 0 flows tasks forms storage deployments >/dev/null
echo "ready: .venv/bin/jieli --help"
