package protect

import (
	"errors"
	"fmt"
	"time"

	"github.com/smsgate/smsgate/internal/config"
)

// Rules are the swappable part of a Guard (the `protection:` section).
// A zero Rules turns every check off.
type Rules struct {
	// Blocklist: reject numbers in the Guard's Blocklist (reason blocked).
	Blocklist bool
	// Pumping: nil = off.
	Pumping *PumpingRules
	// Content rules, first match wins.
	Content []ContentRule
	// Senders rules, first matching wins; one with an Operator beats one
	// without.
	Senders []SenderRule
	// Loop: nil = off.
	Loop *LoopRules
}

// Mode is a pumping mode per destination country.
type Mode uint8

const (
	// ModeBlock holds a triggered range's traffic.
	ModeBlock Mode = iota
	// ModeMonitor reports a triggered range and counts its traffic, but
	// sends it.
	ModeMonitor
	// ModeAllow does not watch the country at all.
	ModeAllow
)

func (m Mode) String() string {
	switch m {
	case ModeBlock:
		return config.ModeBlock
	case ModeMonitor:
		return config.ModeMonitor
	case ModeAllow:
		return config.ModeAllow
	}
	return "unknown"
}

// ParseMode reads block | monitor | allow.
func ParseMode(s string) (Mode, error) {
	switch s {
	case config.ModeBlock:
		return ModeBlock, nil
	case config.ModeMonitor:
		return ModeMonitor, nil
	case config.ModeAllow:
		return ModeAllow, nil
	}
	return 0, fmt.Errorf("pumping mode %q: want block, monitor or allow", s)
}

// PumpingRules is `protection.pumping`.
type PumpingRules struct {
	// PrefixDigits: a range is the destination without its last
	// PrefixDigits digits (never shorter than its country code).
	PrefixDigits int
	// MaxPerMinute: more messages than this to one range within a minute
	// trigger it.
	MaxPerMinute int
	// MinDeliveryRate: a range whose delivered share of receipts falls
	// below it, once MinSamples receipts are in, is triggered.
	MinDeliveryRate float64
	MinSamples      int
	// HoldFor is the first hold; each repeat doubles it (up to
	// Options.MaxHold).
	HoldFor time.Duration
	// Default is the mode of countries not in Modes.
	Default Mode
	// Modes by country calling code ("44").
	Modes map[string]Mode
	// Safe destination prefixes are never held.
	Safe []string
}

// ContentRule is one content rule.
type ContentRule struct {
	// Account limits the rule to one account; "" = every account.
	Account string
	// Pattern is Go RE2 syntax, matched against the filled text.
	Pattern string
	// Action is Reject or Hold.
	Action Action
}

// SenderRule is one sender-ID rule.
type SenderRule struct {
	// Country is the destination's calling code; "" = any.
	Country string
	// Operator limits the rule to one operator; "" = any.
	Operator string
	// Alphanumeric and Numeric say which senders are allowed. Numeric is a
	// sender of digits with an optional leading '+' (short codes too).
	Alphanumeric, Numeric bool
	// ReplaceWith replaces a sender the rule does not allow; "" rejects it
	// (sender_not_allowed).
	ReplaceWith string
}

// LoopRules is `protection.loop`.
type LoopRules struct {
	// Max messages between one sender and one destination of an account
	// within Per; more are rejected (loop).
	Max int
	Per time.Duration
}

// RulesFromConfig converts a parsed and validated `protection:` section;
// nil gives Rules that check nothing.
func RulesFromConfig(p *config.Protection) (Rules, error) {
	var r Rules
	if p == nil {
		return r, nil
	}
	r.Blocklist = p.Blocklist
	if pp := p.Pumping; pp != nil {
		pr := &PumpingRules{
			PrefixDigits:    pp.PrefixDigits,
			MaxPerMinute:    pp.MaxPerMinute,
			MinDeliveryRate: pp.MinDeliveryRate,
			MinSamples:      pp.MinSamples,
			HoldFor:         pp.HoldFor,
			Modes:           map[string]Mode{},
			Safe:            append([]string(nil), pp.Safe...),
		}
		for k, v := range pp.Mode {
			m, err := ParseMode(v)
			if err != nil {
				return Rules{}, fmt.Errorf("protection.pumping.mode.%s: %w", k, err)
			}
			if k == "default" {
				pr.Default = m
			} else {
				pr.Modes[k] = m
			}
		}
		r.Pumping = pr
	}
	for i, c := range p.Content {
		var a Action
		switch c.Action {
		case "reject":
			a = Reject
		case "hold":
			a = Hold
		default:
			return Rules{}, fmt.Errorf("protection.content[%d].action %q: want reject or hold", i, c.Action)
		}
		r.Content = append(r.Content, ContentRule{Pattern: c.Pattern, Action: a})
	}
	for _, s := range p.Senders {
		r.Senders = append(r.Senders, SenderRule{
			Country: s.Country, Operator: s.Operator,
			Alphanumeric: s.Alphanumeric, Numeric: s.Numeric, ReplaceWith: s.ReplaceWith,
		})
	}
	if l := p.Loop; l != nil {
		r.Loop = &LoopRules{Max: l.Max, Per: l.Per}
	}
	return r, nil
}

// compiled is Rules checked and prepared for the hot path; immutable once
// published.
type compiled struct {
	blocklist bool
	pumping   *pumpRules
	content   contentSet
	senders   []SenderRule
	loop      *LoopRules
}

type pumpRules struct {
	PumpingRules
	window int64 // velocity window: one minute, in ns
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func compile(r Rules) (*compiled, error) {
	c := &compiled{blocklist: r.Blocklist}
	var errs []error
	if p := r.Pumping; p != nil {
		switch {
		case p.PrefixDigits < 1 || p.PrefixDigits > 12:
			errs = append(errs, fmt.Errorf("pumping prefix digits %d: want 1–12", p.PrefixDigits))
		case p.MaxPerMinute < 1:
			errs = append(errs, fmt.Errorf("pumping max per minute %d: want ≥ 1", p.MaxPerMinute))
		case !(p.MinDeliveryRate >= 0 && p.MinDeliveryRate <= 1):
			errs = append(errs, fmt.Errorf("pumping min delivery rate %g: want 0–1", p.MinDeliveryRate))
		case p.MinSamples < 1:
			errs = append(errs, fmt.Errorf("pumping min samples %d: want ≥ 1", p.MinSamples))
		case p.HoldFor <= 0:
			errs = append(errs, fmt.Errorf("pumping hold for %v: want > 0", p.HoldFor))
		}
		for _, s := range p.Safe {
			if !isDigits(s) {
				errs = append(errs, fmt.Errorf("pumping safe prefix %q: want digits", s))
			}
		}
		pr := &pumpRules{PumpingRules: *p, window: int64(time.Minute)}
		pr.Modes = make(map[string]Mode, len(p.Modes))
		for k, v := range p.Modes {
			pr.Modes[k] = v
		}
		pr.Safe = append([]string(nil), p.Safe...)
		c.pumping = pr
	}
	cs, err := compileContent(r.Content)
	if err != nil {
		errs = append(errs, err)
	}
	c.content = cs
	for i, s := range r.Senders {
		if s.ReplaceWith != "" {
			num := isNumericSender(s.ReplaceWith)
			if num && !s.Numeric || !num && !s.Alphanumeric {
				errs = append(errs, fmt.Errorf("sender rule %d: replacement %q is of a kind the rule does not allow", i, s.ReplaceWith))
			}
		}
	}
	c.senders = append([]SenderRule(nil), r.Senders...)
	if l := r.Loop; l != nil {
		if l.Max < 1 || l.Per < time.Millisecond || l.Per > 30*24*time.Hour {
			errs = append(errs, fmt.Errorf("loop %d per %v: want max ≥ 1 and per 1ms–30d (a uint32 of ms per pair)", l.Max, l.Per))
		}
		lc := *l
		lc.Per = lc.Per.Truncate(time.Millisecond)
		c.loop = &lc
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}
