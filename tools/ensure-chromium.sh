#!/usr/bin/env bash
# Makes sure a Chromium for the browser tests is installed: Debian's chromium package when
# running as root with apt-get, otherwise a clear message naming what to install.
set -euo pipefail
for b in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if [ -n "${STARLING_CHROMIUM:-}" ] && [ -x "$STARLING_CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found; installing Debian's chromium package for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q chromium >&2
  exit 0
fi
echo "Chromium not found: install your system's chromium package (Debian: apt-get install chromium)," >&2
echo "or point STARLING_CHROMIUM at a Chromium or Chrome binary." >&2
exit 1
