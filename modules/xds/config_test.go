package xds

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validConfig() AdsConfig {
	return AdsConfig{Server: "istiod.istio-system.svc:15010", Node: NewNode("sidecar-0", "web")}
}

func TestAdsConfigDefaults(t *testing.T) {
	c := validConfig()
	if !c.UseDelta() {
		t.Error("the zero config does not use delta")
	}
	c.StateOfTheWorld = true
	if c.UseDelta() {
		t.Error("StateOfTheWorld does not turn delta off")
	}

	d := validConfig().WithDefaults()
	want := AdsConfig{
		Server:                      d.Server,
		Node:                        d.Node,
		Keepalive:                   Keepalive{Time: 5 * time.Minute, Timeout: 20 * time.Second},
		Backoff:                     Backoff{Initial: time.Second, Max: 2 * time.Minute, Multiplier: 1.6, Jitter: 0.2},
		InitialResponseTimeout:      30 * time.Second,
		ResourceDoesNotExistTimeout: 15 * time.Second,
		MaxReceiveMessageSize:       64 << 20,
	}
	if d.Keepalive != want.Keepalive || d.Backoff != want.Backoff ||
		d.InitialResponseTimeout != want.InitialResponseTimeout ||
		d.ResourceDoesNotExistTimeout != want.ResourceDoesNotExistTimeout ||
		d.MaxReceiveMessageSize != want.MaxReceiveMessageSize || d.ResourceLimit != 0 || !d.UseDelta() {
		t.Errorf("WithDefaults() = %+v\nwant %+v", d, want)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}

	// Explicit values, and "off" values, survive.
	c = validConfig()
	c.Keepalive = Keepalive{Time: -1, Timeout: time.Second}
	c.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: -1}
	c.InitialResponseTimeout = time.Second
	c.ResourceDoesNotExistTimeout = 2 * time.Second
	c.ResourceLimit = 100
	c.MaxReceiveMessageSize = 1 << 20
	if got := c.WithDefaults(); got.Keepalive != c.Keepalive || got.Backoff != c.Backoff ||
		got.InitialResponseTimeout != c.InitialResponseTimeout ||
		got.ResourceDoesNotExistTimeout != c.ResourceDoesNotExistTimeout ||
		got.ResourceLimit != 100 || got.MaxReceiveMessageSize != 1<<20 {
		t.Errorf("WithDefaults changed explicit values: %+v", got)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("explicit values do not validate: %v", err)
	}
}

func TestAdsConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*AdsConfig)
		wantErr []string
	}{
		{"no server", func(c *AdsConfig) { c.Server = "" }, []string{"server: server address is required"}},
		{"server without port", func(c *AdsConfig) { c.Server = "istiod" }, []string{"server: ", "want host:port"}},
		{"no node id", func(c *AdsConfig) { c.Node.ID = "" }, []string{"node: id is required"}},
		{"bad auth", func(c *AdsConfig) { c.Auth.Mode = "kerberos" }, []string{`auth: unknown mode "kerberos"`}},
		{"TLS over unix without server name", func(c *AdsConfig) {
			c.Server = "unix:/run/xds.sock"
			c.Auth.CAFile = "/etc/ca.pem"
		}, []string{"auth: TLS over a Unix socket needs a server name"}},
		{"keepalive too often", func(c *AdsConfig) { c.Keepalive.Time = time.Second },
			[]string{"keepalive: time 1s is below gRPC's minimum of 10s"}},
		{"negative keepalive timeout", func(c *AdsConfig) { c.Keepalive.Timeout = -time.Second },
			[]string{"keepalive: timeout -1s is negative"}},
		{"backoff", func(c *AdsConfig) { c.Backoff.Initial = time.Hour }, []string{"backoff: initial 1h0m0s is longer than max"}},
		{"negative initial response timeout", func(c *AdsConfig) { c.InitialResponseTimeout = -1 },
			[]string{"initial response timeout: -1ns is negative"}},
		{"negative does-not-exist timeout", func(c *AdsConfig) { c.ResourceDoesNotExistTimeout = -time.Second },
			[]string{"resource does-not-exist timeout: -1s is negative"}},
		{"negative resource limit", func(c *AdsConfig) { c.ResourceLimit = -1 },
			[]string{"resource limit: -1 is negative (0 means no limit)"}},
		{"negative message size", func(c *AdsConfig) { c.MaxReceiveMessageSize = -1 },
			[]string{"max receive message size: -1 is negative"}},
		{"everything at once", func(c *AdsConfig) { *c = AdsConfig{ResourceLimit: -1} },
			[]string{"server: server address is required", "node: id is required", "resource limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, derr := c.DialOptions(); derr == nil || !errors.Is(derr, ErrInvalidConfig) {
				t.Errorf("DialOptions accepted an invalid config: %v", derr)
			}
			// Validate gives the same answer with the defaults spelled out.
			if derr := c.WithDefaults().Validate(); derr == nil {
				t.Error("WithDefaults made the config valid")
			}
		})
	}
}

func TestAdsConfigDialOptionsReadsFiles(t *testing.T) {
	c := validConfig()
	c.Auth = Auth{CAFile: t.TempDir() + "/missing.pem"}
	_, err := c.DialOptions()
	if err == nil || !strings.Contains(err.Error(), "ADS server istiod.istio-system.svc:15010: auth: reading CA file") {
		t.Errorf("DialOptions error = %v", err)
	}
	if errors.Is(err, ErrInvalidConfig) {
		t.Error("a missing file is reported as an invalid config; it may appear later")
	}
}
