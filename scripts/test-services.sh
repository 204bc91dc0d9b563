#!/usr/bin/env bash
# Makes sure the services the tests use answer on 127.0.0.1, starting any that do not and, on a
# bare Debian machine, installing them first:
#   PostgreSQL 5432 (trust auth, superuser role root, database test)
#   Redis 6379, NATS with JetStream 4222, MariaDB 3306 (root, no password)
# and installs Debian's chromium for the dashboard's browser tests when it is missing.
# A service whose URL variable (DATABASE_URL, REDIS_URL, NATS_URL, MYSQL_URL) is set is left alone.
# Prints only `export` lines on stdout, for `eval "$(scripts/test-services.sh)"`; everything else
# goes to stderr. Starting and installing needs root or sudo. Used by `make test`.
set -euo pipefail

# Keep stdout for the exports (fd 3); anything a command prints goes to stderr.
exec 3>&1 1>&2

export PATH=$PATH:/usr/sbin:/sbin # start-stop-daemon, runuser, mariadbd, nats-server

readonly PG_URL='postgres://root@127.0.0.1:5432/test?sslmode=disable'
readonly REDIS_URL_DEFAULT='redis://127.0.0.1:6379/0'
readonly NATS_URL_DEFAULT='nats://127.0.0.1:4222'
readonly MYSQL_URL_DEFAULT='root@tcp(127.0.0.1:3306)/'
readonly WAIT_SECONDS=60

say() { printf 'test-services: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
have() { command -v "$1" >/dev/null; }

# as_root runs a command as root: directly, or through sudo.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif have sudo; then
    sudo "$@"
  else
    die "need root or sudo to run: $* (or set the service's URL variable)"
  fi
}

# as_postgres runs a command as the postgres system user, from / (our directory may be closed to it).
as_postgres() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  elif have sudo; then
    (cd / && sudo -u postgres "$@")
  else
    die "need root or sudo to run as postgres: $*"
  fi
}

apt_updated=
# install_package installs a Debian package.
install_package() {
  local pkg=$1
  have apt-get || die "$pkg is missing and there is no apt-get; install it, or set the service's URL variable"
  if [[ -z $apt_updated ]]; then
    say "refreshing package lists: apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "installing $pkg: apt-get install -y $pkg"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg"
}

# wait_until runs a check until it succeeds, or dies after WAIT_SECONDS with a hint.
wait_until() {
  local what=$1 hint=$2 deadline=$((SECONDS + WAIT_SECONDS))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$what did not answer within ${WAIT_SECONDS}s; $hint"
    fi
    sleep 0.5
  done
}

# tcp_open succeeds when something accepts connections on 127.0.0.1:$1.
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# --- PostgreSQL --------------------------------------------------------------------------------

pg_answers() {
  pg_isready -h 127.0.0.1 -p 5432 -q && [[ $(psql "$PG_URL" -XAtqc 'SELECT 1' 2>/dev/null) == 1 ]]
}

ensure_postgres() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    say "postgres: DATABASE_URL is set, leaving it alone"
    return
  fi
  if have pg_isready && have psql && pg_answers; then
    say "postgres: answering at 127.0.0.1:5432"
    return
  fi
  if ! have pg_ctlcluster || ! have psql || ! compgen -G '/etc/postgresql/*/main' >/dev/null; then
    install_package postgresql
  fi
  local version
  version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
  [[ -n $version && -d /etc/postgresql/$version/main ]] ||
    die "postgres: no cluster /etc/postgresql/<version>/main; create one: pg_createcluster <version> main"
  local conf=/etc/postgresql/$version/main log=/var/log/postgresql/postgresql-$version-main.log

  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    say "postgres: starting: pg_ctlcluster --skip-systemctl-redirect $version main start"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_until "postgres at 127.0.0.1:5432" "is cluster $version/main on port 5432? see $log" \
      pg_isready -h 127.0.0.1 -p 5432 -q
  fi

  # pg_hba.conf: the first rule that matches wins, so trust goes first.
  local first_host_rule
  first_host_rule=$(as_root grep -Em1 '^[[:space:]]*host' "$conf/pg_hba.conf" | tr -s '[:space:]' ' ' || true)
  if [[ $first_host_rule != 'host all all 127.0.0.1/32 trust'* ]]; then
    say "postgres: trusting 127.0.0.1 in $conf/pg_hba.conf"
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi

  say "postgres: ensuring superuser role root and database test"
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p 5432 -d postgres <<'SQL'
SELECT 'CREATE ROLE root SUPERUSER LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'root')\gexec
SELECT 'CREATE DATABASE test' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'test')\gexec
SQL
  wait_until "postgres ($PG_URL)" "check $conf/pg_hba.conf and $log" pg_answers
  say "postgres: answering at 127.0.0.1:5432"
}

# --- Redis -------------------------------------------------------------------------------------

redis_answers() {
  local reply
  reply=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 && head -n 1 <&3' 2>/dev/null) || return 1
  [[ $reply == +PONG* ]]
}

ensure_redis() {
  if [[ -n ${REDIS_URL:-} ]]; then
    say "redis: REDIS_URL is set, leaving it alone"
    return
  fi
  if redis_answers; then
    say "redis: answering at 127.0.0.1:6379"
    return
  fi
  have redis-server || install_package redis-server
  if ! redis_answers; then # installing may have started it
    as_root mkdir -p /var/lib/redis /var/log/redis
    say "redis: starting: redis-server --daemonize yes --port 6379 ..."
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_until "redis at 127.0.0.1:6379" "see /var/log/redis/ci.log" redis_answers
  fi
  say "redis: answering at 127.0.0.1:6379"
}

# --- NATS --------------------------------------------------------------------------------------

nats_answers() {
  local info
  info=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222 && head -n 1 <&3' 2>/dev/null) || return 1
  [[ $info == *'"jetstream":true'* ]]
}

ensure_nats() {
  if [[ -n ${NATS_URL:-} ]]; then
    say "nats: NATS_URL is set, leaving it alone"
    return
  fi
  if nats_answers; then
    say "nats: answering with JetStream at 127.0.0.1:4222"
    return
  fi
  have nats-server || install_package nats-server
  local bin
  bin=$(command -v nats-server) || die "nats: nats-server still missing after installing it"
  if tcp_open 4222; then
    die "nats: a server on 127.0.0.1:4222 runs without JetStream (Debian's nats-server.service does);" \
      "stop it (systemctl stop nats-server) or add 'jetstream: enabled' to its config, or set NATS_URL"
  fi
  as_root mkdir -p /var/lib/nats-server
  say "nats: starting: start-stop-daemon --start --background --exec $bin -- -a 127.0.0.1 -p 4222 -js ..."
  as_root start-stop-daemon --start --oknodo --background --exec "$bin" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_until "nats at 127.0.0.1:4222" \
    "see /var/log/nats-server.log (a nats-server already running elsewhere keeps start-stop-daemon from starting one)" \
    nats_answers
  say "nats: answering with JetStream at 127.0.0.1:4222"
}

# --- MariaDB -----------------------------------------------------------------------------------

# mysql_client prints the path of the MariaDB (or MySQL) command-line client.
mysql_client() { command -v mariadb || command -v mysql; }

mysql_answers() {
  local client
  client=$(mysql_client) || return 1
  [[ $("$client" --protocol=tcp -h 127.0.0.1 -P 3306 -u root -NBe 'SELECT 1' 2>/dev/null) == 1 ]]
}

ensure_mariadb() {
  if [[ -n ${MYSQL_URL:-} ]]; then
    say "mariadb: MYSQL_URL is set, leaving it alone"
    return
  fi
  if mysql_answers; then
    say "mariadb: answering at 127.0.0.1:3306"
    return
  fi
  [[ -x /usr/sbin/mariadbd ]] || install_package mariadb-server
  if ! tcp_open 3306; then
    as_root install -d -o mysql -g mysql /run/mysqld # socket and pid dir; systemd makes it otherwise
    say "mariadb: starting: start-stop-daemon --start --background --exec /usr/sbin/mariadbd"
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    wait_until "mariadb at 127.0.0.1:3306" "see /var/log/mysql/error.log" tcp_open 3306
  fi
  if ! mysql_answers; then
    # Debian lets root in through the unix socket only; the tests log in over TCP, passwordless.
    say "mariadb: letting root log in from 127.0.0.1 without a password"
    local client
    client=$(mysql_client) || die "mariadb: no mariadb client after installing mariadb-server"
    as_root "$client" -u root <<'SQL'
ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
SQL
  fi
  wait_until "mariadb (root@127.0.0.1:3306)" "see /var/log/mysql/error.log" mysql_answers
  say "mariadb: answering at 127.0.0.1:3306"
}

# --- Chromium ----------------------------------------------------------------------------------
# The dashboard's browser tests drive Debian's chromium (headless, through chromedp).
ensure_chromium() {
  if have chromium; then
    return
  fi
  install_package chromium
  have chromium || die "chromium: not on PATH after installing it"
  say "chromium: installed $(chromium --version 2>/dev/null || true)"
}

# export_line prints `export NAME='value'`, single-quoted for eval.
export_line() {
  local quoted=${2//\'/\'\\\'\'}
  printf "export %s='%s'\n" "$1" "$quoted" >&3
}

ensure_postgres
ensure_redis
ensure_nats
ensure_mariadb
ensure_chromium

export_line DATABASE_URL "${DATABASE_URL:-$PG_URL}"
export_line REDIS_URL "${REDIS_URL:-$REDIS_URL_DEFAULT}"
export_line NATS_URL "${NATS_URL:-$NATS_URL_DEFAULT}"
export_line MYSQL_URL "${MYSQL_URL:-$MYSQL_URL_DEFAULT}"
