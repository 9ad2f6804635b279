package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/store"
)

// vocabulary is the bench's made-up language: n distinct words built from syllables, so
// that every word is its own lexeme in every text-search configuration.
func vocabulary(n int) []string {
	syl := []string{"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "do", "fe", "gi", "ho", "ju", "bo", "cy", "xa", "wu"}
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		a, b, c := syl[i%len(syl)], syl[(i/len(syl))%len(syl)], syl[(i/(len(syl)*len(syl)))%len(syl)]
		out = append(out, a+b+c+"n")
	}
	return out
}

const vocabSize = 5000

// seedSearch fills the search bench's database with n posts of 12 words each, drawn from
// the vocabulary log-uniformly (word k is about as frequent as 1/k, as in real text),
// half of them in English, a tenth with a hashtag, over the last year.
func (s *suite) seedSearch(ctx context.Context, n int) error {
	var first int64
	if err := s.env.pool.QueryRow(ctx, "SELECT min(id) FROM users").Scan(&first); err != nil {
		return err
	}
	words := vocabulary(vocabSize)
	for have := 0; have < n; {
		batch := min(n-have, 100_000)
		progress("search: seeding posts, %d of %d", have, n)
		_, err := s.env.pool.Exec(ctx, `INSERT INTO posts (author_id, body, language, created_at)
			SELECT $2 + (g % 8),
			       (SELECT string_agg(($1::text[])[least($4::int, floor(exp(random() * ln($4::int)))::int)], ' ')
			        FROM generate_series(1, 12) k WHERE g > 0)
			       || CASE WHEN g % 10 = 0 THEN ' #topic' || (g % 50) ELSE '' END,
			       CASE WHEN g % 2 = 0 THEN 'en' END,
			       now() - make_interval(secs => ($3::int - g) * 31536000.0 / $3::int)
			FROM generate_series($5::int + 1, $5::int + $6::int) g`, words, first, n, vocabSize, have, batch)
		if err != nil {
			return err
		}
		have += batch
	}
	_, err := s.env.pool.Exec(ctx, "VACUUM ANALYZE posts")
	return err
}

// search is section 10: full-text search at 10⁶ posts against the anchors' LIKE, the
// backfill that indexes an existing instance, the index's size, and the index lag while
// the write path runs at full rate.
func (s *suite) search(ctx context.Context) error {
	n := 1_000_000
	if s.quick {
		n = 100_000
	}
	main := s.env
	e, err := freshDB(ctx, s.dataDir, "bench_search")
	if err != nil {
		return err
	}
	defer e.pool.Close()
	s.env = e
	defer func() { s.env = main }()
	tokens, err := s.tokens(ctx, 8)
	if err != nil {
		return err
	}
	if err := s.seedSearch(ctx, n); err != nil {
		return err
	}

	// The backfill, as on an upgraded instance: one worker indexes every post.
	if _, err := e.pool.Exec(ctx, `INSERT INTO search_backfill (next_post_id) SELECT max(id) FROM posts`); err != nil {
		return err
	}
	progress("search: backfilling the index of %d posts", n)
	t0 := time.Now()
	worker, err := s.start("work")
	if err != nil {
		return err
	}
	for {
		var left bool
		if err := e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM search_backfill)`).Scan(&left); err != nil {
			worker.stop()
			return err
		}
		if !left {
			break
		}
		if time.Since(t0) > time.Hour {
			worker.stop()
			return errors.New("the backfill took over an hour: " + worker.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	backfill := time.Since(t0)
	workerRSS := worker.rss()
	worker.stop()
	if _, err := e.pool.Exec(ctx, "VACUUM ANALYZE post_search, post_tags, tags"); err != nil {
		return err
	}
	var indexed, tagged int64
	var docIdx, table, posts, tagIdx int64
	if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM post_search), (SELECT count(*) FROM post_tags),
		pg_relation_size('post_search_document_idx'), pg_total_relation_size('post_search'),
		pg_total_relation_size('posts'), pg_total_relation_size('post_tags')`).Scan(&indexed, &tagged, &docIdx, &table, &posts, &tagIdx); err != nil {
		return err
	}

	// The questions: single words of decreasing frequency (the vocabulary's ranks 100,
	// 1000 and 4000), asked in turn; the same words for the baseline.
	words := vocabulary(vocabSize)
	asked := []string{words[99], words[999], words[3999]}
	matches := make([]int64, len(asked))
	for i, w := range asked {
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM post_search WHERE document @@ to_tsquery('simple', $1)`, w).Scan(&matches[i]); err != nil {
			return err
		}
	}
	srv, err := s.start("serve")
	if err != nil {
		return err
	}
	defer srv.stop()
	const conns = 8
	q := store.New(e.pool)
	var apiR, sqlR, likeR, likeNoJITR []float64
	var apiL, sqlL, likeL, likeNoJITL load
	for r := range s.runs {
		progress("search: run %d/%d", r+1, s.runs)
		apiL = closedLoop(conns, s.seconds, func(c *http.Client, i int) error {
			res, err := c.Get(srv.base + "/api/v2/search?type=statuses&q=" + url.QueryEscape(asked[i%len(asked)]))
			return discard(res, err, http.StatusOK)
		})
		sqlL = closedLoop(conns, s.seconds, func(_ *http.Client, i int) error {
			_, err := core.SearchPublicIDs(ctx, e.pool, asked[i%len(asked)], 20)
			return err
		})
		likeL = closedLoop(conns, s.seconds, func(_ *http.Client, i int) error {
			_, err := q.SearchLikePosts(ctx, store.SearchLikePostsParams{Pattern: asked[i%len(asked)], RowLimit: 20})
			return err
		})
		likeNoJITL = closedLoop(conns, s.seconds, func(_ *http.Client, i int) error {
			tx, err := e.pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
				return err
			}
			_, err = store.New(tx).SearchLikePosts(ctx, store.SearchLikePostsParams{Pattern: asked[i%len(asked)], RowLimit: 20})
			return err
		})
		apiR, sqlR, likeR = append(apiR, apiL.rate), append(sqlR, sqlL.rate), append(likeR, likeL.rate)
		likeNoJITR = append(likeNoJITR, likeNoJITL.rate)
	}
	// The hardest questions, once each for s.seconds: a word in an eighth of all posts,
	// and two words that must both be in a post.
	hard := []struct{ what, q string }{
		{"a word in about 1 post of 8 (rank 10)", words[9]},
		{"two words, both required (ranks 50 and 500)", words[49] + " " + words[499]},
	}
	hardL := make([]load, len(hard))
	hardN := make([]int64, len(hard))
	for i, h := range hard {
		hardL[i] = closedLoop(conns, s.seconds, func(c *http.Client, _ int) error {
			res, err := c.Get(srv.base + "/api/v2/search?type=statuses&q=" + url.QueryEscape(h.q))
			return discard(res, err, http.StatusOK)
		})
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM post_search WHERE document @@ websearch_to_tsquery('simple', $1)`, h.q).Scan(&hardN[i]); err != nil {
			return err
		}
	}
	// Account autocomplete: a prefix as typed.
	acctL := closedLoop(conns, s.seconds, func(c *http.Client, i int) error {
		req, _ := http.NewRequest(http.MethodGet, srv.base+"/api/v1/accounts/search?limit=5&q=ben", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
		res, err := c.Do(req)
		return discard(res, err, http.StatusOK)
	})
	srv.stop()

	// The index lag while 8 writers post at full rate, with a worker applying every
	// consumer (search among them).
	d := 30 * time.Second
	if s.quick {
		d = 10 * time.Second
	}
	srv2, err := s.start("serve")
	if err != nil {
		return err
	}
	defer srv2.stop()
	worker2, err := s.start("work")
	if err != nil {
		return err
	}
	defer worker2.stop()
	if err := s.skipBacklog(ctx); err != nil {
		return err
	}
	progress("search: index lag, 8 writers for %s", d)
	sampler := s.sampleLag(ctx)
	wl := closedLoop(8, d, func(client *http.Client, i int) error {
		body := words[(i*7919)%vocabSize] + " " + words[(i*104729)%vocabSize] + " and #topic" + fmt.Sprint(i%50)
		return postStatus(client, srv2.base, tokens[writer(i)], body)
	})
	lags := sampler.stop()["search"]
	catchUp, err := s.catchUp(ctx, srv2, worker2)
	if err != nil {
		return err
	}

	mb := func(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
	s.printf("## 10. Search\n\n")
	s.printf("What it measures: `GET /api/v2/search?type=statuses` at %d posts of 12 words (a made-up vocabulary of %d words, word k about as frequent as 1/k, "+
		"half the posts in English, over a year), %d connections, closed loop, anonymous (public posts). The questions are single words of decreasing frequency asked in turn: "+
		"%s (in %d posts), %s (%d) and %s (%d). Baseline, in the same run: the same words answered by `ILIKE '%%word%%'` over the public posts, newest first "+
		"(the anchors' approach), run as SQL alone from the harness, so without HTTP or JSON; beside it the search's own SQL (`core.SearchPublicIDs`: its settings, windows and ranking), also alone.\n\n",
		n, vocabSize, conns, asked[0], matches[0], asked[1], matches[1], asked[2], matches[2])
	like := max(median(likeR), median(likeNoJITR)) // the baseline is the faster of the two
	s.printf("| answered by | req/s | p50 | p99 | ratio to LIKE |\n| --- | ---: | ---: | ---: | ---: |\n")
	s.printf("| `/api/v2/search` (HTTP, JSON) | %.0f | %s | %s | %.1f× |\n", median(apiR), ms(apiL.pct(.5)), ms(apiL.pct(.99)), median(apiR)/like)
	s.printf("| the search SQL alone | %.0f | %s | %s | %.1f× |\n", median(sqlR), ms(sqlL.pct(.5)), ms(sqlL.pct(.99)), median(sqlR)/like)
	s.printf("| `ILIKE '%%word%%'` alone, Postgres' defaults | %.0f | %s | %s | %.1f× |\n", median(likeR), ms(likeL.pct(.5)), ms(likeL.pct(.99)), median(likeR)/like)
	s.printf("| `ILIKE '%%word%%'` alone, without JIT | %.0f | %s | %s | %.1f× |\n\n", median(likeNoJITR), ms(likeNoJITL.pct(.5)), ms(likeNoJITL.pct(.99)), median(likeNoJITR)/like)
	s.printf("The ratio is to the faster of the two baselines (the search itself runs without JIT: compiling cost more than it saved).\n\n")
	s.printf("Goal: p99 ≤ 50 ms at %d connections. Errors: %d (API), %d (SQL), %d (LIKE).\n\n", conns, apiL.errors, sqlL.errors, likeL.errors)
	s.printf("Harder questions, through the API, one run each:\n\n| question | matching posts | req/s | p50 | p99 |\n| --- | ---: | ---: | ---: | ---: |\n")
	for i, h := range hard {
		s.printf("| %s | %d | %.0f | %s | %s |\n", h.what, hardN[i], hardL[i].rate, ms(hardL[i].pct(.5)), ms(hardL[i].pct(.99)))
	}
	s.printf("| account autocomplete, `/api/v1/accounts/search?q=ben` | 8 accounts | %.0f | %s | %s |\n\n", acctL.rate, ms(acctL.pct(.5)), ms(acctL.pct(.99)))
	s.printf("The index: %d posts indexed, %d post–tag rows. The GIN index of the documents is %s, `post_search` with its indexes %s, `post_tags` %s; "+
		"`posts` itself is %s. The backfill (one `starling work`, as after an upgrade) indexed the %d posts in %s (%.0f posts/s; the worker's RSS at the end %s).\n\n",
		indexed, tagged, mb(docIdx), mb(table), mb(tagIdx), mb(posts), n, secs(backfill), float64(n)/backfill.Seconds(), mb(workerRSS))
	s.printf("Index lag while 8 writers post through the API at full rate for %s (one `starling serve`, one `starling work` running every consumer): "+
		"%.0f posts/s; the search consumer's lag p50 %.2f s, p99 %.2f s, max %.2f s over %d samples; caught up %s after the writers stopped.\n\n",
		d, wl.rate, quantile(lags, .5), quantile(lags, .99), quantile(lags, 1), len(lags), secs(catchUp))
	return nil
}
