package media

import "encoding/binary"

// jpegOrientation reads the EXIF orientation (tag 0x0112 of IFD0) of a JPEG: 1 when there
// is none or it cannot be read. Every offset is checked: hostile EXIF only yields 1.
func jpegOrientation(b []byte) int {
	i := 2 // after SOI
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return 1
		}
		marker := b[i+1]
		if marker == 0xff { // fill byte
			i++
			continue
		}
		if marker == 0xd8 || marker >= 0xd0 && marker <= 0xd7 || marker == 0x01 {
			i += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 { // start of scan, end: no EXIF before them
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xe1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads the orientation of a TIFF structure (EXIF's), 0 if none.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n && k < 1000; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) != 1 { // one SHORT
			return 0
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// gifFrames counts the frames of a GIF by walking its blocks, without decoding them. It
// reports false for bytes that are not a GIF's block structure.
func gifFrames(b []byte) (int, bool) {
	if len(b) < 13 {
		return 0, false
	}
	i := 13
	if b[10]&0x80 != 0 {
		i += 3 << (int(b[10]&7) + 1)
	}
	frames := 0
	skipSubBlocks := func() bool {
		for i < len(b) {
			n := int(b[i])
			i++
			if n == 0 {
				return true
			}
			i += n
		}
		return false
	}
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if !skipSubBlocks() {
				return frames, frames > 0
			}
		case 0x2c: // image: descriptor, local table, LZW size, sub-blocks
			if i+10 > len(b) {
				return frames, false
			}
			packed := b[i+9]
			i += 10
			if packed&0x80 != 0 {
				i += 3 << (int(packed&7) + 1)
			}
			i++ // LZW minimum code size
			frames++
			if !skipSubBlocks() {
				return frames, true // truncated: the decoder says what it can read
			}
		case 0x3b: // trailer
			return frames, frames > 0
		default:
			return frames, frames > 0
		}
	}
	return frames, frames > 0
}

// webpAnimated reports whether a WebP file says it is animated (its VP8X flags, or an
// ANIM chunk).
func webpAnimated(b []byte) bool {
	for i := 12; i+8 <= len(b); {
		id := string(b[i : i+4])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if id == "ANIM" || id == "ANMF" {
			return true
		}
		if id == "VP8X" && i+9 <= len(b) && b[i+8]&0x02 != 0 {
			return true
		}
		if n < 0 || i+8+n+n%2 > len(b) || n > len(b) {
			return false
		}
		i += 8 + n + n%2
	}
	return false
}

// stripJPEG copies a JPEG keeping only what draws it: the tables, frame and scans (and
// the Adobe segment that says how its colours are coded), without any metadata segment
// (EXIF, XMP, IPTC, ICC profile, comments) and without anything after its end. It reports
// false for a structure it does not know, for the caller to re-encode instead.
func stripJPEG(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	out = append(out, 0xff, 0xd8)
	i := 2
	for i+2 <= len(b) {
		if b[i] != 0xff {
			return nil, false
		}
		m := b[i+1]
		switch {
		case m == 0xff:
			i++
			continue
		case m == 0xd9:
			return append(out, 0xff, 0xd9), true
		case i+4 > len(b):
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil, false
		}
		seg := b[i : i+2+n]
		switch {
		case m == 0xda: // start of scan: the segment, then entropy-coded data up to the next marker
			out = append(out, seg...)
			j := i + 2 + n
			for j+1 < len(b) {
				if b[j] == 0xff && b[j+1] != 0 && (b[j+1] < 0xd0 || b[j+1] > 0xd7) {
					break
				}
				j++
			}
			if j+1 >= len(b) {
				return nil, false
			}
			out = append(out, b[i+2+n:j]...)
			i = j
			continue
		case m == 0xdb, m == 0xc4, m == 0xdd, m >= 0xc0 && m <= 0xcf && m != 0xc8 && m != 0xcc:
			out = append(out, seg...) // tables, restart interval, frame headers
		case m == 0xee && n >= 7 && string(seg[4:9]) == "Adobe":
			out = append(out, seg...)
		case m >= 0xe0 && m <= 0xef, m == 0xfe:
			// APPn and comments: metadata, dropped
		default:
			return nil, false
		}
		i += 2 + n
	}
	return nil, false
}
