//go:build !linux

package live

import (
	"net"
	"syscall"
)

// writeNow is the Linux writers' immediate writev; elsewhere the writers write as any
// net.Conn, with a deadline (ok is always false).
func writeNow(rc syscall.RawConn, bufs net.Buffers) (n int, ok bool, err error) { return 0, false, nil }
