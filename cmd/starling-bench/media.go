package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// photo is a w×h picture that compresses like a photograph: smooth gradients with fine
// noise, so that a 12-megapixel JPEG of it is a few megabytes, as a phone's is.
func photo(w, h int, seed uint64) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(seed, 7))
	for y := range h {
		for x := range w {
			v := 60 + 120*x/w + 40*y/h + r.IntN(24)
			img.Y[y*img.YStride+x] = uint8(min(255, v))
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			i := y*img.CStride + x
			img.Cb[i] = uint8(100 + 50*x/(w/2) + r.IntN(6))
			img.Cr[i] = uint8(140 - 40*y/(h/2) + r.IntN(6))
		}
	}
	return img
}

func jpegBytes(img image.Image, q int) ([]byte, error) {
	var b bytes.Buffer
	err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q})
	return b.Bytes(), err
}

// uploadMedia posts data to path as the multipart field file and answers the media id.
func uploadMedia(client *http.Client, base, path, token string, data []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.jpg")
	fw.Write(data)
	mw.WriteField("description", "a benchmark photo")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("upload: %d %s", res.StatusCode, b)
	}
	var a struct {
		ID  string  `json:"id"`
		URL *string `json:"url"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return "", err
	}
	return a.ID, nil
}

// peakRSS is the largest resident size the process has had (VmHWM), in bytes.
func (srv *server) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// media is section 11: uploads of 12-megapixel JPEGs and their processing by one worker
// (images/s, the worker's peak memory), and serving a stored picture from the database
// beside http.ServeFile of the same bytes from disk, in the same run.
func (s *suite) media(ctx context.Context) error {
	n := 40
	if s.quick {
		n = 8
	}
	if _, err := s.env.pool.Exec(ctx, "TRUNCATE media CASCADE"); err != nil {
		return err
	}
	tokens, err := s.tokens(ctx, 4)
	if err != nil {
		return err
	}
	progress("media: making a 12-megapixel photo")
	big, err := jpegBytes(photo(4000, 3000, 1), 92)
	if err != nil {
		return err
	}
	web, err := jpegBytes(photo(1600, 1200, 2), 85)
	if err != nil {
		return err
	}

	// 1. Uploads to /api/v2/media with no worker running: the request's own cost.
	srv, err := s.start("serve")
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	progress("media: uploading %d photos of %.1f MB", n, float64(len(big))/1e6)
	t0 := time.Now()
	errs := make(chan error, 2)
	for w := range 2 {
		go func() {
			for i := w; i < n; i += 2 {
				if _, err := uploadMedia(client, srv.base, "/api/v2/media", tokens[w], big); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			srv.stop()
			return err
		}
	}
	uploadSecs := time.Since(t0).Seconds()
	serveRSS := srv.peakRSS()

	// 2. One worker processes them all.
	progress("media: one worker processes them")
	worker, err := s.start("work")
	if err != nil {
		srv.stop()
		return err
	}
	t1 := time.Now()
	for {
		var left int
		if err := s.env.pool.QueryRow(ctx, "SELECT count(*) FROM media WHERE state = 'processing'").Scan(&left); err != nil {
			return err
		}
		if left == 0 {
			break
		}
		if time.Since(t1) > 20*time.Minute {
			return fmt.Errorf("media: %d uploads still processing after 20 minutes", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	processSecs := time.Since(t1).Seconds()
	workerRSS := worker.peakRSS()
	worker.stop()
	var failed int
	var stored, tableBytes, vacuumed int64
	if err := s.env.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM media WHERE state = 'failed'),
		(SELECT coalesce(sum(size), 0) FROM media_files), pg_total_relation_size('media_files')`).Scan(&failed, &stored, &tableBytes); err != nil {
		return err
	}
	// The uploads' bytes, deleted once processed, leave dead space until (auto)vacuum makes
	// it reusable; VACUUM FULL shows what the kept files cost.
	if _, err := s.env.pool.Exec(ctx, "VACUUM FULL media_files"); err != nil {
		return err
	}
	if err := s.env.pool.QueryRow(ctx, "SELECT pg_total_relation_size('media_files')").Scan(&vacuumed); err != nil {
		return err
	}

	// 3. Serving: a 1600×1200 photo and its thumbnail, public, from the database through
	// the whole server, beside http.ServeFile of the same bytes in this process.
	id, err := uploadMedia(client, srv.base, "/api/v1/media", tokens[2], web)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodPost, srv.base+"/api/v1/statuses", bytes.NewReader([]byte(`{"status":"photo","media_ids":["`+id+`"]}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokens[2])
	res, err := client.Do(req)
	if err := discard(res, err, http.StatusOK); err != nil {
		return err
	}
	tr.CloseIdleConnections()
	type target struct {
		name, path string
		bytes      []byte
	}
	var targets []target
	for _, v := range []string{"original", "small"} {
		path := "/media/" + id + "/" + v + ".jpg"
		res, err := http.Get(srv.base + path)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", path, res.StatusCode)
		}
		targets = append(targets, target{v, path, b})
	}
	dir := filepath.Join(s.tmp, "servefile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	for _, t := range targets {
		if err := os.WriteFile(filepath.Join(dir, t.name+".jpg"), t.bytes, 0o644); err != nil {
			return err
		}
	}
	fileSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.URL.Path)))
	})}
	go fileSrv.Serve(ln)
	defer fileSrv.Close()
	fileBase := "http://" + ln.Addr().String()
	get := func(url string) func(*http.Client, int) error {
		return func(c *http.Client, _ int) error {
			res, err := c.Get(url)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%d", res.StatusCode)
			}
			return nil
		}
	}
	results := map[string]servedPair{}
	for _, t := range targets {
		progress("media: serving the %s (%d KB)", t.name, len(t.bytes)>>10)
		var runs []servedPair
		for range s.runs {
			st := closedLoop(16, s.seconds, get(srv.base+t.path))
			fl := closedLoop(16, s.seconds, get(fileBase+"/"+t.name+".jpg"))
			runs = append(runs, servedPair{st, fl})
		}
		results[t.name] = medianServed(runs)
	}
	srv.stop()

	s.printf("## 11. Media: uploads, processing and serving\n\n")
	s.printf("Uploads: %d photos of 4000 × 3000 pixels (12 MP, a %.1f MB JPEG each) sent to `POST /api/v2/media` by 2 clients with no worker running, then one `starling work` processing them all "+
		"(decode in full, the original's image data kept without its metadata since it is upright, a thumbnail, a blurhash; one job per photo, one picture per CPU at a time).\n\n", n, float64(len(big))/1e6)
	s.printf("| step | figure |\n| --- | ---: |\n")
	s.printf("| uploads accepted (202, bytes stored in Postgres) | %.1f photos/s (%.0f MB/s) |\n", float64(n)/uploadSecs, float64(n)*float64(len(big))/1e6/uploadSecs)
	s.printf("| processed by one worker | **%.2f photos/s** (%.1f s for %d) |\n", float64(n)/processSecs, processSecs, n)
	s.printf("| peak RSS of the worker (VmHWM) | **%d MiB** |\n", workerRSS>>20)
	s.printf("| peak RSS of the server taking the uploads | %d MiB |\n", serveRSS>>20)
	s.printf("| failed | %d |\n", failed)
	s.printf("| bytes stored (originals + thumbnails) | %.1f MB, %.0f KB per photo |\n", float64(stored)/1e6, float64(stored)/float64(n+1)/1e3)
	s.printf("| `media_files` on disk (table + TOAST + index), right after processing | %.1f MB (%.2f× the bytes stored: the uploads' deleted bytes wait for vacuum) |\n", float64(tableBytes)/1e6, float64(tableBytes)/float64(max(stored, 1)))
	s.printf("| the same after `VACUUM FULL media_files` | %.1f MB (**%.3f×** the bytes stored) |\n\n", float64(vacuumed)/1e6, float64(vacuumed)/float64(max(stored, 1)))
	s.printf("Serving: `GET` of one stored picture of a public post through the whole server (route, visibility query, bytes from the process's cache, headers) "+
		"beside `http.ServeFile` of the same bytes from a file, by a plain Go server in the bench process, 16 connections each, %d runs of %s, median:\n\n", s.runs, s.seconds)
	s.printf("| picture | Starling req/s | p50 | p99 | ServeFile req/s | p50 | p99 | ratio (goal ≥ 0.5×) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, t := range targets {
		r := results[t.name]
		s.printf("| %s (%d KB) | %.0f | %s | %s | %.0f | %s | %s | **%.2f×** |\n", t.name, len(t.bytes)>>10,
			r.starling.rate, ms(r.starling.pct(0.5)), ms(r.starling.pct(0.99)), r.file.rate, ms(r.file.pct(0.5)), ms(r.file.pct(0.99)), r.starling.rate/r.file.rate)
	}
	s.printf("\n")
	return nil
}

// servedPair is one run of the serving comparison: Starling's and ServeFile's.
type servedPair struct{ starling, file load }

// medianServed picks the run with the median Starling rate.
func medianServed(runs []servedPair) servedPair {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b servedPair) int { return cmp.Compare(a.starling.rate, b.starling.rate) })
	return sorted[len(sorted)/2]
}
