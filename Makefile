# caddymesh's build and test entry points. `make test` is what CI runs.

GO      ?= go
CADDY_VERSION := v2.11.9

.PHONY: test vet bench quickstart build xcaddy fuzz generate crds check-generate kube-binaries

# Everything: static checks, generated files up to date, every test with the race detector
# (including the end-to-end tests that build the custom binary with go build and with
# xcaddy, and the tests against a real kube-apiserver), and a short fuzz run of the parsers.
test: vet check-generate kube-binaries
	$(GO) test -race -count=1 -timeout 40m ./...
	$(MAKE) fuzz FUZZTIME=10s

vet:
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files -co --exclude-standard '*.go'); exit 1; }
	$(GO) vet ./...

FUZZTIME ?= 60s
# Minimizing a new input stops the execs while it runs; bounded, so that a short run
# cannot end mid-minimization ("context deadline exceeded", seen once in CI under load).
FUZZMINIMIZE ?= 1s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./modules/file/manifest
	$(GO) test -run='^$$' -fuzz=FuzzMeshOption -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./caddyfile
	$(GO) test -run='^$$' -fuzz=FuzzParseResourceName -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./modules/xds
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./modules/xds/resource
	$(GO) test -run='^$$' -fuzz=FuzzTranslate -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./modules/httproute/envoyroute
	$(GO) test -run='^$$' -fuzz=FuzzReadRequest -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./modules/meshless/protocol
	$(GO) test -run='^$$' -fuzz=FuzzParseID -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./modules/identity

# The real kube-apiserver and etcd the Kubernetes tests run, built from their Go modules
# into ~/.cache/caddymesh/kube (or $$CADDYMESH_KUBE_CACHE), keyed by version. The first build
# takes about 7 minutes on 2 cores; afterwards this returns at once.
kube-binaries:
	$(GO) run ./integration/kubeharness/cmd/kubeharness-build

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

# Generated code and CRDs, from the markers in modules/mesh/apis: the deepcopy functions,
# the Meshlet CRD, the same CRD in Meshless's original API group, and the HTTPFilter CRD
# (gateway.caddymesh.io). controller-gen comes through the module proxy (go run …@version),
# so these are not part of `make test`.
CONTROLLER_GEN ?= $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
CRD_DIR        ?= examples/kubernetes/crds
API_PKGS       := meshless/v1 gateway/v1alpha1
MESHLET_CRD    := meshless.caddymesh.io_meshlets.yaml
COMPAT_CRD     := ext.burningxflame.github.com_meshlets.yaml
HTTPFILTER_CRD := gateway.caddymesh.io_httpfilters.yaml

# The go:generate lines of every API package (each package's doc.go), then the CRDs.
generate:
	$(GO) generate ./modules/mesh/apis/...
	$(MAKE) --no-print-directory crds

# The CRDs into $(CRD_DIR), one file per resource. The compat CRD differs from the
# canonical Meshlet one only in its API group: in metadata.name and spec.group.
crds:
	$(CONTROLLER_GEN) crd paths=./modules/mesh/apis/meshless/v1/... output:crd:dir=$(CRD_DIR)
	$(CONTROLLER_GEN) crd paths=./modules/mesh/apis/gateway/v1alpha1/... output:crd:dir=$(CRD_DIR)
	sed -e 's/^  name: meshlets\.meshless\.caddymesh\.io$$/  name: meshlets.ext.burningxflame.github.com/' \
	    -e 's/^  group: meshless\.caddymesh\.io$$/  group: ext.burningxflame.github.com/' \
	    $(CRD_DIR)/$(MESHLET_CRD) > $(CRD_DIR)/$(COMPAT_CRD)
	@test -f $(CRD_DIR)/$(HTTPFILTER_CRD) || { echo "$(HTTPFILTER_CRD) was not generated"; exit 1; }

# Fails when the committed CRDs or deepcopy functions differ from what the markers
# generate. Both are generated into a temporary folder, so the tree is left as it is.
check-generate:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory crds CRD_DIR="$$tmp/crds" >/dev/null && \
	diff -ru examples/kubernetes/crds "$$tmp/crds" && \
	for pkg in $(API_PKGS); do \
		$(CONTROLLER_GEN) object paths=./modules/mesh/apis/$$pkg output:object:dir="$$tmp/$$pkg" && \
		diff -u modules/mesh/apis/$$pkg/zz_generated.deepcopy.go "$$tmp/$$pkg/zz_generated.deepcopy.go" || exit 1; \
	done && \
	echo "CRDs and deepcopy functions up to date"
