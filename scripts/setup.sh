#!/usr/bin/env bash
# Installs what avtal's tests need on a fresh Debian machine, once; later runs only check.
# - PostgreSQL reachable at 127.0.0.1:5432 (started if the machine has it but it is stopped)
# - system tools the document and browser tests use (poppler-utils, chromium)
# - the fonts contract documents are set in (fonts-dejavu-core: DejaVu Serif and Sans)
# - the pinned typst CLI under $AVTAL_TOOLS (default /opt/avtal-tools), built once with cargo
# - the OCDS validator (libcoveocds) in /opt/avtal-tools/ocds-venv
set -euo pipefail

TOOLS="${AVTAL_TOOLS:-/opt/avtal-tools}"
TYPST_VERSION="0.15.1"
mkdir -p "$TOOLS"

need_apt=()
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || need_apt+=(fonts-dejavu-core)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
# The Swedish locale of Chromium, so date inputs in the browser tests show Swedish dates.
[ -f /usr/lib/chromium/locales/sv.pak ] || need_apt+=(chromium-l10n)
command -v pg_isready >/dev/null || need_apt+=(postgresql-client)
python3 -c 'import ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "setup: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "setup: PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
fi

TYPST_BIN="$TOOLS/typst-$TYPST_VERSION/bin/typst"
if [ ! -x "$TYPST_BIN" ]; then
  echo "setup: building typst-cli $TYPST_VERSION into $TOOLS (about 10 minutes, once)"
  cargo install typst-cli --locked --version "$TYPST_VERSION" --root "$TOOLS/typst-$TYPST_VERSION" \
    --target-dir "$TOOLS/typst-build"
fi
echo "setup: typst at $TYPST_BIN ($("$TYPST_BIN" --version))"

# The official OCDS validator (libcoveocds, pinned) for the OCDS export tests; ../shared/ocds/validate.py
# runs it offline.
OCDS_VENV="$TOOLS/ocds-venv"
if [ ! -x "$OCDS_VENV/bin/python" ] || ! "$OCDS_VENV/bin/python" -c 'import libcoveocds' 2>/dev/null; then
  echo "setup: installing libcoveocds into $OCDS_VENV"
  python3 -m venv "$OCDS_VENV" && "$OCDS_VENV/bin/pip" install -q 'libcoveocds==0.17.0'
fi
