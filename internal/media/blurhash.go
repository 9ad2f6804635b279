package media

import (
	"image"
	"math"
	"strings"
)

// The blurhash format (blurha.sh): a few cosine components of a picture's colours,
// base83-encoded, that apps draw as a blurred placeholder while the picture loads.

const base83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"

func encode83(v, length int, sb *strings.Builder) {
	for i := 1; i <= length; i++ {
		d := (v / int(math.Pow(83, float64(length-i)))) % 83
		sb.WriteByte(base83[d])
	}
}

func decode83(s string) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base83, s[i])
		if d < 0 {
			return 0, false
		}
		v = v*83 + d
	}
	return v, true
}

func toLinear(v uint8) float64 {
	f := float64(v) / 255
	if f <= 0.04045 {
		return f / 12.92
	}
	return math.Pow((f+0.055)/1.055, 2.4)
}

func toSRGB(v float64) uint8 {
	v = math.Max(0, math.Min(1, v))
	if v <= 0.0031308 {
		return uint8(math.Round(v * 12.92 * 255))
	}
	return uint8(math.Round((1.055*math.Pow(v, 1/2.4) - 0.055) * 255))
}

func signPow(v, e float64) float64 { return math.Copysign(math.Pow(math.Abs(v), e), v) }

// Blurhash encodes img with cx × cy components (each 1 to 9), computed on a copy of at
// most 64 pixels wide or high.
func Blurhash(img image.Image, cx, cy int) string {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > 64 || h > 64 {
		f := 64 / math.Max(float64(w), float64(h))
		w, h = max(1, int(float64(w)*f)), max(1, int(float64(h)*f))
	}
	px := scale(img, w, h)
	lin := make([][3]float64, w*h)
	for i := range lin {
		p := px.Pix[i*4:]
		lin[i] = [3]float64{toLinear(p[0]), toLinear(p[1]), toLinear(p[2])}
	}
	factors := make([][3]float64, cx*cy)
	for j := range cy {
		for i := range cx {
			norm := 2.0
			if i == 0 && j == 0 {
				norm = 1
			}
			var f [3]float64
			for y := range h {
				cy := math.Cos(math.Pi * float64(j) * float64(y) / float64(h))
				for x := range w {
					basis := cy * math.Cos(math.Pi*float64(i)*float64(x)/float64(w))
					c := lin[y*w+x]
					f[0] += basis * c[0]
					f[1] += basis * c[1]
					f[2] += basis * c[2]
				}
			}
			s := norm / float64(w*h)
			factors[j*cx+i] = [3]float64{f[0] * s, f[1] * s, f[2] * s}
		}
	}
	var sb strings.Builder
	encode83((cx-1)+(cy-1)*9, 1, &sb)
	maxValue := 1.0
	if len(factors) > 1 {
		actual := 0.0
		for _, f := range factors[1:] {
			actual = math.Max(actual, math.Max(math.Abs(f[0]), math.Max(math.Abs(f[1]), math.Abs(f[2]))))
		}
		q := int(math.Max(0, math.Min(82, math.Floor(actual*166-0.5))))
		maxValue = float64(q+1) / 166
		encode83(q, 1, &sb)
	} else {
		encode83(0, 1, &sb)
	}
	dc := factors[0]
	encode83(int(toSRGB(dc[0]))<<16|int(toSRGB(dc[1]))<<8|int(toSRGB(dc[2])), 4, &sb)
	for _, f := range factors[1:] {
		q := func(v float64) int {
			return int(math.Max(0, math.Min(18, math.Floor(signPow(v/maxValue, 0.5)*9+9.5))))
		}
		encode83(q(f[0])*19*19+q(f[1])*19+q(f[2]), 2, &sb)
	}
	return sb.String()
}

// DecodeBlurhash draws hash as a w × h picture; a malformed hash is an *Error corrupt.
func DecodeBlurhash(hash string, w, h int) (image.Image, error) {
	bad := refuse("corrupt", "not a blurhash")
	if len(hash) < 6 || w <= 0 || h <= 0 || w > 512 || h > 512 {
		return nil, bad
	}
	size, ok := decode83(hash[:1])
	if !ok {
		return nil, bad
	}
	cx, cy := size%9+1, size/9+1
	if len(hash) != 4+2*cx*cy {
		return nil, bad
	}
	qmax, ok := decode83(hash[1:2])
	if !ok {
		return nil, bad
	}
	maxValue := float64(qmax+1) / 166
	colors := make([][3]float64, cx*cy)
	dc, ok := decode83(hash[2:6])
	if !ok {
		return nil, bad
	}
	colors[0] = [3]float64{toLinear(uint8(dc >> 16)), toLinear(uint8(dc >> 8)), toLinear(uint8(dc))}
	for i := 1; i < cx*cy; i++ {
		v, ok := decode83(hash[4+2*i : 6+2*i])
		if !ok {
			return nil, bad
		}
		q := func(n int) float64 { return signPow((float64(n)-9)/9, 2) * maxValue }
		colors[i] = [3]float64{q(v / (19 * 19)), q((v / 19) % 19), q(v % 19)}
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			var c [3]float64
			for j := range cy {
				by := math.Cos(math.Pi * float64(y) * float64(j) / float64(h))
				for i := range cx {
					basis := math.Cos(math.Pi*float64(x)*float64(i)/float64(w)) * by
					f := colors[j*cx+i]
					c[0] += f[0] * basis
					c[1] += f[1] * basis
					c[2] += f[2] * basis
				}
			}
			p := out.Pix[y*out.Stride+x*4:]
			p[0], p[1], p[2], p[3] = toSRGB(c[0]), toSRGB(c[1]), toSRGB(c[2]), 0xff
		}
	}
	return out, nil
}
