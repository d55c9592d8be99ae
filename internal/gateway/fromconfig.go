package gateway

import (
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/billing"
	"github.com/smsgate/smsgate/dlr"
	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/router"
	"github.com/smsgate/smsgate/smpp"
	"github.com/smsgate/smsgate/smpp/coding"
	"github.com/smsgate/smsgate/smpp/pdu"
	"github.com/smsgate/smsgate/timewin"
)

// buildTables turns the reloadable part of a config into runtime tables.
// An error leaves the running tables in place (hot reload).
func buildTables(cfg *config.Config) (*tables, error) {
	routes := make([]router.Route, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		rr := router.Route{Prefix: r.Prefix, MCCMNC: r.MCCMNC, Operator: r.Operator, Cost: r.Cost,
			Currency: r.Currency, Weight: r.Weight, Effective: r.Effective, CostOnDelivered: r.CostOn == "delivered"}
		if !r.Active.IsZero() {
			w := r.Active
			rr.Active = &w
		}
		routes = append(routes, rr)
	}
	rt, err := router.NewTable(routes)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	var rates []billing.Rate
	t := &tables{routes: rt, accounts: map[string]*accountRT{}, senderOwners: map[string][]string{},
		maxParts: cfg.Limits.MaxParts, maxBytes: cfg.Limits.MaxBytes,
		freqCount: cfg.Marketing.FrequencyCap.Count, freqPer: cfg.Marketing.FrequencyCap.Per,
		dlrTimeout: cfg.DLR.Timeout, earlyHold: cfg.DLR.EarlyHold, moTimeout: cfg.MO.ReassemblyTimeout}
	if r := cfg.Reroute; r != nil {
		t.reroute = &rerouteRT{on: map[string]bool{}, maxAttempts: r.MaxAttempts}
		for _, s := range r.On {
			t.reroute.on[s] = true
		}
	}
	if cfg.Numbering != nil {
		t.defaultCountry = cfg.Numbering.DefaultCountry
	}
	t.errorMaps, t.maintenance = map[string]*errorMapRT{}, map[string][]timewin.Window{}
	for i := range cfg.Operators {
		o := &cfg.Operators[i]
		em, err := buildErrorMap(o.ErrorMap)
		if err != nil {
			return nil, fmt.Errorf("operator %s: %w", o.Name, err)
		}
		if em != nil {
			t.errorMaps[o.Name] = em
		}
		if len(o.Maintenance) > 0 {
			t.maintenance[o.Name] = o.Maintenance
		}
	}
	if cfg.Marketing.QuietHours.Set {
		t.quiet = &quietHours{start: cfg.Marketing.QuietHours.Start, end: cfg.Marketing.QuietHours.End}
	}
	t.stopWords = dlr.KeywordSet(cfg.Marketing.StopKeywords)
	t.startWords = dlr.KeywordSet(cfg.Marketing.StartKeywords)
	t.keywords = dlr.KeywordSet(cfg.MO.Keywords, cfg.Marketing.StopKeywords, cfg.Marketing.StartKeywords)
	t.autoReply = map[string]string{}
	for k, v := range cfg.MO.AutoReply {
		for kw := range dlr.KeywordSet([]string{k}) {
			t.autoReply[kw] = v
		}
	}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		loc := a.Location
		if loc == nil {
			loc = time.UTC
		}
		t.accounts[a.Name] = &accountRT{name: a.Name, senders: a.Senders, loc: loc, country: a.Country}
		for _, s := range a.Senders {
			t.senderOwners[s] = append(t.senderOwners[s], a.Name)
		}
		for _, r := range a.Rates {
			tiers := make([]billing.Tier, len(r.Tiers))
			for j, tr := range r.Tiers {
				tiers[j] = billing.Tier{From: tr.From, Price: tr.Price}
			}
			rates = append(rates, billing.Rate{Account: a.Name, Prefix: r.Prefix, Network: r.MCCMNC, Price: r.Price,
				Currency: r.Currency, Tiers: tiers, Effective: r.Effective})
		}
	}
	if t.rates, err = billing.NewRateCard(rates); err != nil {
		return nil, fmt.Errorf("rates: %w", err)
	}
	return t, nil
}

func operatorFromConfig(oc *config.Operator) (*operatorRT, error) {
	concat, err := coding.ParseConcat(oc.Concat)
	if err != nil {
		return nil, fmt.Errorf("operator %s: %w", oc.Name, err)
	}
	mode, err := dlr.ParseIDMode(oc.DLRID)
	if err != nil {
		return nil, fmt.Errorf("operator %s: %w", oc.Name, err)
	}
	rt := &operatorRT{name: oc.Name, concat: concat, gsm7Packed: oc.GSM7Packed, idMode: mode,
		chargeOnDeliv: oc.ChargeOn == "delivered", retryUnknown: oc.RetryUnknown, failoverAfter: max(oc.FailoverAfter, 1),
		tempErrors: map[pdu.Status]bool{}, lastPartDLR: oc.DLRLastPartOnly, window: oc.Window, binds: oc.Binds,
		tps: oc.TPS, systemID: oc.SystemID}
	if strings.EqualFold(oc.Bind, config.BindTransmitterReceiver) {
		rt.receivers = max(oc.Receivers, 1)
	}
	for _, s := range oc.TemporaryErrors {
		rt.tempErrors[pdu.Status(s)] = true
	}
	return rt, nil
}

// poolOptions builds the SMPP pool of one operator.
func poolOptions(oc *config.Operator, rt *operatorRT, in *inbound, log *zap.Logger, m *smpp.Metrics) smpp.PoolOptions {
	mode := smpp.Transceiver
	receivers := 0
	if strings.EqualFold(oc.Bind, config.BindTransmitterReceiver) {
		mode = smpp.Transmitter
		receivers = max(oc.Receivers, 1)
	}
	return smpp.PoolOptions{
		Session: smpp.SessionOptions{
			Addr:     fmt.Sprintf("%s:%d", oc.Host, oc.Port),
			SystemID: oc.SystemID, Password: oc.Password, SystemType: oc.SystemType,
			Mode: mode, Window: oc.Window, EnquireLink: oc.EnquireLink, RespTimeout: oc.RespTimeout,
			Handler: in.handlerFor(rt), Logger: log.With(zap.String("operator", oc.Name)), Metrics: m,
			Operator: oc.Name, TLSConfig: tlsConfig(oc),
		},
		Binds:        oc.Binds,
		Receivers:    receivers,
		TPS:          oc.TPS,
		CloseTimeout: bindCloseTimeout,
	}
}
