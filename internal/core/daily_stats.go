package core

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/store"
)

// DailyStatsSettle is how long after midnight UTC a day counts as finished, so that
// transactions that started before midnight have committed before the day is computed.
const DailyStatsSettle = 10 * time.Minute

// maxBackfillDays bounds how far back ComputeDailyStats fills in missing days.
const maxBackfillDays = 400

// ComputeDailyStats computes the statistics of every finished UTC day that has none yet,
// from the day of the first account (at most 400 days back), and calls finish, in one
// transaction. It returns how many days it added; running it again adds none.
func (s *Service) ComputeDailyStats(ctx context.Context, now time.Time, finish Finish) (int64, error) {
	lastDay := now.UTC().Add(-DailyStatsSettle).Truncate(24*time.Hour).AddDate(0, 0, -1)
	var added int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		first, err := q.FirstActivityDay(ctx)
		if err != nil {
			return err
		}
		if limit := lastDay.AddDate(0, 0, -maxBackfillDays); first.Before(limit) {
			first = limit
		}
		if !first.After(lastDay) {
			if added, err = q.DailyStatsFill(ctx, store.DailyStatsFillParams{FirstDay: first, LastDay: lastDay}); err != nil {
				return err
			}
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("daily stats: %w", err)
	}
	return added, nil
}

// DailyStat is one day's statistics.
type DailyStat = store.DailyStat

// RecentDailyStats returns the statistics of the last days finished UTC days, oldest
// first; days with no row yet are absent.
func (s *Service) RecentDailyStats(ctx context.Context, now time.Time, days int) ([]DailyStat, error) {
	since := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
	rows, err := s.q.DailyStatsRecent(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("daily stats: %w", err)
	}
	return rows, nil
}
