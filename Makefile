# caddymesh's build and test entry points. `make test` is what CI runs.

GO      ?= go
CADDY_VERSION := v2.11.9

.PHONY: test vet bench quickstart build xcaddy fuzz

# Everything: static checks, every test with the race detector (including the end-to-end
# tests that build the custom binary with go build and with xcaddy), and a short fuzz run
# of the manifest parser.
test: vet
	$(GO) test -race -count=1 -timeout 40m ./...
	$(MAKE) fuzz FUZZTIME=10s

vet:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files -co --exclude-standard '*.go'); exit 1; }
	$(GO) vet ./...

FUZZTIME ?= 60s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./modules/file/manifest
	$(GO) test -run='^$$' -fuzz=FuzzMeshOption -fuzztime=$(FUZZTIME) ./caddyfile
	$(GO) test -run='^$$' -fuzz=FuzzParseResourceName -fuzztime=$(FUZZTIME) ./modules/xds
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./modules/xds/resource

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=6 ./modules/collection

# The quickstart: the example cluster from files, visible at localhost:2019/mesh/collections.
quickstart:
	cd examples/quickstart && $(GO) run ../../xcaddy/caddymesh run

# The custom binary, from this repository's main package.
build:
	$(GO) build -o bin/caddymesh ./xcaddy/caddymesh

# The same bundle built the way users build it: xcaddy, pinned as a Go tool.
xcaddy:
	./xcaddy/build.sh bin/caddymesh-xcaddy
