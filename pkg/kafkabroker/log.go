package kafkabroker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapLogger adapts zap to kfake.Logger. kfake logs every request at info
// level, which is debug noise for us; its warnings are mostly client
// mistakes (unknown topic, stale member), so they stay warnings.
type zapLogger struct{ l *zap.Logger }

// Logf implements kfake.Logger; it formats only when the level is enabled.
func (z zapLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	var zl zapcore.Level
	switch level {
	case kfake.LogLevelError:
		zl = zapcore.ErrorLevel
	case kfake.LogLevelWarn:
		zl = zapcore.WarnLevel
	case kfake.LogLevelInfo, kfake.LogLevelDebug:
		zl = zapcore.DebugLevel
	default:
		return
	}
	if ce := z.l.Check(zl, "kfake log"); ce != nil {
		ce.Write(zap.String("detail", fmt.Sprintf(msg, args...)))
	}
}
