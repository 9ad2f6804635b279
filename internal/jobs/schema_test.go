package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/pgtest"
)

// TestEveryEventMatchesItsSchema writes every kind of event through the real write path
// and workers, then validates each stored payload against its topic's JSON Schema.
func TestEveryEventMatchesItsSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(t.TempDir())}, 0)
	ctx := context.Background()
	e.start()
	alice, bob := e.user("alice"), e.user("bob")
	_, err := e.core.Follow(ctx, alice.ID, "bob")
	require.NoError(t, err)
	_, err = e.core.Unfollow(ctx, alice.ID, "bob")
	require.NoError(t, err)
	_, err = e.core.Follow(ctx, bob.ID, "alice")
	require.NoError(t, err)
	p, err := e.core.CreatePost(ctx, bob.ID, "hello @alice")
	require.NoError(t, err)
	_, _, err = e.core.Publish(ctx, alice, core.NewPost{Body: "a reply", InReplyTo: p.ID, Visibility: core.VisibilityUnlisted})
	require.NoError(t, err)
	_, _, err = e.core.Publish(ctx, alice, core.NewPost{Body: "just for you, @bob", Visibility: core.VisibilityDirect})
	require.NoError(t, err)
	_, err = e.core.Favourite(ctx, alice, p.ID)
	require.NoError(t, err)
	_, err = e.core.Reblog(ctx, alice, p.ID, "", 0)
	require.NoError(t, err)
	_, err = e.core.EditPost(ctx, bob, p.ID, core.PostEdit{Body: "hello again @alice"})
	require.NoError(t, err)
	locked := true
	carol := e.user("carol")
	_, err = e.core.UpdateProfile(ctx, carol, core.ProfileUpdate{Locked: &locked})
	require.NoError(t, err)
	_, err = e.core.Follow(ctx, alice.ID, "carol") // a request, and its notification
	require.NoError(t, err)
	_, err = oauth.New(e.pool).CreatePersonalToken(ctx, alice.ID, "phone", "read")
	require.NoError(t, err)
	require.NoError(t, e.core.EndSessions(ctx, alice.ID)) // its token.revoked
	e.waitIdle(20 * time.Second)
	_, err = e.core.Unfavourite(ctx, alice, p.ID)
	require.NoError(t, err)
	_, err = e.core.Unreblog(ctx, alice, p.ID)
	require.NoError(t, err)
	require.NoError(t, e.core.DeletePost(ctx, bob, p.ID))
	e.waitIdle(20 * time.Second)

	rows, err := e.pool.Query(ctx, `SELECT topic, payload FROM events ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close() // a failure below must not keep the connection from the cleanup
	seen := map[string]int{}
	for rows.Next() {
		var topic string
		var payload []byte
		require.NoError(t, rows.Scan(&topic, &payload))
		require.NoError(t, events.Validate(topic, payload), "%s %s", topic, payload)
		seen[topic]++
	}
	require.NoError(t, rows.Err())
	for _, ti := range events.Registry {
		require.Positive(t, seen[ti.Name], "the test wrote no %s event", ti.Name)
	}
	// A payload that breaks the schema is caught.
	require.Error(t, events.Validate(events.TopicPostCreated, []byte(`{"post_id":"1","author_id":2}`)))
	require.Error(t, events.Validate(events.TopicPostCreated, []byte(`{"post_id":1}`)))
	require.Error(t, events.Validate(events.TopicPostCreated, []byte(`{"post_id":1,"author_id":2,"body":"x"}`)))
}

// TestEveryTopicIsDocumented fails when a topic exists in code but not in
// docs/asyncapi.yaml (or has no schema), or the reverse.
func TestEveryTopicIsDocumented(t *testing.T) {
	t.Parallel()
	root, err := pgtest.RepoRoot()
	require.NoError(t, err)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "asyncapi.yaml"))
	require.NoError(t, err)
	var documented []string
	for _, line := range strings.Split(string(doc), "\n") {
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), `address: "`); ok {
			documented = append(documented, strings.TrimSuffix(a, `"`))
		}
	}
	var inCode []string
	for _, ti := range events.Registry {
		inCode = append(inCode, ti.Name)
		ev := ti.New()
		require.Equal(t, ti.Name, ev.Topic(), "registry entry and Go type disagree")
		require.Equal(t, reflect.Struct, reflect.TypeOf(ev).Kind())
		file := fmt.Sprintf("schemas/%s.v%d.json", ti.Name, ti.Version)
		_, err := events.Schemas.ReadFile(file)
		require.NoError(t, err, "schema for %s", ti.Name)
		require.Contains(t, string(doc), "internal/events/"+file)
	}
	require.ElementsMatch(t, inCode, documented)
}
