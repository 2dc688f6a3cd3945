package protocol

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCodesAreFixed(t *testing.T) {
	// The wire values must never change: applications compiled against older SDKs depend
	// on them. This table is the README's.
	for _, tc := range []struct {
		code Code
		val  byte
		name string
	}{
		{OK, 0, "ok"},
		{GeneralFailure, 1, "general failure"},
		{UnsupportedVersion, 2, "unsupported protocol version"},
		{Malformed, 3, "malformed request"},
		{ServiceNotFound, 4, "service not found"},
		{NotAllowed, 5, "not allowed"},
		{NoEndpoint, 6, "no available endpoint"},
		{ConnectionLimit, 7, "connection limit reached"},
		{DestinationRefused, 8, "destination refused"},
		{DestinationUnreachable, 9, "destination unreachable"},
		{Timeout, 10, "timeout"},
		{ShuttingDown, 11, "shutting down"},
	} {
		if byte(tc.code) != tc.val || tc.code.String() != tc.name || !tc.code.Known() {
			t.Errorf("code %d: %q known=%v, want %d %q", tc.code, tc.code.String(), tc.code.Known(), tc.val, tc.name)
		}
	}
	if Code(12).Known() || Code(12).String() != "unknown code 12" {
		t.Errorf("code 12: %q known=%v", Code(12).String(), Code(12).Known())
	}
}

func TestReadRequest(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		name string
		in   []byte
		want ServiceID
		code Code // for failures
	}{
		{"valid", req("api.backend.shop"), ServiceID{"api", "backend", "shop"}, 0},
		{"longest labels", req(long + "." + long + "." + long), ServiceID{long, long, long}, 0},
		{"version 0", append([]byte{0}, req("a.b.c")[1:]...), ServiceID{}, UnsupportedVersion},
		{"version 2", append([]byte{2}, req("a.b.c")[1:]...), ServiceID{}, UnsupportedVersion},
		{"length 0", []byte{1, 0}, ServiceID{}, Malformed},
		{"length past the data", []byte{1, 9, 'a', '.', 'b', '.', 'c'}, ServiceID{}, Malformed},
		{"only the version", []byte{1}, ServiceID{}, Malformed},
		{"nothing", nil, ServiceID{}, Malformed},
		{"two parts", req("api.backend"), ServiceID{}, Malformed},
		{"four parts", req("api.backend.shop.svc"), ServiceID{}, Malformed},
		{"upper case", req("API.backend.shop"), ServiceID{}, Malformed},
		{"empty label", req("api..shop"), ServiceID{}, Malformed},
		{"label of 64", req(long + "a.b.c"), ServiceID{}, Malformed},
		{"underscore", req("my_api.backend.shop"), ServiceID{}, Malformed},
		{"leading dash", req("-api.backend.shop"), ServiceID{}, Malformed},
		{"NUL byte", req("api.back\x00end.shop"), ServiceID{}, Malformed},
		{"non-ASCII", req("apí.backend.shop"), ServiceID{}, Malformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ReadRequest(bytes.NewReader(tc.in))
			if tc.code == 0 {
				if err != nil || id != tc.want {
					t.Fatalf("got %+v, %v; want %+v", id, err, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("got %+v, %v; want code %d (%s)", id, err, tc.code, tc.code)
			}
		})
	}
}

// req builds a request the way a client would, without validation.
func req(id string) []byte { return append([]byte{Version, byte(len(id))}, id...) }

// TestReadRequestLeavesTheRest: bytes after the request are the application's.
func TestReadRequestLeavesTheRest(t *testing.T) {
	r := bytes.NewReader(append(req("api.backend.shop"), "GET / HTTP/1.1\r\n"...))
	if _, err := ReadRequest(r); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "GET / HTTP/1.1\r\n" {
		t.Fatalf("left %q", rest)
	}
}

// TestReadRequestSlowSender: a client that trickles a byte at a time is cut off by the
// connection's deadline, with Timeout.
func TestReadRequestSlowSender(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	go func() {
		for _, b := range req("api.backend.shop") {
			if _, err := client.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if err := server.SetReadDeadline(time.Now().Add(150 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := ReadRequest(server)
	if CodeOf(err) != Timeout {
		t.Fatalf("got %v (code %s), want a timeout", err, CodeOf(err))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	id := ServiceID{"api", "backend", "shop"}
	if err := WriteRequest(&buf, id); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadRequest(&buf); err != nil || got != id {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, code := range []Code{OK, NotAllowed, ShuttingDown, Code(200)} {
		buf.Reset()
		if err := WriteReply(&buf, code); err != nil {
			t.Fatal(err)
		}
		err := ReadReply(&buf)
		if code == OK {
			if err != nil {
				t.Fatalf("OK read as %v", err)
			}
			continue
		}
		if CodeOf(err) != code {
			t.Fatalf("code %d read as %v", code, err)
		}
	}
	if _, err := AppendRequest(nil, ServiceID{"API", "b", "c"}); CodeOf(err) != Malformed {
		t.Fatalf("invalid ID: %v", err)
	}
	if err := ReadReply(bytes.NewReader(nil)); CodeOf(err) != GeneralFailure {
		t.Fatalf("no reply: %v", err)
	}
	if err := ReadReply(bytes.NewReader([]byte{9, 0})); CodeOf(err) != UnsupportedVersion {
		t.Fatalf("bad reply version: %v", err)
	}
}

func BenchmarkReadRequest(b *testing.B) {
	in := req("api.backend.shop")
	r := bytes.NewReader(in)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		if _, err := ReadRequest(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	id := ServiceID{"api", "backend", "shop"}
	buf := make([]byte, 0, 2+MaxIDLength)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendRequest(buf[:0], id); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzReadRequest(f *testing.F) {
	for _, seed := range [][]byte{
		req("api.backend.shop"), {1, 0}, {2, 1, 'a'}, {1, 255}, req("a.b.c.d"), nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		id, err := ReadRequest(r)
		if err != nil {
			if c := CodeOf(err); c != UnsupportedVersion && c != Malformed {
				t.Fatalf("code %s for %q", c, in)
			}
			return
		}
		// What was accepted re-encodes to exactly the bytes consumed.
		consumed := in[:len(in)-r.Len()]
		again, err := AppendRequest(nil, id)
		if err != nil || !bytes.Equal(again, consumed) {
			t.Fatalf("accepted %q as %+v, which encodes to %q (%v)", consumed, id, again, err)
		}
	})
}
