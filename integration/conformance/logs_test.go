package conformance

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxLogLines bounds a Pod's log; older lines go first, as a kubelet's log rotation drops them.
const maxLogLines = 100_000

// logBuffer is a process's stdout and stderr, line by line with the time each line arrived:
// what a kubelet keeps of a container's output, and serves for GET .../pods/{pod}/log.
type logBuffer struct {
	mu      sync.Mutex // guards lines and partial
	lines   []logLine
	partial []byte
}

type logLine struct {
	at   time.Time
	text string
}

// Write splits p into lines; an unfinished line waits for the rest.
func (b *logBuffer) Write(p []byte) (int, error) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	data := append(b.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, logLine{at: now, text: string(data[:i])})
		data = data[i+1:]
	}
	b.partial = append([]byte(nil), data...)
	if over := len(b.lines) - maxLogLines; over > 0 {
		b.lines = append([]logLine(nil), b.lines[over:]...)
	}
	return len(p), nil
}

// logQuery holds the PodLogOptions the harness honours.
type logQuery struct {
	since      time.Time // zero: from the start
	tail       int       // < 0: every line
	timestamps bool
	limitBytes int // <= 0: no limit
}

// render returns the lines the query selects, as the kubelet writes them: one per line,
// optionally prefixed with an RFC 3339 timestamp.
func (b *logBuffer) render(q logQuery) []byte {
	b.mu.Lock()
	var sel []logLine
	for _, l := range b.lines {
		// The kubelet drops lines before sinceTime and keeps the rest.
		if !q.since.IsZero() && l.at.Before(q.since) {
			continue
		}
		sel = append(sel, l)
	}
	b.mu.Unlock()
	if q.tail >= 0 && len(sel) > q.tail {
		sel = sel[len(sel)-q.tail:]
	}
	var out bytes.Buffer
	for _, l := range sel {
		if q.timestamps {
			out.WriteString(l.at.UTC().Format(time.RFC3339Nano))
			out.WriteByte(' ')
		}
		out.WriteString(l.text)
		out.WriteByte('\n')
	}
	if q.limitBytes > 0 && out.Len() > q.limitBytes {
		out.Truncate(q.limitBytes)
	}
	return out.Bytes()
}

// tail returns the last n lines, for failure messages.
func (b *logBuffer) tail(n int) string {
	return strings.TrimSuffix(string(b.render(logQuery{tail: n})), "\n")
}

// TestLogBufferRender checks the kubelet's log options as the log proxy serves them.
func TestLogBufferRender(t *testing.T) {
	var b logBuffer
	_, _ = b.Write([]byte("one\ntw"))
	_, _ = b.Write([]byte("o\n"))
	mid := time.Now()
	time.Sleep(10 * time.Millisecond)
	_, _ = b.Write([]byte("three\nunfinished"))
	for _, tc := range []struct {
		name string
		q    logQuery
		want string
	}{
		{"all", logQuery{tail: -1}, "one\ntwo\nthree\n"},
		{"since", logQuery{tail: -1, since: mid}, "three\n"},
		{"tail", logQuery{tail: 2}, "two\nthree\n"},
		{"tail zero", logQuery{tail: 0}, ""},
		{"limit", logQuery{tail: -1, limitBytes: 5}, "one\nt"},
	} {
		if got := string(b.render(tc.q)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := string(b.render(logQuery{tail: 1, timestamps: true})); !strings.HasSuffix(got, "Z three\n") {
		t.Errorf("timestamps: got %q", got)
	}
}
