package conformance

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
)

// logPath matches the Pod log subresource, which an API server answers by asking the Pod's
// kubelet.
var logPath = regexp.MustCompile(`^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$`)

// apiProxy is an HTTPS reverse proxy in front of the API server that answers Pod log requests
// itself, from the output of the processes the harness runs: the kubelet the cluster lacks.
// Everything else goes to the API server unchanged, credentials included.
type apiProxy struct {
	srv       *httptest.Server
	transport *http.Transport
}

// newAPIProxy starts the proxy; logs finds the log of a Pod the harness runs.
func newAPIProxy(c *kubeharness.Cluster, logs func(ns, name string) (*logBuffer, bool)) (*apiProxy, error) {
	target, err := url.Parse(c.Host)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := rest.TLSConfigFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile, ServerName: "kubernetes"}})
	if err != nil {
		return nil, fmt.Errorf("the API server's TLS configuration: %w", err)
	}
	transport := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     transport,
		FlushInterval: -1, // watches stream
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := logPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
			serveLogs(w, r, m[1], m[2], logs)
			return
		}
		rp.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(handler)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	return &apiProxy{srv: srv, transport: transport}, nil
}

// Config returns a client configuration for the proxy with the given bearer token. The
// proxy's certificate names 127.0.0.1.
func (p *apiProxy) Config(token string) *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	return &rest.Config{
		Host:            p.srv.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		QPS:             -1,
	}
}

// Close cuts the clients' connections, stops the server and closes the connections to the
// API server.
func (p *apiProxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
	p.transport.CloseIdleConnections()
}

// serveLogs answers GET .../pods/{pod}/log as a kubelet would, honouring sinceTime,
// sinceSeconds, tailLines, timestamps and limitBytes. follow returns what there is so far.
func serveLogs(w http.ResponseWriter, r *http.Request, ns, pod string, logs func(ns, name string) (*logBuffer, bool)) {
	if r.Header.Get("Authorization") == "" {
		writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
		return
	}
	buf, ok := logs(ns, pod)
	if !ok {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound,
			fmt.Sprintf("pods %q not found among the Pods the conformance harness runs", pod))
		return
	}
	q := r.URL.Query()
	lq := logQuery{tail: -1}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "sinceTime: "+err.Error())
			return
		}
		lq.since = t
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "sinceSeconds must be a positive integer")
			return
		}
		lq.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "tailLines must be a non-negative integer")
			return
		}
		lq.tail = n
	}
	if v := q.Get("limitBytes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "limitBytes must be a positive integer")
			return
		}
		lq.limitBytes = n
	}
	lq.timestamps, _ = strconv.ParseBool(q.Get("timestamps"))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(buf.render(lq))
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}
