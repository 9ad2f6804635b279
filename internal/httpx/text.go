package httpx

import (
	"strconv"

	"github.com/starling-social/starling/internal/text"
)

// BadText names the part of r's address that is not text.Storable — "the path", or "the
// query parameter \"q\"" — or returns "" when the path and every query name and value
// are text. Handlers put these values in queries and pages, and Postgres refuses a NUL or
// invalid UTF-8 with an error, so a request carrying one is refused (400) before any
// handler runs. Bodies are checked where they are parsed.
func BadText(path string, query map[string][]string) string {
	if !text.Storable(path) {
		return "the path"
	}
	for k, vs := range query {
		if !text.Storable(k) {
			return "a query parameter name"
		}
		for _, v := range vs {
			if !text.Storable(v) {
				return "the query parameter " + strconv.Quote(k)
			}
		}
	}
	return ""
}
