package envoyroute

import (
	"errors"
	"fmt"
	"strings"
)

// domainOwners records which virtual host serves each domain, so that a domain is served
// by one virtual host only. Envoy rejects a whole configuration that repeats a domain; here
// the later virtual host loses the domain and keeps its others, and the repeat is an error.
type domainOwners map[string]string

// claim translates a virtual host's domains into the table's form, returning the ones
// kept and an error for each one that is not.
func (o domainOwners) claim(vhost string, domains []string) ([]string, []error) {
	out := make([]string, 0, len(domains))
	var errs []error
	for _, d := range domains {
		n, err := normalizeDomain(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("virtual host %q: domain %q: %w", vhost, d, err))
			continue
		}
		owner, taken := o[n]
		switch {
		case taken && owner == vhost:
			// The same domain with another port, or spelt in another case: one entry
			// in the table serves both.
		case taken:
			errs = append(errs, fmt.Errorf("virtual host %q: domain %q is already served by virtual host %q", vhost, d, owner))
		default:
			o[n] = vhost
			out = append(out, n)
		}
	}
	return out, errs
}

// errWildcard is the error for Envoy's wildcards that the table cannot express.
var errWildcard = errors.New(`only "*" and a leading "*." wildcard are supported`)

// normalizeDomain lowercases a domain and strips its port.
//
// Envoy matches a domain with a port only against a Host with that port (unless
// ignore_port_in_host_matching is set); the table has no ports, so "example.com:8080"
// becomes "example.com" and serves every port, as with ignore_port_in_host_matching.
//
// Envoy's wildcards are "*", a suffix match ("*.foo.com", "*-bar.foo.com") and a prefix
// match ("foo.*"). The table has "*" and "*." followed by a suffix, which matches one or
// more labels as Envoy's "*.foo.com" does (Envoy's "*" matches any non-empty text, dots
// included). A suffix wildcard not followed by a dot, a prefix wildcard, or a "*" anywhere
// else is an error.
func normalizeDomain(d string) (string, error) {
	host, err := stripPort(strings.ToLower(d))
	if err != nil {
		return "", err
	}
	switch {
	case host == "":
		return "", errors.New("empty host name")
	case host == "*":
		return host, nil
	case strings.HasPrefix(host, "*.") && len(host) > 2 && !strings.Contains(host[2:], "*"):
		return host, nil
	case strings.Contains(host, "*"):
		return "", errWildcard
	}
	return host, nil
}

// stripPort removes a ":port" suffix. A bracketed IPv6 address keeps its brackets, as in a
// Host header; an unbracketed one has no port to strip.
func stripPort(d string) (string, error) {
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 {
			return "", errors.New("unterminated IPv6 address")
		}
		rest := d[end+1:]
		if rest != "" && (rest[0] != ':' || !isPort(rest[1:])) {
			return "", errors.New("invalid port")
		}
		return d[:end+1], nil
	}
	i := strings.IndexByte(d, ':')
	if i < 0 || strings.Count(d, ":") > 1 {
		return d, nil
	}
	if !isPort(d[i+1:]) {
		return "", errors.New("invalid port")
	}
	return d[:i], nil
}

// isPort reports whether s is a decimal port number.
func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}
