// Command caddymesh is Caddy with its standard modules and the caddymesh bundle: the same
// program that `xcaddy build --with github.com/caddymesh/caddymesh` produces, runnable
// straight from the repository with `go run ./xcaddy/caddymesh`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules, as in the official build.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// The mesh bundle (which brings caddy-l4 along).
	_ "github.com/caddymesh/caddymesh"
)

func main() {
	caddycmd.Main()
}
