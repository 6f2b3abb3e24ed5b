//go:build unix

package sqlstore

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// idleConnAlive reports whether an idle PostgreSQL connection may still be
// used. The server sends nothing to an idle connection unless it ends it
// (a shutdown's or pg_terminate_backend's FATAL message, or a closed
// socket after a restart or crash), so anything to read, or the end of
// the stream, means the connection is dead. The check is one non-blocking
// read of the socket: it never waits, and reads nothing from a live one.
func idleConnAlive(nc net.Conn) bool {
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok { // TLS: look at the socket under it
		nc = tc.NetConn()
	}
	// pgdriver leaves each statement's read deadline (10 s on) on the
	// socket: past it, the runtime refuses the read below at once, and a
	// connection idle for longer than that would look dead. The next
	// statement sets its own deadline.
	if err := nc.SetReadDeadline(time.Time{}); err != nil {
		return false
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true // nothing to look at: let the next statement find out
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, rerr := syscall.Read(int(fd), b[:])
		alive = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK) // nothing to read
		return true
	})
	return err == nil && alive
}
