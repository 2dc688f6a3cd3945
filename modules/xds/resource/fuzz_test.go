package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
)

// fuzzTypeURLs are the type URLs FuzzDecode picks from by index; the last is one no
// decoder handles.
var fuzzTypeURLs = []string{
	ListenerTypeURL, ClusterTypeURL, RouteConfigurationTypeURL, ClusterLoadAssignmentTypeURL, SecretTypeURL,
	"type.googleapis.com/acme.Widget",
}

// FuzzDecode checks that Decode never panics on any bytes and keeps its promises: a
// failure is a *ValidationError of bounded size for the type asked, and a success is a
// view of that type that keeps the bytes, renders as JSON, and whose proto decodes again.
func FuzzDecode(f *testing.F) {
	seeds := []proto.Message{
		validListener(f), validCluster(f), validRouteConfiguration(f), validClusterLoadAssignment(), validSecret(f),
	}
	for i, m := range seeds {
		f.Add(uint8(i), mustMarshal(f, m))
	}
	staticCluster := validCluster(f)
	staticCluster.LoadAssignment = validClusterLoadAssignment()
	f.Add(uint8(1), mustMarshal(f, staticCluster))
	f.Add(uint8(0), mustMarshal(f, validCluster(f))) // a cluster read as a listener
	f.Add(uint8(5), []byte{})
	f.Add(uint8(2), []byte{0x12, 0x80})

	f.Fuzz(func(t *testing.T, index uint8, raw []byte) {
		typeURL := fuzzTypeURLs[int(index)%len(fuzzTypeURLs)]
		r, err := Decode(typeURL, raw)
		if err != nil {
			checkFuzzError(t, typeURL, err)
			return
		}
		if r == nil || r.TypeURL() != typeURL || !bytes.Equal(r.Raw(), raw) || r.Proto() == nil {
			t.Fatalf("bad resource %v for %s", r, typeURL)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("%v does not render as JSON: %v", r, err)
		}
		_ = fmt.Sprintf("%v %+v %#v", r, r, r)
		useView(r)
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(r.Proto())
		if err != nil {
			t.Fatalf("%v does not marshal again: %v", r, err)
		}
		if _, err := Decode(typeURL, again); err != nil {
			t.Fatalf("%v does not decode again: %v", r, err)
		}
	})
}

func checkFuzzError(t *testing.T, typeURL string, err error) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is a %T", err, err)
	}
	if ve.TypeURL != typeURL || len(ve.Reasons) == 0 || len(ve.Reasons) > maxReasons+1 {
		t.Fatalf("bad error for %s: %#v", typeURL, ve)
	}
	if !Supported(typeURL) && !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("unsupported type gives %v", err)
	}
	_ = ve.Error()
}

// useView calls the methods consumers call, which must cope with any valid view.
func useView(r Resource) {
	switch v := r.(type) {
	case *Listener:
		_ = v.RouteConfigNames()
		for i := range v.FilterChains {
			_ = v.FilterChains[i].HTTPConnectionManager()
		}
	case *Cluster:
		_ = v.EDSName()
		if v.LoadAssignment != nil {
			_ = v.LoadAssignment.Raw()
		}
	case *RouteConfiguration:
		for _, vh := range v.VirtualHosts {
			for _, rt := range vh.Routes {
				for _, h := range rt.Match.Headers {
					if h.Regex != nil {
						_ = h.Regex.MatchString("x")
					}
				}
			}
		}
	case *Secret:
		if v.TLSCertificate != nil {
			_, _ = v.TLSCertificate.KeyPair()
		}
		if v.ValidationContext != nil {
			for _, m := range v.ValidationContext.SANMatchers {
				_ = m.Matcher.Match("spiffe://a/b")
			}
		}
	}
}
