package dispatch

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/smsgate/smsgate/internal/journal"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/store"
)

// The intent lane writes messages rows: the intent of every message just
// before the wire (Sending), and what ingest or dispatch parks or rejects.
// The messages primary key is the dedupe of the contract: a message is
// sent only if its intent row was written by this batch.

// IntentResult is what became of one intent.
type IntentResult uint8

const (
	// Written: the row is in the journal (an intent may go on the wire).
	Written IntentResult = iota
	// Replay: the same Kafka record was written before; nothing to do.
	Replay
	// Duplicate: another record with this id was accepted; it is counted
	// for its duplicate event.
	Duplicate
	// Lost: a leased parked row that another instance took meanwhile.
	Lost
	// Refused: a marketing rule (opted_out, frequency_cap) rejected it;
	// written as rejected with its event.
	Refused
	// Poisoned: Postgres refused the row; the message was rejected.
	Poisoned
)

type intentItem struct {
	row    store.IntentRow
	w      *waiter // a dispatcher's batch; nil for ingest's rows
	idx    int
	settle func()
}

// waiter collects the results of one dispatcher batch.
type waiter struct {
	res  []IntentResult
	left atomic.Int32
	done chan struct{}
}

func newWaiter(n int) *waiter {
	w := &waiter{res: make([]IntentResult, n), done: make(chan struct{})}
	w.left.Store(int32(n))
	if n == 0 {
		close(w.done)
	}
	return w
}

func (w *waiter) set(i int, r IntentResult) {
	w.res[i] = r
	if w.left.Add(-1) == 0 {
		close(w.done)
	}
}

// writeIntents is the intent lane's transaction.
func (s *Stage) writeIntents(ctx context.Context, tx pgx.Tx, batch int64, items []intentItem) (journal.Effects, error) {
	now := time.Now()
	t := s.tables()
	res := make([]IntentResult, len(items))
	ref := make([]refusal, len(items)) // what a marketing rule or the account gate decided
	// Marketing rules are decided here, when the message is about to be
	// sent, under a per-pair lock: opt-outs that arrived while it was
	// scheduled apply, and two instances cannot both pass the cap.
	var mk []int
	for i := range items {
		r := &items[i].row
		if r.State == message.Sending && r.M.Marketing {
			mk = append(mk, i)
		}
	}
	if len(mk) > 0 {
		accts, dests := make([]string, len(mk)), make([]string, len(mk))
		for k, i := range mk {
			accts[k], dests[k] = items[i].row.M.Account, items[i].row.M.Dest
		}
		if t.FreqCount > 0 {
			if err := store.LockMarketing(ctx, tx, accts, dests); err != nil {
				return journal.Effects{}, err
			}
		}
		opted, err := store.OptedOut(ctx, tx, accts, dests)
		if err != nil {
			return journal.Effects{}, err
		}
		var recent map[[2]string]int
		if t.FreqCount > 0 {
			if recent, err = store.RecentMarketing(ctx, tx, accts, dests, now.Add(-t.FreqPer)); err != nil {
				return journal.Effects{}, err
			}
		}
		for _, i := range mk {
			m := items[i].row.M
			k := [2]string{m.Account, m.Dest}
			switch {
			case opted[k]:
				res[i], ref[i] = Refused, refusal{message.Rejected, "opted_out", "the destination opted out of marketing"}
			case t.FreqCount > 0 && recent[k] >= t.FreqCount:
				res[i], ref[i] = Refused, refusal{message.Rejected, "frequency_cap",
					"frequency cap of " + strconv.Itoa(t.FreqCount) + " per " + t.FreqPer.String() + " reached"}
			case t.FreqCount > 0:
				recent[k]++ // later messages of this batch count this one
			}
		}
	}
	g, err := s.gate(ctx, tx, t, items, ref, now)
	if err != nil {
		return journal.Effects{}, err
	}
	for i := range items {
		if ref[i].state != 0 {
			res[i] = Refused
		}
		if g != nil {
			items[i].row.M.Reserved = g.reserve[i] // encoded with the row; reset below unless written
		}
	}
	inserts := make([]store.IntentRow, 0, len(items))
	insertIdx := make([]int, 0, len(items))
	var claims []store.ParkedKey
	var claimIdx []int
	var rejIDs, rejReasons, rejDetails []string
	var rejGens []int32
	var rejIdx []int
	var holdIDs []string
	var holdGens []int32
	var holdIdx []int
	for i := range items {
		r := items[i].row
		m := r.M
		if res[i] == Refused {
			r.State, r.Reason, r.Detail = ref[i].state, ref[i].reason, ref[i].detail
			if r.State == message.Held {
				r.Due = heldDue
			}
		}
		if m.Parked && r.State == message.Held {
			// Held for funds when due: the row waits for a credit.
			holdIDs, holdGens, holdIdx = append(holdIDs, m.ID), append(holdGens, m.Gen), append(holdIdx, i)
			continue
		}
		if m.Parked && r.State == message.Rejected {
			// A parked row that is refused or expired when due: its row ends
			// rejected (it exists already; inserting would be a replay).
			rejIDs, rejGens = append(rejIDs, m.ID), append(rejGens, m.Gen)
			rejReasons, rejDetails = append(rejReasons, r.Reason), append(rejDetails, r.Detail)
			rejIdx = append(rejIdx, i)
			continue
		}
		if m.Parked && r.State == message.Sending {
			claims = append(claims, store.ParkedKey{ID: m.ID, Gen: m.Gen, Operator: m.Operator, Attempt: m.Attempt, Tried: m.Tried})
			claimIdx = append(claimIdx, i)
			continue
		}
		inserts = append(inserts, r)
		insertIdx = append(insertIdx, i)
	}
	written, err := s.st.InsertIntents(ctx, tx, batch, now, inserts)
	if err != nil {
		return journal.Effects{}, err
	}
	var dupIDs []string
	var dupGens, dupN []int32
	dupAt := map[string]int{}
	for k, i := range insertIdx {
		w := written[k]
		switch {
		case w.New:
			if res[i] != Refused {
				res[i] = Written
			}
		case w.Existing.Replay(items[i].row.M):
			res[i] = Replay
		default:
			res[i] = Duplicate
			id := items[i].row.M.ID
			if j, ok := dupAt[id]; ok {
				dupN[j]++
			} else {
				dupAt[id] = len(dupIDs)
				dupIDs, dupGens, dupN = append(dupIDs, id), append(dupGens, w.Existing.Gen), append(dupN, 1)
			}
		}
	}
	if err := store.AddDuplicates(ctx, tx, dupGens, dupIDs, dupN); err != nil {
		return journal.Effects{}, err
	}
	claimed, err := store.ClaimParked(ctx, tx, batch, s.o.InstanceID, claims)
	if err != nil {
		return journal.Effects{}, err
	}
	for k, i := range claimIdx {
		if claimed[claims[k].ID] {
			res[i] = Written
		} else {
			res[i] = Lost
		}
	}
	rejected, err := store.RejectParked(ctx, tx, batch, s.o.InstanceID, rejIDs, rejGens, rejReasons, rejDetails)
	if err != nil {
		return journal.Effects{}, err
	}
	for _, i := range rejIdx {
		switch {
		case !rejected[items[i].row.M.ID]:
			res[i] = Lost
		case res[i] != Refused:
			res[i] = Written
		}
	}
	held, heldAgain, err := store.HoldParked(ctx, tx, batch, s.o.InstanceID, holdIDs, holdGens, store.ReasonInsufficientFunds, "")
	if err != nil {
		return journal.Effects{}, err
	}
	for _, i := range holdIdx {
		if !held[items[i].row.M.ID] {
			res[i] = Lost
		}
	}
	if g != nil {
		// A refused message is written (rejected or held) but reserves
		// nothing; claimed parked rows learn their reservation here.
		var ids []string
		var gens []int32
		var amounts []int64
		for k, i := range claimIdx {
			if res[i] == Written && g.reserve[i] > 0 {
				ids, gens, amounts = append(ids, claims[k].ID), append(gens, claims[k].Gen), append(amounts, g.reserve[i])
			}
		}
		if err := store.SetReserved(ctx, tx, ids, gens, amounts); err != nil {
			return journal.Effects{}, err
		}
		if err := g.settle(ctx, tx, items, res); err != nil {
			return journal.Effects{}, err
		}
	}
	// Events of rows that end or pause a message here.
	var events []*kgo.Record
	for i := range items {
		r := &items[i].row
		m := r.M
		st, reason, detail := r.State, r.Reason, r.Detail
		if res[i] == Refused {
			st, reason, detail = ref[i].state, ref[i].reason, ref[i].detail
			if heldAgain[m.ID] {
				continue // released by a credit that could not pay for it: still held, as published
			}
		} else if res[i] != Written {
			continue
		}
		switch st {
		case message.Rejected:
			ev := message.Event{ID: m.ID, Account: m.Account, Status: "rejected", Network: m.Network, Reason: reason,
				Detail: detail, Parts: int(m.Parts), At: now, Meta: m.Meta}
			events = append(events, s.topics.Status(&ev))
		case message.Held:
			ev := message.Event{ID: m.ID, Account: m.Account, Status: "held", Operator: m.Operator, Network: m.Network, Reason: reason,
				Detail: detail, Parts: int(m.Parts), At: now, Meta: m.Meta}
			events = append(events, s.topics.Status(&ev))
		}
	}
	gen := s.st.Gen(now)
	return journal.Effects{Events: events, After: func() {
		for i := range items {
			if res[i] != Written {
				items[i].row.M.Reserved = 0
			}
			if res[i] == Refused {
				s.m.refused.WithLabelValues(items[i].row.M.Account, ref[i].state.String(), ref[i].reason).Inc()
			}
			if res[i] == Written && items[i].row.State == message.Sending {
				if !items[i].row.M.Parked {
					items[i].row.M.Gen = gen
				}
				items[i].row.M.Batch = batch
				s.unsettled.add(batch)
			}
			s.intentDone(&items[i], res[i])
		}
		if len(dupIDs) > 0 {
			s.kickDuplicates()
		}
	}}, nil
}

// intentDone applies one result after the commit.
func (s *Stage) intentDone(it *intentItem, r IntentResult) {
	s.m.intents.WithLabelValues(intentResultNames[r]).Inc()
	if it.settle != nil {
		it.settle()
	}
	if it.w != nil {
		it.w.set(it.idx, r)
	}
}

var intentResultNames = [...]string{"written", "replay", "duplicate", "lost", "refused", "poisoned"}

// poisonIntent handles a row Postgres refused alone: the message is
// rejected (sms.dlq and a rejected event, by the gateway's handler) and
// its record settled.
func (s *Stage) poisonIntent(it intentItem, err error) {
	if s.o.OnPoison != nil {
		s.o.OnPoison(it.row.M, err)
	}
	s.intentDone(&it, Poisoned)
}

// Write hands rows (parks and rejections) to the intent lane; settle[i]
// runs after row i is committed, or recognised as a replay or duplicate.
func (s *Stage) Write(ctx context.Context, rows []store.IntentRow, settle []func()) {
	for i := range rows {
		if !s.intents.Submit(ctx, intentItem{row: rows[i], settle: settle[i]}) {
			return
		}
	}
}
