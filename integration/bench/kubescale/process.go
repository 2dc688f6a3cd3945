package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a started program under test, with its output kept for errors.
type process struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	done   chan struct{}
	err    error         // set before done closes
	synced time.Duration // from start to synced
}

// startProcess starts a program in its own process group, killed should kubescale die.
// Its stdout also goes to lines, if given, one line at a time.
func startProcess(dir string, env []string, lines chan<- string, path string, args ...string) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &process{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(p.out, sc.Text())
			if lines != nil {
				select {
				case lines <- sc.Text():
				default: // nobody is waiting any more
				}
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited returns an error, with the process's output, if it has exited.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v\n%s", p.cmd.Path, p.err, p.out.tail(4000))
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group, and SIGKILL after 10 seconds.
func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// memFigures are a process's memory figures from /proc/<pid>/status, in KiB: the resident
// set now and at its peak, and the resident set's two parts, anonymous memory (the heap,
// stacks: the process's own) and file pages (mostly the executable's, shared and
// reclaimable).
type memFigures struct {
	rss, hwm, anon, file uint64
}

// memory reads a process's memory figures.
func memory(pid int) (memFigures, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memFigures{}, err
	}
	var m memFigures
	fields := map[string]*uint64{"VmRSS": &m.rss, "VmHWM": &m.hwm, "RssAnon": &m.anon, "RssFile": &m.file}
	for line := range strings.Lines(string(b)) {
		name, value, ok := strings.Cut(line, ":")
		field := fields[name]
		if !ok || field == nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return memFigures{}, fmt.Errorf("/proc/%d/status: %s: %w", pid, name, err)
		}
		*field = n
		delete(fields, name)
	}
	if len(fields) > 0 {
		return memFigures{}, errors.New("/proc/" + strconv.Itoa(pid) + "/status lacks a memory figure")
	}
	return m, nil
}

// lockedBuffer is a bytes.Buffer safe for the process's two output streams.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
