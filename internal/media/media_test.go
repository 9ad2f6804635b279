package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// quadrants is a w×h picture: red top left, green top right, blue bottom left, white
// bottom right, so that where each corner went tells the orientation.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{0xff, 0, 0, 0xff}
			switch {
			case x >= w/2 && y < h/2:
				c = color.RGBA{0, 0xff, 0, 0xff}
			case x < w/2 && y >= h/2:
				c = color.RGBA{0, 0, 0xff, 0xff}
			case x >= w/2 && y >= h/2:
				c = color.RGBA{0xff, 0xff, 0xff, 0xff}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func encJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}))
	return b.Bytes()
}

// withEXIF inserts an APP1 EXIF segment (little-endian TIFF) with an orientation, a
// camera model and a GPS directory into a JPEG.
func withEXIF(j []byte, orientation uint16, extra string) []byte {
	le := binary.LittleEndian
	var t bytes.Buffer
	t.WriteString("II*\x00")
	binary.Write(&t, le, uint32(8))
	binary.Write(&t, le, uint16(3))
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&t, le, tag)
		binary.Write(&t, le, typ)
		binary.Write(&t, le, count)
		binary.Write(&t, le, value)
	}
	strAt := uint32(8 + 2 + 3*12 + 4)
	entry(0x0110, 2, uint32(len(extra)+1), strAt)
	entry(0x0112, 3, 1, uint32(orientation))
	entry(0x8825, 4, 1, strAt+uint32(len(extra)+1))
	binary.Write(&t, le, uint32(0))
	t.WriteString(extra + "\x00")
	binary.Write(&t, le, uint16(1))
	entry(0x0002, 5, 3, 0) // GPSLatitude (offset nonsense on purpose)
	binary.Write(&t, le, uint32(0))
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j[2:]...)
}

func pngHeader(w, h uint32) []byte {
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
	ihdr[8], ihdr[9] = 8, 6
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func code(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	return ""
}

// TestEachFormat: JPEG, PNG with and without transparency, a still and an animated GIF,
// lossy and lossless WebP: each processed into an original and a thumbnail of the
// expected types and sizes, with a blurhash.
func TestEachFormat(t *testing.T) {
	t.Parallel()
	var pngOpaque, pngAlpha, still, anim bytes.Buffer
	require.NoError(t, png.Encode(&pngOpaque, quadrants(1000, 500)))
	alpha := image.NewNRGBA(image.Rect(0, 0, 30, 20))
	alpha.SetNRGBA(1, 1, color.NRGBA{0xff, 0, 0, 0x40})
	require.NoError(t, png.Encode(&pngAlpha, alpha))
	pal := color.Palette{color.Black, color.White}
	frame := func() *image.Paletted { return image.NewPaletted(image.Rect(0, 0, 20, 10), pal) }
	require.NoError(t, gif.Encode(&still, frame(), nil))
	g := &gif.GIF{Image: []*image.Paletted{frame(), frame(), frame()}, Delay: []int{5, 10, 15}, LoopCount: 3}
	g.Image[1].SetColorIndex(3, 3, 1)
	require.NoError(t, gif.EncodeAll(&anim, g))
	webp, err := os.ReadFile("testdata/test.webp")
	require.NoError(t, err)
	webpAlpha, err := os.ReadFile("testdata/alpha.webp")
	require.NoError(t, err)
	for _, c := range []struct {
		name, orig, small string
		data              []byte
		w, h              int
	}{
		{"jpeg", JPEG, JPEG, encJPEG(t, quadrants(1200, 900)), 1200, 900},
		{"png", PNG, JPEG, pngOpaque.Bytes(), 1000, 500},
		{"png with alpha", PNG, PNG, pngAlpha.Bytes(), 30, 20},
		{"still gif", GIF, JPEG, still.Bytes(), 20, 10},
		{"animated gif", GIF, PNG, anim.Bytes(), 20, 10},
		{"webp", JPEG, JPEG, webp, 0, 0},
		{"webp with alpha", PNG, PNG, webpAlpha, 0, 0},
	} {
		res, err := Process(c.data, DefaultLimits())
		require.NoError(t, err, c.name)
		require.Equal(t, c.orig, res.Original.ContentType, c.name)
		require.Equal(t, c.small, res.Small.ContentType, c.name)
		require.Len(t, res.Blurhash, 28, c.name)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(res.Original.Data))
		require.NoError(t, err, c.name)
		require.Equal(t, res.Original.Width, cfg.Width, c.name)
		if c.w > 0 {
			require.Equal(t, c.w, cfg.Width, c.name)
			require.Equal(t, c.h, cfg.Height, c.name)
		}
		require.LessOrEqual(t, res.Small.Width*res.Small.Height, SmallPixels, c.name)
		require.InDelta(t, float64(res.Original.Width)/float64(res.Original.Height),
			float64(res.Small.Width)/float64(res.Small.Height), 0.02, c.name)
		if c.name == "animated gif" {
			require.True(t, res.Animated)
			out, err := gif.DecodeAll(bytes.NewReader(res.Original.Data))
			require.NoError(t, err)
			require.Len(t, out.Image, 3)
			require.Equal(t, []int{5, 10, 15}, out.Delay)
			require.Equal(t, 3, out.LoopCount)
		}
	}
}

// TestRefusals: a decompression bomb is refused from its header without allocating its
// pixels; truncated files, HTML, SVG and other types are refused by code.
func TestRefusals(t *testing.T) {
	bomb := pngHeader(100_000, 100_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Process(bomb, DefaultLimits())
	runtime.ReadMemStats(&after)
	require.Equal(t, "too_many_pixels", code(err))
	require.Contains(t, err.Error(), "100000×100000")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "refused before any pixel was allocated")

	full := encJPEG(t, quadrants(200, 100))
	var p bytes.Buffer
	require.NoError(t, png.Encode(&p, quadrants(200, 100)))
	for name, c := range map[string]struct {
		data []byte
		code string
	}{
		"truncated jpeg":   {full[:len(full)/2], "corrupt"},
		"truncated png":    {p.Bytes()[:p.Len()-40], "corrupt"},
		"png header only":  {p.Bytes()[:30], "corrupt"},
		"html named .png":  {[]byte("<!DOCTYPE html><script>alert(1)</script>"), "unsupported_type"},
		"svg":              {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), "unsupported_type"},
		"pdf":              {[]byte("%PDF-1.7\n"), "unsupported_type"},
		"bmp":              {[]byte("BM\x00\x00\x00\x00"), "unsupported_type"},
		"empty":            {nil, "unsupported_type"},
		"gif bad blocks":   {[]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00\x99"), "corrupt"},
		"jpeg magic, junk": {append([]byte{0xff, 0xd8, 0xff}, bytes.Repeat([]byte{7}, 100)...), "corrupt"},
	} {
		_, err := Process(c.data, DefaultLimits())
		require.Equal(t, c.code, code(err), "%s: %v", name, err)
	}
	lim := DefaultLimits()
	lim.MaxBytes = 10
	_, err = Process(full, lim)
	require.Equal(t, "too_large", code(err))
}

// TestEXIFIsRemovedAndOrientationApplied: for each of the 8 orientations, the output has
// no EXIF (nor the camera text), is upright (a corner's colour where it belongs), and a
// polyglot's trailing HTML is gone.
func TestEXIFIsRemovedAndOrientationApplied(t *testing.T) {
	t.Parallel()
	// The stored picture, as a camera turned for orientation o would have written it:
	// the upright picture is quadrants(120, 80); stored = inverse transform.
	upright := quadrants(120, 80)
	inverse := map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}
	for o := 1; o <= 8; o++ {
		stored := orient(upright, inverse[o])
		data := withEXIF(encJPEG(t, stored), uint16(o), "SECRET-CAMERA")
		data = append(data, []byte("<html><script>steal()</script>")...)
		require.Equal(t, o, jpegOrientation(data))
		res, err := Process(data, DefaultLimits())
		require.NoError(t, err, "orientation %d", o)
		for _, v := range []Variant{res.Original, res.Small} {
			for _, secret := range []string{"Exif", "SECRET-CAMERA", "<script"} {
				require.NotContains(t, string(v.Data), secret, "orientation %d", o)
			}
		}
		img, err := jpeg.Decode(bytes.NewReader(res.Original.Data))
		require.NoError(t, err)
		require.Equal(t, 120, img.Bounds().Dx(), "orientation %d", o)
		r, g, b, _ := img.At(10, 10).RGBA()
		require.True(t, r > 0xc000 && g < 0x4000 && b < 0x4000, "orientation %d: top left is red, got %x %x %x", o, r, g, b)
		r, g, b, _ = img.At(110, 70).RGBA()
		require.True(t, r > 0xc000 && g > 0xc000 && b > 0xc000, "orientation %d: bottom right is white", o)
	}
}

// TestHostileEXIF: offsets past the end, loops, huge counts, wrong types: orientation 1,
// no panic.
func TestHostileEXIF(t *testing.T) {
	t.Parallel()
	base := encJPEG(t, quadrants(16, 16))
	seg := func(payload string) []byte {
		s := []byte{0xff, 0xe1, 0, 0}
		binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
		out := append([]byte{}, base[:2]...)
		out = append(out, s...)
		out = append(out, payload...)
		return append(out, base[2:]...)
	}
	for _, p := range []string{
		"Exif\x00\x00II*\x00\xff\xff\xff\xff",
		"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff",
		"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09\x00",
		"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x04\x00\x01\x00\x00\x00\x06\x00\x00\x00",
		"Exif\x00\x00XX",
	} {
		data := seg(p)
		require.Equal(t, 1, jpegOrientation(data), "%q", p)
		_, err := Process(data, DefaultLimits())
		require.NoError(t, err, "%q", p)
	}
	// A segment length running past the end.
	require.Equal(t, 1, jpegOrientation([]byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E'}))
}

// TestBlurhash: the hash of a picture has the format's length and character set, and
// decodes back to about the picture's average colour.
func TestBlurhash(t *testing.T) {
	t.Parallel()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 200, 100, 50, 255
	}
	h := Blurhash(img, 4, 3)
	require.Len(t, h, 28)
	for _, c := range h {
		require.True(t, strings.ContainsRune(base83, c))
	}
	out, err := DecodeBlurhash(h, 8, 6)
	require.NoError(t, err)
	r, g, b, _ := out.At(4, 3).RGBA()
	require.InDelta(t, 200, r>>8, 3)
	require.InDelta(t, 100, g>>8, 3)
	require.InDelta(t, 50, b>>8, 3)
	q := quadrants(64, 64)
	h = Blurhash(q, 4, 3)
	out, err = DecodeBlurhash(h, 32, 32)
	require.NoError(t, err)
	r, _, b, _ = out.At(2, 2).RGBA()
	r2, _, b2, _ := out.At(2, 30).RGBA()
	require.Greater(t, r, b, "top left reddish")
	require.Greater(t, b2, r2, "bottom left bluish")
	for _, bad := range []string{"", "abc", "LEHV6nWB2yk8pyo0adR*.7kCMdnjX", "L\x00HV6nWB2yk8pyo0adR*.7kCMdnj"} {
		_, err := DecodeBlurhash(bad, 4, 4)
		require.Equal(t, "corrupt", code(err), "%q", bad)
	}
}

// TestAvatarAndHeaderShapes crops to a square and to 3:1 within their bounds.
func TestAvatarAndHeaderShapes(t *testing.T) {
	t.Parallel()
	data := encJPEG(t, quadrants(900, 600))
	a, err := Avatar(data, DefaultLimits())
	require.NoError(t, err)
	require.Equal(t, 400, a.Width)
	require.Equal(t, 400, a.Height)
	h, err := Header(data, DefaultLimits())
	require.NoError(t, err)
	require.Equal(t, 900, h.Width)
	require.Equal(t, 300, h.Height)
	big, err := Header(encJPEG(t, quadrants(3000, 600)), DefaultLimits())
	require.NoError(t, err)
	require.Equal(t, 1500, big.Width)
	require.Equal(t, 500, big.Height)
}

// FuzzProcess: no input panics or is accepted without being re-encoded into a picture.
func FuzzProcess(f *testing.F) {
	f.Add(encJPEG(f, quadrants(8, 8)))
	var p bytes.Buffer
	png.Encode(&p, quadrants(8, 8))
	f.Add(p.Bytes())
	f.Add(withEXIF(encJPEG(f, quadrants(8, 8)), 6, "x"))
	f.Add(pngHeader(3, 3))
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxFrames: 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := Process(b, lim)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("not a refusal: %v", err)
			}
			return
		}
		if _, _, err := image.DecodeConfig(bytes.NewReader(res.Original.Data)); err != nil {
			t.Fatalf("output is not a picture: %v", err)
		}
	})
}

// BenchmarkProcess12MPJPEG is one phone photo's processing.
func BenchmarkProcess12MPJPEG(b *testing.B) {
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i*7 + i/4000)
	}
	var buf bytes.Buffer
	require.NoError(b, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}))
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := Process(buf.Bytes(), DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
