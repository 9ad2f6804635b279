package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/starling-social/starling/internal/text"
)

// FuzzFieldsAreText: whatever a form, multipart or JSON body holds, a value the fields
// reader hands a handler is text Postgres can store (text.Storable); anything else is a
// problem named by its field.
func FuzzFieldsAreText(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "status=a%00b&x=%ff&y[]=%c0%80")
	f.Add("application/json", `{"status":"a\u0000b","x":["\u0000"],"y":"\xff"}`)
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\n\xff\xfe\r\n--X--\r\n")
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/statuses", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		v, err := readFields(r)
		if err != nil {
			return
		}
		for k := range v.m {
			if s := v.String(k); !text.Storable(s) {
				t.Fatalf("String(%q) handed over %q", k, s)
			}
			for _, s := range v.Strings(k, maxListItems) {
				if !text.Storable(s) {
					t.Fatalf("Strings(%q) handed over %q", k, s)
				}
			}
		}
	})
}
