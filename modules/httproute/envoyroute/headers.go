package envoyroute

import (
	"errors"
	"fmt"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

// headerOps translates one level's headers_to_add and headers_to_remove (a route's, a
// virtual host's, a weighted cluster's or the configuration's) into table.HeaderOps. Envoy
// applies a level's removals first and then its additions in list order; table.HeaderOps
// is a fixed remove-set-add sequence, so the additions are folded in one by one with the
// same rules as fold, which keeps the result exact (a set after an add of the same header
// replaces it; an add after a set appends to it). at names the fields in errors without
// their suffix, such as "request_headers" for request_headers_to_add and
// request_headers_to_remove. The result is nil when the level changes nothing.
func headerOps(at string, add []*corev3.HeaderValueOption, remove []string) (*table.HeaderOps, error) {
	if len(add) == 0 && len(remove) == 0 {
		return nil, nil
	}
	ops := &table.HeaderOps{}
	for i, name := range remove {
		if err := modifiable(name); err != nil {
			return nil, fmt.Errorf("%s_to_remove[%d]: %w", at, i, err)
		}
		removeHeader(ops, name)
	}
	for i, o := range add {
		if err := headerOption(ops, o); err != nil {
			return nil, fmt.Errorf("%s_to_add[%d]: %w", at, i, err)
		}
	}
	return nilIfEmpty(ops), nil
}

// headerOption folds one HeaderValueOption into ops.
//
// append_action has four values and table.HeaderOps two verbs, so two are approximations:
//
//   - APPEND_IF_EXISTS_OR_ADD (the default, and the deprecated append: true) is Add.
//   - OVERWRITE_IF_EXISTS_OR_ADD (append: false) is Set.
//   - ADD_IF_ABSENT is Add: when the header is absent that is exact, and when it is present
//     the existing value stays first, which is the one single-valued readers (Go's
//     Header.Get, most applications) see; only a reader of every value sees the extra one.
//   - OVERWRITE_IF_EXISTS is Set: when the header is present that is exact; when it is
//     absent the header is added, where Envoy would leave it out.
//
// As in Envoy, an option whose value is empty does nothing unless keep_empty_value is set.
func headerOption(ops *table.HeaderOps, o *corev3.HeaderValueOption) error {
	if err := headerValueOptionFields.check("", o); err != nil {
		return err
	}
	name := o.GetHeader().GetKey()
	if err := modifiable(name); err != nil {
		return err
	}
	value := o.GetHeader().GetValue()
	if value == "" && len(o.GetHeader().GetRawValue()) > 0 {
		value = string(o.GetHeader().GetRawValue())
	}
	value, err := literalHeaderValue(value)
	if err != nil {
		return fmt.Errorf("header %q: %w", name, err)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return fmt.Errorf("header %q: value %q is not a valid HTTP header value", name, value)
	}
	set, err := overwrites(o)
	if err != nil {
		return fmt.Errorf("header %q: %w", name, err)
	}
	if value == "" && !o.GetKeepEmptyValue() {
		return nil
	}
	h := table.Header{Name: name, Value: value}
	if set {
		setHeader(ops, h)
	} else {
		ops.Add = append(ops.Add, h)
	}
	return nil
}

// overwrites reports whether an option replaces the header's values (Set) rather than
// adding one (Add); see headerOption for how the four actions map.
func overwrites(o *corev3.HeaderValueOption) (bool, error) {
	action := o.GetAppendAction()
	//lint:ignore SA1019 control planes still send the deprecated append, which Envoy honours.
	if legacy := o.GetAppend(); legacy != nil {
		// Envoy refuses the deprecated field next to a non-default append_action.
		if action != corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD {
			return false, errors.New("append and append_action are both set")
		}
		return !legacy.GetValue(), nil
	}
	switch action {
	case corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD, corev3.HeaderValueOption_ADD_IF_ABSENT:
		return false, nil
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
		return true, nil
	}
	return false, fmt.Errorf("unknown append_action %d", int32(action))
}

// modifiable rejects what Envoy refuses to add or remove, pseudo-headers and Host, and
// names that are not HTTP tokens: Envoy's validation lets those through (it only refuses
// NUL, CR and LF), but the runtime's HTTP stack cannot send them.
func modifiable(name string) error {
	if strings.HasPrefix(name, ":") || strings.EqualFold(name, "host") {
		return fmt.Errorf("header %q cannot be modified", name)
	}
	if !httpguts.ValidHeaderFieldName(name) {
		return fmt.Errorf("header name %q is not a valid HTTP header name", name)
	}
	return nil
}

// literalHeaderValue undoes Envoy's escaping in a header value: Envoy reads values as
// format strings, where "%%" is a literal "%" and "%NAME(...)%" is a command operator (the
// client's address, a request header, ...). Command operators need the request and have
// no table equivalent, so they are an error rather than a literal text nobody asked for.
func literalHeaderValue(v string) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 < len(v) && v[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		return "", fmt.Errorf("value %q uses Envoy command operators, which are not supported", v)
	}
	return b.String(), nil
}

// fold returns the operations of a followed by those of b, as one table.HeaderOps: the
// levels Envoy applies one after another (a route's, then its virtual host's, then the
// configuration's) become one. Either may be nil; neither is changed.
func fold(a, b *table.HeaderOps) *table.HeaderOps {
	if b == nil {
		return a
	}
	if a == nil {
		return b
	}
	out := &table.HeaderOps{
		Set:    append([]table.Header(nil), a.Set...),
		Add:    append([]table.Header(nil), a.Add...),
		Remove: append([]string(nil), a.Remove...),
	}
	for _, name := range b.Remove {
		removeHeader(out, name)
	}
	for _, h := range b.Set {
		setHeader(out, h)
	}
	out.Add = append(out.Add, b.Add...)
	return nilIfEmpty(out)
}

// removeHeader and setHeader (with a plain append for an add) keep a HeaderOps equivalent to
// applying, in order, everything folded into it so far. Names compare case-insensitively,
// as header names do.

// removeHeader drops the header: whatever was set or added before is gone too.
func removeHeader(ops *table.HeaderOps, name string) {
	ops.Set = dropHeader(ops.Set, name)
	ops.Add = dropHeader(ops.Add, name)
	for _, r := range ops.Remove {
		if strings.EqualFold(r, name) {
			return
		}
	}
	ops.Remove = append(ops.Remove, name)
}

// setHeader replaces the header's values, including any set or added before.
func setHeader(ops *table.HeaderOps, h table.Header) {
	ops.Set = append(dropHeader(ops.Set, h.Name), h)
	ops.Add = dropHeader(ops.Add, h.Name)
}

// dropHeader removes the headers named name, in place.
func dropHeader(hs []table.Header, name string) []table.Header {
	out := hs[:0]
	for _, h := range hs {
		if !strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}

// nilIfEmpty returns nil for operations that change nothing, so that they are left out of
// the table.
func nilIfEmpty(ops *table.HeaderOps) *table.HeaderOps {
	if ops.IsEmpty() {
		return nil
	}
	return ops
}
