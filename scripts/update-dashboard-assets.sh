#!/usr/bin/env bash
# Fetches the dashboard's third-party scripts from the npm registry at the versions pinned below,
# checks each tarball against the integrity the registry publishes, copies the files the
# dashboard serves into dashboard/static/vendor/ and writes dashboard/static/vendor/ASSETS: one
# line per file with its package, version, npm integrity and sha256. The Go test
# TestVendoredAssets checks the embedded files against that record.
#
#   scripts/update-dashboard-assets.sh           fetch, verify and write
#   scripts/update-dashboard-assets.sh --check   fetch and verify that the checked-in copy matches
#
# To move to another version, change the pin here and run the script; review the diff of ASSETS.
set -euo pipefail

# package@version  file in the tarball  name under vendor/
readonly ASSETS=(
  "htmx.org@2.0.11 package/dist/htmx.min.js htmx.min.js"
  "htmx.org@2.0.11 package/LICENSE htmx.LICENSE"
  "htmx-ext-sse@2.2.4 package/dist/sse.min.js htmx-ext-sse.min.js"
)

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/dashboard/static/vendor
check=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v npm >/dev/null || { echo "npm is needed (Node 20 or later)" >&2; exit 1; }

record=$work/ASSETS
{
  echo "# Third-party dashboard assets, written by scripts/update-dashboard-assets.sh: do not edit."
  echo "# package version npm-integrity file sha256"
} >"$record"

declare -A fetched
for line in "${ASSETS[@]}"; do
  read -r spec inner name <<<"$line"
  pkg=${spec%@*}
  version=${spec##*@}
  if [[ -z ${fetched[$spec]:-} ]]; then
    mkdir -p "$work/$spec"
    # npm pack verifies the tarball against the registry's integrity as it downloads.
    tgz=$(cd "$work/$spec" && npm pack --silent "$spec")
    want=$(npm view "$spec" dist.integrity)
    got="sha512-$(openssl dgst -sha512 -binary "$work/$spec/$tgz" | base64 -w0)"
    if [[ $got != "$want" ]]; then
      echo "$spec: tarball integrity $got, the registry says $want" >&2
      exit 1
    fi
    tar -xzf "$work/$spec/$tgz" -C "$work/$spec"
    fetched[$spec]=$want
  fi
  src=$work/$spec/$inner
  [[ -f $src ]] || { echo "$spec has no $inner" >&2; exit 1; }
  mkdir -p "$work/out"
  cp "$src" "$work/out/$name"
  printf '%s %s %s %s %s\n' "$pkg" "$version" "${fetched[$spec]}" "$name" "$(sha256sum "$src" | cut -d' ' -f1)" >>"$record"
done
cp "$record" "$work/out/ASSETS"

if [[ $check == --check ]]; then
  if diff -r "$work/out" "$dest"; then
    echo "dashboard/static/vendor matches the registry"
  else
    echo "dashboard/static/vendor differs from what the registry serves" >&2
    exit 1
  fi
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
cp "$work/out/"* "$dest/"
echo "wrote $(ls "$dest" | wc -l) files to dashboard/static/vendor"
