#!/usr/bin/env bash
# Billing export benchmark: N ledger rows (default 1,000,000) in a fresh
# database, exported as CSV and XLSX by the real binary; prints wall time
# and peak RSS (GNU time) for each. Usage: benchmarks/export.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
db="smsgate_bench_export_$$"
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
psql -qAt -h 127.0.0.1 -U postgres -d "$db" -c "
INSERT INTO ledger (message_id, part, attempt, account, operator, destination, country_prefix, submitted_at, status, cost, cost_currency, price, currency, month)
SELECT 'm' || g, 1 + g % 3, 1, 'acme', CASE WHEN g % 2 = 0 THEN 'magti' ELSE 'silknet' END, '99559' || lpad((g % 10000000)::text, 7, '0'), '995',
  timestamptz '2026-11-01' + (g || ' milliseconds')::interval, 'submitted', 0.012, 'EUR', 0.030, 'EUR', '2026-11'
FROM generate_series(1, $n) g"
echo "| format | rows | wall | peak RSS |"
echo "|---|---|---|---|"
for f in csv xlsx; do
  /usr/bin/time -f "%e %M %U %S" -o "$out/time" bin/smsgate export billing -config "$out/cfg.yml" -from 2026-11-01 -to 2026-12-01 -format $f -o "$out/billing.$f" 2>"$out/err" || { cat "$out/err"; exit 1; }
  read -r wall rss user sys < "$out/time"
  rows=$(grep -o 'exported [0-9]*' "$out/err" | awk '{print $2}')
  echo "| $f | $rows | ${wall} s | $((rss / 1024)) MB | ${user}+${sys} s CPU |"
done
