package web_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func photoJPEG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 0x80, 0xff})
		}
	}
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, nil))
	return b.Bytes()
}

// postMultipart sends a multipart form the way a browser does from a page of the site:
// fields, and files by field name.
func (c *client) postMultipart(path string, fields map[string][]string, files map[string][]byte) response {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for k, data := range files {
		fw, err := mw.CreateFormFile(k, k+".jpg")
		require.NoError(c.s.t, err)
		fw.Write(data)
	}
	require.NoError(c.s.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, c.s.srv.URL+path, &body)
	require.NoError(c.s.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.s.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

var imgRe = regexp.MustCompile(`<img src="(/media/[0-9]+/small\.jpg)" alt="([^"]*)"`)

// TestComposeWithPictures: the compose form (multipart, no JavaScript) attaches pictures
// with their descriptions; one sent without a description is kept and the form asks for
// it once, with the picture shown; a sensitive post hides its pictures behind their
// blurhash until opened; something that is not a picture is refused on the form.
func TestComposeWithPictures(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice, bob := s.client(), s.client()
	alice.signup("alice")
	bob.signup("bob")

	res := alice.postMultipart("/posts", map[string][]string{"body": {"the view"}, "alt1": {"A valley at dawn"}, "next": {"/home"}},
		map[string][]byte{"image1": photoJPEG(t, 320, 200)})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	var id int64
	require.NoError(t, s.pool.QueryRow(t.Context(), "SELECT post_id FROM media WHERE post_id IS NOT NULL").Scan(&id))
	page := bob.get(fmt.Sprintf("/posts/%d", id))
	require.Equal(t, http.StatusOK, page.status)
	m := imgRe.FindStringSubmatch(page.body)
	require.NotNil(t, m, page.body)
	require.Equal(t, "A valley at dawn", m[2], "the description is the picture's alt text")
	require.Contains(t, page.body, `<figcaption class="alt" dir="auto">A valley at dawn</figcaption>`)
	pic := bob.get(m[1])
	require.Equal(t, http.StatusOK, pic.status)
	require.Equal(t, "image/jpeg", pic.header.Get("Content-Type"))

	// No description: the picture waits, the form asks.
	res = alice.postMultipart("/posts", map[string][]string{"body": {"another"}}, map[string][]byte{"image1": photoJPEG(t, 100, 100)})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Describe each picture")
	hidden := regexp.MustCompile(`name="media_id" value="([0-9]+)"`).FindStringSubmatch(res.body)
	require.NotNil(t, hidden, res.body)
	require.Contains(t, res.body, `name="alt_`+hidden[1]+`"`)
	require.Zero(t, s.count("SELECT count(*) FROM posts WHERE body = 'another'"), "not posted yet")
	res = alice.postMultipart("/posts", map[string][]string{"body": {"another"}, "media_id": {hidden[1]}, "alt_" + hidden[1]: {"A square"}, "sensitive": {"on"}}, nil)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, 1, s.count("SELECT count(*) FROM media WHERE description = 'A square' AND post_id IS NOT NULL"))
	home := alice.get("/@alice")
	require.Contains(t, home.body, `<details class="attachments sensitive">`)
	blur := regexp.MustCompile(`src="(/media/[0-9]+/blur\.png)"`).FindStringSubmatch(home.body)
	require.NotNil(t, blur)
	b := alice.get(blur[1])
	require.Equal(t, http.StatusOK, b.status)
	require.Equal(t, "image/png", b.header.Get("Content-Type"))
	cfg, _, err := image.DecodeConfig(strings.NewReader(b.body))
	require.NoError(t, err)
	require.Equal(t, 32, cfg.Width)

	// Not a picture: refused on the form, naming the file; nothing posted.
	res = alice.postMultipart("/posts", map[string][]string{"body": {"a script"}, "alt1": {"x"}},
		map[string][]byte{"image1": []byte("<html><script>alert(1)</script>")})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Picture 1")
	require.Zero(t, s.count("SELECT count(*) FROM posts WHERE body = 'a script'"))
}

// TestAvatarFromSettings: the profile form takes an avatar; it shows on the profile and
// on posts in place of the generated one, and can be removed again.
func TestAvatarFromSettings(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice := s.client()
	alice.signup("alice")
	res := alice.postMultipart("/settings/profile", map[string][]string{"discoverable": {"on"}, "default_visibility": {"public"}},
		map[string][]byte{"avatar": photoJPEG(t, 500, 300)})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = alice.post("/posts", map[string][]string{"body": {"hello"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	profile := alice.get("/@alice")
	src := regexp.MustCompile(`class="avatar large" src="(/media/[0-9]+/original)"`).FindStringSubmatch(profile.body)
	require.NotNil(t, src, profile.body)
	require.Contains(t, profile.body, `class="avatar" src="`+src[1]+`"`, "on the post too")
	pic := s.client().get(src[1])
	require.Equal(t, http.StatusOK, pic.status)
	cfg, _, err := image.DecodeConfig(strings.NewReader(pic.body))
	require.NoError(t, err)
	require.Equal(t, cfg.Width, cfg.Height, "cropped square")

	res = alice.postMultipart("/settings/profile", map[string][]string{"remove_avatar": {"on"}, "discoverable": {"on"}, "default_visibility": {"public"}}, nil)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Contains(t, alice.get("/@alice").body, `class="avatar large" src="/avatars/`)

	res = alice.postMultipart("/settings/profile", map[string][]string{"discoverable": {"on"}, "default_visibility": {"public"}},
		map[string][]byte{"avatar": []byte("GIF89a not really")})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, `id="e-avatar"`)
}

// TestFollowRequestsOnTheWebsite: with "Approve followers manually" set, following from
// the profile page asks instead ("Requested — withdraw"), the request waits on
// /follow_requests with Accept and Decline forms (no JavaScript), and accepting makes a
// follower.
func TestFollowRequestsOnTheWebsite(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice, bob, carol := s.client(), s.client(), s.client()
	alice.signup("alice")
	bob.signup("bob")
	carol.signup("carol")
	res := alice.post("/settings/profile", map[string][]string{"locked": {"on"}, "discoverable": {"on"}, "default_visibility": {"public"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Contains(t, alice.get("/settings").body, `name="locked" type="checkbox" checked`)
	require.Contains(t, bob.get("/@alice").body, "Request to follow")
	for _, c := range []*client{bob, carol} {
		res = c.post("/@alice/follow", nil)
		require.Equal(t, http.StatusSeeOther, res.status)
	}
	require.Contains(t, bob.get("/@alice").body, "Requested — withdraw")
	require.Zero(t, s.count("SELECT count(*) FROM follows"))
	page := alice.get("/follow_requests")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, "@bob")
	require.Contains(t, page.body, "@carol")
	var bobID, carolID int64
	require.NoError(t, s.pool.QueryRow(t.Context(), "SELECT id FROM users WHERE username = 'bob'").Scan(&bobID))
	require.NoError(t, s.pool.QueryRow(t.Context(), "SELECT id FROM users WHERE username = 'carol'").Scan(&carolID))
	res = alice.post(fmt.Sprintf("/follow_requests/%d/authorize", bobID), nil)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = alice.post(fmt.Sprintf("/follow_requests/%d/reject", carolID), nil)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, 1, s.count("SELECT count(*) FROM follows"))
	require.Contains(t, bob.get("/@alice").body, ">Unfollow<")
	require.Contains(t, carol.get("/@alice").body, "Request to follow")
	require.Contains(t, alice.get("/follow_requests").body, "Nobody is waiting")
	require.Equal(t, http.StatusNotFound, alice.post(fmt.Sprintf("/follow_requests/%d/authorize", carolID), nil).status)
	require.Equal(t, http.StatusOK, bob.get("/follow_requests").status, "everyone has the page (empty unless locked)")
	require.Equal(t, http.StatusSeeOther, s.client().get("/follow_requests").status, "nobody logged in: to the login page")
}
