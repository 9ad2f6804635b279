package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
)

// statsDays is how many finished days /stats shows.
const statsDays = 30

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rows, err := s.core.RecentDailyStats(r.Context(), now, statsDays)
	if err != nil {
		s.answerError(w, r, err)
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
