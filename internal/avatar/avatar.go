// Package avatar draws the default picture of an account that has not uploaded one: a
// symmetric 5×5 pattern in one colour, derived from the account's id, so that every
// account has its own, always the same.
package avatar

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
)

// Size is the width and height of a default avatar, in pixels.
const Size = 120

// Version names the drawing: a change to it must change Version, which is part of the
// pictures' ETag and URL, so that caches holding the old ones (they are served as
// immutable) fetch the new.
const Version = "1"

// Path is the address, on the website, of account id's default avatar: where the website
// and the API point until the account uploads its own. The drawing's version is part of
// it, so a new drawing gets new addresses.
func Path(id int64) string { return "/avatars/" + strconv.FormatInt(id, 10) + "-v" + Version + ".png" }

// Default returns the PNG of account id's default avatar.
func Default(id int64) []byte {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(id))
	sum := sha256.Sum256(append([]byte("starling-avatar-v"+Version+":"), seed[:]...))
	fg := hsl(float64(binary.BigEndian.Uint16(sum[0:2]))/65536*360, 0.55, 0.42)
	bg := color.RGBA{0xee, 0xef, 0xf1, 0xff}

	// 5 columns, the last two mirroring the first two: 15 cells, one bit each. At least
	// 4 cells are drawn, so that no avatar is blank.
	var cells [5][5]bool
	bits := binary.BigEndian.Uint32(sum[2:6])
	drawn := 0
	for x := 0; x < 3; x++ {
		for y := 0; y < 5; y++ {
			on := bits&(1<<(x*5+y)) != 0
			cells[x][y], cells[4-x][y] = on, on
			if on {
				drawn++
			}
		}
	}
	if drawn < 4 {
		cells[2][1], cells[2][2], cells[1][3], cells[3][3] = true, true, true, true
	}
	img := image.NewPaletted(image.Rect(0, 0, Size, Size), color.Palette{bg, fg})
	const margin, cell = 10, (Size - 2*10) / 5
	for x := 0; x < 5; x++ {
		for y := 0; y < 5; y++ {
			if !cells[x][y] {
				continue
			}
			for px := margin + x*cell; px < margin+(x+1)*cell; px++ {
				for py := margin + y*cell; py < margin+(y+1)*cell; py++ {
					img.SetColorIndex(px, py, 1)
				}
			}
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // encoding an in-memory image into a buffer cannot fail
	return b.Bytes()
}

// hsl converts a hue (degrees), saturation and lightness (0–1) to a colour.
func hsl(h, s, l float64) color.RGBA {
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g = c, x
	case h < 120:
		r, g = x, c
	case h < 180:
		g, b = c, x
	case h < 240:
		g, b = x, c
	case h < 300:
		r, b = x, c
	default:
		r, b = c, x
	}
	to := func(v float64) uint8 { return uint8(math.Round((v + m) * 255)) }
	return color.RGBA{to(r), to(g), to(b), 0xff}
}
