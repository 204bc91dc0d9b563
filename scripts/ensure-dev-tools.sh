#!/usr/bin/env bash
# Makes sure the server binaries `vecron dev` starts are installed: PostgreSQL (unless
# DATABASE_URL is set) and Redis (unless REDIS_URL is set). NATS runs inside vecron. It installs
# missing ones with apt-get (through sudo when not root); it never starts anything.
# Used by `make run`.
set -euo pipefail

say() { printf 'ensure-dev-tools: %s\n' "$*" >&2; }

# postgres_bin_dir prints the directory holding initdb and postgres, searched like vecron dev
# does: on PATH, else the highest version in /usr/lib/postgresql.
postgres_bin_dir() {
  local initdb dir
  if initdb=$(command -v initdb) && [[ -x "$(dirname "$initdb")/postgres" ]]; then
    dirname "$initdb"
    return 0
  fi
  while IFS= read -r dir; do
    if [[ -x $dir/initdb && -x $dir/postgres ]]; then
      echo "$dir"
      return 0
    fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  return 1
}

apt_updated=
# install_package installs a Debian package, as root or through sudo.
install_package() {
  local pkg=$1 sudo=()
  if ! command -v apt-get >/dev/null; then
    say "$pkg is missing and there is no apt-get; install it with your package manager"
    exit 1
  fi
  if [[ $EUID -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
      say "$pkg is missing; run as root: apt-get install -y $pkg"
      exit 1
    fi
    sudo=(sudo)
  fi
  if [[ -z $apt_updated ]]; then
    say "refreshing package lists: ${sudo[*]:+${sudo[*]} }apt-get update"
    "${sudo[@]}" apt-get update -qq >&2
    apt_updated=1
  fi
  say "installing $pkg: ${sudo[*]:+${sudo[*]} }apt-get install -y $pkg"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
}

if [[ -n ${DATABASE_URL:-} ]]; then
  say "postgres: DATABASE_URL is set, vecron dev will use it"
elif dir=$(postgres_bin_dir); then
  say "postgres: found in $dir"
else
  install_package postgresql
  dir=$(postgres_bin_dir) || { say "postgres: still not found after installing postgresql"; exit 1; }
  say "postgres: installed in $dir"
fi

if [[ -n ${REDIS_URL:-} ]]; then
  say "redis: REDIS_URL is set, vecron dev will use it"
elif bin=$(command -v redis-server); then
  say "redis: found $bin"
else
  install_package redis-server
  bin=$(command -v redis-server) || { say "redis: still not found after installing redis-server"; exit 1; }
  say "redis: installed $bin"
fi
