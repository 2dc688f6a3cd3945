package collection

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a watcher, derived collection or RunForEach
// goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
