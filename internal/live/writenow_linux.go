//go:build linux

package live

import (
	"errors"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// writeNow writes as much of bufs to conn as its socket takes at once, in one writev,
// without waiting and without a deadline (none to set and clear on every write): the
// hub's writers use it, and hand what is left, if anything, to a goroutine that may
// wait. It returns how many bytes were written; ok is false when conn offers no raw
// descriptor, rc nil (the caller then writes as any net.Conn).
func writeNow(rc syscall.RawConn, bufs net.Buffers) (n int, ok bool, err error) {
	if rc == nil {
		return 0, false, nil
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Writev(int(fd), bufs)
			if !errors.Is(werr, unix.EINTR) {
				return true // never wait for the socket: a full one is the caller's to handle
			}
		}
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A deadline left by a patient write: the caller writes with a fresh one.
		return 0, false, nil
	}
	if n < 0 {
		n = 0
	}
	if errors.Is(werr, unix.EAGAIN) {
		werr = nil
	}
	if err == nil {
		err = werr
	}
	return n, true, err
}
