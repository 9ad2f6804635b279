// Package live turns the event log into live streams. Each process has one Hub: it reads
// each batch of new events once, in commit-safe cursor order (see events.ReadAfter), loads
// what the streams need (posts, followers) once per batch, and fans the batch out to its
// subscribers, each with a bounded buffer. One Listener per process LISTENs on a dedicated
// connection and kicks the hub when a wake-up NOTIFY arrives; the hub also polls on a slow
// timer, so a lost wake-up only delays delivery.
package live

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/httpx"
)

// EventLog is what the hub reads of the event log, in commit-safe cursor order (see
// events.ReadAfter). *events.Reader implements it.
type EventLog interface {
	// Head returns the cursor of the newest readable event (see events.Head).
	Head(ctx context.Context) (events.Cursor, error)
	// ReadAfter returns up to limit readable events after c (see events.ReadAfter).
	ReadAfter(ctx context.Context, c events.Cursor, limit int) ([]events.Record, error)
	// ReadRange returns up to limit events after from up to to (see events.ReadRange).
	ReadRange(ctx context.Context, from, to events.Cursor, limit int) ([]events.Record, error)
	// CountRange counts the events after from up to to, up to limit (see events.CountRange).
	CountRange(ctx context.Context, from, to events.Cursor, limit int) (int, error)
	// Check reports whether c names an event of the log (see events.Check).
	Check(ctx context.Context, c events.Cursor) error
}

// Options configure a Hub.
type Options struct {
	// Buffer is how many deliveries a subscriber may have waiting before it is cut off.
	// Defaults to 128.
	Buffer int
	// Batch is how many events one read fetches, for the live fan-out and for a resuming
	// client's backlog alike. Defaults to 500.
	Batch int
	// MaxBacklog is how many events of the log a resuming client may be behind: further
	// back, it gets a reset (reload) instead of a replay, so that one resume costs at most
	// this many events read. Defaults to 10,000.
	MaxBacklog int
	// Poll is the fallback read interval when no wake-up arrives. Defaults to 1 second.
	Poll time.Duration
	// WriteTimeout bounds one write to a stream client. Defaults to 10 seconds.
	WriteTimeout time.Duration
	// Heartbeat is the interval of SSE comment lines on idle streams. Defaults to 15 s.
	Heartbeat time.Duration
	// Revalidate is how often the hub re-checks the credentials of its streams (see
	// Watch), with one query per kind of credential for all of them: a stream whose token
	// is revoked or whose session ends is closed within this interval, on every process.
	// Defaults to 2 seconds.
	Revalidate time.Duration
	// MaxStreamsPerUser and MaxStreamsPerIP cap concurrent streams (see Admit). Default to
	// 20 and 100.
	MaxStreamsPerUser, MaxStreamsPerIP int
	// OnRead, when set, is called with each batch of events the hub reads, before it is
	// fanned out: the process's caches drop what the batch changed (internal/cache), so
	// that a client told of a change and asking again is answered afresh.
	OnRead func(recs []events.Record)
	// Observe, when set, is called after each batch is fanned out with the number of
	// events and the age of the oldest one (write to fan-out): a hook for metrics.
	Observe func(events int, lag time.Duration)
}

// Hub fans the event log out to live subscribers.
type Hub struct {
	evs  EventLog
	core *core.Service
	log  *slog.Logger
	opts Options

	mu   sync.Mutex
	head events.Cursor
	subs map[*Subscription]struct{}
	kick chan struct{}
	// closed refuses new subscribers after Shutdown.
	closed bool
	// ready is closed once the starting head is known.
	ready chan struct{}

	perUser, perIP *httpx.Caps
	// watches are the credentials of running streams, re-checked every Revalidate.
	watches map[*watch]struct{}
	// admitted counts the stream slots taken by Admit and not yet released.
	admitted atomic.Int64
	// detached counts the streams served after their handler returned (detached.go);
	// writable is the queue of those with something to write, and writersOnce starts the
	// writers that empty it.
	detached    sync.WaitGroup
	writable    readyQueue
	writersOnce sync.Once
	// hangups watches the detached streams' connections for their clients leaving; nil
	// where it cannot (each stream then has a goroutine reading its connection).
	hangups *hangups

	// Delivered counts deliveries handed to subscribers; Dropped counts subscribers cut off
	// because their buffer was full; WriteFailed counts streams ended because a write to
	// the client failed or timed out; FormatFailed counts streams ended because an event
	// could not be formatted (to be resumed); Reads counts log reads that returned events;
	// Ended counts streams closed because their credential ended (see Watch).
	Delivered, Dropped, WriteFailed, FormatFailed, Reads, Ended atomic.Int64
	// Detached counts streams that were taken over from their handler (detached.go);
	// HandedOff counts writes a client's full socket did not take at once, finished by a
	// goroutine of the stream's own.
	Detached, HandedOff atomic.Int64
}

// NewHub returns a hub reading the event log through evs (events.NewReader(pool), usually)
// and loading posts and credentials through svc.
func NewHub(evs EventLog, svc *core.Service, log *slog.Logger, opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = 128
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.MaxBacklog <= 0 {
		opts.MaxBacklog = 10000
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Revalidate <= 0 {
		opts.Revalidate = 2 * time.Second
	}
	if opts.MaxStreamsPerUser <= 0 {
		opts.MaxStreamsPerUser = 20
	}
	if opts.MaxStreamsPerIP <= 0 {
		opts.MaxStreamsPerIP = 100
	}
	return &Hub{evs: evs, core: svc, log: log, opts: opts, subs: map[*Subscription]struct{}{}, watches: map[*watch]struct{}{},
		kick: make(chan struct{}, 1), ready: make(chan struct{}),
		perUser: &httpx.Caps{Limit: opts.MaxStreamsPerUser}, perIP: &httpx.Caps{Limit: opts.MaxStreamsPerIP}}
}

// Kick asks the hub to read the log now. It never blocks.
func (h *Hub) Kick() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// Run reads and fans out events until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	for {
		head, err := h.evs.Head(ctx)
		if err == nil {
			h.mu.Lock()
			h.head = head
			h.mu.Unlock()
			close(h.ready)
			break
		}
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("live: cannot read the event log head; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	go h.revalidateEvery(ctx)
	poll := time.NewTicker(h.opts.Poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			h.closeAll()
			return
		case <-h.kick:
		case <-poll.C:
		}
		if err := h.advance(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("live: reading the event log failed; will retry", "err", err)
		}
	}
}

// Admit takes a stream slot for a client (userID 0 for anonymous) at address ip. It returns
// false when the user or the address already holds its maximum of concurrent streams;
// otherwise call release when the stream ends.
func (h *Hub) Admit(userID int64, ip string) (release func(), ok bool) {
	keys := []string{"ip:" + ip}
	if userID != 0 {
		keys = append(keys, "user:"+strconv.FormatInt(userID, 10))
	}
	relIP, ok := h.perIP.Acquire(keys[0])
	if !ok {
		return nil, false
	}
	free := relIP
	if len(keys) == 2 {
		relUser, ok := h.perUser.Acquire(keys[1])
		if !ok {
			relIP()
			return nil, false
		}
		free = func() { relUser(); relIP() }
	}
	h.admitted.Add(1)
	var once sync.Once
	return func() { once.Do(func() { h.admitted.Add(-1); free() }) }, true
}

// Admitted returns how many stream slots are taken: streams admitted and not yet ended.
func (h *Hub) Admitted() int { return int(h.admitted.Load()) }

// watch is one running stream's credential.
type watch struct {
	cred  core.Credential
	ended chan struct{}
	then  func() // called once the credential ended, if not nil
}

// Watch has the hub re-check cred every Options.Revalidate while a stream runs. The
// returned channel is closed once the credential has ended — its token revoked, its
// session logged out, expired, or ended by a password change or "log out everywhere" —
// on whichever process that happened: the database is the truth every hub asks. Call
// stop when the stream ends. The zero Credential (an anonymous stream) is not watched,
// and its channel never closes.
func (h *Hub) Watch(cred core.Credential) (ended <-chan struct{}, stop func()) {
	w, stop := h.watch(cred, nil)
	return w.done(), stop
}

// done is the watch's channel, closed once its credential ended; nil (never closed) for
// no watch.
func (w *watch) done() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.ended
}

// watch registers a watch of cred, with then to call when it ends; for the zero
// Credential (anonymous) it registers nothing and returns nil.
func (h *Hub) watch(cred core.Credential, then func()) (*watch, func()) {
	if cred.IsZero() {
		return nil, func() {}
	}
	w := &watch{cred: cred, ended: make(chan struct{}), then: then}
	h.mu.Lock()
	h.watches[w] = struct{}{}
	h.mu.Unlock()
	return w, func() {
		h.mu.Lock()
		delete(h.watches, w)
		h.mu.Unlock()
	}
}

// WatchFunc is Watch for a stream that waits on no channel: fn is called, in a goroutine
// of its own, once cred has ended. The zero Credential is not watched.
func (h *Hub) WatchFunc(cred core.Credential, fn func()) (stop func()) {
	_, stop = h.watch(cred, fn)
	return stop
}

// revalidateEvery re-checks the watched credentials every Options.Revalidate until ctx
// ends. A failed check (the database out of reach) is retried at the next tick.
func (h *Hub) revalidateEvery(ctx context.Context) {
	t := time.NewTicker(h.opts.Revalidate)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.revalidate(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("live: re-checking the streams' credentials failed; will retry", "err", err)
		}
	}
}

// revalidate asks core, in one call, which watched credentials have ended, and closes
// their streams' channels.
func (h *Hub) revalidate(ctx context.Context) error {
	h.mu.Lock()
	ws := make([]*watch, 0, len(h.watches))
	creds := make([]core.Credential, 0, len(h.watches))
	for w := range h.watches {
		ws = append(ws, w)
		creds = append(creds, w.cred)
	}
	h.mu.Unlock()
	if len(ws) == 0 {
		return nil
	}
	ended, err := h.core.EndedCredentials(ctx, creds)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, w := range ws {
		if _, running := h.watches[w]; running && ended[i] {
			delete(h.watches, w)
			h.Ended.Add(1) // counted before anyone can see the stream end
			close(w.ended)
			if w.then != nil {
				go w.then()
			}
		}
	}
	return nil
}

// Head returns the cursor of the last event the hub has fanned out.
func (h *Hub) Head() events.Cursor {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head
}

// advance reads every readable event after the head and fans it out.
func (h *Hub) advance(ctx context.Context) error {
	for {
		head := h.Head()
		recs, err := h.evs.ReadAfter(ctx, head, h.opts.Batch)
		if err != nil || len(recs) == 0 {
			return err
		}
		h.Reads.Add(1)
		if h.opts.OnRead != nil {
			h.opts.OnRead(recs)
		}
		h.mu.Lock()
		if len(h.subs) == 0 {
			// Nobody to deliver to: the events are not loaded. A subscriber that comes
			// later starts from the head moved here, under the same lock, and reads what
			// came before it from the log.
			h.head = recs[len(recs)-1].Cursor
			h.mu.Unlock()
			h.observe(recs)
			if len(recs) < h.opts.Batch {
				return nil
			}
			continue
		}
		h.mu.Unlock()
		ds, err := h.build(ctx, recs, h.readers())
		if err != nil {
			return err
		}
		h.mu.Lock()
		woken := false
		for s := range h.subs {
			for _, d := range ds {
				if !s.filter.Matches(d) {
					continue
				}
				if s.offer(d, h.opts.Buffer) {
					h.Delivered.Add(1)
					woken = true
				} else {
					h.dropLocked(s)
				}
				if s.dropped() {
					break
				}
			}
			if woken && s.wake != nil {
				s.wake()
			}
			woken = false
		}
		h.head = recs[len(recs)-1].Cursor
		h.mu.Unlock()
		h.observe(recs)
		if len(recs) < h.opts.Batch {
			return nil
		}
	}
}

// observe reports a batch read from the log to Options.Observe.
func (h *Hub) observe(recs []events.Record) {
	if h.opts.Observe != nil {
		h.opts.Observe(len(recs), time.Since(recs[0].CreatedAt))
	}
}

// readers returns the users whose follows the deliveries need: the owners of home streams
// and the logged-in readers of the others (for private posts).
func (h *Hub) readers() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[int64]bool{}
	var ids []int64
	for s := range h.subs {
		for _, id := range []int64{s.filter.HomeOf, s.filter.Viewer} {
			if id != 0 && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Delivery is one event as streams see it, shared by every subscriber it goes to.
type Delivery struct {
	Cursor events.Cursor
	Topic  string
	// Event is the event's payload as its registered Go type (events.PostCreated, …), or
	// nil when its topic is unknown to this process or its payload could not be decoded.
	Event events.Event
	// PostID, AuthorID, RecipientID and NotificationID are copied from Event, for the
	// topics that carry them; zero otherwise.
	PostID         int64
	AuthorID       int64
	RecipientID    int64
	NotificationID int64
	// ConversationID is the conversation of a conversation.updated event.
	ConversationID int64
	// Post is the post of a post.created event, or nil when it was deleted meanwhile.
	Post *core.Post
	// CommittedAt is when the event was written.
	CommittedAt time.Time
	followers   map[int64]bool
	// tags are the keys of the post's hashtags; tagFollowers the home stream owners
	// (among the hub's readers) who follow one of them.
	tags         []string
	tagFollowers []int64

	// id is Cursor.String(), made once for every stream that sends the event; head is
	// the SSE lines before its data, made once for the streams that name it alike.
	id   string
	head atomic.Pointer[sseHead]
	// encoded holds the encodings made so far, read without a lock by every stream;
	// mu serialises the making of a new one (copy on write).
	mu      sync.Mutex
	encoded atomic.Pointer[[]encoding]
}

// encoding is one named encoding of a delivery (see Encoded).
type encoding struct {
	name string
	data []byte
}

// ID is the event's cursor as SSE clients see it (Cursor.String).
func (d *Delivery) ID() string {
	if d.id == "" {
		return d.Cursor.String()
	}
	return d.id
}

// Encoded returns the encoding of d named name, computing it with f once for all
// subscribers. A failure is not remembered: the next subscriber tries again.
func (d *Delivery) Encoded(name string, f func() ([]byte, error)) ([]byte, error) {
	if b, ok := d.lookup(name); ok {
		return b, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.lookup(name); ok {
		return b, nil
	}
	b, err := f()
	if err != nil {
		return nil, err
	}
	var next []encoding
	if cur := d.encoded.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, encoding{name, b})
	d.encoded.Store(&next)
	return b, nil
}

// sseHead is the lines of an SSE event before its data ("id: …\nevent: name\ndata: ").
type sseHead struct {
	name string
	b    []byte
}

// sseHead returns the SSE lines of d before its data, for an event called name: made
// once and shared by every stream that sends it under that name (almost always one).
func (d *Delivery) sseHead(name string) []byte {
	if h := d.head.Load(); h != nil && h.name == name {
		return h.b
	}
	h := &sseHead{name: name, b: []byte("id: " + d.ID() + "\nevent: " + name + "\ndata: ")}
	d.head.Store(h)
	return h.b
}

func (d *Delivery) lookup(name string) ([]byte, bool) {
	if cur := d.encoded.Load(); cur != nil {
		for _, e := range *cur {
			if e.name == name {
				return e.data, true
			}
		}
	}
	return nil, false
}

// build turns records into deliveries, loading posts and, for the home streams of
// homeUsers, who follows whom.
func (h *Hub) build(ctx context.Context, recs []events.Record, homeUsers []int64) ([]*Delivery, error) {
	ds := make([]*Delivery, 0, len(recs))
	var postIDs, authors []int64
	for _, r := range recs {
		d := &Delivery{Cursor: r.Cursor, Topic: r.Topic, CommittedAt: r.CreatedAt, id: r.Cursor.String()}
		ev, err := events.Decode(r.Topic, r.Payload)
		switch {
		case errors.Is(err, events.ErrUnknownTopic):
			// A newer process's topic: no stream of this one shows it.
		case err != nil:
			h.log.Warn("live: undecodable event payload", "topic", r.Topic, "cursor", r.Cursor.String())
		default:
			d.Event = ev
		}
		switch e := ev.(type) {
		case events.PostCreated:
			d.PostID, d.AuthorID = e.PostID, e.AuthorID
			postIDs = append(postIDs, e.PostID)
			authors = append(authors, e.AuthorID)
		case events.PostUpdated:
			d.PostID, d.AuthorID = e.PostID, e.AuthorID
			postIDs = append(postIDs, e.PostID)
			authors = append(authors, e.AuthorID)
		case events.PostDeleted:
			d.PostID, d.AuthorID = e.PostID, e.AuthorID
		case events.NotificationCreated:
			d.PostID, d.RecipientID, d.NotificationID = e.PostID, e.RecipientID, e.NotificationID
		case events.ConversationUpdated:
			d.PostID, d.RecipientID, d.ConversationID = e.PostID, e.UserID, e.ConversationID
		}
		ds = append(ds, d)
	}
	if len(postIDs) == 0 {
		return ds, nil
	}
	posts, err := h.core.PostsByIDs(ctx, postIDs)
	if err != nil {
		return nil, err
	}
	followers, err := h.core.FollowersAmong(ctx, authors, homeUsers)
	if err != nil {
		return nil, err
	}
	// The tags of the listed posts, parsed once for all their deliveries.
	tagsOf := map[int64][]string{}
	var keys []string
	for id, p := range posts {
		if core.Listed(p) {
			for _, t := range p.PostTags() {
				tagsOf[id] = append(tagsOf[id], t.Key)
				keys = append(keys, t.Key)
			}
		}
	}
	tagFollowers, err := h.core.TagFollowersAmong(ctx, homeUsers, keys)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		switch d.Event.(type) {
		case events.PostCreated, events.PostUpdated:
			if p, ok := posts[d.PostID]; ok {
				d.Post = &p
				d.tags = tagsOf[d.PostID]
				for _, key := range d.tags {
					d.tagFollowers = append(d.tagFollowers, tagFollowers[key]...)
				}
			}
			d.followers = followers[d.AuthorID]
		}
	}
	return ds, nil
}

// Backlog pages through the deliveries for f after from up to and including to, in order:
// what a resuming client missed. It reads the log Options.Batch events at a time and
// yields the matching deliveries of each read before reading the next, so a stream holds
// at most one batch in memory however far behind it resumes. Stop early by breaking out
// of the loop; an error ends the sequence.
func (h *Hub) Backlog(ctx context.Context, f Filter, from, to events.Cursor) iter.Seq2[[]*Delivery, error] {
	return func(yield func([]*Delivery, error) bool) {
		var home []int64
		if f.HomeOf != 0 {
			home = []int64{f.HomeOf}
		}
		for from.Less(to) {
			recs, err := h.evs.ReadRange(ctx, from, to, h.opts.Batch)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(recs) == 0 {
				return
			}
			ds, err := h.build(ctx, recs, home)
			if err != nil {
				yield(nil, err)
				return
			}
			matching := ds[:0]
			for _, d := range ds {
				if f.Matches(d) {
					matching = append(matching, d)
				}
			}
			if !yield(matching, nil) {
				return
			}
			from = recs[len(recs)-1].Cursor
		}
	}
}

// Filter selects the events of a stream. A delivery matches when any part matches. Posts
// go only to readers who may see them (core.MaySee).
type Filter struct {
	// Public: every public post (core.Listed) created, edited or deleted.
	Public bool
	// AuthorID: posts and boosts by this user that Viewer may see.
	AuthorID int64
	// Viewer is who reads the AuthorID stream: 0 for nobody logged in.
	Viewer int64
	// HomeOf: posts and boosts by this user and by everyone they follow, that they may see.
	HomeOf int64
	// NotificationsOf: this user's notifications.
	NotificationsOf int64
	// ConversationsOf: this user's direct conversations, as each gets a new post.
	ConversationsOf int64
	// Tag: listed posts with this hashtag (its folded key, text.FoldTag).
	Tag string
}

// Matches reports whether d belongs to the stream.
func (f Filter) Matches(d *Delivery) bool {
	switch d.Topic {
	case events.TopicPostDeleted:
		// A deletion goes to every post stream: it only removes what is shown, and names
		// nothing but an id.
		return f.Public || f.AuthorID != 0 || f.HomeOf != 0 || f.Tag != ""
	case events.TopicPostCreated, events.TopicPostUpdated:
		if d.Post == nil {
			return false // deleted before it could be shown
		}
		p := *d.Post
		if f.Public && core.Listed(p) {
			return true
		}
		if f.Tag != "" && core.Listed(p) && slices.Contains(d.tags, f.Tag) {
			return true
		}
		if f.HomeOf != 0 && core.Listed(p) && slices.Contains(d.tagFollowers, f.HomeOf) {
			return true // a tag they follow
		}
		if f.AuthorID != 0 && d.AuthorID == f.AuthorID && core.MaySee(f.Viewer, p, d.followers[f.Viewer]) {
			return true
		}
		if f.HomeOf != 0 && (d.AuthorID == f.HomeOf || d.followers[f.HomeOf]) && core.MaySee(f.HomeOf, p, d.followers[f.HomeOf]) {
			return true
		}
	case events.TopicNotificationCreated:
		return f.NotificationsOf != 0 && d.RecipientID == f.NotificationsOf
	case events.TopicConversationUpdated:
		return f.ConversationsOf != 0 && d.RecipientID == f.ConversationsOf
	}
	return false
}

// Subscription is one live client of the hub.
type Subscription struct {
	hub    *Hub
	filter Filter
	// queue holds the deliveries not taken yet, from head on (an idle subscription keeps
	// at most a few empty slots, not a buffer of Options.Buffer); ready, made for the
	// first consumer that asks, has a value after some were queued. qmu guards the three.
	qmu    sync.Mutex
	queue  []*Delivery
	head   int
	ready  chan struct{}
	cut    chan struct{}
	isCut  bool
	reason string
	// wake, when set (under the hub's lock), is called after deliveries are queued and
	// when the subscription is cut off: a detached stream has no goroutine waiting on C.
	wake func()
}

// setWake sets the subscription's wake function.
func (s *Subscription) setWake(fn func()) {
	s.hub.mu.Lock()
	s.wake = fn
	s.hub.mu.Unlock()
}

// Subscribe registers a subscriber for f. It returns the subscription and the hub's head
// at that moment: the subscription receives every matching event after that cursor.
func (h *Hub) Subscribe(ctx context.Context, f Filter) (*Subscription, events.Cursor, error) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, events.Cursor{}, ctx.Err()
	}
	s := &Subscription{hub: h, filter: f, cut: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, events.Cursor{}, ErrShuttingDown
	}
	h.subs[s] = struct{}{}
	return s, h.head, nil
}

// offer queues d, unless limit deliveries are waiting already (false: the subscriber
// does not keep up).
func (s *Subscription) offer(d *Delivery, limit int) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if len(s.queue)-s.head >= limit {
		return false
	}
	s.queue = append(s.queue, d)
	if s.ready != nil {
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// Next takes the oldest delivery waiting, in cursor order; nil when none is.
func (s *Subscription) Next() *Delivery {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.head == len(s.queue) {
		return nil
	}
	d := s.queue[s.head]
	s.queue[s.head] = nil
	s.head++
	if s.head == len(s.queue) {
		// Drained: the slots are reused, unless a backlog made them many.
		s.queue, s.head = s.queue[:0], 0
		if cap(s.queue) > 8 {
			s.queue = nil
		}
	}
	return d
}

// Waiting reports how many deliveries are queued.
func (s *Subscription) Waiting() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return len(s.queue) - s.head
}

// Ready has a value after deliveries were queued: a consumer that waits in a select
// takes them with Next (the value may be stale: Next then returns nil).
func (s *Subscription) Ready() <-chan struct{} {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.ready == nil {
		s.ready = make(chan struct{}, 1)
		if len(s.queue) > s.head {
			s.ready <- struct{}{}
		}
	}
	return s.ready
}

// Cut is closed when the hub cut the subscriber off: for not keeping up, or because the
// process is shutting down. Reason says which.
func (s *Subscription) Cut() <-chan struct{} { return s.cut }

// Reason is the SSE event that tells a cut-off client what to do: "resume" (reconnect
// with Last-Event-ID, you fell behind) or "reconnect" (this process is going away). Read
// it only after Cut is closed.
func (s *Subscription) Reason() string { return s.reason }

// ErrShuttingDown is returned by Subscribe after Shutdown.
var ErrShuttingDown = errors.New("live: shutting down")

// Shutdown cuts every subscriber off with a "reconnect" event and refuses new ones.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.cutLocked(s, "reconnect")
	}
}

func (s *Subscription) dropped() bool { return s.isCut }

// Close unsubscribes.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	delete(s.hub.subs, s)
}

func (h *Hub) dropLocked(s *Subscription) {
	if !s.isCut {
		h.Dropped.Add(1)
	}
	h.cutLocked(s, "resume")
}

func (h *Hub) cutLocked(s *Subscription, reason string) {
	if s.isCut {
		return
	}
	s.isCut = true
	s.reason = reason
	close(s.cut)
	delete(h.subs, s)
	if s.wake != nil {
		s.wake()
	}
}

func (h *Hub) closeAll() { h.Shutdown() }

// Kind names the kind of stream a filter describes, for metrics: public, hashtag, home,
// user or notifications.
func (f Filter) Kind() string {
	switch {
	case f.Public:
		return "public"
	case f.Tag != "":
		return "hashtag"
	case f.HomeOf != 0:
		return "home"
	case f.AuthorID != 0:
		return "user"
	}
	return "notifications"
}

// SubscribersByKind counts subscribers by Filter.Kind.
func (h *Hub) SubscribersByKind() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for s := range h.subs {
		out[s.filter.Kind()]++
	}
	return out
}

// Subscribers returns how many clients are subscribed.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
