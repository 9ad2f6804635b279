package core

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/media"
	"github.com/starling-social/starling/internal/store"
)

// Media purposes: what an upload is for.
const (
	PurposeAttachment = "attachment"
	PurposeAvatar     = "avatar"
	PurposeHeader     = "header"
)

// Media states.
const (
	MediaProcessing = "processing"
	MediaReady      = "ready"
	MediaFailed     = "failed"
)

// Media variants: the upload as received (never served) and the two served renditions.
const (
	VariantUpload   = "upload"
	VariantOriginal = "original"
	VariantSmall    = "small"
	// VariantBlur is the blurhash drawn as a small PNG (the website's placeholder).
	VariantBlur = "blur"
)

// MaxMediaPerPost is how many attachments one post may have.
const MaxMediaPerPost = 4

// MaxMediaDescription bounds an attachment's description (its alt text), in characters.
const MaxMediaDescription = 1500

// UnattachedMediaTTL is how long an uploaded attachment that no post took is kept.
const UnattachedMediaTTL = 24 * time.Hour

// ErrTooLarge means an upload is larger than the server accepts (HTTP 413).
var ErrTooLarge = errors.New("too large")

// Media is one uploaded picture with the shapes of its served files.
type Media struct {
	ID        int64
	AccountID int64
	// PostID is the post it is attached to, 0 while unattached (or for an avatar).
	PostID  int64
	Purpose string
	// State is MediaProcessing, MediaReady or MediaFailed (then Failure says why).
	State   string
	Failure string
	// UploadType is the content type of the upload's bytes.
	UploadType  string
	Description string
	// FocusX and FocusY are the focal point, each in [-1, 1] (Mastodon's focus).
	FocusX, FocusY float64
	Blurhash       string
	Animated       bool
	CreatedAt      time.Time
	// Original and Small are the served files once processed, nil before.
	Original, Small *MediaFile
	// Public says the files may be served to anyone at a stable address: an attachment of
	// a public or unlisted post, an avatar or a header, on a server that is not members-only.
	Public bool
}

// MediaFile is the shape of one served file.
type MediaFile struct {
	ContentType   string
	Width, Height int
	Size          int
	// ETag is a strong validator of its bytes (their sha256, quoted).
	ETag string
}

// Ext is the file name extension of its content type, with the dot.
func (f MediaFile) Ext() string {
	switch f.ContentType {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ""
}

// MediaInput is what an upload says besides its bytes.
type MediaInput struct {
	// Description is the alt text.
	Description string
	// Focus is Mastodon's "x,y", each in [-1, 1]; "" for the centre.
	Focus string
	// KeepDescription and KeepFocus leave those as they are, in a change.
	KeepDescription, KeepFocus bool
}

// check validates in, answering the focal point.
func (in MediaInput) check() (x, y float64, err error) {
	problems := map[string]string{}
	if utf8.RuneCountInString(in.Description) > MaxMediaDescription {
		problems["description"] = fmt.Sprintf("can be at most %d characters", MaxMediaDescription)
	}
	if in.Focus != "" {
		var ok bool
		if x, y, ok = parseFocus(in.Focus); !ok {
			problems["focus"] = `must be two numbers between -1 and 1, as "x,y" (like "-0.5,0.25")`
		}
	}
	if len(problems) > 0 {
		return 0, 0, &ValidationError{Fields: problems}
	}
	return x, y, nil
}

func parseFocus(s string) (x, y float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	var err1, err2 error
	x, err1 = strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, err2 = strconv.ParseFloat(strings.TrimSpace(b), 64)
	in := func(v float64) bool { return !math.IsNaN(v) && v >= -1 && v <= 1 }
	return x, y, err1 == nil && err2 == nil && in(x) && in(y)
}

// mediaLimits fills the zero fields of l from media.DefaultLimits.
func mediaLimits(l media.Limits) media.Limits {
	d := media.DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = d.MaxFrames
	}
	return l
}

// MediaLimits are the limits uploads are held to.
func (s *Service) MediaLimits() media.Limits { return s.opts.MediaLimits }

// uploadProblem turns a refusal of the media package into a ValidationError of field.
func uploadProblem(field string, err error) error {
	var merr *media.Error
	if errors.As(err, &merr) {
		if merr.Code == "too_large" {
			return fmt.Errorf("%w: %s", ErrTooLarge, merr.Message)
		}
		return invalid(field, merr.Message)
	}
	return err
}

// checkUpload refuses, before anything is stored, bytes that are too many, not a picture
// of a supported type, or a picture whose header claims too many pixels.
func (s *Service) checkUpload(field string, data []byte) (media.Info, error) {
	if int64(len(data)) > s.opts.MediaLimits.MaxBytes {
		return media.Info{}, fmt.Errorf("%w: the file is %d bytes; at most %d are accepted", ErrTooLarge, len(data), s.opts.MediaLimits.MaxBytes)
	}
	if len(data) == 0 {
		return media.Info{}, invalid(field, "is empty")
	}
	info, err := media.Inspect(data, s.opts.MediaLimits)
	if err != nil {
		return media.Info{}, uploadProblem(field, err)
	}
	return info, nil
}

// Upload stores an attachment uploaded by owner. With wait, it is processed now and
// answered ready (POST /api/v1/media); otherwise its bytes are stored, a River job
// processes them, and it is answered while processing (POST /api/v2/media). Bytes that
// are not a supported picture, or too large, are refused before anything is stored.
func (s *Service) Upload(ctx context.Context, owner User, data []byte, in MediaInput, wait bool) (Media, error) {
	fx, fy, err := in.check()
	if err != nil {
		return Media{}, err
	}
	info, err := s.checkUpload("file", data)
	if err != nil {
		return Media{}, err
	}
	params := store.MediaInsertParams{AccountID: owner.ID, Purpose: PurposeAttachment, State: MediaProcessing,
		UploadType: info.ContentType, Description: in.Description, FocusX: float32(fx), FocusY: float32(fy)}
	var res media.Result
	if wait {
		if res, err = s.process(ctx, data); err != nil {
			return Media{}, uploadProblem("file", err)
		}
		params.State = MediaReady
	}
	var m store.Medium
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		var err error
		if m, err = q.MediaInsert(ctx, params); err != nil {
			return err
		}
		if wait {
			return s.storeProcessed(ctx, q, m.ID, res)
		}
		if err := s.putFile(ctx, q, m.ID, VariantUpload, media.Variant{ContentType: info.ContentType, Data: data}); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, jobargs.ProcessMedia{MediaID: m.ID})
	})
	if err != nil {
		return Media{}, fmt.Errorf("upload: %w", err)
	}
	s.log.InfoContext(ctx, "media uploaded", "media_id", m.ID, "account_id", owner.ID, "bytes", len(data), "type", info.ContentType, "processed", wait)
	return s.MediaOf(ctx, owner.ID, m.ID)
}

// process runs the media package on data, holding a processing slot.
func (s *Service) process(ctx context.Context, data []byte) (res media.Result, err error) {
	err = s.withMediaSlot(ctx, func() (err error) { res, err = media.Process(data, s.opts.MediaLimits); return err })
	return res, err
}

// storeProcessed writes res as media id's served files and marks it ready.
func (s *Service) storeProcessed(ctx context.Context, q *store.Queries, id int64, res media.Result) error {
	if err := s.putFile(ctx, q, id, VariantOriginal, res.Original); err != nil {
		return err
	}
	if err := s.putFile(ctx, q, id, VariantSmall, res.Small); err != nil {
		return err
	}
	return q.MediaProcessed(ctx, store.MediaProcessedParams{ID: id, Blurhash: &res.Blurhash, Animated: res.Animated})
}

// putFile stores one variant's bytes: in the database, or in the media directory with only
// its shape in the database.
func (s *Service) putFile(ctx context.Context, q *store.Queries, id int64, variant string, v media.Variant) error {
	sum := sha256.Sum256(v.Data)
	data := v.Data
	if s.files != nil {
		if err := s.files.put(sum, v.Data); err != nil {
			return err
		}
		data = nil
	}
	return q.MediaFileInsert(ctx, store.MediaFileInsertParams{MediaID: id, Variant: variant, ContentType: v.ContentType,
		Width: int32(v.Width), Height: int32(v.Height), Size: int32(len(v.Data)), Sha256: sum[:], Data: data})
}

// ProcessMedia processes the upload of media id (the process_media job): it makes the
// served files, and marks the media ready, or failed with the reason when the bytes turn
// out not to be a picture after all; then calls finish in the same transaction. Running it
// again for media that is not processing any more does nothing but finish.
func (s *Service) ProcessMedia(ctx context.Context, id int64, finish Finish) error {
	up, err := s.q.MediaUpload(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) { // processed already, or deleted
		return store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error { return finish(ctx, tx) })
	}
	if err != nil {
		return fmt.Errorf("process media %d: %w", id, err)
	}
	data, err := s.fileBytes(ctx, id, VariantUpload, up.Sha256, up.Data == nil)
	if err != nil {
		return fmt.Errorf("process media %d: %w", id, err)
	}
	res, perr := s.process(ctx, data)
	var merr *media.Error
	if perr != nil && !errors.As(perr, &merr) {
		return fmt.Errorf("process media %d: %w", id, perr)
	}
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		m, err := q.MediaGetForUpdate(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return finish(ctx, tx)
		}
		if err != nil {
			return err
		}
		if m.State != MediaProcessing {
			return finish(ctx, tx)
		}
		if merr != nil {
			msg := merr.Message
			if err := q.MediaFailed(ctx, store.MediaFailedParams{ID: id, Failure: &msg}); err != nil {
				return err
			}
		} else if err := s.storeProcessed(ctx, q, id, res); err != nil {
			return err
		}
		if err := q.MediaFileDelete(ctx, store.MediaFileDeleteParams{MediaID: id, Variant: VariantUpload}); err != nil {
			return err
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("process media %d: %w", id, err)
	}
	if merr != nil {
		s.log.InfoContext(ctx, "media refused", "media_id", id, "reason", merr.Code)
	}
	return nil
}

// MediaOf is media id, for its owner: the upload they may still describe and attach.
// Someone else's media, or media a post has taken, is ErrNotFound (as on Mastodon).
func (s *Service) MediaOf(ctx context.Context, ownerID, id int64) (Media, error) {
	m, err := s.q.MediaGet(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (m.AccountID != ownerID || m.PostID != nil || m.Purpose != PurposeAttachment) {
		return Media{}, ErrNotFound
	}
	if err != nil {
		return Media{}, fmt.Errorf("media %d: %w", id, err)
	}
	out, err := s.mediaWithFiles(ctx, []store.Medium{m}, nil)
	if err != nil {
		return Media{}, err
	}
	return out[0], nil
}

// DescribeMedia changes the description and focal point of owner's unattached upload id.
func (s *Service) DescribeMedia(ctx context.Context, owner User, id int64, in MediaInput) (Media, error) {
	fx, fy, err := in.check()
	if err != nil {
		return Media{}, err
	}
	if _, err := s.MediaOf(ctx, owner.ID, id); err != nil {
		return Media{}, err
	}
	if _, err := s.q.MediaDescribe(ctx, store.MediaDescribeParams{ID: id, Description: in.Description,
		FocusX: float32(fx), FocusY: float32(fy), KeepDescription: in.KeepDescription, KeepFocus: in.KeepFocus}); err != nil {
		return Media{}, fmt.Errorf("describe media %d: %w", id, err)
	}
	return s.MediaOf(ctx, owner.ID, id)
}

// attachMedia gives post the uploads ids of author, in that order, in the post's
// transaction. Each must be the author's own, unattached and not failed.
func attachMedia(ctx context.Context, q *store.Queries, authorID, postID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	n, err := q.MediaAttach(ctx, store.MediaAttachParams{PostID: &postID, AccountID: authorID, Ids: ids})
	if err != nil {
		return err
	}
	if n != int64(len(ids)) {
		return invalid("media_ids", "Each media id must be one of your own uploads, processed (try again in a moment if it is still processing), that no post has taken yet.")
	}
	return nil
}

// checkMediaIDs validates a post's list of media ids.
func checkMediaIDs(ids []int64, problems map[string]string) {
	if len(ids) > MaxMediaPerPost {
		problems["media_ids"] = fmt.Sprintf("A post can have at most %d attachments.", MaxMediaPerPost)
		return
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if id <= 0 || seen[id] {
			problems["media_ids"] = "must be distinct ids of your uploads"
			return
		}
		seen[id] = true
	}
}

// mediaWithFiles converts rows to Media with their files' shapes. public, when given,
// says which posts are public or unlisted (for Media.Public).
func (s *Service) mediaWithFiles(ctx context.Context, rows []store.Medium, public map[int64]bool) ([]Media, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	for i, m := range rows {
		ids[i] = m.ID
	}
	files, err := s.q.MediaFilesOf(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("media files: %w", err)
	}
	byID := map[int64]map[string]*MediaFile{}
	for _, f := range files {
		if byID[f.MediaID] == nil {
			byID[f.MediaID] = map[string]*MediaFile{}
		}
		byID[f.MediaID][f.Variant] = &MediaFile{ContentType: f.ContentType, Width: int(f.Width), Height: int(f.Height),
			Size: int(f.Size), ETag: fmt.Sprintf(`"%x"`, f.Sha256)}
	}
	out := make([]Media, len(rows))
	for i, m := range rows {
		out[i] = mediaFrom(m)
		out[i].Original, out[i].Small = byID[m.ID][VariantOriginal], byID[m.ID][VariantSmall]
		if !s.opts.MembersOnly {
			out[i].Public = m.Purpose != PurposeAttachment || m.PostID != nil && public[*m.PostID]
		}
	}
	return out, nil
}

func mediaFrom(m store.Medium) Media {
	out := Media{ID: m.ID, AccountID: m.AccountID, Purpose: m.Purpose, State: m.State, UploadType: m.UploadType,
		Description: m.Description, FocusX: float64(m.FocusX), FocusY: float64(m.FocusY), Animated: m.Animated,
		CreatedAt: m.CreatedAt}
	if m.PostID != nil {
		out.PostID = *m.PostID
	}
	if m.Failure != nil {
		out.Failure = *m.Failure
	}
	if m.Blurhash != nil {
		out.Blurhash = *m.Blurhash
	}
	return out
}

// resolveMedia fills in the attachments of posts (and of the posts they boost), with one
// query for them all.
func (s *Service) resolveMedia(ctx context.Context, posts []*Post) error {
	ids := make([]int64, 0, len(posts))
	public := map[int64]bool{}
	for _, p := range posts {
		ids = append(ids, p.ID)
		public[p.ID] = p.Visibility == VisibilityPublic || p.Visibility == VisibilityUnlisted
	}
	rows, err := s.q.MediaOfPostsWithFiles(ctx, ids)
	if err != nil {
		return fmt.Errorf("media of posts: %w", err)
	}
	byPost := map[int64][]Media{}
	for _, r := range rows {
		pid := *r.Medium.PostID
		list := byPost[pid]
		if len(list) == 0 || list[len(list)-1].ID != r.Medium.ID {
			m := mediaFrom(r.Medium)
			m.Public = !s.opts.MembersOnly && public[pid]
			list = append(list, m)
		}
		f := &MediaFile{ContentType: r.ContentType, Width: int(r.Width), Height: int(r.Height),
			Size: int(r.Size), ETag: fmt.Sprintf(`"%x"`, r.Sha256)}
		switch last := &list[len(list)-1]; r.Variant {
		case VariantOriginal:
			last.Original = f
		case VariantSmall:
			last.Small = f
		}
		byPost[pid] = list
	}
	for _, p := range posts {
		p.Media = byPost[p.ID]
	}
	return nil
}
