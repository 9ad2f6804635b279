package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/text"
)

// Request bounds: any body past them is refused before a handler sees it.
const (
	// maxFieldCount bounds the fields of one request, nested ones included.
	maxFieldCount = 200
	// maxListItems bounds any one list (media_ids[], poll[options][] …).
	maxListItems = 100
	// maxDepth bounds the nesting of objects and lists (poll[options][] is depth 2).
	maxDepth = 3
)

// fields are a request's parameters, read the same way from a form, a multipart or a JSON
// body (plus the query string): a tree whose leaves are strings (forms) or JSON values,
// where a form's "poll[options][]" and JSON's {"poll":{"options":[…]}} are the same field.
//
// Handlers read each field they honour through the typed getters, which record that it
// was read and any problem with its value; check then refuses the request (422, every
// field named) when a value was wrong or a field was sent that nobody read. So no field
// is ever dropped without a word.
type fields struct {
	prefix string
	m      map[string]any // string, []any, map[string]any, json.Number, bool or nil
	read   map[string]bool
	errs   *fieldErrors
	// children are the objects read through Object, checked with their parent.
	children []*fields
}

// fieldErrors are the problems found while reading, by field name (shared by a tree).
type fieldErrors map[string]string

// errBadBody is readFields' error for a body that is not what its Content-Type says, or
// breaks the bounds above (400).
type errBadBody struct{ msg string }

func (e *errBadBody) Error() string { return e.msg }

// readFields reads r's query string and body into fields. An unreadable body, or one over
// the bounds, is an *errBadBody (or errBodyTooLarge).
func readFields(r *http.Request) (*fields, error) {
	root := map[string]any{}
	n := 0
	add := func(key string, vals []string) error {
		for _, v := range vals {
			if n++; n > maxFieldCount {
				return &errBadBody{fmt.Sprintf("the request has more than %d fields", maxFieldCount)}
			}
			if err := setFormKey(root, key, v); err != nil {
				return err
			}
		}
		return nil
	}
	for k, vals := range r.URL.Query() {
		switch k {
		case "access_token": // a credential, read by authentication
			continue
		case "lang": // the caller's interface language (Mastodon.py sends it always); messages here are English
			continue
		}
		if err := add(k, vals); err != nil {
			return nil, err
		}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, bodyError(err, "the request body cannot be read")
		}
		if len(bytes.TrimSpace(body)) == 0 {
			break
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, &errBadBody{"the request body is not a JSON object"}
		}
		if dec.More() {
			return nil, &errBadBody{"the request body has data after its JSON object"}
		}
		count := 0
		if err := checkJSON(obj, 0, &count); err != nil {
			return nil, err
		}
		for k, v := range obj {
			if v == nil {
				continue // null is the same as absent
			}
			root[strings.TrimSuffix(k, "[]")] = v
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(MaxBodyBytes); err != nil {
			return nil, bodyError(err, "the multipart body cannot be read")
		}
		for k, vals := range r.MultipartForm.Value {
			if err := add(k, vals); err != nil {
				return nil, err
			}
		}
		for k := range r.MultipartForm.File {
			if err := add(k, []string{"(file)"}); err != nil { // files are refused as unknown fields until an endpoint reads them
				return nil, err
			}
		}
	default:
		if r.Body != nil && r.Body != http.NoBody {
			if err := r.ParseForm(); err != nil {
				return nil, bodyError(err, "the form body cannot be read")
			}
			for k, vals := range r.PostForm {
				if err := add(k, vals); err != nil {
					return nil, err
				}
			}
		}
	}
	return &fields{m: root, read: map[string]bool{}, errs: &fieldErrors{}}, nil
}

// checkJSON enforces the bounds on a decoded JSON body.
func checkJSON(v any, depth int, count *int) error {
	switch x := v.(type) {
	case map[string]any:
		if depth >= maxDepth {
			return &errBadBody{"the request body is nested too deeply"}
		}
		for k, e := range x {
			if *count++; *count > maxFieldCount {
				return &errBadBody{fmt.Sprintf("the request has more than %d fields", maxFieldCount)}
			}
			if strings.ContainsRune(k, 0) {
				return &errBadBody{"a field name contains a NUL character"}
			}
			if err := checkJSON(e, depth+1, count); err != nil {
				return err
			}
		}
	case []any:
		if depth >= maxDepth {
			return &errBadBody{"the request body is nested too deeply"}
		}
		if len(x) > maxListItems {
			return &errBadBody{fmt.Sprintf("a list in the request has more than %d items", maxListItems)}
		}
		for _, e := range x {
			if *count++; *count > maxFieldCount {
				return &errBadBody{fmt.Sprintf("the request has more than %d fields", maxFieldCount)}
			}
			if err := checkJSON(e, depth+1, count); err != nil {
				return err
			}
		}
	}
	return nil
}

// setFormKey stores one form value under its bracketed key ("poll[options][]") in root.
func setFormKey(root map[string]any, key, val string) error {
	base, rest, _ := strings.Cut(key, "[")
	var path []string
	if base == "" {
		return &errBadBody{fmt.Sprintf("the field name %q is malformed", key)}
	}
	path = append(path, base)
	if rest != "" {
		rest = "[" + rest
		for rest != "" {
			if rest[0] != '[' {
				return &errBadBody{fmt.Sprintf("the field name %q is malformed", key)}
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return &errBadBody{fmt.Sprintf("the field name %q is malformed", key)}
			}
			path = append(path, rest[1:end])
			rest = rest[end+1:]
		}
	}
	if len(path) > maxDepth+1 {
		return &errBadBody{"the request body is nested too deeply"}
	}
	node := root
	for i, seg := range path {
		last := i == len(path)-1
		nextIsList := !last && path[i+1] == "" && i+1 == len(path)-1
		switch {
		case seg == "":
			return &errBadBody{fmt.Sprintf("the field name %q is malformed", key)}
		case last:
			if prev, ok := node[seg].(string); ok && prev != val {
				node[seg] = []any{prev, val} // a plain repeated key is a list too
			} else if l, ok := node[seg].([]any); ok {
				node[seg] = append(l, val)
			} else {
				node[seg] = val
			}
			return checkListLen(node[seg])
		case nextIsList:
			l, _ := node[seg].([]any)
			if s, ok := node[seg].(string); ok {
				l = []any{s}
			}
			node[seg] = append(l, val)
			return checkListLen(node[seg])
		default:
			child, ok := node[seg].(map[string]any)
			if !ok {
				child = map[string]any{}
				node[seg] = child
			}
			node = child
		}
	}
	return nil
}

func checkListLen(v any) error {
	if l, ok := v.([]any); ok && len(l) > maxListItems {
		return &errBadBody{fmt.Sprintf("a list in the request has more than %d items", maxListItems)}
	}
	return nil
}

// name is the field's full name as a form would write it: "poll[expires_in]".
func (f *fields) name(k string) string {
	if f.prefix == "" {
		return k
	}
	return f.prefix + "[" + k + "]"
}

func (f *fields) fail(k, msg string) {
	if _, dup := (*f.errs)[f.name(k)]; !dup {
		(*f.errs)[f.name(k)] = msg
	}
}

// take marks k read and returns its value; absent and null give ok=false.
func (f *fields) take(k string) (any, bool) {
	f.read[k] = true
	v, ok := f.m[k]
	return v, ok && v != nil
}

// Has reports whether k was sent (with a value other than null).
func (f *fields) Has(k string) bool {
	v, ok := f.m[k]
	return ok && v != nil
}

// String returns the text field k, "" when absent. A non-text value, or one that is not
// text.Storable (a NUL character, bytes that are not UTF-8), is a problem.
func (f *fields) String(k string) string {
	v, ok := f.take(k)
	if !ok {
		return ""
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	default:
		f.fail(k, "must be a string")
		return ""
	}
	if !text.Storable(s) {
		f.fail(k, text.NotStorable)
		return ""
	}
	return s
}

// Bool returns the boolean field k (JSON true/false, or a form's true/t/1/on/yes or
// false/f/0/off/no, in any case),
// false when absent.
func (f *fields) Bool(k string) bool {
	v, ok := f.take(k)
	if !ok {
		return false
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "1", "on", "yes": // as Rails reads them (go-mastodon sends "t")
			return true
		case "false", "f", "0", "off", "no", "":
			return false
		}
	}
	f.fail(k, "must be true or false")
	return false
}

// Int returns the integer field k (a JSON number or a decimal string), 0 when absent.
func (f *fields) Int(k string) int64 {
	v, ok := f.take(k)
	if !ok {
		return 0
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		f.fail(k, "must be a number")
		return 0
	}
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f.fail(k, "must be a whole number")
		return 0
	}
	return n
}

// ID returns the id field k (a string or number of digits, as Mastodon ids are), 0 when
// absent or empty.
func (f *fields) ID(k string) int64 {
	n := f.Int(k)
	if n < 0 {
		f.fail(k, "must be an id")
		return 0
	}
	return n
}

// Time returns the timestamp field k (RFC 3339, as Mastodon takes it), nil when absent
// or empty.
func (f *fields) Time(k string) *time.Time {
	s := f.String(k)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		f.fail(k, "must be a date and time like 2026-01-02T15:04:05Z")
		return nil
	}
	return &t
}

// Strings returns the list field k ("k[]" in a form, an array in JSON; a single value
// counts as a list of one), at most max items.
func (f *fields) Strings(k string, max int) []string {
	v, ok := f.take(k)
	if !ok {
		return nil
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case string, json.Number:
		items = []any{x}
	default:
		f.fail(k, "must be a list")
		return nil
	}
	if len(items) > max {
		f.fail(k, fmt.Sprintf("must have at most %d items", max))
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		switch x := it.(type) {
		case string:
			if !text.Storable(x) {
				f.fail(k, text.NotStorable)
				return nil
			}
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		default:
			f.fail(k, "must be a list of strings")
			return nil
		}
	}
	return out
}

// IDs returns the list of ids k, at most max of them.
func (f *fields) IDs(k string, max int) []int64 {
	ss := f.Strings(k, max)
	out := make([]int64, 0, len(ss))
	for _, s := range ss {
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.fail(k, "must be a list of ids")
			return nil
		}
		out = append(out, n)
	}
	return out
}

// Len returns the number of items of the list field k (of any kind of item), 0 when
// absent; a non-list value counts as one.
func (f *fields) Len(k string) int {
	v, ok := f.take(k)
	if !ok {
		return 0
	}
	if l, isList := v.([]any); isList {
		return len(l)
	}
	return 1
}

// Object returns the nested fields of object k ("k[x]" in a form), nil when absent.
func (f *fields) Object(k string) *fields {
	v, ok := f.take(k)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		f.fail(k, "must be an object")
		return nil
	}
	child := &fields{prefix: f.name(k), m: map[string]any{}, read: map[string]bool{}, errs: f.errs}
	for ck, cv := range m {
		if cv != nil {
			child.m[strings.TrimSuffix(ck, "[]")] = cv
		}
	}
	f.children = append(f.children, child)
	return child
}

// Objects returns the items of field k, a list of objects: a JSON array of objects, or a
// form's indexed objects (k[0][x], k[1][x] …, in index order). Nil when absent; more than
// max items, or an item that is not an object, is a problem.
func (f *fields) Objects(k string, max int) []*fields {
	v, ok := f.take(k)
	if !ok {
		return nil
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case map[string]any: // k[0][x]=…: keys are indexes
		keys := make([]int, 0, len(x))
		for ik := range x {
			n, err := strconv.Atoi(ik)
			if err != nil || n < 0 {
				f.fail(k, "must be a list of objects")
				return nil
			}
			keys = append(keys, n)
		}
		slices.Sort(keys)
		for _, n := range keys {
			items = append(items, x[strconv.Itoa(n)])
		}
	default:
		f.fail(k, "must be a list of objects")
		return nil
	}
	if len(items) > max {
		f.fail(k, fmt.Sprintf("can have at most %d items", max))
		return nil
	}
	out := make([]*fields, 0, len(items))
	for i, it := range items {
		m, isMap := it.(map[string]any)
		if !isMap {
			f.fail(k, "must be a list of objects")
			return nil
		}
		child := &fields{prefix: fmt.Sprintf("%s[%d]", f.name(k), i), m: map[string]any{}, read: map[string]bool{}, errs: f.errs}
		for ck, cv := range m {
			if cv != nil {
				child.m[strings.TrimSuffix(ck, "[]")] = cv
			}
		}
		f.children = append(f.children, child)
		out = append(out, child)
	}
	return out
}

// Ignore marks fields as read without using them: for fields whose every value means
// what the server does anyway. Each call says why.
func (f *fields) Ignore(ks ...string) {
	for _, k := range ks {
		f.read[k] = true
	}
}

// Fail records a problem with field k found by the handler (or core).
func (f *fields) Fail(k, msg string) { f.fail(k, msg) }

// unknown returns the names of the fields that were sent but never read.
func (f *fields) unknown() []string {
	var out []string
	for k := range f.m {
		if !f.read[k] {
			out = append(out, f.name(k))
		}
	}
	for _, c := range f.children {
		out = append(out, c.unknown()...)
	}
	return out
}

// check returns a *core.ValidationError naming every field whose value was wrong and every field
// that was sent but is not one this endpoint takes; nil when all is well.
func (f *fields) check() error {
	problems := fieldErrors{}
	for k, v := range *f.errs {
		problems[k] = v
	}
	for _, k := range f.unknown() {
		if _, ok := problems[k]; !ok {
			problems[k] = "is not a field this endpoint takes"
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &core.ValidationError{Fields: problems}
}

// readFields reads the request's fields (see fields). It answers a body it cannot read
// itself (400, or 413 past MaxBodyBytes) and returns ok=false.
func (s *Server) readFields(w http.ResponseWriter, r *http.Request) (*fields, bool) {
	f, err := readFields(r)
	if err != nil {
		writeError(w, paramsStatus(err), err.Error())
		return nil, false
	}
	return f, true
}

// checkFields answers 422 naming every wrong or unknown field, and returns ok=false, when
// f has any; see fields.check.
func (s *Server) checkFields(w http.ResponseWriter, f *fields) bool {
	err := f.check()
	if err == nil {
		return true
	}
	writeValidation(w, err.(*core.ValidationError).Fields)
	return false
}

// writeValidation writes Mastodon's 422 entity: a summary naming each field, and details
// by field.
func writeValidation(w http.ResponseWriter, problems map[string]string) {
	details := map[string][]map[string]string{}
	for k, msg := range problems {
		details[k] = []map[string]string{{"error": "ERR_INVALID", "description": msg}}
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"error": "Validation failed: " + (&core.ValidationError{Fields: problems}).Describe(), "details": details,
	})
}

// renameFields renames the fields of a core validation error to the API's names (core
// uses the website's form names).
func renameFields(err error, names map[string]string) error {
	var verr *core.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	out := &core.ValidationError{Fields: map[string]string{}}
	for k, v := range verr.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		out.Fields[k] = v
	}
	return out
}

// noFields is for endpoints that take no fields: it answers a request that sent some
// (400 or 422) and returns false; an empty body, {} or no body at all is fine.
func (s *Server) noFields(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.readFields(w, r)
	return ok && s.checkFields(w, f)
}

// pagingFields are the query fields pageParams reads.
var pagingFields = []string{"max_id", "since_id", "min_id", "limit"}

// listQuery reads a list endpoint's query: the page (see pageParams) and the fields the
// handler then reads from f, before checkFields refuses any other. It answers a bad query
// itself and returns ok=false.
func (s *Server) listQuery(w http.ResponseWriter, r *http.Request) (core.Page, *fields, bool) {
	p, ok := pageParams(w, r)
	if !ok {
		return p, nil, false
	}
	f, ok := s.readFields(w, r)
	if !ok {
		return p, nil, false
	}
	f.Ignore(pagingFields...)
	return p, f, true
}
