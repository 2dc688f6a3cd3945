package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// sortedKeys returns a map's keys in order, for deterministic passes over it.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

type podState int

const (
	podPending  podState = iota // waiting for its volumes
	podStarting                 // process started, not answering yet
	podReady
	podFailed // did not start, or exited
	podStopped
)

// backendPod is one Pod the harness runs. Its state and reason are guarded by kubelet.mu;
// the rest is set before it is shared, or by start before ready is reported.
type backendPod struct {
	ns, name, deploy, hash string
	uid                    types.UID
	labels                 map[string]string
	ip                     string
	spec                   corev1.PodSpec
	created                time.Time
	dir                    string
	logs                   *logBuffer

	state   podState
	reason  string
	readyAt time.Time

	pmu     sync.Mutex      // guards ports, cmd and stopped
	ports   map[int32]int32 // container port → the port the process serves it on
	cmd     *exec.Cmd
	stopped bool

	done    chan struct{} // closed when the process has exited
	exitErr error         // set before done closes
}

func (p *backendPod) describe() string {
	switch p.state {
	case podPending:
		return "pending: " + p.reason
	case podStarting:
		return "starting"
	case podReady:
		return "ready"
	case podFailed:
		return "failed: " + p.reason
	default:
		return "stopped"
	}
}

// status is the Pod status a kubelet would report. Callers hold kubelet.mu.
func (p *backendPod) status() corev1.PodStatus {
	ready := p.state == podReady
	cond := func(t corev1.PodConditionType, ok bool, at time.Time) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(at)}
		if ok {
			c.Status = corev1.ConditionTrue
		}
		return c
	}
	at := p.created
	if ready {
		at = p.readyAt
	}
	st := corev1.PodStatus{
		Phase:     corev1.PodPending,
		HostIP:    "127.0.0.1",
		HostIPs:   []corev1.HostIP{{IP: "127.0.0.1"}},
		PodIP:     p.ip,
		PodIPs:    []corev1.PodIP{{IP: p.ip}},
		StartTime: new(metav1.NewTime(p.created)),
		Message:   p.reason,
		Conditions: []corev1.PodCondition{
			cond(corev1.PodScheduled, true, p.created),
			cond(corev1.PodInitialized, true, p.created),
			cond(corev1.ContainersReady, ready, at),
			cond(corev1.PodReady, ready, at),
		},
	}
	if p.state != podPending {
		st.Phase = corev1.PodRunning
	}
	for _, c := range p.spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: ready, Started: new(ready)}
		if ready {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(p.readyAt)}
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: p.reason}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return st
}

// echoPort is a port echo-basic serves: the variable that moves it and its default.
type echoPort struct {
	env         string
	defaultPort int32
}

// echoPorts lists the ports echo-basic serves with this environment (echo-basic.go,
// grpc/grpc.go, tcpserver/tcpserver.go).
func echoPorts(env map[string]string) []echoPort {
	switch {
	case env["GRPC_ECHO_SERVER"] != "":
		ports := []echoPort{{"HTTP_PORT", 3000}}
		if env["TLS_SERVER_CERT"] != "" && env["TLS_SERVER_PRIV_KEY"] != "" {
			ports = append(ports, echoPort{"HTTPS_PORT", 8443})
		}
		return ports
	case env["TCP_ECHO_SERVER"] != "":
		ports := []echoPort{{"TCP_PORT", 3000}}
		if env["TLS_SERVER_CERT"] != "" && env["TLS_SERVER_PRIV_KEY"] != "" {
			ports = append(ports, echoPort{"TLS_PORT", 8443})
		}
		return ports
	default:
		ports := []echoPort{{"HTTP_PORT", 3000}, {"H2C_PORT", 3001}}
		if env["TLS_SERVER_CERT"] != "" && env["TLS_SERVER_PRIVKEY"] != "" {
			ports = append(ports, echoPort{"HTTPS_PORT", 8443})
		}
		return ports
	}
}

// portMap returns the Pod's ports: container port → the port its process serves it on, on
// every address.
func (p *backendPod) portMap() map[int32]int32 {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	return p.ports
}

// start writes the Pod's volumes and starts echo-basic with each of its ports moved to a free
// one.
func (p *backendPod) start(bin string, files map[string]map[string][]byte) error {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	if p.stopped {
		return errors.New("stopped before it started")
	}
	c := p.spec.Containers[0]
	mounts := map[string]string{} // mount path in the container → folder here
	for _, m := range c.VolumeMounts {
		vfiles, ok := files[m.Name]
		if !ok {
			continue
		}
		local := filepath.Join(p.dir, "volumes", m.Name)
		for path, data := range vfiles {
			full := filepath.Join(local, filepath.FromSlash(path))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(full, data, 0o600); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(local, 0o755); err != nil {
			return err
		}
		mounts[m.MountPath] = local
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = remapPath(e.Value, mounts)
		case e.ValueFrom.FieldRef != nil:
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				env[e.Name] = p.name
			case "metadata.namespace":
				env[e.Name] = p.ns
			case "metadata.uid":
				env[e.Name] = string(p.uid)
			case "spec.nodeName":
				env[e.Name] = nodeName
			case "status.podIP":
				env[e.Name] = p.ip
			case "status.hostIP":
				env[e.Name] = "127.0.0.1"
			}
		}
	}
	ports := map[int32]int32{}
	for _, ep := range echoPorts(env) {
		cport := ep.defaultPort
		if v, err := strconv.Atoi(env[ep.env]); err == nil {
			cport = int32(v)
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		ports[cport] = port
		env[ep.env] = strconv.Itoa(int(port))
	}
	p.ports = ports
	cmd := exec.Command(bin)
	cmd.Dir = p.dir
	cmd.Env = []string{"HOME=" + p.dir}
	for _, key := range sortedKeys(env) {
		cmd.Env = append(cmd.Env, key+"="+env[key])
	}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting echo-basic: %w", err)
	}
	p.cmd = cmd
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	return nil
}

// remapPath points a path under a volume's mount path at the folder the harness wrote it to.
func remapPath(v string, mounts map[string]string) string {
	best := ""
	for mp := range mounts {
		if (v == mp || strings.HasPrefix(v, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	if best == "" {
		return v
	}
	return mounts[best] + strings.TrimPrefix(v, best)
}

// waitReady waits until every port of the process accepts connections.
func (p *backendPod) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, port := range p.portMap() {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.done:
				return fmt.Errorf("echo-basic exited: %v", p.exitErr)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("echo-basic not answering on %s after %s: %w", addr, limit, err)
			}
		}
	}
	return nil
}

// stop ends the process: SIGTERM, then SIGKILL after 5s. The kubelet sets the Pod's state to
// podStopped first.
func (p *backendPod) stop() {
	p.pmu.Lock()
	if p.stopped {
		p.pmu.Unlock()
		return
	}
	p.stopped = true
	cmd := p.cmd
	p.pmu.Unlock()
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
}

// freePort returns a port that was free on every address a moment ago: echo-basic binds
// every address.
func freePort() (int32, error) {
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port), nil
}

// hostAddress returns the host's first IPv4 address an EndpointSlice accepts: not loopback,
// link-local or unspecified.
func hostAddress() (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipn.IP.To4()
			if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
				continue
			}
			return ip.String(), nil
		}
	}
	return "", errors.New("the host has no IPv4 address other than loopback and link-local; the API server accepts no other in EndpointSlices")
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
