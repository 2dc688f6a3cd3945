package xds

import (
	"strings"
	"testing"
)

func TestParseServerAddress(t *testing.T) {
	tests := []struct {
		in      string
		host    string
		local   bool
		wantErr string // "" when valid
	}{
		{in: "127.0.0.1:18000", host: "127.0.0.1", local: true},
		{in: "127.8.9.10:1", host: "127.8.9.10", local: true},
		{in: "[::1]:15010", host: "::1", local: true},
		{in: "localhost:15010", host: "localhost", local: true},
		{in: "LocalHost:15010", host: "LocalHost", local: true},
		{in: "istiod.istio-system.svc:15012", host: "istiod.istio-system.svc"},
		{in: "10.0.0.1:65535", host: "10.0.0.1"},
		{in: "[2001:db8::1]:443", host: "2001:db8::1"},
		{in: "localhost.example.com:443", host: "localhost.example.com"},
		{in: "unix:/var/run/istio/xds.sock", local: true},
		{in: "unix:///var/run/istio/xds.sock", local: true},
		{in: "unix:./etc/istio/proxy/XDS", local: true},

		{in: "", wantErr: "server address is required"},
		{in: "istiod", wantErr: "want host:port"},
		{in: ":15010", wantErr: "missing host"},
		{in: "istiod:0", wantErr: "not a number from 1 to 65535"},
		{in: "istiod:65536", wantErr: "not a number from 1 to 65535"},
		{in: "istiod:grpc", wantErr: "not a number from 1 to 65535"},
		{in: "istiod:", wantErr: "not a number from 1 to 65535"},
		{in: "dns:///istiod:15010", wantErr: "without a scheme"},
		{in: "http://istiod:15010", wantErr: "without a scheme"},
		{in: "::1:15010", wantErr: "want host:port"},
		{in: "unix:", wantErr: "missing socket path"},
		{in: "unix://", wantErr: "missing socket path"},
	}
	for _, tt := range tests {
		addr, err := parseServerAddress(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseServerAddress(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseServerAddress(%q): %v", tt.in, err)
			continue
		}
		if addr.host != tt.host || addr.isLocal() != tt.local || addr.unix != strings.HasPrefix(tt.in, "unix:") {
			t.Errorf("parseServerAddress(%q) = %+v (local %v), want host %q local %v", tt.in, addr, addr.isLocal(), tt.host, tt.local)
		}
	}
}
