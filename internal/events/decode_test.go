package events_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/events"
)

// TestDecodeGivesEachTopicItsType decodes a payload of every registered topic into that
// topic's Go type, and refuses a topic that is not registered.
func TestDecodeGivesEachTopicItsType(t *testing.T) {
	t.Parallel()
	for _, ti := range events.Registry {
		ev, err := events.Decode(ti.Name, []byte(`{}`))
		require.NoError(t, err, ti.Name)
		require.IsType(t, ti.New(), ev, ti.Name)
		require.Equal(t, ti.Name, ev.Topic())
	}
	ev, err := events.Decode(events.TopicNotificationCreated,
		[]byte(`{"notification_id":3,"recipient_id":2,"kind":"mention","post_id":1,"extra":true}`))
	require.NoError(t, err)
	require.Equal(t, events.NotificationCreated{NotificationID: 3, RecipientID: 2, Kind: "mention", PostID: 1}, ev)

	_, err = events.Decode(events.TopicPostCreated, []byte(`{"post_id":"1"}`))
	require.Error(t, err)
	_, err = events.Decode("post.liked", []byte(`{}`))
	require.ErrorIs(t, err, events.ErrUnknownTopic)
}
