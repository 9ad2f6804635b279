package soak

import (
	"reflect"
	"strings"
	"testing"
)

// TestFailuresNameEveryLoss: a clean report passes, and each loss figure on its own makes
// the run fail and is named, so no check of the soak can be silently ignored.
func TestFailuresNameEveryLoss(t *testing.T) {
	clean := Report{Faults: map[string]int{KillWorker: 3}, PostsAcked: 100, Retries: 7, EmailsUnrecorded: 1,
		StreamConnects: 40, StreamEvents: 900}
	if f := clean.Failures(); len(f) != 0 {
		t.Fatalf("a clean report failed: %v", f)
	}
	losses := map[string]func(*Report){
		"acknowledged posts missing":         func(r *Report) { r.PostsMissing = 1 },
		"acknowledged deletions not applied": func(r *Report) { r.DeletesMissing = 1 },
		"duplicate posts":                    func(r *Report) { r.Duplicates = 1 },
		"writes rejected":                    func(r *Report) { r.Rejected = []string{"post x: HTTP 422"} },
		"mention mismatches":                 func(r *Report) { r.MentionMismatches = 1 },
		"notification mismatches":            func(r *Report) { r.NotificationMismatches = 1 },
		"email mismatches":                   func(r *Report) { r.EmailMismatches = 1 },
		"counter mismatches":                 func(r *Report) { r.CounterMismatches = 1 },
		"jobs discarded":                     func(r *Report) { r.JobsFailed = 1 },
		"stream events missing":              func(r *Report) { r.StreamMissing = 1 },
		"stream events duplicated":           func(r *Report) { r.StreamDuplicates = 1 },
		"out of order":                       func(r *Report) { r.StreamOutOfOrder = 1 },
		"stream resets":                      func(r *Report) { r.StreamResets = 1 },
		"unexpected process exits":           func(r *Report) { r.UnexpectedExits = 1 },
		"panics":                             func(r *Report) { r.Panics = 1 },
	}
	for want, set := range losses {
		r := clean
		set(&r)
		f := r.Failures()
		if len(f) != 1 || !strings.Contains(f[0], want) {
			t.Errorf("%s: got failures %v", want, f)
		}
	}
	// Every int field of Report that names a loss is covered above: a new loss figure
	// must be added to Failures and to this test.
	informational := map[string]bool{"ProcessStarts": true, "PostsAcked": true, "DeletesAcked": true, "Retries": true,
		"LivePosts": true, "Mentions": true, "EmailsSent": true, "EmailsUnrecorded": true, "StreamClients": true,
		"StreamConnects": true, "StreamEvents": true}
	rt := reflect.TypeOf(Report{})
	intFields := 0
	for i := range rt.NumField() {
		if f := rt.Field(i); f.Type.Kind() == reflect.Int && !informational[f.Name] {
			intFields++
		}
	}
	if intFields != len(losses)-1 { // Rejected is a slice
		t.Fatalf("Report has %d loss figures, the test knows %d", intFields, len(losses)-1)
	}
}
