package gateway

import (
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/smsgate/smsgate/internal/config"
	"github.com/smsgate/smsgate/smpp"
)

// poolOptions builds the SMPP pool of one operator.
func poolOptions(oc *config.Operator, h smpp.InboundHandler, log *zap.Logger, m *smpp.Metrics) smpp.PoolOptions {
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
			Handler: h, Logger: log, Metrics: m,
			Operator: oc.Name, TLSConfig: tlsConfig(oc),
		},
		Binds:        oc.Binds,
		Receivers:    receivers,
		TPS:          oc.TPS,
		CloseTimeout: 10 * time.Second,
	}
}
