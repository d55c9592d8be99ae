#!/usr/bin/env bash
# Bulk import benchmark (issues 10 and 11): N numbers (default 1,000,000)
# imported by the real binary with `smsgate import blocklist` and
# `smsgate import portability` into a fresh database, then imported again
# (every row already there: the upsert path). Prints wall time, CPU, peak
# RSS and the rows in the table afterwards. Usage: benchmarks/import.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
db="smsgate_bench_import_$$"
dsn="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
out=$(mktemp -d)
trap 'psql -qAt -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; rm -rf "$out"' EXIT
go build -o bin/smsgate ./cmd/smsgate
psql -qAt -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" >/dev/null
cat > "$out/cfg.yml" <<YML
kafka: {brokers: ["127.0.0.1:9092"]}
postgres: {dsn: "$dsn"}
operators: [{name: magti, host: 127.0.0.1, port: 2775, system_id: a, password: p}]
routes: [{prefix: "995", operator: magti, cost: 0.012, currency: EUR}]
accounts: [{name: acme, rates: [{prefix: "995", price: 0.03, currency: EUR}]}]
YML
bin/smsgate migrate -config "$out/cfg.yml" 2>/dev/null
# Synthetic E.164 numbers, distinct, spread over one country's space.
awk -v n="$n" 'BEGIN { print "number"; for (i = 0; i < n; i++) printf "99559%07d\n", (i * 7919) % 10000000 }' > "$out/block.csv"
awk -v n="$n" 'BEGIN { print "number,mcc,mnc"; for (i = 0; i < n; i++) printf "99559%07d,282,%02d\n", (i * 7919) % 10000000, 1 + i % 3 }' > "$out/ported.csv"
echo "| import | pass | numbers | wall | CPU user+sys | peak RSS | rows after |"
echo "|---|---|---|---|---|---|---|"
for kind in blocklist portability; do
  file=$out/block.csv table=blocklist
  if [ $kind = portability ]; then file=$out/ported.csv table=ported_numbers; fi
  for pass in first again; do
    /usr/bin/time -f "%e %M %U %S" -o "$out/time" bin/smsgate import $kind -config "$out/cfg.yml" "$file" 2>"$out/err" >/dev/null || { cat "$out/err"; exit 1; }
    read -r wall rss user sys < "$out/time"
    rows=$(psql -qAt -h 127.0.0.1 -U postgres -d "$db" -c "SELECT count(*) FROM $table")
    echo "| $kind | $pass | $n | ${wall} s | ${user}+${sys} s | $((rss / 1024)) MB | $rows |"
  done
done
