package media

import (
	"image"
	"math"
)

// scaleToPixels scales img down, keeping its aspect, to at most maxPixels; an image that
// is small enough is returned as it is (never enlarged).
func scaleToPixels(img image.Image, maxPixels int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w*h <= maxPixels {
		return img
	}
	f := math.Sqrt(float64(maxPixels) / float64(w*h))
	return scale(img, max(1, int(float64(w)*f)), max(1, int(float64(h)*f)))
}

// scale resizes img down to w×h by averaging the source pixels under each target pixel
// (a box filter: right for downscaling, and fast). A *image.YCbCr (every JPEG) is averaged
// in YCbCr and converted once per target pixel, which is exact since the conversion is
// linear.
func scale(img image.Image, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	xs := spans(sw, w)
	ys := spans(sh, h)
	if y, ok := img.(*image.YCbCr); ok {
		scaleYCbCr(y, out, xs, ys)
		return out
	}
	src := rgba(img)
	for ty := range h {
		y0, y1 := ys[ty], ys[ty+1]
		for tx := range w {
			x0, x1 := xs[tx], xs[tx+1]
			var r, g, bl, a, n uint64
			for sy := y0; sy < y1; sy++ {
				row := src.Pix[sy*src.Stride+x0*4 : sy*src.Stride+x1*4]
				for i := 0; i < len(row); i += 4 {
					r += uint64(row[i])
					g += uint64(row[i+1])
					bl += uint64(row[i+2])
					a += uint64(row[i+3])
				}
				n += uint64(x1 - x0)
			}
			o := out.Pix[ty*out.Stride+tx*4:]
			o[0], o[1], o[2], o[3] = uint8(r/n), uint8(g/n), uint8(bl/n), uint8(a/n)
		}
	}
	return out
}

// spans divides n source pixels among m target pixels: target i takes [s[i], s[i+1]),
// never empty.
func spans(n, m int) []int {
	s := make([]int, m+1)
	for i := range m + 1 {
		s[i] = i * n / m
	}
	for i := 1; i <= m; i++ {
		if s[i] <= s[i-1] {
			s[i] = min(s[i-1]+1, n)
		}
	}
	s[m] = n
	return s
}

func scaleYCbCr(src *image.YCbCr, out *image.RGBA, xs, ys []int) {
	b := src.Bounds()
	w, h := out.Bounds().Dx(), out.Bounds().Dy()
	for ty := range h {
		y0, y1 := ys[ty]+b.Min.Y, ys[ty+1]+b.Min.Y
		for tx := range w {
			x0, x1 := xs[tx]+b.Min.X, xs[tx+1]+b.Min.X
			var yy, cb, cr, n int
			for sy := y0; sy < y1; sy++ {
				yrow := src.Y[src.YOffset(x0, sy)-0 : src.YOffset(x1-1, sy)+1]
				for _, v := range yrow {
					yy += int(v)
				}
				for sx := x0; sx < x1; sx++ {
					ci := src.COffset(sx, sy)
					cb += int(src.Cb[ci])
					cr += int(src.Cr[ci])
				}
				n += x1 - x0
			}
			r, g, bl := yccToRGB(yy/n, cb/n, cr/n)
			o := out.Pix[ty*out.Stride+tx*4:]
			o[0], o[1], o[2], o[3] = r, g, bl, 0xff
		}
	}
}

// yccToRGB converts JPEG's full-range YCbCr to RGB.
func yccToRGB(y, cb, cr int) (uint8, uint8, uint8) {
	fy, fcb, fcr := float64(y), float64(cb-128), float64(cr-128)
	clamp := func(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }
	return clamp(fy + 1.402*fcr), clamp(fy - 0.344136*fcb - 0.714136*fcr), clamp(fy + 1.772*fcb)
}

// orient turns img upright according to an EXIF orientation (1 to 8).
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	src := rgba(img)
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // mirrored, then turned
				dx, dy = y, x
			case 6: // turned 90° clockwise to be upright
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8: // turned 90° counter-clockwise
				dx, dy = y, w-1-x
			}
			copy(out.Pix[dy*out.Stride+dx*4:dy*out.Stride+dx*4+4], src.Pix[y*src.Stride+x*4:y*src.Stride+x*4+4])
		}
	}
	return out
}
