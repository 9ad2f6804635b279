package live

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
)

// Listener holds the process's one LISTEN connection, outside the pool. It kicks the hub
// for every wake-up NOTIFY and after every (re)connect, so that the hub catches up on
// whatever it missed while the connection was down.
type Listener struct {
	dsn  string
	kick func()
	log  *slog.Logger

	// Connected is called with true after each successful LISTEN and false when the
	// connection is lost (tests, metrics). Optional.
	Connected func(up bool)
}

// NewListener returns a listener connecting to dsn that calls kick.
func NewListener(dsn string, kick func(), log *slog.Logger) *Listener {
	return &Listener{dsn: dsn, kick: kick, log: log}
}

// Run listens until ctx ends, reconnecting with backoff (100 ms doubling up to 5 s).
func (l *Listener) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if l.Connected != nil {
			l.Connected(false)
		}
		l.log.Warn("live: LISTEN connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (l *Listener) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+events.Channel); err != nil {
		return err
	}
	if l.Connected != nil {
		l.Connected(true)
	}
	// Catch up on anything written while we were not listening.
	l.kick()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		l.kick()
	}
}
