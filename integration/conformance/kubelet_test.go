package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

const (
	// nodeName is the node every harness Pod is bound to; no Node object exists.
	nodeName = "kubeharness-node"
	// managedByLabel marks the EndpointSlices the harness owns, as the EndpointSlice
	// controller marks its own.
	managedByLabel = "endpointslice.kubernetes.io/managed-by"
	managedByValue = "conformance-harness.caddymesh.io"
	// echoImage is the part of a container image that says it is the suite's echo server.
	echoImage = "gateway-api/echo-basic"
)

// kubelet stands in for what a cluster would run for the suite's backends: the Deployment and
// ReplicaSet controllers, the scheduler, the kubelet and the EndpointSlice controller. For
// every Deployment of echo-basic it runs `replicas` echo-basic processes on free ports,
// creates their Pods (named <deployment>-<template hash>-<suffix>) and marks them Ready once
// the process answers. For every Service with a selector it writes one EndpointSlice per
// matching Pod, with that Pod's ports. Services without a selector are left to whoever made
// them.
//
// Every Pod has the host's address: the API server refuses loopback addresses in
// EndpointSlices, and a host has no other addresses to spare without privileges. So Pods share
// one address and differ by port, and the slice port is the process's port, not the container
// port. hostPortShims covers the one test that writes container ports into slices by hand.
//
// It reacts to Deployments, Services, Secrets and ConfigMaps through informers, and reconciles
// a whole namespace at a time on one worker.
type kubelet struct {
	cs      kubernetes.Interface
	echoBin string
	dir     string
	logf    func(format string, args ...any)

	ctx     context.Context
	cancel  context.CancelFunc
	factory informers.SharedInformerFactory
	deploys appslisters.DeploymentLister
	svcs    corelisters.ServiceLister
	secrets corelisters.SecretLister
	cms     corelisters.ConfigMapLister
	queue   workqueue.TypedRateLimitingInterface[string]
	wg      sync.WaitGroup

	hostIP string // every Pod's address
	shims  []*forwarder

	mu       sync.Mutex // guards pods, skipped and shimTurn
	pods     map[string]*backendPod
	skipped  map[string]bool
	shimTurn int
}

// hostPortShims publish a Deployment's container port on the Pod address itself, as a Pod
// network would: HTTPRouteServiceTypes writes EndpointSlices by hand with infra-backend-v1's
// Pod IPs and container port 3000 (tests/httproute-service-types.yaml). Connections take the
// Deployment's Ready Pods in turn.
var hostPortShims = []struct {
	port   int32
	deploy string // namespace/name
}{{3000, "gateway-conformance-infra/infra-backend-v1"}}

func newKubelet(cs kubernetes.Interface, echoBin, dir, hostIP string, logf func(string, ...any)) *kubelet {
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(cs, 0)
	return &kubelet{
		cs: cs, echoBin: echoBin, dir: dir, hostIP: hostIP, logf: logf,
		ctx: ctx, cancel: cancel, factory: f,
		deploys: f.Apps().V1().Deployments().Lister(),
		svcs:    f.Core().V1().Services().Lister(),
		secrets: f.Core().V1().Secrets().Lister(),
		cms:     f.Core().V1().ConfigMaps().Lister(),
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		pods:    make(map[string]*backendPod),
		skipped: make(map[string]bool),
	}
}

// Start starts the informers and the worker and waits for the caches.
func (k *kubelet) Start() error {
	enqueue := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.enqueue(obj) },
		UpdateFunc: func(_, obj any) { k.enqueue(obj) },
		DeleteFunc: func(obj any) { k.enqueue(obj) },
	}
	for _, inf := range []cache.SharedIndexInformer{
		k.factory.Apps().V1().Deployments().Informer(),
		k.factory.Core().V1().Services().Informer(),
		k.factory.Core().V1().Secrets().Informer(),
		k.factory.Core().V1().ConfigMaps().Informer(),
	} {
		if _, err := inf.AddEventHandler(enqueue); err != nil {
			return err
		}
	}
	for _, sh := range hostPortShims {
		addr := net.JoinHostPort(k.hostIP, strconv.Itoa(int(sh.port)))
		f, err := listenForward(addr, func() (string, error) { return k.shimTarget(sh.deploy, sh.port) })
		if err != nil {
			k.logf("kubelet: cannot publish %s's port %d on %s (tests that write it into EndpointSlices will fail): %v", sh.deploy, sh.port, addr, err)
			continue
		}
		k.shims = append(k.shims, f)
	}
	k.factory.Start(k.ctx.Done())
	for typ, ok := range k.factory.WaitForCacheSync(k.ctx.Done()) {
		if !ok {
			return fmt.Errorf("the %v informer did not sync", typ)
		}
	}
	k.wg.Add(1)
	go k.work()
	return nil
}

// Stop stops the worker and every backend process. The API objects stay: the cluster goes
// with the test.
func (k *kubelet) Stop() {
	k.cancel()
	k.queue.ShutDown()
	k.wg.Wait()
	k.factory.Shutdown()
	for _, f := range k.shims {
		f.Close()
	}
	k.mu.Lock()
	pods := make([]*backendPod, 0, len(k.pods))
	for _, p := range k.pods {
		pods = append(pods, p)
	}
	k.pods = map[string]*backendPod{}
	for _, p := range pods {
		p.state = podStopped
	}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Go(p.stop)
	}
	wg.Wait()
}

func (k *kubelet) enqueue(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		k.queue.Add(m.GetNamespace())
	}
}

func (k *kubelet) work() {
	defer k.wg.Done()
	for {
		ns, quit := k.queue.Get()
		if quit {
			return
		}
		if err := k.reconcile(ns); err != nil && k.ctx.Err() == nil {
			k.logf("kubelet: namespace %s: %v (will retry)", ns, err)
			k.queue.AddRateLimited(ns)
		} else {
			k.queue.Forget(ns)
		}
		k.queue.Done(ns)
	}
}

// Logs returns the log of a Pod the harness runs.
func (k *kubelet) Logs(ns, name string) (*logBuffer, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.pods[ns+"/"+name]
	if !ok {
		return nil, false
	}
	return p.logs, true
}

// PodSummary describes a harness Pod, for readiness checks and failure messages.
type PodSummary struct {
	Namespace, Name, IP string
	Ready               bool
	State               string
}

// Pods lists the harness's Pods.
func (k *kubelet) Pods() []PodSummary {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]PodSummary, 0, len(k.pods))
	for _, p := range k.pods {
		out = append(out, PodSummary{Namespace: p.ns, Name: p.name, IP: p.ip, Ready: p.state == podReady, State: p.describe()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out
}

// reconcile brings one namespace's Pods, processes and EndpointSlices in line with its
// Deployments and Services.
func (k *kubelet) reconcile(ns string) error {
	deploys, err := k.deploys.Deployments(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	want := make(map[string]*appsv1.Deployment, len(deploys))
	for _, d := range deploys {
		if d.DeletionTimestamp == nil && k.runnable(d) {
			want[d.Name] = d
		}
	}

	// Pods of deleted Deployments, of an older template, or beyond the replica count go.
	k.mu.Lock()
	have := map[string]int{}
	var gone []*backendPod
	for _, key := range sortedKeys(k.pods) {
		p := k.pods[key]
		if p.ns != ns {
			continue
		}
		d, ok := want[p.deploy]
		if !ok || p.hash != templateHash(d) || have[p.deploy] >= replicas(d) {
			gone = append(gone, p)
			delete(k.pods, key)
			p.state = podStopped
			continue
		}
		have[p.deploy]++
	}
	k.mu.Unlock()
	var errs []error
	for _, p := range gone {
		p.stop()
		zero := int64(0)
		err := k.cs.CoreV1().Pods(ns).Delete(k.ctx, p.name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting pod %s: %w", p.name, err))
		}
	}

	for _, name := range sortedKeys(want) {
		d := want[name]
		for n := have[name]; n < replicas(d); n++ {
			if err := k.createPod(d); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}

	k.mu.Lock()
	var pending []*backendPod
	for _, p := range k.pods {
		if p.ns == ns && p.state == podPending {
			pending = append(pending, p)
		}
	}
	k.mu.Unlock()
	for _, p := range pending {
		k.tryStart(p)
	}

	if err := k.syncSlices(ns); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// runnable says whether the harness can run a Deployment's Pods: echo-basic in its HTTP,
// gRPC or TCP mode. Others (coredns, the UDP echo server) get no Pods, so no Pod of theirs
// holds up the suite's readiness checks; it logs each once.
func (k *kubelet) runnable(d *appsv1.Deployment) bool {
	why := ""
	switch cs := d.Spec.Template.Spec.Containers; {
	case len(cs) != 1:
		why = fmt.Sprintf("%d containers", len(cs))
	case !strings.Contains(cs[0].Image, echoImage):
		why = "image " + cs[0].Image
	case envValue(cs[0].Env, "UDP_ECHO_SERVER") != "":
		why = "the UDP echo server"
	default:
		return true
	}
	key := d.Namespace + "/" + d.Name
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.skipped[key] {
		k.skipped[key] = true
		k.logf("kubelet: not running Deployment %s (%s): the harness runs only echo-basic's HTTP, gRPC and TCP servers", key, why)
	}
	return false
}

func replicas(d *appsv1.Deployment) int {
	if d.Spec.Replicas == nil {
		return 1
	}
	return int(*d.Spec.Replicas)
}

// templateHash is the pod-template-hash a Deployment's ReplicaSet would carry: FNV-32a of the
// template, encoded as the controller does.
func templateHash(d *appsv1.Deployment) string {
	data, _ := json.Marshal(d.Spec.Template)
	h := fnv.New32a()
	_, _ = h.Write(data)
	return utilrand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// shimTarget picks the next Ready Pod of deploy and returns where it serves container port
// port.
func (k *kubelet) shimTarget(deploy string, port int32) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var targets []string
	for _, key := range sortedKeys(k.pods) {
		p := k.pods[key]
		if p.ns+"/"+p.deploy != deploy || p.state != podReady {
			continue
		}
		if local, ok := p.portMap()[port]; ok {
			targets = append(targets, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(local))))
		}
	}
	if len(targets) == 0 {
		return "", fmt.Errorf("no Ready pod of %s serves port %d", deploy, port)
	}
	k.shimTurn++
	return targets[k.shimTurn%len(targets)], nil
}

func (k *kubelet) createPod(d *appsv1.Deployment) error {
	hash := templateHash(d)
	lbls := map[string]string{"pod-template-hash": hash}
	for key, v := range d.Spec.Template.Labels {
		lbls[key] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("%s-%s-%s", d.Name, hash, utilrand.String(5)),
			Namespace:   d.Namespace,
			Labels:      lbls,
			Annotations: d.Spec.Template.Annotations,
		},
		Spec: *d.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = nodeName
	created, err := k.cs.CoreV1().Pods(d.Namespace).Create(k.ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating a pod of deployment %s: %w", d.Name, err)
	}
	p := &backendPod{
		ns: d.Namespace, name: created.Name, deploy: d.Name, hash: hash, uid: created.UID,
		labels: lbls, ip: k.hostIP, spec: created.Spec, created: time.Now(),
		dir: filepath.Join(k.dir, d.Namespace, created.Name), logs: &logBuffer{},
		done: make(chan struct{}),
	}
	k.mu.Lock()
	k.pods[d.Namespace+"/"+p.name] = p
	k.mu.Unlock()
	return k.setStatus(p)
}

// tryStart starts a pending Pod's process once every Secret and ConfigMap it mounts exists,
// as a kubelet waits for its volumes.
func (k *kubelet) tryStart(p *backendPod) {
	files, waiting := k.volumes(p)
	k.mu.Lock()
	if p.state != podPending {
		k.mu.Unlock()
		return
	}
	if waiting != "" {
		p.reason = waiting
		k.mu.Unlock()
		return
	}
	p.state = podStarting
	p.reason = ""
	k.mu.Unlock()
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		k.run(p, files)
	}()
}

// run starts the process and marks the Pod Ready when every port answers.
func (k *kubelet) run(p *backendPod, files map[string]map[string][]byte) {
	err := p.start(k.echoBin, files)
	if err == nil {
		err = p.waitReady(k.ctx, 30*time.Second)
	}
	k.mu.Lock()
	if p.state == podStopped {
		k.mu.Unlock()
		return
	}
	if err != nil {
		p.state, p.reason = podFailed, err.Error()
	} else {
		p.state = podReady
		p.readyAt = time.Now()
	}
	k.mu.Unlock()
	if err != nil {
		k.logf("kubelet: pod %s/%s failed to start: %v\n%s", p.ns, p.name, err, p.logs.tail(20))
	}
	if err := k.setStatus(p); err != nil && k.ctx.Err() == nil {
		k.logf("kubelet: pod %s/%s: %v", p.ns, p.name, err)
	}
	k.queue.Add(p.ns)
	if err != nil {
		return
	}
	// A process that dies stops being Ready, as its container would.
	select {
	case <-p.done:
	case <-k.ctx.Done():
		return
	}
	k.mu.Lock()
	stopped := p.state == podStopped
	if !stopped {
		p.state, p.reason = podFailed, fmt.Sprintf("exited: %v", p.exitErr)
	}
	k.mu.Unlock()
	if stopped {
		return
	}
	k.logf("kubelet: pod %s/%s exited: %v\n%s", p.ns, p.name, p.exitErr, p.logs.tail(20))
	if err := k.setStatus(p); err != nil && k.ctx.Err() == nil {
		k.logf("kubelet: pod %s/%s: %v", p.ns, p.name, err)
	}
	k.queue.Add(p.ns)
}

// volumes returns the files of the Pod's Secret and ConfigMap volumes by volume name, or what
// it still waits for.
func (k *kubelet) volumes(p *backendPod) (map[string]map[string][]byte, string) {
	out := map[string]map[string][]byte{}
	for _, v := range p.spec.Volumes {
		var data map[string][]byte
		var items []corev1.KeyToPath
		switch {
		case v.Secret != nil:
			s, err := k.secrets.Secrets(p.ns).Get(v.Secret.SecretName)
			if err != nil {
				return nil, fmt.Sprintf("waiting for secret %s: %v", v.Secret.SecretName, err)
			}
			data, items = s.Data, v.Secret.Items
		case v.ConfigMap != nil:
			cm, err := k.cms.ConfigMaps(p.ns).Get(v.ConfigMap.Name)
			if err != nil {
				return nil, fmt.Sprintf("waiting for configmap %s: %v", v.ConfigMap.Name, err)
			}
			data = map[string][]byte{}
			for key, val := range cm.Data {
				data[key] = []byte(val)
			}
			for key, val := range cm.BinaryData {
				data[key] = val
			}
			items = v.ConfigMap.Items
		default:
			out[v.Name] = map[string][]byte{} // an emptyDir, or a kind the echo server never reads
			continue
		}
		files := map[string][]byte{}
		if len(items) == 0 {
			for key, val := range data {
				files[key] = val
			}
		}
		for _, it := range items {
			val, ok := data[it.Key]
			if !ok {
				return nil, fmt.Sprintf("waiting for key %s in volume %s", it.Key, v.Name)
			}
			files[it.Path] = val
		}
		out[v.Name] = files
	}
	return out, ""
}

func (k *kubelet) setStatus(p *backendPod) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := k.cs.CoreV1().Pods(p.ns).Get(k.ctx, p.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		k.mu.Lock()
		cur.Status = p.status()
		k.mu.Unlock()
		_, err = k.cs.CoreV1().Pods(p.ns).UpdateStatus(k.ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("updating the status of pod %s: %w", p.name, err)
	}
	return nil
}
