// Package integration holds caddymesh's end-to-end tests: Caddyfile adaptation goldens, the
// mesh app running inside a real Caddy (admin API, reloads, file watching), and the custom
// binary built both with `go build` and with xcaddy.
package integration
