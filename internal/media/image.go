// Package media checks and processes uploaded pictures: it tells their type from their
// bytes, refuses what is not a supported picture or claims too many pixels (before
// decoding anything), and re-encodes every picture from its decoded pixels, upright, so
// that nothing of the upload but its image survives: no EXIF, no comments, no trailing
// bytes. It makes a thumbnail and a blurhash too. It knows nothing of storage or HTTP.
package media

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
)

// Limits bound what an upload may be.
type Limits struct {
	// MaxBytes is the largest upload accepted.
	MaxBytes int64
	// MaxPixels is the largest width × height a picture may declare; it is checked from
	// the header, before decoding.
	MaxPixels int64
	// MaxFrames is the most frames of an animated GIF; their pixels together may be at
	// most 4 × MaxPixels.
	MaxFrames int
}

// DefaultLimits are 16 MiB, 7680 × 4320 pixels and 300 frames.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 16 << 20, MaxPixels: 7680 * 4320, MaxFrames: 300}
}

// Error is a refusal of an upload, with a message fit to show its sender.
type Error struct {
	// Code is unsupported_type, too_large, too_many_pixels, too_many_frames or corrupt.
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Content types of the accepted pictures.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	GIF  = "image/gif"
	WebP = "image/webp"
)

// Sniff tells the type of a picture from its first bytes (never from a name or a declared
// type): JPEG, PNG, GIF or WebP. Anything else is an *Error unsupported_type.
func Sniff(b []byte) (string, error) {
	switch {
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return JPEG, nil
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF, nil
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP, nil
	}
	return "", refuse("unsupported_type", "the file is not a JPEG, PNG, GIF or WebP picture")
}

// Info is what a picture's header says, read without decoding its pixels.
type Info struct {
	ContentType string
	// Width and Height are as displayed: after the EXIF orientation.
	Width, Height int
	// Orientation is the EXIF orientation, 1 to 8 (1: as stored).
	Orientation int
	Frames      int
	Animated    bool
}

// Inspect reads the header of a picture and checks it against lim: the type, the
// declared pixels (a tiny file claiming 100,000 × 100,000 is refused here, before
// anything is allocated for them), the frames of a GIF, an animated WebP.
func Inspect(b []byte, lim Limits) (info Info, err error) {
	defer recoverCorrupt(&err)
	if lim.MaxBytes > 0 && int64(len(b)) > lim.MaxBytes {
		return Info{}, refuse("too_large", "the file is %d bytes; at most %d are accepted", len(b), lim.MaxBytes)
	}
	ct, err := Sniff(b)
	if err != nil {
		return Info{}, err
	}
	var cfg image.Config
	switch ct {
	case WebP:
		if webpAnimated(b) {
			return Info{}, refuse("unsupported_type", "animated WebP pictures are not accepted; send a GIF instead")
		}
		cfg, err = webp.DecodeConfig(bytes.NewReader(b))
	default:
		cfg, _, err = image.DecodeConfig(bytes.NewReader(b))
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return Info{}, refuse("corrupt", "the picture cannot be read: it is damaged or incomplete")
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return Info{}, refuse("too_many_pixels", "the picture is %d×%d pixels; at most %d pixels are accepted", cfg.Width, cfg.Height, lim.MaxPixels)
	}
	info = Info{ContentType: ct, Width: cfg.Width, Height: cfg.Height, Orientation: 1, Frames: 1}
	if ct == JPEG {
		info.Orientation = jpegOrientation(b)
		if info.Orientation >= 5 {
			info.Width, info.Height = info.Height, info.Width
		}
	}
	if ct == GIF {
		frames, ok := gifFrames(b)
		if !ok {
			return Info{}, refuse("corrupt", "the picture cannot be read: it is damaged or incomplete")
		}
		if frames > lim.MaxFrames {
			return Info{}, refuse("too_many_frames", "the GIF has %d frames; at most %d are accepted", frames, lim.MaxFrames)
		}
		if int64(frames)*int64(cfg.Width)*int64(cfg.Height) > 4*lim.MaxPixels {
			return Info{}, refuse("too_many_pixels", "the GIF's %d frames of %d×%d pixels are too many pixels together", frames, cfg.Width, cfg.Height)
		}
		info.Frames, info.Animated = frames, frames > 1
	}
	return info, nil
}

// recoverCorrupt turns a decoder's panic on hostile input into a corrupt refusal.
func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = refuse("corrupt", "the picture cannot be read: it is damaged or incomplete")
	}
}

// Variant is one stored rendition of a picture.
type Variant struct {
	ContentType   string
	Width, Height int
	Data          []byte
}

// Result is a processed upload.
type Result struct {
	// Original is the picture served in full, upright, scaled down only above
	// OriginalMaxPixels: re-encoded from its pixels, or for a JPEG that needs no turning
	// or scaling, its image data copied without any metadata segment or trailing bytes.
	Original Variant
	// Small is the thumbnail: at most SmallPixels, the aspect kept, never enlarged.
	Small    Variant
	Blurhash string
	Animated bool
}

// OriginalMaxPixels is the size above which the served original is scaled down.
const OriginalMaxPixels = 16 << 20

// SmallPixels bounds the thumbnail (640 × 360 pixels' worth, as Mastodon's).
const SmallPixels = 640 * 360

// Process checks an upload and makes its served renditions.
func Process(b []byte, lim Limits) (res Result, err error) {
	defer recoverCorrupt(&err)
	info, err := Inspect(b, lim)
	if err != nil {
		return Result{}, err
	}
	if info.ContentType == GIF && info.Animated {
		return processAnimated(b)
	}
	img, err := decode(b, info)
	if err != nil {
		return Result{}, err
	}
	opaque := isOpaque(img)
	orig := img
	if px := img.Bounds().Dx() * img.Bounds().Dy(); px > OriginalMaxPixels {
		orig = scaleToPixels(img, OriginalMaxPixels)
	}
	format := info.ContentType
	if format == WebP { // there is no WebP encoder: keep transparency in PNG
		format = JPEG
		if !opaque {
			format = PNG
		}
	}
	stripped, copied := []byte(nil), false
	if format == JPEG && info.ContentType == JPEG && info.Orientation == 1 && orig == img {
		stripped, copied = stripJPEG(b)
	}
	if copied {
		// Upright and small enough: the image data as it came, without its metadata, is
		// what the decoder just read in full; re-encoding would only lose quality and time.
		res.Original = Variant{ContentType: JPEG, Width: info.Width, Height: info.Height, Data: stripped}
	} else if res.Original, err = encode(orig, format, 85); err != nil {
		return Result{}, err
	}
	small := scaleToPixels(orig, SmallPixels)
	smallFormat := JPEG
	if !opaque {
		smallFormat = PNG
	}
	if res.Small, err = encode(small, smallFormat, 80); err != nil {
		return Result{}, err
	}
	res.Blurhash = Blurhash(small, 4, 3)
	return res, nil
}

// processAnimated re-encodes every frame of an animated GIF (dropping its comments and
// application extensions but its loop count), with the first frame as the thumbnail.
func processAnimated(b []byte) (Result, error) {
	g, err := gif.DecodeAll(bytes.NewReader(b))
	if err != nil || len(g.Image) == 0 {
		return Result{}, refuse("corrupt", "the picture cannot be read: it is damaged or incomplete")
	}
	out := &gif.GIF{Image: g.Image, Delay: g.Delay, Disposal: g.Disposal, LoopCount: g.LoopCount,
		Config: image.Config{ColorModel: g.Config.ColorModel, Width: g.Config.Width, Height: g.Config.Height}}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, out); err != nil {
		return Result{}, fmt.Errorf("encode gif: %w", err)
	}
	first := image.NewRGBA(image.Rect(0, 0, g.Config.Width, g.Config.Height))
	draw.Draw(first, g.Image[0].Bounds(), g.Image[0], g.Image[0].Bounds().Min, draw.Over)
	small := scaleToPixels(first, SmallPixels)
	sv, err := encode(small, PNG, 0)
	if err != nil {
		return Result{}, err
	}
	return Result{Original: Variant{ContentType: GIF, Width: g.Config.Width, Height: g.Config.Height, Data: buf.Bytes()},
		Small: sv, Blurhash: Blurhash(small, 4, 3), Animated: true}, nil
}

// decode decodes a still picture, upright.
func decode(b []byte, info Info) (image.Image, error) {
	var img image.Image
	var err error
	switch info.ContentType {
	case WebP:
		img, err = webp.Decode(bytes.NewReader(b))
	case GIF:
		img, err = gif.Decode(bytes.NewReader(b))
	case PNG:
		img, err = png.Decode(bytes.NewReader(b))
	default:
		img, err = jpeg.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, refuse("corrupt", "the picture cannot be read: it is damaged or incomplete")
	}
	return orient(img, info.Orientation), nil
}

// encode writes img as format (quality for JPEG).
func encode(img image.Image, format string, quality int) (Variant, error) {
	var buf bytes.Buffer
	var err error
	switch format {
	case PNG:
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
	case GIF:
		err = gif.Encode(&buf, img, nil)
	default:
		format = JPEG
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	}
	if err != nil {
		return Variant{}, fmt.Errorf("encode %s: %w", format, err)
	}
	b := img.Bounds()
	return Variant{ContentType: format, Width: b.Dx(), Height: b.Dy(), Data: buf.Bytes()}, nil
}

// isOpaque reports whether every pixel of img is opaque.
func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}

// Avatar is an upload cropped to a centred square and scaled to at most 400 × 400.
func Avatar(b []byte, lim Limits) (Variant, error) { return picture(b, lim, 1, 1, 400) }

// Header is an upload cropped to 3:1 around its centre and scaled to at most 1500 × 500.
func Header(b []byte, lim Limits) (Variant, error) { return picture(b, lim, 3, 1, 1500) }

// picture crops an upload to aw:ah and scales it to at most maxW wide (a GIF's first
// frame only).
func picture(b []byte, lim Limits, aw, ah, maxW int) (v Variant, err error) {
	defer recoverCorrupt(&err)
	info, err := Inspect(b, lim)
	if err != nil {
		return Variant{}, err
	}
	img, err := decode(b, info)
	if err != nil {
		return Variant{}, err
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	cw, ch := w, w*ah/aw
	if ch > h {
		cw, ch = h*aw/ah, h
	}
	cw, ch = max(cw, 1), max(ch, 1)
	x0, y0 := r.Min.X+(w-cw)/2, r.Min.Y+(h-ch)/2
	crop := image.NewRGBA(image.Rect(0, 0, cw, ch))
	draw.Draw(crop, crop.Bounds(), img, image.Pt(x0, y0), draw.Src)
	out := image.Image(crop)
	if cw > maxW {
		out = scale(crop, maxW, max(1, maxW*ah/aw))
	}
	format := JPEG
	if !isOpaque(out) {
		format = PNG
	}
	return encode(out, format, 85)
}

// rgba converts any image to *image.RGBA (premultiplied), with its origin at 0,0.
func rgba(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Bounds().Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}
