package collection

import (
	"bytes"
	"runtime"
	"strconv"
)

// goid returns the current goroutine's id. Go hides it on purpose; it is used here for one
// thing only: telling whether a cancel comes from inside the handler it would wait for, which
// would deadlock. It is called once per watcher goroutine and in cancel, never per event.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
