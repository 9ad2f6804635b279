package core_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/pgtest"
)

func testPNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.RGBA{0xff, 0, 0, 0xff})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// noFinish is a job's Finish for tests that run the job's function directly.
func noFinish(context.Context, pgx.Tx) error { return nil }

// TestProcessMediaIsAppliedOnce: the process_media job run many times, concurrently and
// again afterwards (as a rescued or retried job would be), leaves exactly one original and
// one thumbnail, no upload bytes, and the media ready.
func TestProcessMediaIsAppliedOnce(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	alice := mustUser(t, s, "alice")
	m, err := s.Upload(ctx, alice, testPNG(t, 300, 200), core.MediaInput{Description: "d"}, false)
	require.NoError(t, err)
	require.Equal(t, core.MediaProcessing, m.State)
	require.Nil(t, m.Original)
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM river_job WHERE kind = 'process_media'"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { require.NoError(t, s.ProcessMedia(ctx, m.ID, noFinish)) })
	}
	wg.Wait()
	require.NoError(t, s.ProcessMedia(ctx, m.ID, noFinish))
	require.Equal(t, 2, count(t, pool, "SELECT count(*) FROM media_files WHERE media_id = $1", m.ID))
	require.Equal(t, 0, count(t, pool, "SELECT count(*) FROM media_files WHERE variant = 'upload'"))
	got, err := s.MediaOf(ctx, alice.ID, m.ID)
	require.NoError(t, err)
	require.Equal(t, core.MediaReady, got.State)
	require.Equal(t, 300, got.Original.Width)
	require.NotEmpty(t, got.Blurhash)

	// Bytes that pass the header check but not decoding fail the job's media, with a reason.
	bad := testPNG(t, 50, 50)
	bad = bad[:len(bad)-30]
	m2, err := s.Upload(ctx, alice, bad, core.MediaInput{}, false)
	require.NoError(t, err, "the header is fine")
	require.NoError(t, s.ProcessMedia(ctx, m2.ID, noFinish))
	got, err = s.MediaOf(ctx, alice.ID, m2.ID)
	require.NoError(t, err)
	require.Equal(t, core.MediaFailed, got.State)
	require.NotEmpty(t, got.Failure)
	_, _, err = s.Publish(ctx, alice, core.NewPost{Body: "with a failed upload", MediaIDs: []int64{m2.ID}})
	fieldErr(t, err, "media_ids")
}

// TestCleanMediaRemovesOnlyTheUnused: uploads older than a day that no post took, the
// pictures of deleted posts and replaced avatars go; a fresh upload, an attached one and
// the avatar in use stay. Run twice, it removes nothing more. With a media directory, the
// files on disk go with their rows.
func TestCleanMediaRemovesOnlyTheUnused(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	dir := t.TempDir()
	s := core.New(pool, core.Options{Password: fastHash, SignupsOpen: true, Jobs: insertOnly(), MediaDir: dir})
	alice := mustUser(t, s, "alice")
	upload := func(w int) core.Media {
		m, err := s.Upload(ctx, alice, testPNG(t, w, 20), core.MediaInput{}, true)
		require.NoError(t, err)
		return m
	}
	old, fresh, kept, ofDeleted := upload(10), upload(11), upload(12), upload(13)
	_, err := pool.Exec(ctx, "UPDATE media SET created_at = now() - interval '25 hours' WHERE id = ANY($1)", []int64{old.ID, kept.ID, ofDeleted.ID})
	require.NoError(t, err)
	p, _, err := s.Publish(ctx, alice, core.NewPost{Body: "kept", MediaIDs: []int64{kept.ID}})
	require.NoError(t, err)
	require.Len(t, p.Media, 1)
	gone, _, err := s.Publish(ctx, alice, core.NewPost{Body: "deleted", MediaIDs: []int64{ofDeleted.ID}})
	require.NoError(t, err)
	require.NoError(t, s.DeletePost(ctx, alice, gone.ID))
	alice, err = s.SetPicture(ctx, alice, core.PurposeAvatar, testPNG(t, 80, 60))
	require.NoError(t, err)
	first := alice.AvatarMediaID
	alice, err = s.SetPicture(ctx, alice, core.PurposeAvatar, testPNG(t, 90, 60))
	require.NoError(t, err)
	require.NotEqual(t, first, alice.AvatarMediaID)
	_, err = pool.Exec(ctx, "UPDATE media SET created_at = now() - interval '2 hours' WHERE purpose = 'avatar'")
	require.NoError(t, err)
	filesBefore := countFiles(t, dir)
	require.Equal(t, 0, count(t, pool, "SELECT count(*) FROM media_files WHERE data IS NOT NULL"), "bytes on disk only")

	n, err := s.CleanMedia(ctx, time.Now(), 2)
	require.NoError(t, err)
	require.Equal(t, 3, n, "the old upload, the deleted post's, the replaced avatar")
	var left []int64
	rows, err := pool.Query(ctx, "SELECT id FROM media ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		left = append(left, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{fresh.ID, kept.ID, alice.AvatarMediaID}, left)
	require.Less(t, countFiles(t, dir), filesBefore)
	require.Equal(t, count(t, pool, "SELECT count(DISTINCT sha256) FROM media_files"), countFiles(t, dir),
		"a file on disk for each distinct content left, and no other")
	n, err = s.CleanMedia(ctx, time.Now(), 2)
	require.NoError(t, err)
	require.Zero(t, n)
	blob, err := s.ServeMedia(ctx, 0, kept.ID, core.VariantOriginal, nil)
	require.NoError(t, err, "served from the directory")
	require.NotEmpty(t, blob.Data)
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	}))
	return n
}
