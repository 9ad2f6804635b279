package api_test

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
)

// documented reads "METHOD path" for every operation under paths: in docs/openapi.yaml.
func documented(t *testing.T) []string {
	root, err := pgtest.RepoRoot()
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(root, "docs", "openapi.yaml"))
	require.NoError(t, err)
	defer f.Close()
	var out []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case !inPaths:
		case strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && strings.HasSuffix(line, ":"):
			out = append(out, strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(line), ":"))+" "+path)
		}
	}
	require.NoError(t, sc.Err())
	sort.Strings(out)
	return out
}

// TestOpenAPICoversEveryRoute fails when a route exists in the API router but not in
// docs/openapi.yaml, or the reverse.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	routes := routeTable(t)
	require.NotEmpty(t, routes)
	require.Equal(t, routes, documented(t))
}
