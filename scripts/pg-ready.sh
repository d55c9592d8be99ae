#!/usr/bin/env bash
# pg-ready.sh [TIMEOUT_SECONDS] — make sure the local PostgreSQL accepts
# connections on 127.0.0.1:5432, starting the Debian cluster if it does not.
# Idempotent; silent when the server is already up. Exit 0 when ready, 1 with
# a one-line reason (and the command to run by hand) otherwise.
set -euo pipefail

timeout=${1:-30}
host=127.0.0.1
port=5432

say() { echo "deps: $*"; }
die() { echo "deps: FAILED: $*" >&2; exit 1; }

command -v pg_isready >/dev/null 2>&1 ||
	die "pg_isready not found (PostgreSQL client missing); run: apt-get install -y postgresql"

pg_isready -q -h "$host" -p "$port" -t 2 && exit 0

[ -d /etc/postgresql ] && [ -n "$(ls -A /etc/postgresql 2>/dev/null)" ] ||
	die "PostgreSQL is not running on $host:$port and no local cluster exists in /etc/postgresql; install and start one (apt-get install -y postgresql) or set SMSGATE_POSTGRES_DSN"
# The newest installed major version, if several.
version=$(ls /etc/postgresql | sort -V | tail -n 1)
start_cmd="pg_ctlcluster --skip-systemctl-redirect $version main start"

say "starting PostgreSQL $version ($start_cmd)"
if ! out=$($start_cmd 2>&1); then
	# "already running" is fine: it may still be coming up.
	case $out in
	*"already running"*) ;;
	*) die "could not start PostgreSQL: $(echo "$out" | tail -n 1); run as root: $start_cmd" ;;
	esac
fi
for ((i = 0; i < timeout; i++)); do
	if pg_isready -q -h "$host" -p "$port" -t 1; then
		say "PostgreSQL $version accepting connections on $host:$port"
		exit 0
	fi
	sleep 1
done
die "PostgreSQL not accepting connections on $host:$port after ${timeout}s; check: $start_cmd; pg_lsclusters; tail /var/log/postgresql/postgresql-$version-main.log"
