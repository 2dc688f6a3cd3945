package protocol

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestREADMECodeTable checks that README.md states the reply codes exactly as the issue
// fixed them, and one row per code this package knows, so the specification cannot drift
// from the code or from the agreed wording.
func TestREADMECodeTable(t *testing.T) {
	want := []string{
		"OK, the tunnel is up",
		"general failure",
		"unsupported protocol version",
		"malformed request: bad length, or a bad service ID",
		"service not found",
		"not allowed",
		"no available endpoint",
		"connection limit reached",
		"destination refused",
		"destination unreachable",
		"timeout",
		"shutting down",
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| ([^|]+?) \|$`).FindAllStringSubmatch(string(readme), -1)
	if len(rows) != len(want) {
		t.Fatalf("README.md has %d code rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		n, _ := strconv.Atoi(r[1])
		if n != i || r[2] != want[i] {
			t.Errorf("README row %d: %q %q, want %d %q", i, r[1], r[2], i, want[i])
		}
		if !Code(n).Known() {
			t.Errorf("README code %d is not a Code this package knows", n)
		}
	}
	if Code(len(want)).Known() {
		t.Errorf("package knows code %d, which README.md does not list", len(want))
	}
}
