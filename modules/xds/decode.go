package xds

import (
	"errors"
	"fmt"
	"strings"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// resourceWrapperName is the message a server may wrap each state-of-the-world resource
// in (client feature xds.config.resource-in-sotw), to give it a name, version and TTL.
const resourceWrapperName = "envoy.service.discovery.v3.Resource"

// received is one resource of a response after decoding and validation: a view to accept,
// a heartbeat, or the reason it is rejected.
type received struct {
	// name is canonical; "" when it could not be read.
	name string
	// version is the resource's own version (delta, or a wrapper); "" otherwise.
	version string
	res     resource.Resource
	// raw identifies the response's content for the repeated-NACK check.
	raw []byte
	// heartbeat is set for a resource sent without a body, which only renews a TTL.
	heartbeat bool
	// err is the rejection, an *Error of KindInvalidResource.
	err error
}

// decodeSotw decodes the resources of a state-of-the-world response.
func decodeSotw(url TypeURL, anys []*anypb.Any) []received {
	out := make([]received, len(anys))
	for i, a := range anys {
		if messageName(a.GetTypeUrl()) != resourceWrapperName {
			out[i] = decodeOne(url, a, "", "")
			continue
		}
		var w discoveryv3.Resource
		if err := proto.Unmarshal(a.GetValue(), &w); err != nil {
			out[i] = received{raw: a.GetValue(), err: &Error{Kind: KindInvalidResource, TypeURL: url,
				Msg: "cannot unmarshal the Resource wrapper", Err: err}}
			continue
		}
		out[i] = decodeWrapped(url, &w)
	}
	return out
}

// decodeWrapped decodes a resource in a Resource wrapper, as every delta response and some
// state-of-the-world responses carry them.
func decodeWrapped(url TypeURL, w *discoveryv3.Resource) received {
	if w.GetResource() == nil {
		name, err := canonicalName(w.GetName())
		if err != nil {
			return received{name: w.GetName(), err: invalid(url, w.GetName(), "malformed resource name", err)}
		}
		return received{name: name, version: w.GetVersion(), heartbeat: true}
	}
	return decodeOne(url, w.GetResource(), w.GetName(), w.GetVersion())
}

// decodeOne decodes and validates one resource of type url. wrapperName and version come
// from a Resource wrapper, when there is one.
func decodeOne(url TypeURL, a *anypb.Any, wrapperName, version string) received {
	r := received{raw: a.GetValue(), version: version, name: wrapperName}
	if got := messageName(a.GetTypeUrl()); got != url.MessageName() {
		r.err = invalid(url, wrapperName, fmt.Sprintf("a %s in a response of type %s", got, url.MessageName()), nil)
		return r
	}
	var (
		res  resource.Resource
		name string
		err  error
	)
	if resource.Supported(string(url)) {
		res, err = resource.Decode(string(url), a.GetValue())
		if res != nil {
			name = res.Name()
		} else {
			var verr *resource.ValidationError
			if errors.As(err, &verr) {
				name = verr.Name
			}
		}
	} else {
		res, name, err = decodeCustom(url, a.GetValue(), wrapperName)
	}
	key, kerr := resourceKey(name, wrapperName)
	switch {
	case err != nil:
		r.name, r.err = key, invalid(url, key, "rejected", err)
	case kerr != nil:
		r.name, r.err = key, invalid(url, key, kerr.Error(), nil)
	default:
		r.name, r.res = key, res
	}
	return r
}

// resourceKey returns the canonical name a resource is keyed by: the wrapper's name when
// there is one (it is what the server subscribes and removes by), which must then agree
// with the name inside the resource. It returns the best name it has along with an error.
func resourceKey(name, wrapperName string) (string, error) {
	key := name
	if wrapperName != "" {
		key = wrapperName
	}
	if key == "" {
		return "", errors.New("the resource has no name")
	}
	canon, err := canonicalName(key)
	if err != nil {
		return key, fmt.Errorf("malformed resource name: %w", err)
	}
	if wrapperName != "" && name != "" && name != wrapperName {
		inner, err := canonicalName(name)
		if err != nil || inner != canon {
			return canon, fmt.Errorf("the resource calls itself %q", name)
		}
	}
	return canon, nil
}

// canonicalName parses a resource name as the server sent it and prints it canonically,
// so that it matches the name it was subscribed by. Plain names are returned as they are.
func canonicalName(s string) (string, error) {
	if !strings.HasPrefix(s, "xdstp:") {
		if s == "" {
			return "", errors.New("empty")
		}
		return s, nil
	}
	n, err := ParseResourceName(s)
	if err != nil {
		return "", err
	}
	return n.String(), nil
}

// invalid makes the rejection of one resource.
func invalid(url TypeURL, name, msg string, err error) *Error {
	return &Error{Kind: KindInvalidResource, TypeURL: url, Name: name, Msg: msg, Err: err}
}

// messageName returns the message name a type URL refers to: everything after its last
// slash, as google.protobuf.Any defines it.
func messageName(typeURL string) string {
	if i := strings.LastIndexByte(typeURL, '/'); i >= 0 {
		return typeURL[i+1:]
	}
	return typeURL
}
