#!/bin/sh
# Refreshes the vendored front-end libraries from npm at pinned versions.
# Only the files the page loads are kept (no source maps, no dev builds), with each licence.
# Usage: web/vendor/refresh.sh   (needs npm; run from anywhere)
set -eu

MAPLIBRE_VERSION=6.17.0

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch NAME VERSION: unpacks the npm tarball into $tmp/NAME/package.
fetch() {
    mkdir -p "$tmp/$1"
    (cd "$tmp/$1" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
}

fetch maplibre-gl "$MAPLIBRE_VERSION"
src="$tmp/maplibre-gl/package"
dst="$here/maplibre-gl"
rm -rf "$dst"
mkdir -p "$dst"
# MapLibre 6 ships ES modules; the main module loads the worker from the same directory
# (resolved against import.meta.url), so both must sit side by side.
cp "$src/dist/maplibre-gl.mjs" "$src/dist/maplibre-gl-worker.mjs" "$src/dist/maplibre-gl.css" \
    "$src/LICENSE.txt" "$dst/"
echo "$MAPLIBRE_VERSION" >"$dst/VERSION"

ls -l "$dst"
