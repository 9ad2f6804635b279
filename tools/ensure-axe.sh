#!/usr/bin/env bash
# Makes sure axe-core, the accessibility rule engine the browser tests inject into every
# page, is unpacked under .data/axe (it is fetched once with npm, checked against its
# known hash, and not committed). Prints the path of axe.min.js.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.14.1
sum=29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
dir=.data/axe/$version
file=$dir/axe.min.js
if [ -f "$file" ] && echo "$sum  $file" | sha256sum -c --status; then
  echo "$PWD/$file"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "npm not found; installing Debian's npm package to fetch axe-core" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q npm >&2
  else
    echo "npm not found: install Node.js and npm (Debian: apt-get install npm) so the browser tests can fetch axe-core $version," >&2
    echo "or point STARLING_AXE at an axe.min.js of that version." >&2
    exit 1
  fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "axe-core@$version" >/dev/null)
tar -xzf "$tmp/axe-core-$version.tgz" -C "$tmp" package/axe.min.js
if ! echo "$sum  $tmp/package/axe.min.js" | sha256sum -c --status; then
  echo "axe-core $version: axe.min.js does not have the expected SHA-256" >&2
  exit 1
fi
mkdir -p "$dir"
mv "$tmp/package/axe.min.js" "$file"
echo "$PWD/$file"
