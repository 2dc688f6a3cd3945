package meshless

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if anything a test started (a node's derived views, a tunnel
// connection, a spliced connection) is left running. Nothing is ignored.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
