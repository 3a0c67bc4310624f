#!/usr/bin/env bash
# Copy the pinned front-end assets of package.json into static/vendor/.
#
# Run it only to upgrade: edit the versions in package.json, run this script, commit
# package.json, package-lock.json and static/vendor/. Runtime and CI never need npm.
#   static/vendor/htmx.min.js          htmx 2.x (served to the page)
#   static/vendor/plotly-basic.min.js  the partial plotly.js bundle: scatter, bar, pie
#   static/vendor/axe.min.js           axe-core, for the accessibility tests only (never served)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cp "$ROOT/package.json" "$WORK/"
if [[ -f "$ROOT/package-lock.json" ]]; then
  cp "$ROOT/package-lock.json" "$WORK/"
fi
(cd "$WORK" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
cp "$WORK/package-lock.json" "$ROOT/package-lock.json"

mkdir -p "$DEST"
cp "$WORK/node_modules/htmx.org/dist/htmx.min.js" "$DEST/htmx.min.js"
cp "$WORK/node_modules/plotly.js-basic-dist-min/plotly-basic.min.js" "$DEST/plotly-basic.min.js"
cp "$WORK/node_modules/axe-core/axe.min.js" "$DEST/axe.min.js"
for pkg in htmx.org plotly.js-basic-dist-min axe-core; do
  license="$(ls "$WORK/node_modules/$pkg" | grep -i -m1 '^licen[cs]e' || true)"
  if [[ -n "$license" ]]; then
    cp "$WORK/node_modules/$pkg/$license" "$DEST/LICENSE.$pkg.txt"
  fi
done

(cd "$WORK/node_modules" && for pkg in htmx.org plotly.js-basic-dist-min axe-core; do
  printf '%s %s\n' "$pkg" "$(node -p "require('./$pkg/package.json').version")"
done) > "$DEST/VERSIONS.txt"
cat "$DEST/VERSIONS.txt"
ls -l "$DEST"
