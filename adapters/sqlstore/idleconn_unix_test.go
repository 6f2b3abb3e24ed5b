//go:build unix

package sqlstore

import (
	"net"
	"testing"
	"time"
)

// An idle connection is alive while its peer is there and has sent
// nothing, whatever read deadline the last statement left on it (pgdriver
// leaves one 10 s on: a pool idle that long lost every connection); it
// is dead once the peer has written or hung up.
func TestIdleConnAlive(t *testing.T) {
	t.Parallel()
	pair := func(t *testing.T) (client, server net.Conn) {
		t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		client, err = net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server = <-accepted
		t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
		return client, server
	}

	c, _ := pair(t)
	if !idleConnAlive(c) {
		t.Errorf("a fresh idle connection looks dead")
	}
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil { // a statement's, long past
		t.Fatal(err)
	}
	if !idleConnAlive(c) {
		t.Errorf("an idle connection whose last read deadline has passed looks dead")
	}
	if !idleConnAlive(c) {
		t.Errorf("an idle connection looks dead when checked a second time")
	}

	c, s := pair(t)
	if _, err := s.Write([]byte{'E'}); err != nil { // a FATAL message's first byte
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if idleConnAlive(c) {
		t.Errorf("an idle connection the server wrote to looks alive")
	}

	c, s = pair(t)
	_ = s.Close()
	time.Sleep(50 * time.Millisecond)
	if idleConnAlive(c) {
		t.Errorf("an idle connection the server closed looks alive")
	}
}
