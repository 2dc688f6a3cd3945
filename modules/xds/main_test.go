package xds

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a gRPC server, client connection or stream
// goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
