package api

import (
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"

	"github.com/starling-social/starling/internal/core"
)

// MediaAttachment is Mastodon's MediaAttachment entity. Every upload here is a picture:
// type "image" (an animated GIF too, kept as a GIF).
type MediaAttachment struct {
	ID               string    `json:"id"`
	Type             string    `json:"type"`
	URL              *string   `json:"url"`
	PreviewURL       *string   `json:"preview_url"`
	RemoteURL        *string   `json:"remote_url"`
	PreviewRemoteURL *string   `json:"preview_remote_url"`
	TextURL          *string   `json:"text_url"`
	Meta             MediaMeta `json:"meta"`
	Description      *string   `json:"description"`
	Blurhash         *string   `json:"blurhash"`
}

// MediaMeta is the meta of a MediaAttachment: the sizes of the served files and the focal
// point.
type MediaMeta struct {
	Original *MediaSize  `json:"original,omitempty"`
	Small    *MediaSize  `json:"small,omitempty"`
	Focus    *MediaFocus `json:"focus,omitempty"`
}

// MediaSize is one file's dimensions, as Mastodon reports them.
type MediaSize struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Size   string  `json:"size"`
	Aspect float64 `json:"aspect"`
}

// MediaFocus is the focal point, each coordinate in [-1, 1].
type MediaFocus struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

func mediaSize(f *core.MediaFile) *MediaSize {
	if f == nil || f.Height == 0 {
		return nil
	}
	return &MediaSize{Width: f.Width, Height: f.Height, Size: fmt.Sprintf("%dx%d", f.Width, f.Height),
		Aspect: math.Round(float64(f.Width)/float64(f.Height)*1e6) / 1e6}
}

// attachment is the MediaAttachment entity of m.
func (s *Server) attachment(m core.Media) MediaAttachment {
	a := MediaAttachment{ID: id(m.ID), Type: "image", Description: nullable(m.Description),
		Blurhash: nullable(m.Blurhash), Meta: MediaMeta{Original: mediaSize(m.Original), Small: mediaSize(m.Small),
			Focus: &MediaFocus{X: m.FocusX, Y: m.FocusY}}}
	if p := s.core.MediaPath(m, core.VariantOriginal); p != "" {
		u := s.base + p
		a.URL = &u
	}
	if p := s.core.MediaPath(m, core.VariantSmall); p != "" {
		u := s.base + p
		a.PreviewURL = &u
	}
	return a
}

func (s *Server) attachments(ms []core.Media) []MediaAttachment {
	out := make([]MediaAttachment, len(ms))
	for i, m := range ms {
		out[i] = s.attachment(m)
	}
	return out
}

// uploadBodyBytes bounds the body of a request that carries an upload: the largest
// accepted file, plus room for the form around it.
func (s *Server) uploadBodyBytes() int64 { return s.core.MediaLimits().MaxBytes + 64<<10 }

// uploadRoutes are the routes whose bodies may carry an upload (see uploadBodyBytes).
var uploadRoutes = map[string]bool{
	"/api/v1/media": true, "/api/v2/media": true, "/api/v1/accounts/update_credentials": true,
}

// readUploadFields reads a request that may carry files, answering 413 itself, naming the
// limit, for one over it.
func (s *Server) readUploadFields(w http.ResponseWriter, r *http.Request) (*fields, bool) {
	f, err := readFields(r)
	if errors.Is(err, errBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("File too large: at most %d bytes are accepted", s.core.MediaLimits().MaxBytes))
		return nil, false
	}
	if err != nil {
		writeError(w, paramsStatus(err), err.Error())
		return nil, false
	}
	return f, true
}

// fileBytes reads the uploaded file of multipart field k; nil when none was sent. The
// body's bound has limited it already.
func (s *Server) fileBytes(r *http.Request, f *fields, k string) []byte {
	f.take(k)
	if r.MultipartForm == nil || len(r.MultipartForm.File[k]) == 0 {
		return nil
	}
	hs := r.MultipartForm.File[k]
	if len(hs) > 1 {
		f.Fail(k, "send one file")
		return nil
	}
	b, err := readPart(hs[0])
	if err != nil {
		f.Fail(k, "the file could not be read")
		return nil
	}
	if len(b) == 0 {
		f.Fail(k, "the file is empty")
	}
	return b
}

func readPart(h *multipart.FileHeader) ([]byte, error) {
	file, err := h.Open()
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(file)
}

// mediaInput reads an attachment's description and focus; either left out is kept.
func mediaInput(f *fields) core.MediaInput {
	return core.MediaInput{Description: f.String("description"), Focus: f.String("focus"),
		KeepDescription: !f.Has("description"), KeepFocus: !f.Has("focus")}
}

// mediaCreate answers POST /api/v1/media (processed before answering: 200) and
// POST /api/v2/media (processed by a job: 202, then GET /api/v1/media/:id).
func (s *Server) mediaCreate(wait bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.readUploadFields(w, r)
		if !ok {
			return
		}
		data := s.fileBytes(r, f, "file")
		if data == nil && !f.Has("file") {
			f.Fail("file", "is required: send the picture as the multipart field file")
		} else if data == nil && r.MultipartForm == nil {
			f.Fail("file", "must be a file in a multipart/form-data body")
		}
		if s.fileBytes(r, f, "thumbnail") != nil {
			f.Fail("thumbnail", "a custom thumbnail is for audio and video, which this server does not accept")
		}
		in := core.MediaInput{Description: f.String("description"), Focus: f.String("focus")}
		if !s.checkFields(w, f) {
			return
		}
		m, err := s.core.Upload(r.Context(), *callerOf(r).user, data, in, wait)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		status := http.StatusOK
		if m.State == core.MediaProcessing {
			status = http.StatusAccepted
		}
		writeJSON(w, status, s.attachment(m))
	}
}

// mediaGet answers GET /api/v1/media/:id: 206 while the upload is processing, 200 once
// it is ready, 422 naming why when processing refused it. Only the uploader's
// unattached media are found, as on Mastodon.
func (s *Server) mediaGet(w http.ResponseWriter, r *http.Request) {
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	if !s.noFields(w, r) {
		return
	}
	m, err := s.core.MediaOf(r.Context(), callerOf(r).user.ID, n)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.writeMedia(w, m)
}

func (s *Server) writeMedia(w http.ResponseWriter, m core.Media) {
	switch m.State {
	case core.MediaProcessing:
		writeJSON(w, http.StatusPartialContent, s.attachment(m))
	case core.MediaFailed:
		writeValidation(w, map[string]string{"file": m.Failure})
	default:
		writeJSON(w, http.StatusOK, s.attachment(m))
	}
}

// mediaUpdate answers PUT /api/v1/media/:id: the description and focal point of an
// unattached upload (an attached one is changed with its post's edit, media_attributes).
func (s *Server) mediaUpdate(w http.ResponseWriter, r *http.Request) {
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	f, ok := s.readUploadFields(w, r)
	if !ok {
		return
	}
	if s.fileBytes(r, f, "thumbnail") != nil {
		f.Fail("thumbnail", "a custom thumbnail is for audio and video, which this server does not accept")
	}
	in := mediaInput(f)
	if !s.checkFields(w, f) {
		return
	}
	m, err := s.core.DescribeMedia(r.Context(), *callerOf(r).user, n, in)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.writeMedia(w, m)
}
