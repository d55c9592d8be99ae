#!/usr/bin/env bash
# ensure-deps.sh — install and start what `make test` and `make demo` need on
# a Debian 12 machine, as root, without a terminal (CI=true works the same).
# Idempotent: when everything is present it checks and prints one line, in
# well under 2 s; only what is missing is installed.
#
#   Go toolchain    must exist (not installed here); go.mod's modules downloaded
#   PostgreSQL      started if not accepting on 127.0.0.1:5432 (scripts/pg-ready.sh)
#   Debian packages kcat (librdkafka client for Kafka interop tests),
#                   prometheus (promtool + prometheus), chromium (browser tests),
#                   nftables + iproute2 (network fault tests), nodejs + npm (if
#                   missing), and last, because it is big, libreoffice-calc
#                   (opens the billing exports in a real spreadsheet)
#   npm packages    test/interop (smpp = node-smpp) and test/browser
#                   (playwright-core), from their committed package-lock.json
#
# Every action prints one line "deps: ..."; a failure prints one line
# "deps: FAILED: <reason>; <what to do>" on stderr and exits non-zero. Details
# of a failed command are kept in the log file the line names.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

say() { echo "deps: $*"; }
die() { echo "deps: FAILED: $*" >&2; exit 1; }

log=$(mktemp "${TMPDIR:-/tmp}/smsgate-deps.XXXXXX.log")
# The log of a failed step must outlive the script; remove it only on success.
trap 'rc=$?; if [ "$rc" = 0 ] || [ ! -s "$log" ]; then rm -f "$log"; fi' EXIT

acted=0

# --- Go ------------------------------------------------------------------
command -v go >/dev/null 2>&1 ||
	die "go not found on PATH; install Go $(awk '/^go /{print $2}' go.mod) (e.g. /usr/local/go) and add its bin to PATH"
want_go=$(awk '/^go /{print $2; exit}' go.mod)
have_go=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null | sed 's/^go//')
if [ -n "$want_go" ] && [ "$(printf '%s\n%s\n' "$want_go" "$have_go" | sort -V | head -n 1)" != "$want_go" ]; then
	die "go $have_go is older than go.mod's go $want_go; install Go $want_go or newer"
fi
# Offline first: with a warm module cache this is instant and needs no network.
if ! GOFLAGS=-mod=mod GOPROXY=off go mod download >/dev/null 2>&1; then
	say "downloading Go modules"
	go mod download >"$log" 2>&1 || die "go mod download failed (see $log); check network access to the Go module proxy, then rerun scripts/ensure-deps.sh"
	acted=1
fi

# --- PostgreSQL ----------------------------------------------------------
if ! command -v pg_isready >/dev/null 2>&1 || ! pg_isready -q -h 127.0.0.1 -p 5432 -t 2; then
	scripts/pg-ready.sh 30
	acted=1
fi

# --- Debian packages -------------------------------------------------------
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

small=(kcat prometheus chromium nftables iproute2)
command -v node >/dev/null 2>&1 || small+=(nodejs)
command -v npm >/dev/null 2>&1 || small+=(npm)
big=(libreoffice-calc)

missing_small=() missing_big=()
for p in "${small[@]}"; do installed "$p" || missing_small+=("$p"); done
for p in "${big[@]}"; do installed "$p" || missing_big+=("$p"); done

if [ ${#missing_small[@]} -gt 0 ] || [ ${#missing_big[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing_small[*]} ${missing_big[*]}; run as root: apt-get update && apt-get install -y ${missing_small[*]} ${missing_big[*]}"
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found (not Debian?); install by hand: ${missing_small[*]} ${missing_big[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	say "apt-get update (missing: ${missing_small[*]} ${missing_big[*]})"
	apt-get update -q >"$log" 2>&1 || die "apt-get update failed (see $log); check network access to Debian's mirrors"
	if [ ${#missing_small[@]} -gt 0 ]; then
		say "installing ${missing_small[*]}"
		apt-get install "${apt_opts[@]}" "${missing_small[@]}" >"$log" 2>&1 ||
			die "apt-get install ${missing_small[*]} failed (see $log); run: apt-get install -y ${missing_small[*]}"
	fi
	if [ ${#missing_big[@]} -gt 0 ]; then
		# Recommends would pull in ~200 more packages (desktop integration,
		# extra fonts, Java bits) that headless conversion does not use.
		say "installing ${missing_big[*]} (large, takes a while)"
		apt-get install "${apt_opts[@]}" --no-install-recommends "${missing_big[@]}" >"$log" 2>&1 ||
			die "apt-get install ${missing_big[*]} failed (see $log); run: apt-get install -y --no-install-recommends ${missing_big[*]}"
	fi
	acted=1
fi

# --- npm packages ------------------------------------------------------------
# npm keeps a copy of what it installed in node_modules/.package-lock.json;
# when that is newer than package.json and package-lock.json the tree is
# current and npm is not run at all (npm itself takes ~1 s to start).
npm_dirs=(test/interop test/browser)
for d in "${npm_dirs[@]}"; do
	[ -f "$d/package.json" ] || die "$d/package.json is missing; restore it from git (git checkout -- $d)"
	stamp="$d/node_modules/.package-lock.json"
	if [ -f "$stamp" ] && [ "$stamp" -nt "$d/package.json" ] &&
		{ [ ! -f "$d/package-lock.json" ] || [ "$stamp" -nt "$d/package-lock.json" ]; }; then
		continue
	fi
	command -v npm >/dev/null 2>&1 || die "npm not found; run: apt-get install -y nodejs npm"
	if [ -f "$d/package-lock.json" ]; then
		say "npm ci in $d"
		(cd "$d" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1 ||
			die "npm ci in $d failed (see $log); check network access to the npm registry, then run: (cd $d && npm ci)"
	else
		say "npm install in $d (no package-lock.json: commit the one it writes)"
		(cd "$d" && npm install --no-audit --no-fund --loglevel=error) >"$log" 2>&1 ||
			die "npm install in $d failed (see $log); check network access to the npm registry, then run: (cd $d && npm install)"
	fi
	touch "$stamp"
	acted=1
done

# --- toxiproxy (test/faults: a slow SMSC) --------------------------------------
# Shopify's toxiproxy server, built from its Go module into bin/tools (not on
# PATH; test/faults looks for it there).
toxi="$root/bin/tools/toxiproxy-server-v2.5.0"
if [ ! -x "$toxi" ]; then
	say "installing toxiproxy server v2.5.0 into bin/tools"
	tdir=$(mktemp -d "${TMPDIR:-/tmp}/smsgate-toxiproxy.XXXXXX")
	GOBIN="$tdir" GOFLAGS= go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0 >"$log" 2>&1 ||
		die "go install toxiproxy v2.5.0 failed (see $log); check network access to the Go module proxy"
	mkdir -p "$root/bin/tools" && mv "$tdir/server" "$toxi" && rmdir "$tdir"
	acted=1
fi

# --- final check: the tools the tests call by name -----------------------------
for tool in go kcat promtool prometheus chromium nft ip node soffice; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool still not on PATH after installing; check PATH (root needs /usr/sbin) and rerun scripts/ensure-deps.sh"
done

if [ "$acted" = 1 ]; then
	say "ready (root: $root)"
else
	say "all present"
fi
