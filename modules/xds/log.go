package xds

import (
	"time"

	"go.uber.org/zap"
)

// Log fields, named once so that every message about the same thing uses the same key.
func logType(url TypeURL) zap.Field         { return zap.String("type", string(url)) }
func logName(name string) zap.Field         { return zap.String("name", name) }
func logNames(names []string) zap.Field     { return zap.Strings("names", names) }
func logNonce(nonce string) zap.Field       { return zap.String("nonce", nonce) }
func logVersion(version string) zap.Field   { return zap.String("version", version) }
func logDetail(detail string) zap.Field     { return zap.String("error_detail", detail) }
func logDuration(d time.Duration) zap.Field { return zap.Duration("delay", d) }
func logCount(n int) zap.Field              { return zap.Int("repeats", n) }
