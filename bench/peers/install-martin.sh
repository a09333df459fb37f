#!/usr/bin/env bash
# bench/peers/install-martin.sh: builds martin, the peer tile server, from crates.io into
# bench/peers/.tools/bin/martin (gitignored), with only the sources the benchmark uses (PostGIS
# and GeoJSON; no web UI, rendering, MBTiles or PMTiles). Version 1.14.0 builds with Rust 1.94+
# (2.0 was still a beta). About 25 minutes on the 2-core machine while other builds run; it is
# nice'd. Needs cmake (apt-get install cmake) for aws-lc-sys. MARTIN_VERSION overrides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${MARTIN_VERSION:-1.14.0}
command -v cmake >/dev/null || { echo "cmake is not installed (apt-get install cmake)" >&2; exit 1; }
nice -n 19 cargo install martin --version "$version" --locked --no-default-features \
  --features postgres,geojson --root "$here/.tools" \
  --target-dir "${MARTIN_TARGET_DIR:-${TMPDIR:-/tmp}/martin-target}"
"$here/.tools/bin/martin" --version
