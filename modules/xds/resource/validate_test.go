package resource

import "testing"

func TestSnakeFieldPath(t *testing.T) {
	for in, want := range map[string]string{
		"Name":                 "name",
		"FilterChains[0]":      "filter_chains[0]",
		"Http2ProtocolOptions": "http2_protocol_options",
		"TypedExtensionProtocolOptions[envoy.Foo.Bar]": "typed_extension_protocol_options[envoy.Foo.Bar]",
		"Ipv4Compat": "ipv4_compat",
		"":           "",
	} {
		if got := snakeFieldPath(in); got != want {
			t.Errorf("snakeFieldPath(%q) = %q, want %q", in, got, want)
		}
	}
}
