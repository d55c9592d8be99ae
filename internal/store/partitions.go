package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Day is a UTC calendar day counted from 1970-01-01: the partition key of
// the journal tables.
func Day(t time.Time) int32 { return int32(t.Unix() / 86400) }

// DayStart is the first instant of day d (UTC).
func DayStart(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Gen is the messages generation of t: Day(t) / GenDays.
func (s *Store) Gen(t time.Time) int32 { return Day(t) / s.GenDays }

// GenStart is the first instant of generation g.
func (s *Store) GenStart(g int32) time.Time { return DayStart(g * s.GenDays) }

// dayTables are partitioned by day, one partition per day.
var dayTables = []string{"attempts", "receipts", "charges", "mo"}

// EnsurePartitions creates the partitions that cover [from, to]: daily ones
// for the day tables, generations for messages. Idempotent; run at start
// (before anything is written) and by the retention job every hour.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	_, err := s.Pool.Exec(ctx, `
SELECT smsgate_partition(t, d, d + 1) FROM unnest($1::text[]) t, generate_series($2::int, $3::int) d;
`, dayTables, Day(from), Day(to))
	if err != nil {
		return fmt.Errorf("ensure partitions: %w", err)
	}
	if _, err := s.Pool.Exec(ctx, `SELECT smsgate_partition('messages', g, g + 1) FROM generate_series($1::int, $2::int) g`,
		s.Gen(from), s.Gen(to)); err != nil {
		return fmt.Errorf("ensure partitions: %w", err)
	}
	return s.loadGens(ctx)
}

// Partition is one partition of a journal table: [Lo, Hi) in days (or
// generations for messages).
type Partition struct {
	Table, Parent string
	Lo, Hi        int32
}

// Partitions lists the partitions of parent, oldest first.
func (s *Store) Partitions(ctx context.Context, parent string) ([]Partition, error) {
	rows, err := s.Pool.Query(ctx, `
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = $1`, parent)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", parent, err)
	}
	var out []Partition
	var name, bound string
	_, err = pgx.ForEachRow(rows, []any{&name, &bound}, func() error {
		lo, hi, ok := parseBound(bound)
		if ok {
			out = append(out, Partition{Table: name, Parent: parent, Lo: lo, Hi: hi})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", parent, err)
	}
	sortPartitions(out)
	return out, nil
}

// parseBound reads "FOR VALUES FROM (20430) TO (20431)".
func parseBound(b string) (lo, hi int32, ok bool) {
	f := strings.FieldsFunc(b, func(r rune) bool { return r == '(' || r == ')' || r == ' ' || r == '\'' })
	var nums []int32
	for _, w := range f {
		if n, err := strconv.ParseInt(w, 10, 32); err == nil {
			nums = append(nums, int32(n))
		}
	}
	if len(nums) != 2 {
		return 0, 0, false
	}
	return nums[0], nums[1], true
}

func sortPartitions(ps []Partition) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Lo < ps[j-1].Lo; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// loadGens caches the messages generations that exist, for the dedupe
// probe of older generations.
func (s *Store) loadGens(ctx context.Context) error {
	ps, err := s.Partitions(ctx, "messages")
	if err != nil {
		return err
	}
	gens := make([]int32, 0, len(ps))
	for _, p := range ps {
		gens = append(gens, p.Lo)
	}
	s.gens.Store(&gens)
	return nil
}

// olderGens returns the existing generations other than g (the ones a new
// id must be probed in for dedupe), and whether g is within boundaryGuard
// of a generation boundary (then the next generation is probed too, under
// per-id advisory locks: two instances on either side of the boundary
// must not both insert one id).
func (s *Store) olderGens(g int32, now time.Time) (probe []int32, nearBoundary bool) {
	gens := s.gens.Load()
	start := s.GenStart(g)
	next := s.GenStart(g + 1)
	nearBoundary = now.Sub(start) < boundaryGuard || next.Sub(now) < boundaryGuard
	if gens == nil {
		return nil, nearBoundary
	}
	for _, x := range *gens {
		if x == g || (x > g+1) || (x == g+1 && !nearBoundary) {
			continue
		}
		probe = append(probe, x)
	}
	return probe, nearBoundary
}

// boundaryGuard is how close to a generation boundary inserts take per-id
// locks (clocks of instances differ by less than this).
const boundaryGuard = 2 * time.Minute
