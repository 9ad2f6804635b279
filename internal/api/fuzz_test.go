package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParams: any body with any content type is either read or refused with an error;
// nothing panics, and whatever is read passes the bounds.
func FuzzParams(f *testing.F) {
	f.Add("application/json", `{"status":"hi","media_ids":[1,2],"x":null}`)
	f.Add("application/x-www-form-urlencoded", "status=hi&redirect_uris[]=a&redirect_uris[]=b")
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nhi\r\n--X--\r\n")
	f.Add("application/json", `[1,2,3]`)
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/statuses?x=1", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		v, err := readFields(r)
		if err == nil && v == nil {
			t.Fatal("no error and no values")
		}
		if err == nil {
			n := 0
			if checkJSON(v.m, 0, &n) != nil && ct == "application/json" {
				t.Fatalf("a body over the bounds was read: %q", body)
			}
			v.check() // reading nothing: every field is unknown, and that must not panic
		}
	})
}

// FuzzPageParams: any query either gives a page or a 400, never a panic or a negative
// bound.
func FuzzPageParams(f *testing.F) {
	f.Add("max_id=10&limit=5")
	f.Add("min_id=3&since_id=2")
	f.Add("limit=-1")
	f.Add("max_id=99999999999999999999")
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/timelines/public", nil)
		r.URL.RawQuery = q
		rec := httptest.NewRecorder()
		p, ok := pageParams(rec, r)
		if !ok {
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("refused with %d", rec.Code)
			}
			return
		}
		if p.Before < 0 || p.After < 0 || p.Limit < 0 || p.Limit > 40 {
			t.Fatalf("bad page %+v from %q", p, q)
		}
	})
}
