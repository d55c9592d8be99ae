package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/smsgate/smsgate/pkg/smppsim"
	"github.com/smsgate/smsgate/smpp/pdu"
)

func init() {
	register("smsc-sim", "run an SMPP 3.4 SMSC simulator (receipts, MO, throttling, errors, drops)", runSMSCSim)
}

// statusFlag parses an SMPP command_status given as 0x0B or 11.
type statusFlag struct{ st *pdu.Status }

func (f statusFlag) String() string {
	if f.st == nil {
		return ""
	}
	return f.st.Hex()
}

func (f statusFlag) Set(s string) error {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return fmt.Errorf("command_status %q: %w", s, err)
	}
	*f.st = pdu.Status(v)
	return nil
}

func runSMSCSim(ctx context.Context, args []string) error {
	fs := newFlagSet("smsc-sim")
	listen := fs.String("listen", "127.0.0.1:2775", "SMPP listen address (loopback unless -allow-remote)")
	allowRemote := fs.Bool("allow-remote", false, "allow non-loopback listen addresses")
	systemID := fs.String("system-id", "", "accepted system_id (empty: accept every bind)")
	password := fs.String("password", "", "password for -system-id")
	maxBinds := fs.Int("max-binds", 0, "concurrent binds per system_id (0 = unlimited)")
	idFormat := fs.String("id-format", "dec", "submit_sm_resp message id: dec, HEX or hex0 (lower, zero-padded)")
	receiptIDFormat := fs.String("receipt-id-format", "same", "receipt id: same, dec, HEX or hex0")
	receipts := fs.Bool("receipts", true, "send delivery receipts when registered_delivery asks")
	receiptDelay := fs.Duration("receipt-delay", 0, "delay before each receipt")
	receiptJitter := fs.Duration("receipt-jitter", 0, "random extra receipt delay, uniform [0, jitter)")
	receiptTLVs := fs.Bool("receipt-tlvs", true, "add receipted_message_id and message_state TLVs to receipts")
	delivered := fs.Float64("delivered", 1, "weight of DELIVRD receipts")
	undeliv := fs.Float64("undeliv", 0, "weight of UNDELIV receipts")
	expired := fs.Float64("expired", 0, "weight of EXPIRED receipts")
	tps := fs.Float64("tps", 0, "submit_sm per second over all binds, above: ESME_RTHROTTLED (0 = unlimited)")
	throttleRatio := fs.Float64("throttle-ratio", 0, "share of submits answered ESME_RTHROTTLED (0..1)")
	errorRate := fs.Float64("error-rate", 0, "share of submits answered -error-status (0..1)")
	errorStatus := pdu.ErrInvDstAdr
	fs.Var(statusFlag{&errorStatus}, "error-status", "status for -error-rate (hex 0x0B or decimal)")
	respDelay := fs.Duration("resp-delay", 0, "delay before each submit_sm_resp")
	dropAfter := fs.Int("drop-after", 0, "close each connection after this many submit_sm_resp (0 = never)")
	seed := fs.Int64("seed", 1, "seed of every random decision")
	statsListen := fs.String("stats-listen", "", "serve /stats JSON on this address (loopback unless -allow-remote)")
	moEvery := fs.Duration("mo-every", 0, "inject a sample MO to every bound system_id at this interval (0 = never)")
	moFrom := fs.String("mo-from", "995599000001", "sender of sample MOs")
	moTo := fs.String("mo-to", "1234", "destination of sample MOs")
	duration := fs.Duration("duration", 0, "stop after this long (0 = until SIGINT/SIGTERM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	idf, err := smppsim.ParseIDFormat(*idFormat, false)
	if err != nil {
		return err
	}
	ridf, err := smppsim.ParseIDFormat(*receiptIDFormat, true)
	if err != nil {
		return err
	}
	if *statsListen != "" && !*allowRemote {
		if err := smppsim.CheckLoopback(*statsListen); err != nil {
			return fmt.Errorf("-stats-listen: %w", err)
		}
	}
	var creds map[string]string
	if *systemID != "" {
		creds = map[string]string{*systemID: *password}
	}
	s, err := smppsim.Start(smppsim.Options{
		Addr: *listen, AllowRemote: *allowRemote, Credentials: creds, MaxBinds: *maxBinds,
		IDFormat: idf, ReceiptIDFormat: ridf, NoReceipts: !*receipts,
		ReceiptDelay: *receiptDelay, ReceiptJitter: *receiptJitter, ReceiptTLVs: *receiptTLVs,
		DeliveredRatio: *delivered, UndelivRatio: *undeliv, ExpiredRatio: *expired,
		TPS: *tps, ThrottleRatio: *throttleRatio, ErrorRate: *errorRate, ErrorStatus: errorStatus,
		RespDelay: *respDelay, DropAfter: *dropAfter, Seed: *seed,
	})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(os.Stderr, "smsc-sim: SMPP on %s\n", s.Addr())

	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	if *statsListen != "" {
		ln, err := net.Listen("tcp", *statsListen)
		if err != nil {
			return fmt.Errorf("stats listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/stats", s.StatsHandler())
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
		fmt.Fprintf(os.Stderr, "smsc-sim: stats on http://%s/stats\n", ln.Addr())
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintf(os.Stderr, "smsc-sim: stats server: %v\n", err)
			}
		}()
		go func() {
			defer wg.Done()
			<-runCtx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
		}()
	}
	if *moEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(*moEvery)
			defer t.Stop()
			for n := 1; ; n++ {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
				}
				for _, id := range s.SystemIDs() {
					mctx, cancel := context.WithTimeout(runCtx, 10*time.Second)
					err := s.InjectMO(mctx, smppsim.MO{SystemID: id, From: *moFrom, To: *moTo,
						Text: fmt.Sprintf("smsc-sim sample MO #%d", n)})
					cancel()
					if err != nil && !errors.Is(err, smppsim.ErrNoBind) && runCtx.Err() == nil {
						fmt.Fprintf(os.Stderr, "smsc-sim: MO to %s: %v\n", id, err)
					}
				}
			}
		}()
	}

	<-ctx.Done()
	stop()
	final := s.Stats()
	if err := s.Close(); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(final)
}
