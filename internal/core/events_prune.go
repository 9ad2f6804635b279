package core

import (
	"context"
	"fmt"
	"time"

	"github.com/starling-social/starling/internal/store"
)

// PruneEvents deletes events written before cutoff in batches of batch rows, each batch
// its own short transaction, and returns how many it deleted. Streams whose cursor falls
// before the remaining log get a reset.
func (s *Service) PruneEvents(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	var total int64
	for {
		n, err := s.q.EventsPrune(ctx, store.EventsPruneParams{Before: cutoff, RowLimit: int32(batch)})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
