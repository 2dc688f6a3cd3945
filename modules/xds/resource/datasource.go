package resource

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// DataSourceKind says where the bytes of a DataSource come from. Envoy reads files and
// environment variables itself; a consumer must know which case it has before it can use
// the data.
type DataSourceKind uint8

// The data source forms.
const (
	// DataNone is an absent data source.
	DataNone DataSourceKind = iota
	// DataFile reads a file on the proxy's host.
	DataFile
	// DataInline carries the bytes in the resource (inline_bytes or inline_string).
	DataInline
	// DataEnvironment reads an environment variable of the proxy process.
	DataEnvironment
)

var dataSourceKindNames = []string{"None", "File", "Inline", "Environment"}

// String returns the kind's name.
func (k DataSourceKind) String() string { return enumString(dataSourceKindNames, int(k)) }

// MarshalText makes JSON show the kind's name.
func (k DataSourceKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// DataSource is a certificate, CA bundle or response body in one of Envoy's forms.
type DataSource struct {
	// Kind says which field below is set.
	Kind DataSourceKind
	// Filename is the file to read, for DataFile.
	Filename string
	// Inline is the data itself, for DataInline, whether it was sent as bytes or as a
	// string. It is always nil for a private key: key bytes are reachable only through
	// the proto.
	Inline []byte
	// EnvironmentVariable is the variable to read, for DataEnvironment.
	EnvironmentVariable string
}

// buildDataSource flattens a DataSource proto.
func buildDataSource(ds *corev3.DataSource) DataSource {
	switch s := ds.GetSpecifier().(type) {
	case *corev3.DataSource_Filename:
		return DataSource{Kind: DataFile, Filename: s.Filename}
	case *corev3.DataSource_InlineBytes:
		return DataSource{Kind: DataInline, Inline: s.InlineBytes}
	case *corev3.DataSource_InlineString:
		return DataSource{Kind: DataInline, Inline: []byte(s.InlineString)}
	case *corev3.DataSource_EnvironmentVariable:
		return DataSource{Kind: DataEnvironment, EnvironmentVariable: s.EnvironmentVariable}
	}
	return DataSource{}
}

// redacted returns the data source without its inline bytes, for private keys.
func (d DataSource) redacted() DataSource {
	d.Inline = nil
	return d
}
