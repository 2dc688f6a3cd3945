package sdk

import (
	"errors"
	"net"
)

// Serve accepts connections on l and calls handler for each in its own goroutine, closing
// the connection when handler returns. It returns nil once l is closed (by Close or
// Shutdown), and the error otherwise.
func Serve(l net.Listener, handler func(net.Conn)) error {
	for {
		c, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			handler(c)
		}()
	}
}
