package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/httpx"
)

func TestStreamRoute(t *testing.T) {
	t.Parallel()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := mux.NewRouter()
	r.Handle("/streaming/user", httpx.Stream(noop)).Methods(http.MethodGet)
	r.Handle("/streaming/health", noop).Methods(http.MethodGet)
	r.Handle("/streaming/{name}", noop).Methods(http.MethodGet)
	r.Handle("/any", httpx.Stream(noop)) // every method
	for target, want := range map[string]bool{
		"GET /streaming/user":   true,
		"POST /streaming/user":  false, // the stream is a GET only
		"GET /streaming/health": false, // under the same prefix, but no stream
		"GET /streaming/other":  false,
		"GET /nowhere":          false,
		"GET /any":              true,
		"POST /any":             false, // a stream is a GET, whatever its route allows
	} {
		method, path, _ := strings.Cut(target, " ")
		require.Equal(t, want, httpx.StreamRoute(r, httptest.NewRequest(method, path, nil)), target)
	}
}
