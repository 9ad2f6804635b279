package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/config"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/store"
)

// Example_writeAPost: an app posts through the API with a token; the post and its event
// commit together, and anyone reading the public timeline sees it at once.
func Example_writeAPost() {
	s := start()
	defer s.stop()
	alice := s.account("alice")
	token := s.token(alice, "write")

	status, body := s.request(http.MethodPost, "/api/v1/statuses", token, url.Values{"status": {"Standup moved to 10:00"}})
	var posted struct{ ID, Content string }
	must(json.Unmarshal([]byte(body), &posted))
	fmt.Println("POST /api/v1/statuses:", status, posted.Content)

	var events int
	must(s.pool.QueryRow(context.Background(),
		"SELECT count(*) FROM events WHERE topic = 'post.created' AND (payload->>'post_id')::bigint = $1", posted.ID).Scan(&events))
	fmt.Println("post.created events:", events)

	_, body = s.request(http.MethodGet, "/api/v1/timelines/public", "", nil)
	var timeline []struct {
		Content string
		Account struct{ Acct string }
	}
	must(json.Unmarshal([]byte(body), &timeline))
	fmt.Println("public timeline:", timeline[0].Account.Acct, timeline[0].Content)
	// Output:
	// POST /api/v1/statuses: 200 <p>Standup moved to 10:00</p>
	// post.created events: 1
	// public timeline: alice <p>Standup moved to 10:00</p>
}

// Example_consumeEffects: a post that mentions someone is one write; the workers apply its
// effects from the pipeline, exactly once — the mention becomes a notification, the
// author's post count goes up, and the mentioned person gets one email.
func Example_consumeEffects() {
	s := start()
	defer s.stop()
	ctx := context.Background()
	alice, bob := s.account("alice"), s.account("bob")

	_, _, err := s.app.Core.Publish(ctx, alice, core.NewPost{Body: "@bob lunch at noon?"})
	must(err)

	page := eventually(func() (core.NotificationPage, bool) {
		p, err := s.app.Core.Notifications(ctx, bob.ID, core.Page{})
		must(err)
		return p, len(p.Items) > 0
	})
	n := page.Items[0]
	fmt.Printf("bob's notification: %s from %s: %q\n", n.Kind, n.Actor.Username, n.Post.Body)

	counts := eventually(func() (core.AccountCounts, bool) {
		c, err := s.app.Core.CountsOf(ctx, []int64{alice.ID})
		must(err)
		return c[alice.ID], c[alice.ID].Posts == 1
	})
	fmt.Println("alice's posts:", counts.Posts)

	sent := eventually(func() ([]mail.Message, bool) {
		m := s.mail.messages()
		return m, len(m) > 0
	})
	for _, m := range sent {
		fmt.Println("email to", m.To)
	}
	// Output:
	// bob's notification: mention from alice: "@bob lunch at noon?"
	// alice's posts: 1
	// email to bob@example.com
}

// Example_followLive: a client holding the public stream open gets each new post as an
// "update" event as soon as it commits, with the event's position as its id, so that a
// reconnecting client resumes after the last one it saw.
func Example_followLive() {
	s := start()
	defer s.stop()
	alice := s.account("alice")

	res, err := http.Get(s.base + "/api/v1/streaming/public")
	must(err)
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	next := func(prefix string) string {
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return v
			}
		}
		panic(fmt.Sprintf("stream ended before %q: %v", prefix, lines.Err()))
	}
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))

	go func() {
		// The stream is open once its headers are answered; the post comes after.
		_, _, err := s.app.Core.Publish(context.Background(), alice, core.NewPost{Body: "deploy is green"})
		must(err)
	}()
	id := next("id: ")
	event := next("event: ")
	var update struct{ Content string }
	must(json.Unmarshal([]byte(next("data: ")), &update))
	fmt.Println("event:", event, update.Content, "(with an id:", id != "", ")")
	// Output:
	// 200 text/event-stream
	// event: update <p>deploy is green</p> (with an id: true )
}

// site is one Starling process built by app.Build, as the binary builds it, serving on a
// local address with a database of its own.
type site struct {
	app  *app.App
	pool *pgxpool.Pool
	base string
	mail *outbox
	stop func()
}

// start builds a process of role all on a fresh database: cheap password hashes, mention
// emails without delay, mail kept in memory.
func start() *site {
	ctx := context.Background()
	dsn, drop, err := pgtest.Open(ctx)
	must(err)
	pool, err := store.Open(ctx, dsn, 10)
	must(err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	base := "http://" + ln.Addr().String()
	box := &outbox{}
	a, err := app.Build(ctx, pool, dsn, app.Options{
		Config: config.Config{
			BaseURL: base, SignupsOpen: true, DBMaxConns: 10, SessionLifetime: time.Hour,
			PasswordMemoryKiB: 1024, PasswordIterations: 1, NotifyWindow: 2 * time.Millisecond,
		},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mail:    box,
		HubPoll: 200 * time.Millisecond,
	})
	must(err)
	srv := httptest.NewUnstartedServer(a.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return &site{app: a, pool: pool, base: base, mail: box, stop: func() {
		a.Drain()
		srv.CloseClientConnections()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
		pool.Close()
		must(drop())
	}}
}

// account creates a person's account, as `starling user create` does.
func (s *site) account(name string) core.User {
	u, err := s.app.Core.CreateUser(context.Background(), core.SignUpInput{
		Username: name, Email: name + "@example.com", Password: "correct horse battery",
	})
	must(err)
	return u
}

// token is a personal access token of u with scopes, as the settings page makes one.
func (s *site) token(u core.User, scopes string) string {
	tok, err := s.app.OAuth.CreatePersonalToken(context.Background(), u.ID, "example", scopes)
	must(err)
	return tok.AccessToken
}

// request sends a form (or nothing) with an optional bearer token and returns the
// status and body.
func (s *site) request(method, path, token string, form url.Values) (int, string) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.base+path, body)
	must(err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	must(err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(err)
	return res.StatusCode, string(b)
}

// outbox is a mail.Sender that keeps what it is given.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (o *outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) messages() []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]mail.Message(nil), o.sent...)
}

// eventually calls check until it reports done, for effects the workers apply after the
// write has committed; it gives up after 20 seconds.
func eventually[T any](check func() (T, bool)) T {
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, done := check()
		if done || time.Now().After(deadline) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
