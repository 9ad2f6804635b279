package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/core"
)

// picture is a w×h test image: a red left half, a blue right half.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{0xd0, 0x20, 0x20, 0xff}
			if x >= w/2 {
				c = color.RGBA{0x20, 0x30, 0xd0, 0xff}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func jpegOf(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}))
	return b.Bytes()
}

func pngOf(t *testing.T, img image.Image) []byte {
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func gifOf(t *testing.T, frames int) []byte {
	pal := color.Palette{color.Black, color.White, color.RGBA{0xff, 0, 0, 0xff}}
	g := &gif.GIF{LoopCount: 0}
	for i := range frames {
		f := image.NewPaletted(image.Rect(0, 0, 40, 30), pal)
		for x := range 40 {
			f.SetColorIndex(x, i%30, 2)
		}
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	require.NoError(t, gif.EncodeAll(&b, g))
	return b.Bytes()
}

// Markers written into a picture's metadata: none may reach a served file.
const (
	cameraMarker = "SECRETCAM-MODEL-X"
	gpsMarker    = "GPS-SECRET-51.5074N"
)

// jpegWithEXIF is a JPEG of img carrying an EXIF segment with a camera model, an
// orientation and a GPS directory (with a latitude and a text that names the place).
func jpegWithEXIF(t *testing.T, img image.Image, orientation uint16) []byte {
	plain := jpegOf(t, img)
	le := binary.LittleEndian
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, le, uint32(8))
	// IFD0 at 8: Model, Orientation, GPS pointer.
	const ifd0Entries = 3
	ifd0Size := 2 + ifd0Entries*12 + 4
	modelAt := 8 + ifd0Size
	model := cameraMarker + "\x00"
	gpsAt := modelAt + len(model)
	entry := func(b *bytes.Buffer, tag, typ uint16, count, value uint32) {
		binary.Write(b, le, tag)
		binary.Write(b, le, typ)
		binary.Write(b, le, count)
		binary.Write(b, le, value)
	}
	binary.Write(&tiff, le, uint16(ifd0Entries))
	entry(&tiff, 0x0110, 2, uint32(len(model)), uint32(modelAt)) // Model
	entry(&tiff, 0x0112, 3, 1, uint32(orientation))              // Orientation
	entry(&tiff, 0x8825, 4, 1, uint32(gpsAt))                    // GPS IFD
	binary.Write(&tiff, le, uint32(0))
	tiff.WriteString(model)
	// GPS IFD: latitude ref, latitude (3 rationals), area information (text).
	area := "ASCII\x00\x00\x00" + gpsMarker
	const gpsEntries = 3
	latAt := gpsAt + 2 + gpsEntries*12 + 4
	areaAt := latAt + 24
	binary.Write(&tiff, le, uint16(gpsEntries))
	entry(&tiff, 0x0001, 2, 2, uint32('N'))
	entry(&tiff, 0x0002, 5, 3, uint32(latAt))
	entry(&tiff, 0x001c, 7, uint32(len(area)), uint32(areaAt))
	binary.Write(&tiff, le, uint32(0))
	for _, v := range []uint32{51, 1, 30, 1, 2664, 100} {
		binary.Write(&tiff, le, v)
	}
	tiff.WriteString(area)
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, plain[:2]...) // SOI
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, plain[2:]...)
}

// pngBomb is a valid PNG header claiming w×h pixels, with a tiny body.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// upload posts data as the multipart field file (named name) to path, with extra fields.
func upload(s *server, path, token, name string, data []byte, extra map[string]string) (int, string) {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	require.NoError(s.t, err)
	fw.Write(data)
	for k, v := range extra {
		mw.WriteField(k, v)
	}
	require.NoError(s.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, s.base+path, &body)
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

type attachmentJSON struct {
	ID          string  `json:"id"`
	Type        string  `json:"type"`
	URL         *string `json:"url"`
	PreviewURL  *string `json:"preview_url"`
	Description *string `json:"description"`
	Blurhash    *string `json:"blurhash"`
	Meta        struct {
		Original *struct{ Width, Height int } `json:"original"`
		Small    *struct{ Width, Height int } `json:"small"`
		Focus    *struct{ X, Y float64 }      `json:"focus"`
	} `json:"meta"`
}

func decodeAttachment(t *testing.T, body string) attachmentJSON {
	var a attachmentJSON
	require.NoError(t, json.Unmarshal([]byte(body), &a), body)
	return a
}

// fetch GETs a URL (absolute, or a path on s) and answers the status, body and headers.
func fetch(t *testing.T, s *server, target string, header ...string) (int, []byte, http.Header) {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = s.base + target
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

// TestMediaUploadEachFormat: JPEG, PNG (with transparency), a still and an animated GIF,
// and WebP, through POST /api/v1/media (processed at once) as a multipart upload: each
// answered with its URLs, sizes and blurhash, its files served with the type of their
// bytes. go-mastodon's UploadMediaFromBytes uses /api/v2/media: 202, then
// GET /api/v1/media/:id answers 206 until a River job has processed it, then 200.
func TestMediaUploadEachFormat(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	tok := s.personalToken(alice, "read write")

	transparent := image.NewNRGBA(image.Rect(0, 0, 50, 40))
	transparent.SetNRGBA(3, 3, color.NRGBA{0, 0x80, 0, 0x80})
	webp, err := os.ReadFile(filepath.Join("..", "media", "testdata", "test.webp"))
	require.NoError(t, err, "the media package's WebP sample")
	for _, c := range []struct {
		name, wantType string
		data           []byte
	}{
		{"photo.jpg", "image/jpeg", jpegOf(t, picture(800, 600))},
		{"drawing.png", "image/png", pngOf(t, transparent)},
		{"still.gif", "image/gif", gifOf(t, 1)},
		{"moving.gif", "image/gif", gifOf(t, 5)},
		{"sample.webp", "", webp},
	} {
		code, body := upload(s, "/api/v1/media", tok, c.name, c.data, map[string]string{"description": "A " + c.name, "focus": "0.5,-0.25"})
		require.Equal(t, http.StatusOK, code, "%s: %s", c.name, body)
		a := decodeAttachment(t, body)
		require.Equal(t, "image", a.Type)
		require.NotNil(t, a.URL, c.name)
		require.NotNil(t, a.PreviewURL, c.name)
		require.NotNil(t, a.Blurhash, c.name)
		require.Equal(t, "A "+c.name, *a.Description)
		require.NotNil(t, a.Meta.Original)
		require.NotNil(t, a.Meta.Focus)
		require.Equal(t, 0.5, a.Meta.Focus.X)
		require.Equal(t, -0.25, a.Meta.Focus.Y)
		code, file, h := fetch(t, s, *a.URL)
		require.Equal(t, http.StatusOK, code, c.name)
		if c.wantType != "" {
			require.Equal(t, c.wantType, h.Get("Content-Type"), c.name)
		}
		require.Equal(t, http.DetectContentType(file), h.Get("Content-Type"), "%s: the type is the bytes'", c.name)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(file))
		require.NoError(t, err, c.name)
		require.Equal(t, a.Meta.Original.Width, cfg.Width, c.name)
		code, _, _ = fetch(t, s, *a.PreviewURL)
		require.Equal(t, http.StatusOK, code, c.name)
		if c.name == "moving.gif" {
			g, err := gif.DecodeAll(bytes.NewReader(file))
			require.NoError(t, err)
			require.Len(t, g.Image, 5, "an animated GIF stays animated")
		}
	}

	// The instance endpoints say what is accepted.
	for _, path := range []string{"/api/v1/instance", "/api/v2/instance"} {
		code, body, _ := s.call(http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `"image_size_limit":16777216`, path)
		require.Contains(t, body, `"image_matrix_limit":33177600`, path)
		require.Contains(t, body, `"image/webp"`, path)
		require.Contains(t, body, `"max_media_attachments":4`, path)
	}

	// go-mastodon: /api/v2/media, then polling.
	c := mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: tok})
	ctx := context.Background()
	att, err := c.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(jpegOf(t, picture(640, 480))), Description: "A chart"})
	require.NoError(t, err)
	require.Equal(t, "A chart", att.Description)
	deadline := time.Now().Add(20 * time.Second)
	for c.GetMediaStatus(ctx, att) != nil {
		require.True(t, time.Now().Before(deadline), "the upload was never processed")
		time.Sleep(50 * time.Millisecond)
	}
	code, body, _ := s.call(http.MethodGet, "/api/v1/media/"+string(att.ID), tok, nil)
	require.Equal(t, http.StatusOK, code)
	a := decodeAttachment(t, body)
	require.NotNil(t, a.URL)
	require.Equal(t, 640, a.Meta.Original.Width)

	// It is attached to a post, which shows it; an anonymous reader fetches it.
	st, err := c.PostStatus(ctx, &mastodon.Toot{Status: "our chart", MediaIDs: []mastodon.ID{att.ID}, Visibility: "public"})
	require.NoError(t, err)
	require.Len(t, st.MediaAttachments, 1)
	require.Equal(t, "A chart", st.MediaAttachments[0].Description)
	require.Equal(t, int64(640), st.MediaAttachments[0].Meta.Original.Width)
	code, _, h := fetch(t, s, st.MediaAttachments[0].URL)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "public, max-age=31536000, immutable", h.Get("Cache-Control"))
	require.Equal(t, "*", h.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	// Attached, it is the post's: GET and PUT of the upload find it no more (as on Mastodon).
	code, _, _ = s.call(http.MethodGet, "/api/v1/media/"+string(att.ID), tok, nil)
	require.Equal(t, http.StatusNotFound, code)
	// only_media finds it on the public timeline and the account's posts.
	_, err = c.PostStatus(ctx, &mastodon.Toot{Status: "no pictures here", Visibility: "public"})
	require.NoError(t, err)
	code, body, _ = s.call(http.MethodGet, "/api/v1/timelines/public?only_media=true", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "our chart")
	require.NotContains(t, body, "no pictures here")
	code, body, _ = s.call(http.MethodGet, "/api/v1/accounts/"+fmt.Sprint(alice.ID)+"/statuses?only_media=1", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "our chart")
	require.NotContains(t, body, "no pictures here")

	// Deleted, the post's picture stops being served within core.PublicMediaTTL (a process
	// may answer from memory that long), on the plain address as on any other.
	require.NoError(t, c.DeleteStatus(ctx, st.ID))
	deleted := time.Now()
	for {
		code, _, _ := fetch(t, s, st.MediaAttachments[0].URL)
		if code == http.StatusNotFound {
			break
		}
		require.Equal(t, http.StatusOK, code)
		require.Less(t, time.Since(deleted), core.PublicMediaTTL+500*time.Millisecond, "still served after the post was deleted")
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMediaRefusesWhatIsNotAPicture: a decompression bomb (a tiny PNG claiming
// 100,000 × 100,000 pixels), a truncated JPEG, an HTML page named .png, SVG, an empty
// file, no file at all, and a 21 MB upload (413) are refused with a message naming the
// field; a bad focus and a too-long description too. Nothing is stored for any of them.
func TestMediaRefusesWhatIsNotAPicture(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := s.personalToken(s.user("alice"), "read write")
	full := jpegOf(t, picture(400, 300))
	for _, c := range []struct {
		name  string
		data  []byte
		extra map[string]string
		code  int
		want  string
	}{
		{"bomb.png", pngBomb(100_000, 100_000), nil, 422, "pixels"},
		{"truncated.jpg", full[:len(full)/2], nil, 422, "file"},
		{"page.png", []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"), nil, 422, "file"},
		{"drawing.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), nil, 422, "file"},
		{"empty.jpg", []byte{}, nil, 422, "file"},
		{"photo.jpg", full, map[string]string{"focus": "2,0"}, 422, "focus"},
		{"photo.jpg", full, map[string]string{"description": strings.Repeat("a", 1501)}, 422, "description"},
		{"photo.jpg", full, map[string]string{"colour": "red"}, 422, "colour"},
		{"huge.jpg", bytes.Repeat([]byte{0xff}, 21<<20), nil, 413, "too large"},
	} {
		for _, path := range []string{"/api/v1/media", "/api/v2/media"} {
			code, body := upload(s, path, tok, c.name, c.data, c.extra)
			if path == "/api/v2/media" && c.name == "truncated.jpg" {
				// Its header is sound: only processing, by the job, finds the rest missing.
				require.Equal(t, http.StatusAccepted, code, body)
				id := decodeAttachment(t, body).ID
				deadline := time.Now().Add(20 * time.Second)
				for code == http.StatusAccepted || code == http.StatusPartialContent {
					require.True(t, time.Now().Before(deadline), "never processed")
					time.Sleep(50 * time.Millisecond)
					code, body, _ = s.call(http.MethodGet, "/api/v1/media/"+id, tok, nil)
				}
			}
			require.Equal(t, c.code, code, "%s %s: %s", path, c.name, body)
			require.Contains(t, strings.ToLower(body), c.want, "%s %s", path, c.name)
		}
	}
	code, body, _ := s.call(http.MethodPost, "/api/v1/media", tok, url.Values{"description": {"no file"}})
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Contains(t, body, "file")
	var n int
	require.NoError(t, s.pool.QueryRow(context.Background(), "SELECT count(*) FROM media WHERE state <> 'failed'").Scan(&n))
	require.Zero(t, n, "nothing refused was stored (but the truncated upload, marked failed)")
	require.NoError(t, s.pool.QueryRow(context.Background(), "SELECT count(*) FROM media_files").Scan(&n))
	require.Zero(t, n, "not even its bytes")
}

// TestMediaStripsEXIF: a JPEG with a camera model, GPS coordinates and orientation 6
// (rotated 90°) is served with none of them, in every variant (original, small, and the
// 202-then-job path too), and turned upright: 300×200 becomes 200×300.
func TestMediaStripsEXIF(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := s.personalToken(s.user("alice"), "read write")
	data := jpegWithEXIF(t, picture(300, 200), 6)
	require.Contains(t, string(data), gpsMarker)
	require.Contains(t, string(data), cameraMarker)
	for _, path := range []string{"/api/v1/media", "/api/v2/media"} {
		code, body := upload(s, path, tok, "holiday.jpg", data, nil)
		require.Contains(t, []int{200, 202}, code, body)
		a := decodeAttachment(t, body)
		deadline := time.Now().Add(20 * time.Second)
		for a.URL == nil {
			require.True(t, time.Now().Before(deadline))
			time.Sleep(50 * time.Millisecond)
			_, body, _ = s.call(http.MethodGet, "/api/v1/media/"+a.ID, tok, nil)
			a = decodeAttachment(t, body)
		}
		require.Equal(t, 200, a.Meta.Original.Width, "orientation applied")
		require.Equal(t, 300, a.Meta.Original.Height)
		for _, u := range []string{*a.URL, *a.PreviewURL} {
			code, file, _ := fetch(t, s, u)
			require.Equal(t, http.StatusOK, code)
			for _, secret := range []string{gpsMarker, cameraMarker, "Exif", "GPS"} {
				require.NotContains(t, string(file), secret, "%s %s", path, u)
			}
			img, _, err := image.Decode(bytes.NewReader(file))
			require.NoError(t, err)
			b := img.Bounds()
			require.Less(t, b.Dx(), b.Dy(), "upright")
			// Rotated 90° clockwise, the red left half is now on top.
			r, _, bl, _ := img.At(b.Dx()/2, b.Dy()/8).RGBA()
			require.Greater(t, r, bl, "red on top after the rotation")
		}
	}
}

// TestMediaIDsAreTheUploaders: a post takes only its author's own, processed, unattached
// uploads, at most four; someone else's id, an unknown one, one attached already or a
// fifth is refused naming media_ids, and GET/PUT of another's upload is 404.
func TestMediaIDsAreTheUploaders(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	at, bt := s.personalToken(alice, "read write"), s.personalToken(bob, "read write")
	up := func(tok string) string {
		code, body := upload(s, "/api/v1/media", tok, "p.png", pngOf(t, picture(20, 20)), nil)
		require.Equal(t, http.StatusOK, code, body)
		return decodeAttachment(t, body).ID
	}
	bobs := up(bt)
	code, body := rawJSON(s, http.MethodPost, "/api/v1/statuses", at, "application/json", []byte(`{"status":"mine?","media_ids":["`+bobs+`"]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Contains(t, body, "media_ids")
	for _, m := range []string{http.MethodGet, http.MethodPut} {
		code, _, _ := s.call(m, "/api/v1/media/"+bobs, at, url.Values{})
		require.Equal(t, http.StatusNotFound, code, m)
	}
	code, body = rawJSON(s, http.MethodPost, "/api/v1/statuses", at, "application/json", []byte(`{"status":"x","media_ids":["999999"]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, body)

	ids := []string{up(at), up(at), up(at), up(at), up(at)}
	code, body = rawJSON(s, http.MethodPost, "/api/v1/statuses", at, "application/json",
		[]byte(`{"status":"five","media_ids":["`+strings.Join(ids, `","`)+`"]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Contains(t, body, "at most 4")
	// PUT describes an upload before it is attached.
	code, body, _ = s.call(http.MethodPut, "/api/v1/media/"+ids[0], at, url.Values{"description": {"first"}, "focus": {"-1,1"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "first", *decodeAttachment(t, body).Description)
	code, body = rawJSON(s, http.MethodPost, "/api/v1/statuses", at, "application/json",
		[]byte(`{"status":"","media_ids":["`+ids[1]+`","`+ids[0]+`"]}`))
	require.Equal(t, http.StatusOK, code, "a post of pictures alone needs no text: %s", body)
	var st struct {
		ID    string           `json:"id"`
		Media []attachmentJSON `json:"media_attachments"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Len(t, st.Media, 2)
	require.Equal(t, ids[1], st.Media[0].ID, "in the order given")
	require.Equal(t, "first", *st.Media[1].Description)
	code, body = rawJSON(s, http.MethodPost, "/api/v1/statuses", at, "application/json", []byte(`{"status":"again","media_ids":["`+ids[0]+`"]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, "attached already: %s", body)

	// An edit changes the list and the descriptions (media_attributes, as JSON apps send).
	code, body = rawJSON(s, http.MethodPut, "/api/v1/statuses/"+st.ID, at, "application/json",
		[]byte(`{"status":"edited","media_ids":["`+ids[0]+`","`+ids[2]+`"],"media_attributes":[{"id":"`+ids[2]+`","description":"third"}]}`))
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Len(t, st.Media, 2)
	require.Equal(t, ids[0], st.Media[0].ID)
	require.Equal(t, "third", *st.Media[1].Description)
	code, body = rawJSON(s, http.MethodPut, "/api/v1/statuses/"+st.ID, at, "application/json",
		[]byte(`{"status":"edited","media_attributes":[{"id":"`+bobs+`","description":"not mine"}]}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Contains(t, body, "media_attributes")
}

// TestMediaOfPrivatePosts: the pictures of a followers-only post are served to its
// followers (with the session, on the website, or the signed address the API gives), and
// refused (404) to anyone else at the plain address, to a forged or expired signature, and
// to everyone once the post is deleted. Range and conditional requests are answered.
func TestMediaOfPrivatePosts(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	alice, bob, eve := s.user("alice"), s.user("bob"), s.user("eve")
	at, bt, et := s.personalToken(alice, "read write follow"), s.personalToken(bob, "read write follow"), s.personalToken(eve, "read")
	_, err := s.core.Follow(ctx, bob.ID, "alice")
	require.NoError(t, err)
	code, body := upload(s, "/api/v1/media", at, "secret.png", pngOf(t, picture(64, 48)), nil)
	require.Equal(t, http.StatusOK, code, body)
	mid := decodeAttachment(t, body).ID
	code, body = rawJSON(s, http.MethodPost, "/api/v1/statuses", at, "application/json",
		[]byte(`{"status":"for followers","visibility":"private","media_ids":["`+mid+`"]}`))
	require.Equal(t, http.StatusOK, code, body)
	var st struct {
		ID    string           `json:"id"`
		Media []attachmentJSON `json:"media_attachments"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	signed := *st.Media[0].URL
	require.Contains(t, signed, "?e=", "a private post's picture has a signed address")
	plain, _, _ := strings.Cut(signed, "?")

	// Bob, a follower, sees the post through the API: its signed address serves him.
	code, body, _ = s.call(http.MethodGet, "/api/v1/statuses/"+st.ID, bt, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, strings.ReplaceAll(body, `\u0026`, "&"), strings.TrimPrefix(signed, s.base))
	code, file, h := fetch(t, s, signed)
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.HasPrefix(h.Get("Cache-Control"), "private"), h.Get("Cache-Control"))
	// Eve is not a follower: the post is hidden from her, the plain address refused.
	code, _, _ = s.call(http.MethodGet, "/api/v1/statuses/"+st.ID, et, nil)
	require.Equal(t, http.StatusNotFound, code)
	code, _, _ = fetch(t, s, plain)
	require.Equal(t, http.StatusNotFound, code, "anonymous, plain address")
	code, _, _ = fetch(t, s, plain+"?e=99999999999&s=forged")
	require.Equal(t, http.StatusNotFound, code, "forged signature")
	u, _ := url.Parse(signed)
	q := u.Query()
	q.Set("e", "1000")
	code, _, _ = fetch(t, s, plain+"?"+q.Encode())
	require.Equal(t, http.StatusNotFound, code, "a signature does not outlive its expiry (nor move to another)")
	// Bob's browser, logged in, gets the plain address with his session; Eve's does not.
	for name, want := range map[string]int{"bob": http.StatusOK, "eve": http.StatusNotFound} {
		b := s.browser()
		res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {name}, "password": {pw}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		res, _ = b.do(http.MethodGet, plain, nil)
		require.Equal(t, want, res.StatusCode, name)
	}

	// Range and ETag.
	etag := h.Get("ETag")
	require.NotEmpty(t, etag)
	code, part, rh := fetch(t, s, signed, "Range", "bytes=0-9")
	require.Equal(t, http.StatusPartialContent, code)
	require.Equal(t, file[:10], part)
	require.Equal(t, fmt.Sprintf("bytes 0-9/%d", len(file)), rh.Get("Content-Range"))
	code, _, _ = fetch(t, s, signed, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, code)
	code, _, _ = fetch(t, s, signed, "Range", "bytes=999999-")
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, code)

	// Deleted, the post's pictures are gone for everyone, signature or not.
	code, _, _ = s.call(http.MethodDelete, "/api/v1/statuses/"+st.ID, at, nil)
	require.Equal(t, http.StatusOK, code)
	code, _, _ = fetch(t, s, signed)
	require.Equal(t, http.StatusNotFound, code)
	// The cleanup removes them for good: this call, or the periodic clean_media job of
	// the test server's workers when it ran first (both are the same CleanMedia).
	n, err := s.core.CleanMedia(ctx, time.Now(), 10)
	require.NoError(t, err)
	require.LessOrEqual(t, n, 1)
	var left int
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT count(*) FROM media_files").Scan(&left))
	require.Zero(t, left)
}

// TestAvatarAndHeaderUpload: update_credentials takes an avatar and a header (multipart,
// as go-mastodon's AccountUpdate sends them), cropped to their shapes, shown on the
// account; DELETE /api/v1/profile/avatar goes back to the generated one.
func TestAvatarAndHeaderUpload(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	tok := s.personalToken(alice, "read write")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, img := range map[string]image.Image{"avatar": picture(600, 300), "header": picture(900, 900)} {
		fw, err := mw.CreateFormFile(k, k+".jpg")
		require.NoError(t, err)
		fw.Write(jpegOf(t, img))
	}
	mw.WriteField("display_name", "Alice")
	require.NoError(t, mw.Close())
	code, resp := rawJSON(s, http.MethodPatch, "/api/v1/accounts/update_credentials", tok, mw.FormDataContentType(), body.Bytes())
	require.Equal(t, http.StatusOK, code, resp)
	var acct struct {
		Avatar, Header, DisplayName string `json:"-"`
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(resp), &m))
	acct.Avatar, acct.Header, acct.DisplayName = m["avatar"].(string), m["header"].(string), m["display_name"].(string)
	require.Equal(t, "Alice", acct.DisplayName)
	require.Contains(t, acct.Avatar, "/media/")
	require.Contains(t, acct.Header, "/media/")
	for u, ratio := range map[string]float64{acct.Avatar: 1, acct.Header: 3} {
		code, file, _ := fetch(t, s, u)
		require.Equal(t, http.StatusOK, code)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(file))
		require.NoError(t, err)
		require.InDelta(t, ratio, float64(cfg.Width)/float64(cfg.Height), 0.02, u)
		require.LessOrEqual(t, cfg.Width, 1500)
	}
	// A picture that is not one is refused naming the field, and nothing changes.
	var bad bytes.Buffer
	mw = multipart.NewWriter(&bad)
	fw, _ := mw.CreateFormFile("avatar", "x.png")
	fw.Write([]byte("<html>"))
	mw.Close()
	code, resp = rawJSON(s, http.MethodPatch, "/api/v1/accounts/update_credentials", tok, mw.FormDataContentType(), bad.Bytes())
	require.Equal(t, http.StatusUnprocessableEntity, code, resp)
	require.Contains(t, resp, "avatar")

	code, resp, _ = s.call(http.MethodDelete, "/api/v1/profile/avatar", tok, nil)
	require.Equal(t, http.StatusOK, code, resp)
	require.Contains(t, resp, fmt.Sprintf("/avatars/%d-v", alice.ID))
	require.Contains(t, resp, acct.Header, "the header stays")
}

// TestPicturesOnAMembersOnlyServer: nothing is served to nobody at a plain address, an
// avatar included; the API's addresses of the pictures are signed, so that apps' image
// loaders (which send no token) show them to members.
func TestPicturesOnAMembersOnlyServer(t *testing.T) {
	t.Parallel()
	s := newServerApp(t, func(*api.Options) {}, func(o *app.Options) { o.Config.MembersOnly = true })
	alice := s.user("alice")
	tok := s.personalToken(alice, "read write")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("avatar", "me.png")
	require.NoError(t, err)
	fw.Write(pngOf(t, picture(50, 50)))
	require.NoError(t, mw.Close())
	code, resp := rawJSON(s, http.MethodPatch, "/api/v1/accounts/update_credentials", tok, mw.FormDataContentType(), body.Bytes())
	require.Equal(t, http.StatusOK, code, resp)
	var acct struct {
		Avatar string `json:"avatar"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp), &acct))
	require.Contains(t, acct.Avatar, "?e=", "signed")
	code, _, _ = fetch(t, s, acct.Avatar)
	require.Equal(t, http.StatusOK, code)
	plain, _, _ := strings.Cut(acct.Avatar, "?")
	code, _, _ = fetch(t, s, plain)
	require.Equal(t, http.StatusNotFound, code, "nobody, no signature")

	code, up := upload(s, "/api/v1/media", tok, "p.png", pngOf(t, picture(20, 20)), nil)
	require.Equal(t, http.StatusOK, code, up)
	code, st := rawJSON(s, http.MethodPost, "/api/v1/statuses", tok, "application/json", []byte(`{"status":"public, yet members only","media_ids":["`+decodeAttachment(t, up).ID+`"]}`))
	require.Equal(t, http.StatusOK, code, st)
	require.Contains(t, st, `original.png?e=`, "a public post's picture is signed too")
}
