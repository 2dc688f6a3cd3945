package conformance

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
)

// TestMain stops this test binary's Kubernetes API server, if a test started one.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cluster != nil {
		shared.cluster.Stop()
	}
	os.Exit(code)
}

// shared is the one API server of this test binary, started by the first test that needs it.
var shared struct {
	once    sync.Once
	cluster *kubeharness.Cluster
	err     error
}

// sharedCluster returns the API server, starting it on first use. It fails the test, never
// skips it, when the server cannot start.
func sharedCluster(t *testing.T) *kubeharness.Cluster {
	t.Helper()
	shared.once.Do(func() {
		start := time.Now()
		// The context bounds the start only; the processes outlive it.
		shared.cluster, shared.err = kubeharness.Start(context.Background())
		if shared.err == nil {
			t.Logf("kube-apiserver %s ready at %s in %s", kubeharness.KubeVersion, shared.cluster.Host, time.Since(start).Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatalf("starting the Kubernetes API server: %v", shared.err)
	}
	return shared.cluster
}
