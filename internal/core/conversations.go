package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// applyConversations is the conversations consumer: each direct post goes into the
// conversation of each of its participants (its author and the accounts it mentions) with
// the others, as that conversation's newest post, unread for all but the author; and a
// conversation.updated event tells the direct streams. The mention rows of a direct post
// are written with it, so the participants are known when its event is read.
func (s *Service) applyConversations(ctx context.Context, _ pgx.Tx, q *store.Queries, run *batchRun, batch []events.Record) (int64, error) {
	var ids []int64
	causeOf := map[int64]events.Record{}
	authorOf := map[int64]int64{}
	for _, r := range batch {
		ev, err := events.Decode(r.Topic, r.Payload)
		if err != nil {
			return 0, err
		}
		if e, ok := ev.(events.PostCreated); ok && e.Visibility == VisibilityDirect {
			ids = append(ids, e.PostID)
			causeOf[e.PostID], authorOf[e.PostID] = r, e.AuthorID
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	mentions, err := q.MentionedOf(ctx, ids)
	if err != nil {
		return 0, err
	}
	mentioned := map[int64][]int64{}
	for _, m := range mentions {
		mentioned[m.PostID] = append(mentioned[m.PostID], m.UserID)
	}
	p := store.EventsAppendManyParams{}
	for _, id := range ids { // in log order: a later post of a conversation wins
		everyone := append([]int64{authorOf[id]}, mentioned[id]...)
		slices.Sort(everyone)
		everyone = slices.Compact(everyone)
		params := store.ConversationsUpsertParams{PostID: id, AuthorID: authorOf[id]}
		for _, u := range everyone {
			var others []string
			for _, o := range everyone {
				if o != u {
					others = append(others, strconv.FormatInt(o, 10))
				}
			}
			params.UserIds, params.Others = append(params.UserIds, u), append(params.Others, strings.Join(others, ","))
		}
		rows, err := q.ConversationsUpsert(ctx, params)
		if err != nil {
			return 0, err
		}
		cause := causeOf[id]
		run.log(cause, "conversations updated", "post_id", id, "participants", len(everyone))
		for _, r := range rows {
			if r.LastPostID != id {
				continue // a newer post of the conversation was applied already
			}
			b, err := json.Marshal(events.ConversationUpdated{ConversationID: r.ID, UserID: r.UserID, PostID: id})
			if err != nil {
				return 0, err
			}
			p.Topics, p.Payloads = append(p.Topics, events.TopicConversationUpdated), append(p.Payloads, string(b))
			p.RequestIds, p.Traces = append(p.RequestIds, cause.RequestID), append(p.Traces, cause.Trace)
		}
	}
	if len(p.Topics) == 0 {
		return 0, nil
	}
	appended, err := q.EventsAppendMany(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("conversation events: %w", err)
	}
	return appended[len(appended)-1], nil
}

// Conversation is one of a user's direct conversations.
type Conversation struct {
	ID int64
	// Participants are the other accounts in it.
	Participants []User
	// LastPost is its newest direct post.
	LastPost Post
	Unread   bool
}

// ConversationPage is one page of conversations, newest post first; Next is the Before of
// the following page (a post id), 0 for none.
type ConversationPage struct {
	Items []Conversation
	Next  int64
}

type conversationRow struct {
	id, lastPostID int64
	participants   []int64
	unread         bool
}

// Conversations returns userID's direct conversations, the one with the newest post first.
func (s *Service) Conversations(ctx context.Context, userID int64, page Page) (ConversationPage, error) {
	rows, next, err := keysetPage(page, func(r conversationRow) int64 { return r.lastPostID },
		func(before, after int64, limit int32) ([]conversationRow, error) {
			rows, err := s.q.ConversationsList(ctx, store.ConversationsListParams{UserID: userID, Before: before, After: after, RowLimit: limit})
			return mapRows(rows, err, func(r store.ConversationsListRow) conversationRow {
				return conversationRow{r.ID, r.LastPostID, r.Participants, r.Unread}
			})
		},
		func(after, before int64, limit int32) ([]conversationRow, error) {
			rows, err := s.q.ConversationsListAfter(ctx, store.ConversationsListAfterParams{UserID: userID, After: after, Before: before, RowLimit: limit})
			return mapRows(rows, err, func(r store.ConversationsListAfterRow) conversationRow {
				return conversationRow{r.ID, r.LastPostID, r.Participants, r.Unread}
			})
		})
	if err != nil {
		return ConversationPage{}, fmt.Errorf("conversations: %w", err)
	}
	items, err := s.conversationsFrom(ctx, userID, rows)
	return ConversationPage{Items: items, Next: next}, err
}

// ConversationByID returns userID's conversation id.
func (s *Service) ConversationByID(ctx context.Context, userID, id int64) (Conversation, error) {
	r, err := s.q.ConversationGet(ctx, store.ConversationGetParams{ID: id, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Conversation{}, ErrNotFound
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation %d: %w", id, err)
	}
	items, err := s.conversationsFrom(ctx, userID, []conversationRow{{r.ID, r.LastPostID, r.Participants, r.Unread}})
	if err != nil {
		return Conversation{}, err
	}
	if len(items) == 0 {
		return Conversation{}, ErrNotFound
	}
	return items[0], nil
}

// conversationsFrom completes rows with their participants and newest posts, as userID
// sees them; a conversation whose newest post is gone is left out.
func (s *Service) conversationsFrom(ctx context.Context, userID int64, rows []conversationRow) ([]Conversation, error) {
	var postIDs, userIDs []int64
	for _, r := range rows {
		postIDs = append(postIDs, r.lastPostID)
		userIDs = append(userIDs, r.participants...)
	}
	posts, err := s.postsFor(ctx, userID, postIDs)
	if err != nil {
		return nil, err
	}
	users, err := s.UsersByIDs(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	out := make([]Conversation, 0, len(rows))
	for _, r := range rows {
		p, ok := posts[r.lastPostID]
		if !ok {
			continue
		}
		c := Conversation{ID: r.id, LastPost: p, Unread: r.unread}
		for _, id := range r.participants {
			if u, ok := users[id]; ok {
				c.Participants = append(c.Participants, u)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// MarkConversationRead marks userID's conversation id as read.
func (s *Service) MarkConversationRead(ctx context.Context, userID, id int64) (Conversation, error) {
	n, err := s.q.ConversationMarkRead(ctx, store.ConversationMarkReadParams{ID: id, UserID: userID})
	if err != nil {
		return Conversation{}, fmt.Errorf("read conversation %d: %w", id, err)
	}
	if n == 0 {
		return Conversation{}, ErrNotFound
	}
	return s.ConversationByID(ctx, userID, id)
}

// DeleteConversation removes conversation id from userID's list (the posts stay; a new
// direct post brings it back).
func (s *Service) DeleteConversation(ctx context.Context, userID, id int64) error {
	n, err := s.q.ConversationDelete(ctx, store.ConversationDeleteParams{ID: id, UserID: userID})
	if err != nil {
		return fmt.Errorf("delete conversation %d: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
