package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
)

func (s *Server) notifications(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	np, err := s.core.Notifications(r.Context(), currentUser(r).ID, p)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := view{Title: "Notifications", Notifications: np}
	if np.Next != 0 {
		v.Next = fmt.Sprintf("/notifications?before=%d", np.Next)
	}
	s.render(w, r, http.StatusOK, "notifications", v)
}

func (s *Server) notificationsRead(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	upTo, _ := strconv.ParseInt(r.PostForm.Get("up_to"), 10, 64)
	if err := s.core.MarkNotificationsRead(r.Context(), currentUser(r).ID, upTo); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}

func (s *Server) settingsForm(w http.ResponseWriter, r *http.Request) {
	s.renderSettings(w, r, http.StatusOK, newForm())
}

// renderSettings renders the settings page with f, whose missing profile values are the
// account's own: the one builder of that page.
func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, f form) {
	u := currentUser(r)
	if _, ok := f.Values["display_name"]; !ok {
		f.Values["display_name"] = u.DisplayName
		f.Values["bio"] = u.Bio
		if u.EmailMentions {
			f.Values["email_mentions"] = "on"
		}
	}
	v := view{Title: "Settings", Form: f}
	if s.oauth != nil {
		toks, err := s.oauth.TokensOf(r.Context(), u.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Tokens = toks
	}
	s.render(w, r, status, "settings", v)
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := newForm()
	for _, k := range []string{"display_name", "bio", "email_mentions"} {
		f.Values[k] = r.PostForm.Get(k)
	}
	err := s.core.UpdateSettings(r.Context(), currentUser(r).ID, core.Settings{
		DisplayName: f.Values["display_name"], Bio: f.Values["bio"], EmailMentions: f.Values["email_mentions"] == "on",
	})
	var verr *core.ValidationError
	if errors.As(err, &verr) {
		f.Errors = verr.Fields
		s.renderSettings(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Settings saved.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// statsDays is how many finished days /stats shows.
const statsDays = 30

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rows, err := s.core.RecentDailyStats(r.Context(), now, statsDays)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "stats", view{Title: "Statistics", Stats: rows, Chart: statsChart(rows, now)})
}

// statsChart draws posts per day (bars) and active authors (line) for the last 30
// finished days as an inline SVG. Every value in it is a number or a date the program
// formats itself.
func statsChart(rows []core.DailyStat, now time.Time) template.HTML {
	const w, h, left, bottom, top = 600, 220, 36, 24, 10
	byDay := map[string]core.DailyStat{}
	var max int64 = 1
	for _, r := range rows {
		byDay[r.Day.Format("2006-01-02")] = r
		max = maxInt(max, r.Posts, r.ActiveAuthors)
	}
	first := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -statsDays)
	slot := float64(w-left) / statsDays
	y := func(v int64) float64 { return float64(h-bottom) - float64(v)/float64(max)*float64(h-bottom-top) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="Posts and active authors per day, last %d days">`, w, h, statsDays)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%d</text>`, left-4, y(max)+4, max)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">0</text>`, left-4, h-bottom+4)
	var line []string
	for i := range statsDays {
		day := first.AddDate(0, 0, i)
		r := byDay[day.Format("2006-01-02")]
		x := float64(left) + float64(i)*slot
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d posts, %d active authors</title></rect>`,
			x+1, y(r.Posts), slot-2, float64(h-bottom)-y(r.Posts), day.Format("Jan 2"), r.Posts, r.ActiveAuthors)
		line = append(line, fmt.Sprintf("%.1f,%.1f", x+slot/2, y(r.ActiveAuthors)))
		if i%7 == 0 {
			fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d">%s</text>`, x, h-6, day.Format("Jan 2"))
		}
	}
	fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(line, " "))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // only numbers and formatted dates
}

func maxInt(a int64, rest ...int64) int64 {
	for _, v := range rest {
		if v > a {
			a = v
		}
	}
	return a
}

// requireAdmin lets only admins through; everyone else gets 403.
func (s *Server) requireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := currentUser(r)
		if u == nil || !u.IsAdmin {
			s.clientError(w, r, http.StatusForbidden, "Administrators only",
				"This page is for administrators. Log in with an administrator account.")
			return
		}
		h.ServeHTTP(w, r)
	})
}
