package receipts

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/journal"
	"github.com/smsgate/smsgate/internal/message"
	"github.com/smsgate/smsgate/internal/policy"
	"github.com/smsgate/smsgate/internal/store"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp/coding"
)

// moIDBucket is the time bucket an MO id includes: the same PDU delivered
// again within it (a lost deliver_sm_resp) gets the same id and is
// neither published nor answered twice. Texts a subscriber really sends
// twice within the bucket count once (for votes, the intent).
const moIDBucket = 10 * time.Minute

// moID derives an MO's id from what identifies its PDUs: operator,
// sender, recipient and, for a multipart message, its concatenation
// reference and part count; for a single part, its text. prev is the id
// the same MO would have had in the previous time bucket.
func moID(mo *dlr.MO, first time.Time, ref uint16, multipart bool) (id, prev string) {
	bucket := first.UnixNano() / int64(moIDBucket)
	return moIDAt(mo, ref, multipart, bucket), moIDAt(mo, ref, multipart, bucket-1)
}

func moIDAt(mo *dlr.MO, ref uint16, multipart bool, bucket int64) string {
	h := sha256.New()
	w := func(s string) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	w(mo.Operator)
	w(mo.From)
	w(mo.To)
	var b [8]byte
	if multipart {
		binary.BigEndian.PutUint16(b[:2], ref)
		b[2] = byte(mo.Parts)
		h.Write(b[:3])
	} else {
		w(mo.Text)
	}
	binary.BigEndian.PutUint64(b[:], uint64(bucket))
	h.Write(b[:])
	sum := h.Sum(nil)
	return "mo-" + hex.EncodeToString(sum[:10])
}

// applyMO reassembles and stores MO, and applies keywords and
// auto-replies, in the inbound batch's transaction.
func (s *Stage) applyMO(ctx context.Context, tx pgx.Tx, batch int64, t *policy.Tables, items []*item, sweep bool, now time.Time) (journal.Effects, error) {
	ra := dlr.NewReassembler(store.MOStore{Tx: tx}, t.MOTimeout, dlr.ReassemblerOptions{Keywords: t.Keywords})
	type done struct {
		mo        *dlr.MO
		first     time.Time
		ref       uint16
		multipart bool
	}
	var ds []done
	for _, it := range items {
		mo, err := ra.Add(ctx, it.mo)
		if err != nil {
			if errors.Is(err, dlr.ErrBadPart) {
				// An impossible concatenation header: deliver it as it is.
				p := it.mo
				p.Total, p.Seq = 1, 1
				mo, err = ra.Add(ctx, p)
			}
			if err != nil {
				return journal.Effects{}, err
			}
		}
		if mo != nil {
			ds = append(ds, done{mo: mo, first: mo.FirstReceived, ref: mo.Ref, multipart: mo.Parts > 1})
		}
	}
	if sweep {
		mos, err := ra.Sweep(ctx, now)
		if err != nil {
			return journal.Effects{}, err
		}
		for i := range mos {
			mo := &mos[i]
			ds = append(ds, done{mo: mo, first: mo.FirstReceived, ref: mo.Ref, multipart: true})
		}
	}
	if len(ds) == 0 {
		return journal.Effects{}, nil
	}
	rows := make([]store.MORow, len(ds))
	prev := make([]string, len(ds))
	for i, d := range ds {
		id, p := moID(d.mo, d.first, d.ref, d.multipart)
		missing := make([]int16, len(d.mo.PartsMissing))
		for j, v := range d.mo.PartsMissing {
			missing[j] = int16(v)
		}
		rows[i] = store.MORow{ID: id, Operator: d.mo.Operator, From: d.mo.From, To: d.mo.To, Text: d.mo.Text, Parts: int16(d.mo.Parts),
			Keyword: d.mo.Keyword, Incomplete: d.mo.Incomplete, PartsMissing: missing, ReceivedAt: d.mo.ReceivedAt}
		prev[i] = p
	}
	isNew, err := store.InsertMO(ctx, tx, batch, rows, prev)
	if err != nil {
		return journal.Effects{}, err
	}
	var events []*kgo.Record
	var replies []store.IntentRow
	var optouts []string
	type count struct{ op, kind string }
	var counts []count
	for i, d := range ds {
		if err := ra.Done(ctx, d.mo); err != nil {
			return journal.Effects{}, err
		}
		if !isNew[i] {
			counts = append(counts, count{d.mo.Operator, "redelivered"})
			continue
		}
		d.mo.ReceivedAt = d.mo.ReceivedAt.UTC()
		events = append(events, s.d.Topics.MORecord(rows[i].ID, d.mo))
		kind := "single"
		if d.mo.Incomplete {
			kind = "incomplete"
		} else if d.mo.Parts > 1 {
			kind = "multipart"
		}
		counts = append(counts, count{d.mo.Operator, kind})
		action, err := s.keyword(ctx, tx, t, d.mo)
		if err != nil {
			return journal.Effects{}, err
		}
		if action != "" {
			optouts = append(optouts, action)
		}
		if r, ok := s.autoReply(t, d.mo, rows[i].ID, now); ok {
			replies = append(replies, r)
		}
	}
	if len(replies) > 0 {
		if _, err := s.d.Store.InsertIntents(ctx, tx, batch, now, replies); err != nil {
			return journal.Effects{}, err
		}
	}
	return journal.Effects{Events: events, After: func() {
		for _, c := range counts {
			s.m.mo.WithLabelValues(c.op, c.kind).Inc()
		}
		for _, a := range optouts {
			s.m.optouts.WithLabelValues(a).Inc()
		}
		if len(replies) > 0 && s.d.Reparked != nil {
			s.d.Reparked()
		}
	}}, nil
}

// keyword opts the subscriber out (STOP) or back in (START) for the
// accounts that claim the number they wrote to, or for all when none does.
func (s *Stage) keyword(ctx context.Context, tx pgx.Tx, t *policy.Tables, mo *dlr.MO) (string, error) {
	if mo.Keyword == "" || mo.Incomplete {
		return "", nil
	}
	_, stop := t.StopWords[mo.Keyword]
	_, start := t.StartWords[mo.Keyword]
	if !stop && !start {
		return "", nil
	}
	accts := t.SenderOwners[mo.To]
	if len(accts) == 0 {
		accts = []string{"*"}
	}
	msisdn, err := router.NormalizeMSISDN(mo.From, t.DefaultCountry)
	if err != nil {
		msisdn = mo.From
	}
	if err := store.SetOptOut(ctx, tx, accts, msisdn, stop); err != nil {
		return "", err
	}
	action := "start"
	if stop {
		action = "stop"
	}
	s.log.Info("opt-out changed by MO keyword", zap.String("action", action), zap.String("keyword", mo.Keyword),
		zap.String("to", mo.To), zap.Strings("accounts", accts))
	return action, nil
}

// autoReply is the configured reply to a keyword MO: a transactional
// message of the account that owns the number written to, parked due now
// in the MO's transaction (so a redelivered MO cannot reply twice: the
// reply's id derives from the MO's).
func (s *Stage) autoReply(t *policy.Tables, mo *dlr.MO, moID string, now time.Time) (store.IntentRow, bool) {
	text, ok := t.AutoReply[mo.Keyword]
	if !ok || mo.Incomplete {
		return store.IntentRow{}, false
	}
	owners := t.SenderOwners[mo.To]
	if len(owners) == 0 {
		s.log.Warn("auto-reply skipped: no account owns the number", zap.String("to", mo.To), zap.String("keyword", mo.Keyword))
		return store.IntentRow{}, false
	}
	dest, err := router.NormalizeMSISDN(mo.From, t.CountryOf(owners[0]))
	if err != nil {
		return store.IntentRow{}, false // not a number we can answer
	}
	enc, err := coding.Choose(text, 0)
	if err != nil {
		return store.IntentRow{}, false
	}
	m := &message.Message{ID: "reply-" + moID, Account: owners[0], Sender: mo.To, Dest: dest, Body: text, Encoding: enc,
		DLR: true, Priority: 5, Parts: uint8(coding.CountParts(text, enc, coding.UDH8)), Partition: -1, CreatedAt: now, Attempt: 1}
	if s.d.Networks != nil {
		m.Network = s.d.Networks(dest)
	}
	d, err := t.Route(dest, m.Network, "", nil, now, s.d.Usable, 0.5)
	if err != nil {
		return store.IntentRow{M: m, State: message.Rejected, Reason: "no_route", Detail: "no route for the auto-reply to " + dest}, true
	}
	m.Operator = d.Operator
	due := now
	st := message.Queued
	if !d.OpensAt.IsZero() {
		due, st = d.OpensAt, message.Scheduled
	}
	return store.IntentRow{M: m, State: st, Due: due}, true
}
