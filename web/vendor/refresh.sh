#!/bin/sh
# Refreshes the vendored front-end libraries from npm at pinned versions.
# Only the files the page loads are kept (no source maps, no dev builds), with each licence.
# Usage: web/vendor/refresh.sh   (needs npm; run from anywhere)
set -eu

MAPLIBRE_VERSION=6.17.0
TERRA_DRAW_VERSION=1.35.0
TERRA_DRAW_ADAPTER_VERSION=1.4.1

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

# terra-draw and its MapLibre adapter: UMD builds, loaded by classic <script> tags before the app
# (they define the globals `terraDraw` and `terraDrawMaplibreGlAdapter`). Their npm packages carry
# no licence file: LICENSE.txt in this directory holds the upstream repository's MIT licence
# (JamesLMilner/terra-draw) and is kept as it is.
fetch terra-draw "$TERRA_DRAW_VERSION"
fetch terra-draw-maplibre-gl-adapter "$TERRA_DRAW_ADAPTER_VERSION"
dst="$here/terra-draw"
test -s "$dst/LICENSE.txt" || { echo "missing $dst/LICENSE.txt (the upstream MIT licence)" >&2; exit 1; }
for pkg in terra-draw terra-draw-maplibre-gl-adapter; do
    grep -q '"license": "MIT"' "$tmp/$pkg/package/package.json" ||
        { echo "$pkg is no longer MIT-licensed: check $dst/LICENSE.txt" >&2; exit 1; }
    cp "$tmp/$pkg/package/dist/$pkg.umd.js" "$dst/"
done
printf 'terra-draw %s\nterra-draw-maplibre-gl-adapter %s\n' \
    "$TERRA_DRAW_VERSION" "$TERRA_DRAW_ADAPTER_VERSION" >"$dst/VERSION"

ls -l "$dst"
