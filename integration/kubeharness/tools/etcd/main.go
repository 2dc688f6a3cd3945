// Command etcd is etcd's server, built from its Go module for the integration
// harness (see ../../harness.go).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
