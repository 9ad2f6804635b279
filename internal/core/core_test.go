package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobs"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/reqid"
	"github.com/starling-social/starling/internal/store"
)

// fastHash keeps tests quick; production cost is checked in the password package.
var fastHash = password.Params{MemoryKiB: 1024, Iterations: 1}

// insertOnly is a River client that enqueues jobs in the caller's transaction and works
// none: enough for tests of the write path.
func insertOnly() core.Enqueuer {
	r, err := jobs.New(nil, jobs.Config{})
	if err != nil {
		panic(err)
	}
	return r.Client
}

func newService(db store.Conn) *core.Service {
	return core.New(db, core.Options{Password: fastHash, SignupsOpen: true, Jobs: insertOnly()})
}

func mustUser(t *testing.T, s *core.Service, name string) core.User {
	t.Helper()
	u, err := s.SignUp(context.Background(), core.SignUpInput{
		Username: name, Email: strings.ToLower(name) + "@example.com", Password: "correct horse battery",
	})
	require.NoError(t, err)
	return u
}

func count(t *testing.T, db store.DBTX, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func fieldErr(t *testing.T, err error, field string) string {
	t.Helper()
	var verr *core.ValidationError
	require.True(t, errors.As(err, &verr), "want a ValidationError, got %v", err)
	msg, ok := verr.Fields[field]
	require.True(t, ok, "want an error on %q, got %v", field, verr.Fields)
	return msg
}

func TestCreatePostIsAtomicWithItsEvent(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	alice := mustUser(t, s, "alice")

	// Make the event insert fail after the post insert succeeded in the same transaction.
	_, err := pool.Exec(ctx, `ALTER TABLE events ADD CONSTRAINT reject_posts CHECK (topic <> 'post.created') NOT VALID`)
	require.NoError(t, err)
	_, err = s.CreatePost(ctx, alice.ID, "this must not survive")
	require.Error(t, err)
	require.Equal(t, 0, count(t, pool, `SELECT count(*) FROM posts`), "post written without its event")
	require.Equal(t, 0, count(t, pool, `SELECT count(*) FROM events WHERE topic = 'post.created'`))

	_, err = pool.Exec(ctx, `ALTER TABLE events DROP CONSTRAINT reject_posts`)
	require.NoError(t, err)
	p, err := s.CreatePost(reqid.With(ctx, "req-atomic-1"), alice.ID, "hello, world")
	require.NoError(t, err)

	rows, err := pool.Query(ctx, `SELECT payload, request_id FROM events WHERE topic = 'post.created'`)
	require.NoError(t, err)
	defer rows.Close()
	var n int
	for rows.Next() {
		n++
		var payload []byte
		var rid string
		require.NoError(t, rows.Scan(&payload, &rid))
		var ev struct {
			PostID   int64 `json:"post_id"`
			AuthorID int64 `json:"author_id"`
		}
		require.NoError(t, json.Unmarshal(payload, &ev))
		require.Equal(t, p.ID, ev.PostID)
		require.Equal(t, alice.ID, ev.AuthorID)
		require.Equal(t, "req-atomic-1", rid)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 1, n, "exactly one post.created event per post")
}

func TestCreatePostRejectsBadBodies(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	alice := mustUser(t, s, "alice")
	before := count(t, tx, `SELECT count(*) FROM events`)

	for name, body := range map[string]string{
		"empty":              "",
		"whitespace":         " \n\t \r\n ",
		"501 characters":     strings.Repeat("é", 501),
		"501 after NFC":      strings.Repeat("e\u0301", 501),
		"invalid UTF-8":      "hello \xff\xfe world",
		"only control chars": "\x00\x01\x02",
	} {
		_, err := s.CreatePost(ctx, alice.ID, body)
		require.NotEmpty(t, fieldErr(t, err, "body"), name)
	}
	require.Equal(t, 0, count(t, tx, `SELECT count(*) FROM posts`))
	require.Equal(t, before, count(t, tx, `SELECT count(*) FROM events`))

	// 500 characters is fine even when they take 1,000 bytes or arrive decomposed.
	p, err := s.CreatePost(ctx, alice.ID, strings.Repeat("e\u0301", 500))
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("é", 500), p.Body)
	_, err = s.CreatePost(ctx, alice.ID, strings.Repeat("🐦", 500))
	require.NoError(t, err)
}

func TestSignUpValidation(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	mustUser(t, s, "Alice")
	good := core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: "a long enough passphrase"}

	cases := []struct {
		name  string
		edit  func(*core.SignUpInput)
		field string
	}{
		{"username taken in another case", func(in *core.SignUpInput) { in.Username = "aLiCe" }, "username"},
		{"email taken in another case", func(in *core.SignUpInput) { in.Email = "ALICE@example.com" }, "email"},
		{"username with a space", func(in *core.SignUpInput) { in.Username = "bob smith" }, "username"},
		{"username too long", func(in *core.SignUpInput) { in.Username = strings.Repeat("b", 31) }, "username"},
		{"empty username", func(in *core.SignUpInput) { in.Username = "" }, "username"},
		{"bad email", func(in *core.SignUpInput) { in.Email = "bob at example" }, "email"},
		{"short password", func(in *core.SignUpInput) { in.Password = "short1" }, "password"},
		{"common password", func(in *core.SignUpInput) { in.Password = "password123" }, "password"},
		{"repeated character", func(in *core.SignUpInput) { in.Password = strings.Repeat("x", 16) }, "password"},
		{"password contains username", func(in *core.SignUpInput) { in.Password = "my name is bob!" }, "password"},
		{"huge password", func(in *core.SignUpInput) { in.Password = strings.Repeat("ab", 200) }, "password"},
	}
	for _, c := range cases {
		in := good
		c.edit(&in)
		_, err := s.SignUp(ctx, in)
		require.NotEmpty(t, fieldErr(t, err, c.field), c.name)
	}
	require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM users`))

	_, err := s.SignUp(ctx, good)
	require.NoError(t, err)
	require.Equal(t, 2, count(t, tx, `SELECT count(*) FROM events WHERE topic = 'user.created'`))
}

func TestSignupsClosed(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := core.New(tx, core.Options{Password: fastHash, SignupsOpen: false, Jobs: insertOnly()})
	_, err := s.SignUp(context.Background(), core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: "a long enough passphrase"})
	require.ErrorIs(t, err, core.ErrSignupsClosed)
	// The admin path still works.
	_, err = s.CreateUser(context.Background(), core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: "a long enough passphrase"})
	require.NoError(t, err)
}

func TestPasswordsAreArgon2idWithPerUserSalt(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	a := mustUser(t, s, "alice")
	b := mustUser(t, s, "bob") // same password as alice
	var ha, hb string
	require.NoError(t, tx.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, a.ID).Scan(&ha))
	require.NoError(t, tx.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, b.ID).Scan(&hb))
	require.True(t, strings.HasPrefix(ha, "$argon2id$v=19$"), ha)
	require.NotEqual(t, ha, hb, "same password must hash differently")
	require.NotEqual(t, strings.Split(ha, "$")[4], strings.Split(hb, "$")[4], "salts must differ")

	u, err := s.Authenticate(ctx, "ALICE", "correct horse battery")
	require.NoError(t, err)
	require.Equal(t, a.ID, u.ID)
	u, err = s.Authenticate(ctx, "bob@example.com", "correct horse battery")
	require.NoError(t, err)
	require.Equal(t, b.ID, u.ID)
	_, err = s.Authenticate(ctx, "alice", "wrong password")
	require.ErrorIs(t, err, core.ErrBadCredentials)
	_, err = s.Authenticate(ctx, "nobody", "correct horse battery")
	require.ErrorIs(t, err, core.ErrBadCredentials)
}

func TestTimelinesUseKeysetPagination(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	alice := mustUser(t, s, "alice")
	const total = 50
	for i := range total {
		_, err := s.CreatePost(ctx, alice.ID, "post number "+strings.Repeat("!", i%3)+string(rune('a'+i%26)))
		require.NoError(t, err)
	}
	seen := map[int64]bool{}
	var pages []int
	var last int64
	page := core.Page{Limit: 20}
	for {
		tl, err := s.PublicTimeline(ctx, 0, page)
		require.NoError(t, err)
		pages = append(pages, len(tl.Posts))
		for _, p := range tl.Posts {
			require.False(t, seen[p.ID], "post %d seen twice", p.ID)
			if last != 0 {
				require.Less(t, p.ID, last, "newest first")
			}
			seen[p.ID], last = true, p.ID
		}
		// A post written while paging must not shift later pages.
		_, err = s.CreatePost(ctx, alice.ID, "written while paging")
		require.NoError(t, err)
		if tl.Next == 0 {
			break
		}
		page.Before = tl.Next
	}
	require.Equal(t, []int{20, 20, 10}, pages)
	require.Len(t, seen, total)
}

func TestHomeTimelineAndFollows(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	alice, bob, carol := mustUser(t, s, "alice"), mustUser(t, s, "bob"), mustUser(t, s, "carol")
	pa, _ := s.CreatePost(ctx, alice.ID, "from alice")
	pb, _ := s.CreatePost(ctx, bob.ID, "from bob")
	_, _ = s.CreatePost(ctx, carol.ID, "from carol")

	_, err := s.Follow(ctx, alice.ID, "BOB")
	require.NoError(t, err)
	_, err = s.Follow(ctx, alice.ID, "bob") // twice is fine
	require.NoError(t, err)
	_, err = s.Follow(ctx, alice.ID, "alice")
	fieldErr(t, err, "username")
	_, err = s.Follow(ctx, alice.ID, "nobody")
	require.ErrorIs(t, err, core.ErrNotFound)

	tl, err := s.HomeTimeline(ctx, alice.ID, core.Page{})
	require.NoError(t, err)
	require.Equal(t, []int64{pb.ID, pa.ID}, ids(tl))

	prof, err := s.ProfileOf(ctx, "bob", alice.ID)
	require.NoError(t, err)
	require.True(t, prof.ViewerFollows)
	require.EqualValues(t, 1, prof.Followers)

	_, err = s.Unfollow(ctx, alice.ID, "bob")
	require.NoError(t, err)
	tl, err = s.HomeTimeline(ctx, alice.ID, core.Page{})
	require.NoError(t, err)
	require.Equal(t, []int64{pa.ID}, ids(tl))
	require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM events WHERE topic = 'follow.created'`))
	require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM events WHERE topic = 'follow.deleted'`))
}

func ids(tl core.Timeline) []int64 {
	var out []int64
	for _, p := range tl.Posts {
		out = append(out, p.ID)
	}
	return out
}

func TestDeletePost(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	p, err := s.CreatePost(ctx, alice.ID, "mine")
	require.NoError(t, err)

	require.ErrorIs(t, s.DeletePost(ctx, bob, p.ID), core.ErrForbidden)
	_, err = s.PostFor(ctx, 0, p.ID)
	require.NoError(t, err, "a refused delete changes nothing")

	require.NoError(t, s.DeletePost(ctx, alice, p.ID))
	_, err = s.PostFor(ctx, 0, p.ID)
	require.ErrorIs(t, err, core.ErrNotFound)
	require.ErrorIs(t, s.DeletePost(ctx, alice, p.ID), core.ErrNotFound)
	require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM events WHERE topic = 'post.deleted' AND (payload->>'post_id')::bigint = $1`, p.ID))

	// Admins may delete anyone's post.
	p2, err := s.CreatePost(ctx, alice.ID, "moderate me")
	require.NoError(t, err)
	require.NoError(t, s.GrantAdmin(ctx, "bob"))
	bob, err = s.UserByID(ctx, bob.ID)
	require.NoError(t, err)
	require.NoError(t, s.DeletePost(ctx, bob, p2.ID))
}

// TestConsumeBatchWithTheDatabaseGone: a consumer run whose transaction cannot even begin
// returns the error (River retries it) instead of panicking.
func TestConsumeBatchWithTheDatabaseGone(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	s := newService(pool)
	require.NoError(t, s.EnsureConsumers(context.Background()))
	pool.Close()
	_, err := s.ConsumeBatch(context.Background(), "mentions", 10)
	require.Error(t, err)
}
