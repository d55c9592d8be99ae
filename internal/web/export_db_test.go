package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"go.uber.org/zap/zaptest"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/store"
)

func testStore(t *testing.T) *store.Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	dsn := "postgres://postgres@127.0.0.1:5432/smsgate_test_web_" + hex.EncodeToString(b[:]) + "?sslmode=disable"
	ctx := context.Background()
	if err := store.EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("postgres is needed (scripts/ensure-deps.sh): %v", err)
	}
	t.Cleanup(func() { _ = store.DropDatabase(context.Background(), dsn) })
	st, err := store.Open(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.EnsurePartitions(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	// Journal rows as the pipeline writes them: attempts charged at
	// submit, the receipts of m,1's two parts, one MO.
	_, err = st.Pool.Exec(ctx, `
INSERT INTO attempts (message_id, gen, day, part, attempt, parts, operator, smsc_id, smsc_key, state, submitted_at,
	account, destination, country_prefix, charged, cost, cost_currency, price, currency, month, batch)
SELECT id, 0, floor(extract(epoch FROM at) / 86400)::int, part, 1, parts, op, convert_to(sid, 'UTF8'), lower(sid), 2, at,
	acct, dest, '995', true, cost, 'EUR', price, 'EUR', month, 1
FROM (VALUES
 ('m,1', 1, 2, 'magti', 'A1', '2026-11-05T10:00:01.120Z'::timestamptz, 'acme', '995599000001', 12000, 30000, '2026-11'),
 ('m,1', 2, 2, 'magti', 'A2', '2026-11-05T10:00:01.125Z'::timestamptz, 'acme', '995599000001', 12000, 30000, '2026-11'),
 ('q"2', 1, 1, 'silknet', 'B1', '2026-11-06T00:00:00Z'::timestamptz, 'შპს', '995322000002', 1, 25000, '2026-11'),
 ('late', 1, 1, 'magti', 'A3', '2026-12-01T00:00:00Z'::timestamptz, 'acme', '995599000003', 12000, 30000, '2026-12'))
	AS v(id, part, parts, op, sid, at, acct, dest, cost, price, month);
INSERT INTO receipts (message_id, part, attempt, day, operator, state, received_at, batch)
SELECT 'm,1', p, 1, floor(extract(epoch FROM '2026-11-05T10:00:01Z'::timestamptz) / 86400)::int, 'magti', s, now(), 1
FROM (VALUES (1, 4), (2, 5)) AS v(p, s);
INSERT INTO mo (id, day, operator, src, dst, body, parts, keyword, received_at, batch) VALUES
 ('mo-1', floor(extract(epoch FROM '2026-11-07T08:00:00Z'::timestamptz) / 86400)::int, 'magti', '995599000009', '4422', 'VOTE 3, "yes"
new line 😀', 1, 'VOTE', '2026-11-07T08:00:00Z', 1);`)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestExportsFromPostgres(t *testing.T) {
	st := testStore(t)
	srv := newTestServer(t, Options{Tokens: []config.Token{config.PlainToken("t")}, Store: st, Logger: zaptest.NewLogger(t)})
	r, body := get(t, srv.URL+"/api/v1/exports/billing?from=2026-11-01&to=2026-12-01&format=csv", "t")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv export: %d %s", r.StatusCode, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"message_id", "part", "account", "operator", "destination", "country_prefix", "submitted_at", "status", "cost", "price", "currency"},
		{"m,1", "1", "acme", "magti", "995599000001", "995", "2026-11-05T10:00:01.120Z", "delivered", "0.012", "0.03", "EUR"},
		{"m,1", "2", "acme", "magti", "995599000001", "995", "2026-11-05T10:00:01.125Z", "undeliverable", "0.012", "0.03", "EUR"},
		{`q"2`, "1", "შპს", "silknet", "995322000002", "995", "2026-11-06T00:00:00.000Z", "submitted", "0.000001", "0.025", "EUR"},
	}
	if len(recs) != len(want) {
		t.Fatalf("rows: %v", recs)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %v\nwant %v", i, recs[i], want[i])
		}
	}
	// Filters.
	_, body = get(t, srv.URL+"/api/v1/exports/billing?from=2026-11-01&to=2026-12-01&operator=silknet", "t")
	if n := strings.Count(body, "\n"); n != 2 {
		t.Errorf("operator filter: %d lines: %s", n, body)
	}
	// XLSX: same rows, typed cells, frozen header.
	r, body = get(t, srv.URL+"/api/v1/exports/billing?from=2026-11-01&to=2026-12-01&format=xlsx", "t")
	if r.StatusCode != 200 {
		t.Fatalf("xlsx: %d", r.StatusCode)
	}
	f, err := excelize.OpenReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil || len(rows) != 4 || rows[1][0] != "m,1" || rows[3][2] != "შპს" {
		t.Fatalf("xlsx rows %v %v", rows, err)
	}
	// MO export keeps commas, quotes, newlines and emoji.
	r, body = get(t, srv.URL+"/api/v1/exports/mo?from=2026-11-01&to=2026-12-01", "t")
	t.Logf("mo export status %d body %q", r.StatusCode, body)
	mo, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(mo) != 2 || mo[1][5] != "VOTE 3, \"yes\"\nnew line 😀" {
		t.Fatalf("mo export %q %v", mo, err)
	}
	// Summary needs the token and answers JSON.
	if r, _ := get(t, srv.URL+"/api/v1/billing/summary?month=2026-11", "t"); r.StatusCode != http.StatusOK {
		t.Errorf("summary: %d", r.StatusCode)
	}
}

// The XLSX opens in a real spreadsheet program: LibreOffice converts it back
// to CSV and the values match the CSV export.
func TestXLSXOpensInLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Fatal("LibreOffice (soffice) is not installed: run scripts/ensure-deps.sh (Debian libreoffice-calc)")
	}
	st := testStore(t)
	// Two credits of acme in the range: rows of their own, and a line of
	// the summary.
	if _, err := st.Pool.Exec(context.Background(), `INSERT INTO credits (account, amount, currency, reference, idempotency_key, balance_after, created_at) VALUES
 ('acme', 10000000, 'EUR', '=1+1', 'k1', 10000000, '2026-11-05T09:00:00Z'), ('acme', -250000, 'EUR', 'fee', 'k2', 9750000, '2026-11-20T09:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, Options{Tokens: []config.Token{config.PlainToken("t")}, Store: st})
	_, xlsx := get(t, srv.URL+"/api/v1/exports/billing?from=2026-11-01&to=2026-12-01&format=xlsx", "t")
	_, csvBody := get(t, srv.URL+"/api/v1/exports/billing?from=2026-11-01&to=2026-12-01&format=csv", "t")
	dir := t.TempDir()
	in := filepath.Join(dir, "billing.xlsx")
	if err := os.WriteFile(in, []byte(xlsx), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(soffice, "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		// The 12th token, -1, writes every sheet to its own file (billing-<sheet>.csv).
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", dir, in)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "billing-billing.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lo, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if len(lo) != len(ours) {
		t.Fatalf("LibreOffice sees %d rows, CSV has %d", len(lo), len(ours))
	}
	for i := range ours {
		for j := range ours[i] {
			a, b := lo[i][j], ours[i][j]
			if i == 0 && a == b+" (UTC)" { // the XLSX header names the time columns' zone
				continue
			}
			if j == 6 && i > 0 { // LibreOffice renders the date cell with its own format
				if !strings.HasPrefix(strings.ReplaceAll(b, "T", " "), a[:min(len(a), 16)]) {
					t.Errorf("row %d submitted_at: LibreOffice %q vs CSV %q", i, a, b)
				}
				continue
			}
			if a != b {
				t.Errorf("row %d col %d: LibreOffice %q vs CSV %q", i, j, a, b)
			}
		}
	}
	// The summary sheet, as LibreOffice reads it, has the ledger's totals.
	sb, err := os.ReadFile(filepath.Join(dir, "billing-summary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := csv.NewReader(bytes.NewReader(sb)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.Pool.Query(context.Background(), `SELECT account, operator, currency, count(*)::text, sum(cost)::text, sum(price)::text, '0' FROM ledger
WHERE submitted_at >= '2026-11-01' AND submitted_at < '2026-12-01' GROUP BY 1, 2, 3
UNION ALL SELECT account, '', currency, '0', '0', '0', (sum(amount) / 1000000.0)::text FROM credits
WHERE created_at >= '2026-11-01' AND created_at < '2026-12-01' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for rows.Next() {
		var r [7]string
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]); err != nil {
			t.Fatal(err)
		}
		want = append(want, r[:])
	}
	rows.Close()
	if len(want) == 0 || len(sum) < len(want)+2 {
		t.Fatalf("summary as LibreOffice reads it: %q; ledger groups %q", sum, want)
	}
	same := func(a, b string) bool {
		x, err1 := billing.ParseAmount(a)
		y, err2 := billing.ParseAmount(b)
		return err1 == nil && err2 == nil && x == y
	}
	for i, w := range want {
		g := sum[i+1]
		if g[0] != w[0] || g[1] != w[1] || g[2] != w[2] || g[3] != w[3] || !same(g[4], w[4]) || !same(g[5], w[5]) || !same(g[7], w[6]) {
			t.Errorf("summary row %d: LibreOffice %q, ledger %q", i+1, g, w)
		}
	}
	if last := sum[len(sum)-1]; last[0] != "total" {
		t.Errorf("no grand total row: %q", last)
	}
}
