//go:build !unix

package sqlstore

import "net"

// idleConnAlive cannot look at the socket on this platform: a connection
// the server closed fails its next statement (as ErrUnavailable), and
// database/sql then drops it.
func idleConnAlive(net.Conn) bool { return true }
