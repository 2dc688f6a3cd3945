package protocol

import (
	"errors"
	"fmt"
	"io"
)

// Error is a failed handshake, with the code the agent answers (or answered) it with.
type Error struct {
	Code Code
	Err  error // the cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("meshless: %s (code %d): %v", e.Code, byte(e.Code), e.Err)
	}
	return fmt.Sprintf("meshless: %s (code %d)", e.Code, byte(e.Code))
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the reply code an error calls for: its own for an *Error, Timeout for a
// timeout, GeneralFailure otherwise.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if isTimeout(err) {
		return Timeout
	}
	return GeneralFailure
}

// isTimeout reports a deadline anywhere in err's chain (os.IsTimeout looks only at the
// top, and these errors arrive wrapped).
func isTimeout(err error) bool {
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}

// AppendRequest appends the request for id to b: version, length, ID.
func AppendRequest(b []byte, id ServiceID) ([]byte, error) {
	if err := id.Validate(); err != nil {
		return b, &Error{Code: Malformed, Err: err}
	}
	n := len(id.Service) + len(id.Meshlet) + len(id.Namespace) + 2
	b = append(b, Version, byte(n))
	b = append(b, id.Service...)
	b = append(append(b, '.'), id.Meshlet...)
	return append(append(b, '.'), id.Namespace...), nil
}

// WriteRequest writes the request for id in one write.
func WriteRequest(w io.Writer, id ServiceID) error {
	var buf [2 + MaxIDLength]byte
	b, err := AppendRequest(buf[:0], id)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadRequest reads one request. On failure the error is an *Error whose Code is the reply
// to send (UnsupportedVersion or Malformed), wrapping the read error if there was one; a
// connection closed before the first byte gives an *Error wrapping io.EOF. It reads exactly
// the request's bytes and nothing after them, so what follows belongs to the application.
func ReadRequest(r io.Reader) (ServiceID, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return ServiceID{}, &Error{Code: readCode(err), Err: fmt.Errorf("reading the request header: %w", err)}
	}
	if head[0] != Version {
		return ServiceID{}, &Error{Code: UnsupportedVersion, Err: fmt.Errorf("version %d, want %d", head[0], Version)}
	}
	n := int(head[1])
	if n == 0 {
		return ServiceID{}, &Error{Code: Malformed, Err: errors.New("empty service ID")}
	}
	var buf [MaxIDLength]byte
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return ServiceID{}, &Error{Code: readCode(err), Err: fmt.Errorf("reading a %d-byte service ID: %w", n, err)}
	}
	id, err := ParseServiceID(string(buf[:n]))
	if err != nil {
		return ServiceID{}, &Error{Code: Malformed, Err: err}
	}
	return id, nil
}

// readCode is the reply to a request that could not be read whole: Timeout when the
// deadline passed, else Malformed (the length promised more than was sent).
func readCode(err error) Code {
	if isTimeout(err) {
		return Timeout
	}
	return Malformed
}

// WriteReply writes the agent's reply: version, code.
func WriteReply(w io.Writer, code Code) error {
	_, err := w.Write([]byte{Version, byte(code)})
	return err
}

// ReadReply reads the agent's reply. It returns nil for OK, and an *Error with the code
// otherwise (GeneralFailure wrapping the cause when the reply itself is unreadable).
func ReadReply(r io.Reader) error {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		code := GeneralFailure // the agent closed without answering
		if readCode(err) == Timeout {
			code = Timeout
		}
		return &Error{Code: code, Err: fmt.Errorf("reading the reply: %w", err)}
	}
	if b[0] != Version {
		return &Error{Code: UnsupportedVersion, Err: fmt.Errorf("reply version %d, want %d", b[0], Version)}
	}
	if c := Code(b[1]); c != OK {
		return &Error{Code: c}
	}
	return nil
}
