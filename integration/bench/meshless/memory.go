package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// memoryTarget is a path whose agents' memory is measured.
type memoryTarget struct {
	name  string
	conns int // how many to open
	// setup readies the path for one round and returns its dialer, the pids of its two
	// agents, and what undoes it.
	setup func(ctx context.Context, round int) (dial dialFunc, pids []int, teardown func(), err error)
}

// memorySample is one round of one path.
type memorySample struct {
	Round        int      `json:"round"`
	Path         string   `json:"path"`
	Conns        int      `json:"conns"`
	Pids         []int    `json:"pids,omitempty"`
	RSSBeforeKiB []uint64 `json:"rss_before_kib,omitempty"` // VmRSS of each pid, before opening
	RSSAfterKiB  []uint64 `json:"rss_after_kib,omitempty"`  // and with every connection open
	KiBPerConn   float64  `json:"kib_per_conn"`
	Error        string   `json:"error,omitempty"`
}

// openWorkers is how many connections are opened at once.
const openWorkers = 64

// idleMemory reads the VmRSS of pids, opens n connections that each echo one byte and
// stay open, waits settle, reads VmRSS again, and closes them.
func idleMemory(ctx context.Context, dial dialFunc, pids []int, n int, o options) (before, after []uint64, err error) {
	if before, err = rssAll(pids); err != nil {
		return nil, nil, err
	}
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(openWorkers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := dial(ctx)
				if err != nil {
					cancel(fmt.Errorf("connection %d of %d: dialing: %w", i+1, n, err))
					return
				}
				conns[i] = c
				if err := echoOnce(c); err != nil {
					cancel(fmt.Errorf("connection %d of %d: %w", i+1, n, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	if err := sleep(ctx, o.settle); err != nil {
		return nil, nil, err
	}
	if after, err = rssAll(pids); err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

func rssAll(pids []int) ([]uint64, error) {
	v := make([]uint64, len(pids))
	for i, pid := range pids {
		r, err := rssKiB(pid)
		if err != nil {
			return nil, fmt.Errorf("VmRSS of pid %d: %w", pid, err)
		}
		v[i] = r
	}
	return v, nil
}

func runMemory(ctx context.Context, targets []memoryTarget, o options) []memorySample {
	var samples []memorySample
	for round := range o.rounds {
		for _, t := range rotate(targets, round) {
			s := memorySample{Round: round + 1, Path: t.name, Conns: t.conns}
			err := func() error {
				dial, pids, teardown, err := t.setup(ctx, round)
				if err != nil {
					return err
				}
				defer teardown()
				s.Pids = pids
				s.RSSBeforeKiB, s.RSSAfterKiB, err = idleMemory(ctx, dial, pids, t.conns, o)
				return err
			}()
			if err != nil {
				s.Error = err.Error()
				logf("memory     round %d %-14s error: %v", s.Round, t.name, err)
			} else {
				var delta float64
				for i := range s.Pids {
					delta += float64(s.RSSAfterKiB[i]) - float64(s.RSSBeforeKiB[i])
				}
				s.KiBPerConn = delta / float64(t.conns)
				logf("memory     round %d %-14s %6.1f KiB/conn (VmRSS before %v KiB, after %v KiB, %d conns)",
					s.Round, t.name, s.KiBPerConn, s.RSSBeforeKiB, s.RSSAfterKiB, t.conns)
			}
			samples = append(samples, s)
			// Let the agents and the server finish closing before the next path.
			if err := sleep(ctx, o.settle); err != nil {
				return samples
			}
		}
	}
	return samples
}
