package resource

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestSecretRedacted(t *testing.T) {
	msg := validSecret(t)
	s, err := DecodeSecret(mustAny(t, msg))
	if err != nil {
		t.Fatal(err)
	}
	key := msg.GetTlsCertificate().GetPrivateKey().GetInlineString()
	out, err := protojson.Marshal(s.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	shown := string(out)
	if strings.Contains(shown, "PRIVATE KEY") || strings.Contains(shown, key[30:60]) {
		t.Fatalf("redacted secret shows the key: %s", shown)
	}
	if !strings.Contains(shown, redactedValue) || !strings.Contains(shown, "certificateChain") {
		t.Fatalf("redacted secret lost its shape: %s", shown)
	}
	// The view's own proto is untouched: consumers still get the key.
	if !proto.Equal(s.Proto(), msg) {
		t.Fatal("Redacted modified the secret it was taken from")
	}
}
