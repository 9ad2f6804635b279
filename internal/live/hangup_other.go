//go:build !linux

package live

// hangups is the Linux watcher of detached streams' clients; elsewhere each stream reads
// its connection from a goroutine of its own.
type hangups struct{}

func newHangups() *hangups                    { return nil }
func (w *hangups) watch(*detachedStream) bool { return false }
func (w *hangups) forget(*detachedStream)     {}
