package gateway

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/internal/web"
	"github.com/smsgate/smsgate/pkg/smppsim"
)

// charge_on: delivered bills only parts whose receipt says delivered, in the
// receipt's transaction; charge_on: submit bills accepted parts at once.
func TestChargeOnDelivered(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{DestStat: map[string]string{"9955994": smppsim.StatUndeliv}}, smppsim.Options{}), baseRouting)
	e.cfg.Operators[0].ChargeOn = "delivered"
	e.start()
	var ids []string
	for i := 0; i < 10; i++ {
		to := fmt.Sprintf("9955993%05d", i) // delivered
		if i%2 == 1 {
			to = fmt.Sprintf("9955994%05d", i) // undeliverable
		}
		id := fmt.Sprintf("c%d", i)
		ids = append(ids, id)
		e.submit(msg(id, to, "charge test"))
	}
	waitFor(t, 30*time.Second, "all final", func() bool {
		for _, id := range ids {
			l := e.events.last(id)
			if l == nil || (l["status"] != "delivered" && l["status"] != "undeliverable") {
				return false
			}
		}
		return true
	})
	rows, err := e.st.Pool.Query(context.Background(), `SELECT message_id, status FROM ledger ORDER BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	billed := map[string]string{}
	for rows.Next() {
		var id, st string
		_ = rows.Scan(&id, &st)
		billed[id] = st
	}
	rows.Close()
	for i, id := range ids {
		_, ok := billed[id]
		if want := i%2 == 0; ok != want {
			t.Errorf("%s billed=%v, want %v (charge_on delivered)", id, ok, want)
		}
		if ok && billed[id] != "delivered" {
			t.Errorf("%s ledger status %s", id, billed[id])
		}
	}
	// The delivered events carry the price.
	if l := e.events.last("c0"); l["currency"] != "EUR" || l["price"] != 0.03 {
		t.Errorf("delivered event without its price: %v", l)
	}
}

// Volume tiers through the pipeline, with concurrent outcome writers: the
// first 5 parts of the month at the base price, the rest at the tier price,
// exactly.
func TestTiersThroughPipeline(t *testing.T) {
	body := `routes:
  - {prefix: "995", operator: magti, cost: 0.012, currency: EUR}
accounts:
  - name: acme
    senders: ["ACME"]
    timezone: Asia/Tbilisi
    rates:
      - {prefix: "995", price: 0.030, currency: EUR, tiers: [{from: 5, price: 0.020}]}
`
	e := newEnv(t, twoOperators(smppsim.Options{NoReceipts: true}, smppsim.Options{}), body)
	e.start()
	var recs []map[string]any
	for i := 0; i < 40; i++ {
		recs = append(recs, msg(fmt.Sprintf("t%02d", i), fmt.Sprintf("9955995%05d", i), "tiered", "dlr", false))
	}
	e.submit(recs...)
	waitFor(t, 30*time.Second, "all submitted", func() bool {
		for _, r := range recs {
			if l := e.events.last(r["id"].(string)); l == nil || l["status"] != "submitted" {
				return false
			}
		}
		return true
	})
	var base, tier int
	var total string
	err := e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE price = 0.03), count(*) FILTER (WHERE price = 0.02), sum(price)::text FROM ledger`).Scan(&base, &tier, &total)
	if err != nil {
		t.Fatal(err)
	}
	if base != 5 || tier != 35 || total != "0.850000" {
		t.Errorf("ledger: %d at base, %d at tier, total %s; want 5, 35, 0.850000", base, tier, total)
	}
}

// Message ids that a spreadsheet would run as formulas travel through the
// whole path (Kafka → journal → ledger → HTTP export) and come out inert:
// CSV cells start with an apostrophe, XLSX cells are typed strings.
func TestHostileIDsInExports(t *testing.T) {
	e := newEnv(t, twoOperators(smppsim.Options{}, smppsim.Options{}), baseRouting)
	e.start()
	hostile := []string{`=HYPERLINK("http://evil.example","x")`, `+cmd|' /C calc'!A0`, `-2+3`, `@SUM(1+1)`, "\t=1+1", "\r=1+1"}
	for i, id := range hostile {
		e.submit(msg(id, fmt.Sprintf("9955993%05d", i), "hostile id"))
	}
	waitFor(t, 30*time.Second, "all billed", func() bool {
		var n int
		_ = e.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger`).Scan(&n)
		return n == len(hostile)
	})
	srv := httptest.NewServer(web.New(web.Options{Store: e.st, Tokens: []config.Token{config.PlainToken("fin")}}).Handler())
	defer srv.Close()
	from, to := time.Now().UTC().Add(-24*time.Hour).Format("2006-01-02"), time.Now().UTC().Add(48*time.Hour).Format("2006-01-02")
	get := func(format string) []byte {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/exports/billing?from="+from+"&to="+to+"&format="+format, nil)
		req.Header.Set("Authorization", "Bearer fin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s export: %d %s", format, resp.StatusCode, b)
		}
		return b
	}
	recs, err := csv.NewReader(bytes.NewReader(get("csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range recs[1:] {
		got[r[0]] = true
	}
	for _, id := range hostile {
		if !got["'"+id] {
			t.Errorf("CSV: %q not neutralised; ids %q", id, slices.Collect(maps.Keys(got)))
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(get("xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	if err != nil || len(rows) != len(hostile)+1 {
		t.Fatalf("xlsx rows %d %v", len(rows), err)
	}
	seen := map[string]bool{}
	for i := 2; i <= len(rows); i++ {
		cell := fmt.Sprintf("A%d", i)
		if fm, _ := f.GetCellFormula(sheet, cell); fm != "" {
			t.Errorf("XLSX %s holds a formula %q", cell, fm)
		}
		if ty, _ := f.GetCellType(sheet, cell); ty != excelize.CellTypeSharedString && ty != excelize.CellTypeInlineString {
			t.Errorf("XLSX %s is not a string cell: %v", cell, ty)
		}
		v, _ := f.GetCellValue(sheet, cell)
		seen[v] = true
	}
	for _, id := range hostile {
		if !seen[id] {
			t.Errorf("XLSX: %q not kept as text", id)
		}
	}
}
