package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// serveCommand is the hidden subcommand that runs the server process.
const serveCommand = "__serve"

// The modes a client sends as its first byte.
const (
	modeEcho    = 'e'
	modeDiscard = 'd'
)

const (
	discardBufferSize = 256 << 10 // large reads, so the server is not the bottleneck
	echoBufferSize    = 16 << 10  // echo carries single bytes; small, for 10,000 idle conns
)

var discardBuffers = sync.Pool{New: func() any { b := make([]byte, discardBufferSize); return &b }}

// serve runs the server: it listens on the Unix sockets given and on a TLS port on
// 127.0.0.1, prints "ready <tls address>", and serves until SIGTERM or SIGINT.
func serve(args []string) error {
	fset := flag.NewFlagSet(serveCommand, flag.ContinueOnError)
	var sockets stringList
	fset.Var(&sockets, "unix", "Unix sockets to listen on, comma-separated")
	cert := fset.String("tls-cert", "", "server certificate")
	key := fset.String("tls-key", "", "server key")
	ca := fset.String("tls-ca", "", "CA that client certificates must chain to")
	if err := fset.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close() // a Unix listener removes its socket file
		}
	}()
	for _, s := range sockets {
		ln, err := listenUnix(s)
		if err != nil {
			return err
		}
		lns = append(lns, ln)
	}
	cfg, err := serverTLS(*cert, *key, *ca)
	if err != nil {
		return err
	}
	tln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return err
	}
	lns = append(lns, tln)

	for _, ln := range lns {
		go acceptLoop(ln)
	}
	fmt.Println("ready", tln.Addr())
	<-ctx.Done()
	return nil
}

// listenUnix listens on a Unix socket, replacing a stale socket file left by an earlier
// run, and lets any user connect (the agents may run as another user).
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}

func serverTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no certificate", caFile)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of descriptors, most likely: wait for some to close
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go handle(c)
	}
}

// handle serves one connection in the mode of its first byte.
func handle(c net.Conn) {
	defer c.Close()
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return
	}
	switch mode[0] {
	case modeEcho:
		buf := make([]byte, echoBufferSize)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case modeDiscard:
		bp := discardBuffers.Get().(*[]byte)
		defer discardBuffers.Put(bp)
		var total uint64
		for {
			n, err := c.Read(*bp)
			total += uint64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
		}
		var count [8]byte
		binary.BigEndian.PutUint64(count[:], total)
		_, _ = c.Write(count[:])
	}
}
