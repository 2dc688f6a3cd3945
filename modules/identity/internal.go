package identity

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddypki"
	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh"
)

func init() {
	caddy.RegisterModule(new(Internal))
}

// Defaults of the internal CA.
const (
	DefaultTrustDomain = "cluster.local"
	DefaultAuthority   = "mesh"
	DefaultLifetime    = caddy.Duration(24 * time.Hour)

	// MinLifetime is the shortest certificate lifetime accepted; short lifetimes are for
	// tests that watch certificates rotate.
	MinLifetime = caddy.Duration(time.Second)
)

// pool holds each configuration's certificate cache across config reloads, keyed by what
// the certificates depend on: trust domain, authority (and its root), lifetime.
var pool = caddy.NewUsagePool()

// Internal is the mesh's embedded CA: it issues X.509 SVIDs for SPIFFE IDs of its trust
// domain, signed by an intermediate of a certificate authority of Caddy's pki app, so the
// root and intermediate live in Caddy storage and Caddy renews the intermediate.
//
// Each certificate is issued on the first request for its SPIFFE ID, cached, and renewed in
// the background at half its lifetime; requests return the current one without locking. A
// config reload with the same trust domain, authority and lifetime keeps the certificates.
// An ID nobody asked for during a whole lifetime is dropped from the cache.
//
// If the pki app does not define the authority, Internal adds it to the app with
// install_trust off (the mesh root belongs to the mesh, not to the system trust store), so
// that Caddy stores and renews it like any other. Note that a pki app that is not in the
// config at all also sets up Caddy's default "local" CA and tries to install its root;
// configure apps.pki.certificate_authorities.<authority> to avoid that.
type Internal struct {
	// TrustDomainName is the SPIFFE trust domain of the issued certificates; requests for
	// IDs of other trust domains are refused. Placeholders such as {env.TRUST_DOMAIN} are
	// replaced. Default: "cluster.local".
	TrustDomainName string `json:"trust_domain,omitempty"`

	// Authority is the ID of the certificate authority in Caddy's pki app
	// (apps.pki.certificate_authorities) that signs the certificates. It is not Caddy's
	// "local" CA, so that the mesh's root differs from the one Caddy uses for local HTTPS
	// sites. Default: "mesh".
	Authority string `json:"authority,omitempty"`

	// Lifetime is how long an issued certificate is valid (never longer than the signing
	// intermediate). Certificates are renewed at half their lifetime. At least 1s.
	// Default: 24h.
	Lifetime caddy.Duration `json:"lifetime,omitempty"`

	// TrustedRootsPEMFiles are PEM files of further roots to trust, besides the authority's
	// own root. This is how a root is rotated without breaking connections: first add the
	// new root here on every node (peers still present certificates of the old root); then
	// switch the authority and list the old root here (peers now present certificates of the
	// new root, and the ones not yet switched still verify); finally, once every certificate
	// of the old root has expired, remove it. Placeholders are replaced. Default: none.
	TrustedRootsPEMFiles []string `json:"trusted_roots_pem_files,omitempty"`

	roots  []*x509.Certificate // the authority's root first, then the trusted roots
	bundle *x509.CertPool

	cache   *cache
	poolKey string
	detach  func()
	logger  *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (*Internal) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mesh.identity.internal",
		New: func() caddy.Module { return new(Internal) },
	}
}

// Provision sets the defaults, gets the authority from the pki app, loads the trusted
// roots and takes (or creates) the certificate cache of this configuration.
func (in *Internal) Provision(ctx caddy.Context) error {
	in.logger = ctx.Logger()
	repl := caddy.NewReplacer()
	in.TrustDomainName = repl.ReplaceKnown(in.TrustDomainName, "")
	if in.TrustDomainName == "" {
		in.TrustDomainName = DefaultTrustDomain
	}
	if in.Authority == "" {
		in.Authority = DefaultAuthority
	}
	if in.Lifetime == 0 {
		in.Lifetime = DefaultLifetime
	}
	// Validate runs after Provision, but Provision already acts on these values.
	if err := in.Validate(); err != nil {
		return err
	}

	ca, err := pkiAuthority(ctx, in.Authority)
	if err != nil {
		return err
	}
	root := ca.RootCertificate()
	in.roots = []*x509.Certificate{root}
	for _, name := range in.TrustedRootsPEMFiles {
		certs, err := readPEMCertificates(repl.ReplaceKnown(name, ""))
		if err != nil {
			return fmt.Errorf("trusted roots: %w", err)
		}
		in.roots = appendNew(in.roots, certs...)
	}
	in.bundle = x509.NewCertPool()
	for _, r := range in.roots {
		in.bundle.AddCert(r)
	}

	key, err := json.Marshal(struct {
		TrustDomain string         `json:"trust_domain"`
		Authority   string         `json:"authority"`
		Root        string         `json:"root_sha256"`
		Lifetime    caddy.Duration `json:"lifetime"`
	}{in.TrustDomainName, in.Authority, fingerprint(root), in.Lifetime})
	if err != nil {
		return fmt.Errorf("computing the certificate cache key: %w", err)
	}
	val, loaded, err := pool.LoadOrNew(string(key), func() (caddy.Destructor, error) {
		return newCache(in.TrustDomainName, in.Authority, time.Duration(in.Lifetime)), nil
	})
	if err != nil {
		return fmt.Errorf("creating the certificate cache: %w", err)
	}
	in.poolKey, in.cache = string(key), val.(*cache)
	in.detach = in.cache.attach(ca, in.logger)
	if loaded {
		in.logger.Debug("reusing the certificates of the previous config", zap.String("trust_domain", in.TrustDomainName))
	}
	if err := registerMetrics(ctx); err != nil {
		return fmt.Errorf("registering identity metrics: %w", err)
	}
	return nil
}

// Validate checks the configuration.
func (in *Internal) Validate() error {
	if err := ValidateTrustDomain(in.TrustDomainName); err != nil {
		return fmt.Errorf("trust_domain: %w", err)
	}
	if in.Lifetime < MinLifetime {
		return fmt.Errorf("lifetime %s is shorter than %s", time.Duration(in.Lifetime), time.Duration(MinLifetime))
	}
	return nil
}

// Cleanup releases this config's hold on the certificate cache; the last holder stops its
// renewals.
func (in *Internal) Cleanup() error {
	if in.detach != nil {
		in.detach()
		in.detach = nil
	}
	if in.poolKey == "" {
		return nil
	}
	_, err := pool.Delete(in.poolKey)
	in.poolKey = ""
	return err
}

// TrustDomain returns the trust domain the CA issues for.
func (in *Internal) TrustDomain() string { return in.TrustDomainName }

// Certificate returns the current certificate for a SPIFFE ID of the trust domain, issuing
// it on the first request. Later requests are a lock-free read.
func (in *Internal) Certificate(ctx context.Context, spiffeID string) (*tls.Certificate, error) {
	return in.cache.get(ctx, spiffeID)
}

// TrustBundle returns the authority's root and the trusted roots. It must not be modified.
func (in *Internal) TrustBundle() *x509.CertPool { return in.bundle }

// Roots returns the certificates of TrustBundle, the authority's root first, for
// diagnostics and for CA pools that combine certificates.
func (in *Internal) Roots() []*x509.Certificate { return append([]*x509.Certificate(nil), in.roots...) }

// pkiAuthority returns the pki app's CA with the given ID, adding it to the app if the
// config does not define it.
func pkiAuthority(ctx caddy.Context, id string) (*caddypki.CA, error) {
	app, err := ctx.App("pki")
	if err != nil {
		return nil, fmt.Errorf("getting the pki app: %w", err)
	}
	pki := app.(*caddypki.PKI)
	if _, ok := pki.CAs[id]; !ok && id != caddypki.DefaultCAID {
		// Added before the pki app starts (apps start after all are provisioned), so the
		// app keeps its intermediate renewed.
		off := false
		ca := &caddypki.CA{Name: "Caddy Mesh Authority", InstallTrust: &off}
		if err := ca.Provision(ctx, id, ctx.Logger()); err != nil {
			return nil, fmt.Errorf("provisioning pki authority %q: %w", id, err)
		}
		if pki.CAs == nil {
			pki.CAs = make(map[string]*caddypki.CA)
		}
		pki.CAs[id] = ca
	}
	ca, err := pki.GetCA(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("getting pki authority %q: %w", id, err)
	}
	return ca, nil
}

func readPEMCertificates(name string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", name, len(certs), err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", name)
	}
	return certs, nil
}

// appendNew appends the certificates not yet in list.
func appendNew(list []*x509.Certificate, certs ...*x509.Certificate) []*x509.Certificate {
next:
	for _, c := range certs {
		for _, have := range list {
			if have.Equal(c) {
				continue next
			}
		}
		list = append(list, c)
	}
	return list
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// Interface guards
var (
	_ caddy.Provisioner  = (*Internal)(nil)
	_ caddy.Validator    = (*Internal)(nil)
	_ caddy.CleanerUpper = (*Internal)(nil)
	_ mesh.Identity      = (*Internal)(nil)
)
