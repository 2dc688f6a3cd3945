package meshless

import (
	"time"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/meshless/protocol"
)

// accessRecord is one connection as the access log shows it.
type accessRecord struct {
	start     time.Time
	direction string // "outbound": from a local application; "inbound": from the tunnel
	sourcePod string // the calling Pod, outbound only
	source    string // the calling meshlet, "namespace/name"
	dest      string // the service ID
	endpoint  string // the chosen Pod, "namespace/name"
	path      string // "local" (Unix socket) or "tunnel"
	code      protocol.Code
	err       error
	up, down  int64 // bytes client→server, server→client
	idle      bool  // closed by the idle timeout
}

// logAccess writes one line per connection: at info for a connection that was set up, at
// warn for a refusal, whose reason names the objects involved.
func (n *Node) logAccess(r accessRecord) {
	level, msg := zap.InfoLevel, "connection"
	if r.err != nil {
		level, msg = zap.WarnLevel, "connection refused"
	}
	// Check first: a disabled or filtered access log costs a connection no fields.
	ce := n.cfg.AccessLog.Check(level, msg)
	if ce == nil {
		return
	}
	fields := []zap.Field{
		zap.String("direction", r.direction),
		zap.String("source", r.source),
		zap.String("destination", r.dest),
		zap.Uint8("code", uint8(r.code)),
		zap.String("code_text", r.code.String()),
		zap.Int64("bytes_up", r.up),
		zap.Int64("bytes_down", r.down),
		zap.Duration("duration", time.Since(r.start)),
	}
	if r.sourcePod != "" {
		fields = append(fields, zap.String("source_pod", r.sourcePod))
	}
	if r.endpoint != "" {
		fields = append(fields, zap.String("endpoint", r.endpoint), zap.String("path", r.path))
	}
	if r.idle {
		fields = append(fields, zap.Bool("idle_timeout", true))
	}
	if r.err != nil {
		fields = append(fields, zap.Error(r.err))
	}
	ce.Write(fields...)
}
