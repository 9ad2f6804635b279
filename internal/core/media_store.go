package core

import (
	"bytes"
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/media"
	"github.com/starling-social/starling/internal/store"
)

// diskFiles keeps media bytes in a directory, one file per distinct content, named by its
// sha256 (dir/ab/abcdef…). Files are written before the row naming them commits; a file
// whose transaction failed stays until the cleanup of a later delete of the same bytes.
type diskFiles struct{ dir string }

func (d *diskFiles) path(sum []byte) string {
	h := hex.EncodeToString(sum)
	return filepath.Join(d.dir, h[:2], h)
}

// put writes data under its sum, atomically (a temporary file renamed into place).
func (d *diskFiles) put(sum [32]byte, data []byte) error {
	p := d.path(sum[:])
	if _, err := os.Stat(p); err == nil {
		return nil // the same bytes are stored already
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("media directory: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return fmt.Errorf("media directory: %w", err)
	}
	defer os.Remove(f.Name()) // gone once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("media file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("media file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("media file: %w", err)
	}
	return os.Rename(f.Name(), p)
}

// blobCache keeps recently served media bytes in memory, up to a total size. Bytes are
// keyed by their sha256, so an entry is never stale: who may see them is asked of the
// database on every request.
type blobCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *blobEntry, most recent first
	byKey map[[32]byte]*list.Element
}

type blobEntry struct {
	key  [32]byte
	data []byte
}

func newBlobCache(max int) *blobCache {
	return &blobCache{max: max, order: list.New(), byKey: map[[32]byte]*list.Element{}}
}

func (c *blobCache) get(key [32]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*blobEntry).data, true
}

func (c *blobCache) put(key [32]byte, data []byte) {
	if len(data) > c.max/8 { // one large file must not empty the cache
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	c.byKey[key] = c.order.PushFront(&blobEntry{key: key, data: data})
	c.size += len(data)
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*blobEntry)
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.size -= len(e.data)
	}
}

// MediaTicket is the signature on an address of media that is not public (an attachment
// of a followers-only or direct post, any media on a members-only server). Image loaders
// in apps send no token, so the addresses the API and the streams show of such media carry
// one: it is shown only to those who may see the post, and lasts until Expires. Without
// it, the media is served only to a logged-in viewer who may see its post; with it or
// without, never once its post is deleted.
type MediaTicket struct {
	Expires int64 // Unix seconds
	Sig     string
}

// mediaTicketDays is how long a signed media address lasts: till the end of the day after
// next (UTC), so that an address stays the same all day and caches can keep it.
const mediaTicketDays = 2

// mediaKey is the key that signs media addresses, made at first use and kept in the
// database so that every process signs alike.
func (s *Service) mediaKey() ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key, err := s.q.ServerKey(ctx, "media")
	if errors.Is(err, pgx.ErrNoRows) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, err
		}
		if err := s.q.ServerKeyInsert(ctx, store.ServerKeyInsertParams{Name: "media", Value: fresh}); err != nil {
			return nil, err
		}
		key, err = s.q.ServerKey(ctx, "media")
	}
	if err != nil {
		return nil, fmt.Errorf("media key: %w", err)
	}
	s.key = key
	return key, nil
}

func ticketSig(key []byte, mediaID, expires int64) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "media:%d:%d", mediaID, expires)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// Path is the plain address, on this site, of variant of m ("" while it has no such
// file): served to anyone for public media, otherwise to a logged-in viewer who may see
// it (the website's pages use it: the browser sends the session).
func (m Media) Path(variant string) string {
	f := m.Original
	if variant == VariantSmall {
		f = m.Small
	}
	if f == nil {
		return ""
	}
	return "/media/" + strconv.FormatInt(m.ID, 10) + "/" + variant + f.Ext()
}

// MediaPath is the address, on this site, of variant of m for API clients: Path for
// public media, signed otherwise (see MediaTicket). It is "" while m has no such file.
func (s *Service) MediaPath(m Media, variant string) string {
	p := m.Path(variant)
	if p == "" || m.Public {
		return p
	}
	return s.signPath(p, m.ID)
}

// signPath adds a ticket for media id to its address p.
func (s *Service) signPath(p string, id int64) string {
	key, err := s.mediaKey()
	if err != nil {
		s.log.Error("media key", "err", err)
		return p // served only to a logged-in viewer, then
	}
	exp := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, mediaTicketDays+1).Unix()
	return fmt.Sprintf("%s?e=%d&s=%s", p, exp, ticketSig(key, id, exp))
}

// PicturePaths are the addresses of u's avatar and header ("" for none) for API clients:
// signed on a members-only server, where only members may see them and image loaders
// send no token.
func (s *Service) PicturePaths(u User) (avatarPath, headerPath string) {
	avatarPath, headerPath = u.AvatarPath(), u.HeaderPath()
	if s.opts.MembersOnly {
		if u.AvatarMediaID != 0 {
			avatarPath = s.signPath(avatarPath, u.AvatarMediaID)
		}
		if u.HeaderMediaID != 0 {
			headerPath = s.signPath(headerPath, u.HeaderMediaID)
		}
	}
	return avatarPath, headerPath
}

// MediaBlob is one media file to serve.
type MediaBlob struct {
	ContentType string
	ETag        string
	// Public says anyone may be served it (Cache-Control: public).
	Public bool
	Data   []byte
}

// ServeMedia answers variant ("original" or "small") of media id to viewerID (0: nobody
// logged in), who must be allowed to see it, or to anyone with a valid ticket while its
// post is live. Anything else is ErrNotFound: media of a post the viewer may not see, a
// wrong or expired ticket, a deleted post's media, any media on a members-only server for
// nobody without a ticket.
func (s *Service) ServeMedia(ctx context.Context, viewerID, id int64, variant string, t *MediaTicket) (MediaBlob, error) {
	blur := variant == VariantBlur
	if blur {
		variant = VariantSmall // who may see the one may see the other
	}
	if variant != VariantOriginal && variant != VariantSmall {
		return MediaBlob{}, ErrNotFound
	}
	key := publicKey{id, variant}
	if !blur {
		if blob, ok := s.publicMedia.get(key, time.Now()); ok {
			return blob, nil
		}
	}
	ticketed := false
	if t != nil {
		key, err := s.mediaKey()
		if err != nil {
			return MediaBlob{}, err
		}
		if time.Now().Unix() > t.Expires || !hmac.Equal([]byte(t.Sig), []byte(ticketSig(key, id, t.Expires))) {
			return MediaBlob{}, ErrNotFound
		}
		ticketed = true
	}
	if !ticketed && !s.MayRead(viewerID) {
		return MediaBlob{}, ErrNotFound
	}
	row, err := s.q.MediaServe(ctx, store.MediaServeParams{MediaID: id, Variant: variant, ViewerID: viewerID})
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !row.Visible && !(ticketed && row.Live) {
		return MediaBlob{}, ErrNotFound
	}
	if err != nil {
		return MediaBlob{}, fmt.Errorf("serve media %d: %w", id, err)
	}
	public := row.Public && !s.opts.MembersOnly
	if blur {
		if row.Blurhash == nil {
			return MediaBlob{}, ErrNotFound
		}
		return s.blurPNG(*row.Blurhash, public)
	}
	data, err := s.fileBytes(ctx, id, variant, row.Sha256, row.OnDisk)
	if err != nil {
		return MediaBlob{}, err
	}
	blob := MediaBlob{ContentType: row.ContentType, ETag: fmt.Sprintf(`"%x"`, row.Sha256), Public: public, Data: data}
	if public && row.Visible {
		s.publicMedia.put(key, blob, time.Now())
	}
	return blob, nil
}

// PublicMediaTTL bounds how long a process serves a public picture without asking the
// database again: a picture whose post was deleted stops being served within it.
const PublicMediaTTL = time.Second

// publicKey names one variant of one media.
type publicKey struct {
	id      int64
	variant string
}

// publicCache remembers, for PublicMediaTTL, the public pictures just served (those anyone
// may see), so that a picture in demand costs one query per second per process, not one
// per request. Who may see any other picture is asked every time.
type publicCache struct {
	mu sync.Mutex
	m  map[publicKey]publicEntry
}

type publicEntry struct {
	blob MediaBlob
	at   time.Time
}

func (c *publicCache) get(k publicKey, now time.Time) (MediaBlob, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Sub(e.at) >= PublicMediaTTL {
		return MediaBlob{}, false
	}
	return e.blob, true
}

func (c *publicCache) put(k publicKey, b MediaBlob, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 4096 { // entries live a second: start afresh rather than sweep
		c.m = make(map[publicKey]publicEntry, 64)
	}
	c.m[k] = publicEntry{blob: b, at: now}
}

// blurPNG draws a blurhash as a small PNG: the placeholder the website shows in place of
// sensitive pictures until they are opened.
func (s *Service) blurPNG(hash string, public bool) (MediaBlob, error) {
	key := sha256.Sum256([]byte("blurhash:" + hash))
	blob := MediaBlob{ContentType: "image/png", ETag: fmt.Sprintf(`"%x"`, key), Public: public}
	if data, ok := s.blobs.get(key); ok {
		blob.Data = data
		return blob, nil
	}
	img, err := media.DecodeBlurhash(hash, 32, 32)
	if err != nil {
		return MediaBlob{}, ErrNotFound
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return MediaBlob{}, err
	}
	blob.Data = buf.Bytes()
	s.blobs.put(key, blob.Data)
	return blob, nil
}

// fileBytes reads a stored file, from the cache when it holds it.
func (s *Service) fileBytes(ctx context.Context, id int64, variant string, sum []byte, onDisk bool) ([]byte, error) {
	var key [32]byte
	copy(key[:], sum)
	if data, ok := s.blobs.get(key); ok {
		return data, nil
	}
	var data []byte
	var err error
	if onDisk {
		if s.files == nil {
			return nil, fmt.Errorf("media %d is in the media directory, but STARLING_MEDIA_DIR is not set", id)
		}
		data, err = os.ReadFile(s.files.path(sum))
	} else {
		data, err = s.q.MediaFileData(ctx, store.MediaFileDataParams{MediaID: id, Variant: variant})
	}
	if err != nil {
		return nil, fmt.Errorf("media %d %s: %w", id, variant, err)
	}
	if variant != VariantUpload {
		s.blobs.put(key, data)
	}
	return data, nil
}

// SetPicture makes data user's avatar or header (purpose), cropped and scaled, in place of
// the one before (which the cleanup removes). It answers the account as it is now.
func (s *Service) SetPicture(ctx context.Context, user User, purpose string, data []byte) (User, error) {
	field := map[string]string{PurposeAvatar: "avatar", PurposeHeader: "header"}[purpose]
	if field == "" {
		return User{}, fmt.Errorf("set picture: unknown purpose %q", purpose)
	}
	info, err := s.checkUpload(field, data)
	if err != nil {
		return User{}, err
	}
	shape := media.Avatar
	if purpose == PurposeHeader {
		shape = media.Header
	}
	var v media.Variant
	err = s.withMediaSlot(ctx, func() (err error) { v, err = shape(data, s.opts.MediaLimits); return err })
	if err != nil {
		return User{}, uploadProblem(field, err)
	}
	err = s.changeAccount(ctx, user.ID, func(q *store.Queries) error {
		m, err := q.MediaInsert(ctx, store.MediaInsertParams{AccountID: user.ID, Purpose: purpose, State: MediaReady, UploadType: info.ContentType})
		if err != nil {
			return err
		}
		if err := s.putFile(ctx, q, m.ID, VariantOriginal, v); err != nil {
			return err
		}
		if err := q.MediaProcessed(ctx, store.MediaProcessedParams{ID: m.ID}); err != nil {
			return err
		}
		return s.setPictureID(ctx, q, user.ID, purpose, &m.ID)
	})
	if err != nil {
		return User{}, fmt.Errorf("set %s: %w", field, err)
	}
	return s.UserByID(ctx, user.ID)
}

// RemovePicture goes back to the generated avatar, or to no header.
func (s *Service) RemovePicture(ctx context.Context, user User, purpose string) (User, error) {
	if err := s.changeAccount(ctx, user.ID, func(q *store.Queries) error {
		return s.setPictureID(ctx, q, user.ID, purpose, nil)
	}); err != nil {
		return User{}, fmt.Errorf("remove %s: %w", purpose, err)
	}
	return s.UserByID(ctx, user.ID)
}

func (s *Service) setPictureID(ctx context.Context, q *store.Queries, userID int64, purpose string, id *int64) error {
	if purpose == PurposeHeader {
		return q.UserSetHeader(ctx, store.UserSetHeaderParams{ID: userID, MediaID: id})
	}
	return q.UserSetAvatar(ctx, store.UserSetAvatarParams{ID: userID, MediaID: id})
}

// withMediaSlot runs f holding one of the process's media processing slots.
func (s *Service) withMediaSlot(ctx context.Context, f func() error) error {
	select {
	case s.mediaSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.mediaSlots }()
	return f()
}

// CleanMedia removes media nobody uses any more, in batches of batch: attachments no post
// took within UnattachedMediaTTL, attachments of deleted posts, and avatars and headers
// replaced over an hour ago, with their files. It answers how many it removed.
func (s *Service) CleanMedia(ctx context.Context, now time.Time, batch int) (int, error) {
	removed := 0
	for {
		ids, err := s.q.MediaUnused(ctx, store.MediaUnusedParams{UnattachedBefore: now.Add(-UnattachedMediaTTL),
			PicturesBefore: now.Add(-time.Hour), RowLimit: int32(batch)})
		if err != nil {
			return removed, fmt.Errorf("clean media: %w", err)
		}
		if len(ids) == 0 {
			return removed, nil
		}
		sums, err := s.q.MediaDelete(ctx, ids)
		if err != nil {
			return removed, fmt.Errorf("clean media: %w", err)
		}
		removed += len(ids)
		for _, sum := range sums {
			if s.files == nil {
				continue
			}
			if used, err := s.q.MediaDiskFileUsed(ctx, sum); err == nil && !used {
				if err := os.Remove(s.files.path(sum)); err != nil && !errors.Is(err, os.ErrNotExist) {
					s.log.WarnContext(ctx, "media file not removed", "err", err)
				}
			}
		}
		if len(ids) < batch {
			return removed, nil
		}
	}
}
