package policy

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a Policy's derived views leave a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
