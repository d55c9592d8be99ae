#!/usr/bin/env bash
# compare.sh — smsgate side by side with Kannel (make bench-compare; issue #9).
#
# Installs Kannel (kannel, kannel-extras: bearerbox, smsbox, mtbatch) and the
# node-smpp SMSC's modules when missing, builds the harness and runs it: for
# each SMSC simulator (Go smsc-sim, node-smpp), each mode (raw, durable,
# receipts) and each bind count (1, 2), Kannel and then smsgate drain the
# same pre-loaded N messages with the same window; then a latency run of
# smsgate at half its measured capacity. Prints the table and writes it to
# $OUT. Manual benchmark: CI does not run it.
#
# Environment (all optional):
#   N=200000  BINDS=1,2  WINDOW=100  MODES=raw,durable,receipts  SIMS=go,node
#   OUT=benchmarks/out/compare.md  TIMEOUT=60m (whole run)  RUN_TIMEOUT=8m (one run)
#   BIN=bin/smsgate  LATENCY_DURATION=20s  LATENCY_RATE=0 (0 = half capacity)
#   MACHINE="..." (written into the table's header)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-200000}
BINDS=${BINDS:-1,2}
WINDOW=${WINDOW:-100}
MODES=${MODES:-raw,durable,receipts}
SIMS=${SIMS:-go,node}
OUT=${OUT:-benchmarks/out/compare.md}
TIMEOUT=${TIMEOUT:-60m}
RUN_TIMEOUT=${RUN_TIMEOUT:-8m}
BIN=${BIN:-bin/smsgate}
LATENCY_DURATION=${LATENCY_DURATION:-20s}
LATENCY_RATE=${LATENCY_RATE:-0}
MACHINE=${MACHINE:-"$(hostname): $(nproc) vCPU"}

say() { echo "bench-compare: $*" >&2; }
die() { echo "bench-compare: FAILED: $*" >&2; exit 1; }

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for p in kannel kannel-extras; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
		die "apt-get install ${missing[*]} failed"
fi
# Debian's package tries to start a system-wide bearerbox; the comparison
# runs its own, on ports it picks, and must not share the machine with one.
if pgrep -x bearerbox >/dev/null 2>&1; then
	say "note: a bearerbox is already running (pid $(pgrep -x bearerbox | tr '\n' ' ')); it is not ours and is left alone"
fi
for tool in bearerbox smsbox mtbatch; do
	command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found after installing kannel/kannel-extras"
done
if [[ ",$SIMS," == *,node,* ]] && [ ! -d test/interop/node_modules/smpp ]; then
	command -v npm >/dev/null 2>&1 || die "npm not found (needed for the node-smpp SMSC); apt-get install -y nodejs npm or run make deps"
	say "npm ci in test/interop (node-smpp)"
	(cd test/interop && npm ci --no-audit --no-fund --loglevel=error) >/dev/null || die "npm ci in test/interop failed"
fi
[ -x "$BIN" ] || die "$BIN not found; run make build"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-compare.XXXXXX")
pid=""
cleanup() {
	# The harness kills its own children (each in its own process group) on
	# SIGTERM; SIGKILL after a grace period in case it is stuck.
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$work/compare" ./benchmarks/compare

# setsid: the harness leads its own process group, so the trap above can
# kill it and everything it started at once.
setsid "$work/compare" -n "$N" -binds "$BINDS" -window "$WINDOW" -modes "$MODES" -sims "$SIMS" \
	-bin "$BIN" -out "$OUT" -timeout "$TIMEOUT" -run-timeout "$RUN_TIMEOUT" \
	-latency-duration "$LATENCY_DURATION" -latency-rate "$LATENCY_RATE" -machine "$MACHINE" &
pid=$!
wait "$pid"
