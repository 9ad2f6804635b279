//go:build linux

package live

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// hangups notices, from one goroutine for the whole process, that the client of a
// detached stream has gone: an epoll set of the streams' connections, waiting for the
// peer to hang up (or send something, which is read and thrown away). Without it each
// stream would need a goroutine of its own blocked reading its connection, whose stack is
// most of what an idle stream costs. The connections stay in Go's own poller too; this
// set only watches them.
type hangups struct {
	epfd    int
	mu      sync.Mutex
	streams map[int32]*detachedStream // by descriptor
}

// newHangups starts the watcher; nil when the system refuses an epoll set (each stream
// then reads its connection from a goroutine of its own).
func newHangups() *hangups {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	w := &hangups{epfd: epfd, streams: map[int32]*detachedStream{}}
	go w.run()
	return w
}

// watch adds s's connection to the set; false when it cannot be watched.
func (w *hangups) watch(s *detachedStream) bool {
	if s.raw == nil {
		return false
	}
	var fd int32 = -1
	if s.raw.Control(func(d uintptr) { fd = int32(d) }) != nil || fd < 0 {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: fd}
	if unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev) != nil {
		return false
	}
	s.fd, s.watched = fd, true
	w.streams[fd] = s
	return true
}

// forget takes s's connection out of the set; called before it is closed, so that its
// descriptor, once reused, is not taken for it.
func (w *hangups) forget(s *detachedStream) {
	if !s.watched {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.streams[s.fd] == s {
		delete(w.streams, s.fd)
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(s.fd), nil)
	}
}

func (w *hangups) run() {
	evs := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(w.epfd, evs, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range evs[:n] {
			w.mu.Lock()
			s := w.streams[ev.Fd]
			w.mu.Unlock()
			if s == nil {
				continue
			}
			if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 || !drain(s) {
				s.gone.Store(true)
				s.wake()
			}
		}
	}
}

// drain reads and discards what the client sent (it has nothing to say on a stream);
// false when the connection is over.
func drain(s *detachedStream) bool {
	var buf [512]byte
	open := true
	err := s.raw.Read(func(fd uintptr) bool {
		for range 64 { // at most 32 KiB a wake-up: more comes with another
			k, err := unix.Read(int(fd), buf[:])
			if k > 0 {
				continue
			}
			open = errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)
			return true
		}
		return true
	})
	return open && err == nil
}
