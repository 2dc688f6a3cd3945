package xds

import (
	"fmt"
	"strings"
)

// Percent-encoding for xdstp:// names (RFC 3986, section 2.1).
//
// Parsing decodes every %XX in every component, so "%41" and "A" name the same resource.
// Printing encodes exactly the bytes a component cannot hold raw, with uppercase hex, and
// nothing else. Because decoding and encoding are inverse on every string, a name printed
// by ResourceName.String reparses to itself, and two spellings of one name print the same.

// component says which part of an xdstp:// name a string is printed into; each allows a
// different set of bytes raw.
type component int

const (
	inAuthority component = iota // the authority: may not hold '/', '?', '#'
	inPath                       // the resource type and id: '/' separates segments
	inQuery                      // a context parameter key or value: '&', '=' separate
)

// keepRaw reports whether c may appear unescaped in the given component. The sets are the
// RFC 3986 ones (unreserved, sub-delims, ':' and '@' everywhere; '/' in paths; '/' and '?'
// in queries; '[' and ']' in the authority for IPv6-looking authorities), minus '&', '='
// and '+' in queries, which separate parameters or mean a space to form decoders.
func keepRaw(c byte, where component) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		'!', '$', '\'', '(', ')', '*', ',', ';', // sub-delims that every component allows
		':', '@':
		return true
	case '&', '=', '+': // the rest of the sub-delims
		return where != inQuery
	case '/':
		return where != inAuthority
	case '?':
		return where == inQuery
	case '[', ']':
		return where == inAuthority
	}
	return false
}

// escape percent-encodes the bytes of s that where does not allow raw. Non-ASCII bytes are
// always encoded, so a printed name is plain ASCII whatever its id holds.
func escape(s string, where component) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keepRaw(s[i], where) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepRaw(c, where) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}

// unescape decodes every %XX in s. A '%' not followed by two hex digits is an error, not
// a literal: accepting it would give the name two printed forms.
func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s)) // an upper bound: each valid %XX shrinks to one byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			end := min(i+3, len(s))
			return "", fmt.Errorf("invalid percent-encoding %q at byte %d", s[i:end], i)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
