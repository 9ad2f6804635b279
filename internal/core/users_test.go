package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/pgtest"
)

// TestDisplayNamesRefuseHiddenFormatting: a display name with a bidirectional control or
// a zero-width character is refused at signup and in the settings (issue 13, item 13).
func TestDisplayNamesRefuseHiddenFormatting(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	alice := mustUser(t, s, "alice")
	for _, name := range []string{"Ali\u202Ece", "\u2067admin\u2069", "a\u200Fb", "a\u061Cb", "Ali\u200Bce", "Al\u200Dice", "\uFEFFAlice", "a\u2060b"} {
		_, err := s.SignUp(ctx, core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: "a long enough passphrase", DisplayName: name})
		require.Contains(t, fieldErr(t, err, "display_name"), "invisible", "%q", name)
		err = s.UpdateSettings(ctx, alice.ID, core.Settings{DisplayName: name})
		require.Contains(t, fieldErr(t, err, "display_name"), "invisible", "%q", name)
	}
	require.Equal(t, 1, count(t, tx, `SELECT count(*) FROM users`))
	require.Equal(t, 0, count(t, tx, `SELECT count(*) FROM users WHERE display_name <> ''`))

	// Right-to-left names themselves are fine.
	require.NoError(t, s.UpdateSettings(ctx, alice.ID, core.Settings{DisplayName: "אליס", Bio: "שלום"}))
	_, err := s.SignUp(ctx, core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: "a long enough passphrase", DisplayName: "بوب"})
	require.NoError(t, err)
}

// TestLoginKeyIsTheAccounts: an account's username and email, in any case and with
// surrounding spaces, give the account's one key; an unknown name gets a key of its own
// (issue 13, item 10).
func TestLoginKeyIsTheAccounts(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	alice := mustUser(t, s, "alice")
	for _, login := range []string{"alice", "ALICE", " Alice ", "alice@example.com", "Alice@Example.COM"} {
		key, err := s.LoginKey(ctx, login)
		require.NoError(t, err)
		require.Equal(t, core.AccountLoginKey(alice.ID), key, login)
	}
	nobody, err := s.LoginKey(ctx, "nobody")
	require.NoError(t, err)
	again, err := s.LoginKey(ctx, " NOBODY ")
	require.NoError(t, err)
	require.Equal(t, nobody, again)
	other, err := s.LoginKey(ctx, "nobody@example.com")
	require.NoError(t, err)
	require.NotEqual(t, nobody, other)
	require.NotEqual(t, core.AccountLoginKey(alice.ID), nobody)
	for _, odd := range []string{"", "bad \xff", string(make([]byte, 300))} {
		_, err := s.LoginKey(ctx, odd)
		require.NoError(t, err)
	}
}

// TestReservedUsernamesAreRefused: names that could pass for the instance or its staff are
// refused at signup and on the admin path alike, in any case (issue 13, item 14).
func TestReservedUsernamesAreRefused(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	s := newService(tx)
	ctx := context.Background()
	for _, name := range []string{"admin", "Admin", "ROOT", "support", "postmaster", "abuse", "api", "oauth", "www",
		"webmaster", "hostmaster", "security", "info", "mail", "noreply", "help", "about", "settings", "login", "logout",
		"signup", "static", "well_known", "nodeinfo", "mastodon", "starling", "staff", "moderator", "system"} {
		in := core.SignUpInput{Username: name, Email: "x@example.com", Password: "a long enough passphrase"}
		_, err := s.SignUp(ctx, in)
		require.Contains(t, fieldErr(t, err, "username"), "reserved", name)
		_, err = s.CreateUser(ctx, in)
		require.Contains(t, fieldErr(t, err, "username"), "reserved", name)
	}
	require.Equal(t, 0, count(t, tx, `SELECT count(*) FROM users`))
	// Names that merely contain one are fine.
	for _, name := range []string{"admin_alice", "rootbeer", "helpful"} {
		_, err := s.SignUp(ctx, core.SignUpInput{Username: name, Email: name + "@example.com", Password: "a long enough passphrase"})
		require.NoError(t, err, name)
	}
}

// TestInstanceCountsAreCachedForABound: InstanceCounts and ActiveMonth answer from
// memory for InstanceCountsMaxAge (a minute by default), then count again (issue 13,
// item 14).
func TestInstanceCountsAreCachedForABound(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	ctx := context.Background()
	s := newService(tx)
	alice := mustUser(t, s, "alice")
	users, posts, err := s.InstanceCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int64{1, 0}, [2]int64{users, posts})
	active, err := s.ActiveMonth(ctx)
	require.NoError(t, err)
	require.Zero(t, active)

	mustUser(t, s, "bob")
	_, err = s.CreatePost(ctx, alice.ID, "hello")
	require.NoError(t, err)
	users, posts, err = s.InstanceCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int64{1, 0}, [2]int64{users, posts}, "within the minute: not counted again")
	active, err = s.ActiveMonth(ctx)
	require.NoError(t, err)
	require.Zero(t, active)

	short := core.New(tx, core.Options{Password: fastHash, Jobs: insertOnly(), InstanceCountsMaxAge: 50 * time.Millisecond})
	users, posts, err = short.InstanceCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int64{2, 1}, [2]int64{users, posts})
	_, err = short.CreatePost(ctx, alice.ID, "again")
	require.NoError(t, err)
	users, posts, _ = short.InstanceCounts(ctx)
	require.Equal(t, [2]int64{2, 1}, [2]int64{users, posts})
	time.Sleep(60 * time.Millisecond)
	users, posts, err = short.InstanceCounts(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int64{2, 2}, [2]int64{users, posts}, "counted again after the bound")
	active, err = short.ActiveMonth(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, active)
}
