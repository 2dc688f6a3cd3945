// Command kubeharness-build builds the integration harness's kube-apiserver and etcd into
// their cache (see kubeharness.Binaries) and prints their paths. `make test` runs it before
// the tests, so that a cold build (minutes) is its own step rather than part of a test's
// time.
package main

import (
	"fmt"
	"os"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
)

func main() {
	apiserver, etcd, err := kubeharness.Binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(apiserver)
	fmt.Println(etcd)
}
