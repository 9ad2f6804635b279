package api_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/pgtest"
)

// compatRow is one method group of docs/compatibility.md.
type compatRow struct {
	group, status string
	routes        []string // "METHOD /path"
}

var compatParamRe = regexp.MustCompile(`\{[a-z_]+\}`)

var compatRouteRe = regexp.MustCompile("`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`")

// compatibilityRows reads the tables of docs/compatibility.md: | group | status | routes | …
func compatibilityRows(t *testing.T) []compatRow {
	root, err := pgtest.RepoRoot()
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(root, "docs", "compatibility.md"))
	require.NoError(t, err)
	defer f.Close()
	var rows []compatRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(sc.Text()), "|") {
			continue
		}
		status := strings.Trim(strings.TrimSpace(cells[2]), "*")
		switch status {
		case "implemented", "empty", "refused":
		default:
			continue // the header, the separator, the legend
		}
		row := compatRow{group: strings.TrimSpace(cells[1]), status: status}
		for _, m := range compatRouteRe.FindAllStringSubmatch(cells[3], -1) {
			row.routes = append(row.routes, m[1]+" "+m[2])
		}
		require.NotEmpty(t, row.routes, "group %q lists no routes", row.group)
		rows = append(rows, row)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, rows)
	return rows
}

func routeTable(t *testing.T) []string {
	s := api.New(api.Options{BaseURL: "http://localhost:8080"})
	var routes []string
	require.NoError(t, s.Router().Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := r.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := r.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			routes = append(routes, m+" "+tpl)
		}
		return nil
	}))
	sort.Strings(routes)
	return routes
}

// TestCompatibilityDocMatchesRoutes keeps docs/compatibility.md true: every route of the
// API is in a group marked implemented or empty, every route of such a group exists, and
// every route of a group marked refused is really absent and answers 404 (405 where the
// path has other methods) with Mastodon's error entity; every empty GET route answers an empty collection to a signed-in user.
func TestCompatibilityDocMatchesRoutes(t *testing.T) {
	t.Parallel()
	rows := compatibilityRows(t)
	routes := routeTable(t)
	listed := map[string]string{}
	for _, row := range rows {
		for _, rt := range row.routes {
			prev, dup := listed[rt]
			require.False(t, dup, "%s is listed twice (%s, %s)", rt, prev, row.group)
			listed[rt] = row.status
		}
	}
	for _, rt := range routes {
		st, ok := listed[rt]
		require.True(t, ok, "route %s is not in docs/compatibility.md", rt)
		require.NotEqual(t, "refused", st, "route %s exists but is listed as refused", rt)
	}
	exists := map[string]bool{}
	for _, rt := range routes {
		exists[rt] = true
	}
	s := newServer(t)
	u := s.user("alice")
	tok := s.personalToken(u, "read write follow push")
	for _, row := range rows {
		for _, rt := range row.routes {
			method, path, _ := strings.Cut(rt, " ")
			if row.status == "refused" {
				require.False(t, exists[rt], "%s is listed as refused but is routed", rt)
				code, out := s.raw(method, compatParamRe.ReplaceAllString(path, "1"), tok, "", nil)
				require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, code, "%s (%s)", rt, row.group)
				require.NotEmpty(t, out["error"], rt)
				continue
			}
			require.True(t, exists[rt], "%s is listed as %s but is not routed", rt, row.status)
			if row.status == "empty" && method == http.MethodGet {
				p := strings.ReplaceAll(path, "{id}", fmt.Sprint(u.ID))
				code, body, _ := s.call(method, p, tok, nil)
				require.Equal(t, http.StatusOK, code, "%s: %s", rt, body)
				require.Contains(t, []string{"[]", "{}"}, strings.TrimSpace(body), rt)
			}
		}
	}
}
