package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

type series struct {
	name string
	ys   []float64
}

var palette = []string{"#2a64d6", "#b3261e", "#2e7d32", "#8e24aa"}

// lineChart draws series over xs as an SVG line chart.
func lineChart(title, xLabel, yLabel string, xs []float64, ss []series) string {
	const w, h, l, r, t, b = 640, 360, 70, 20, 40, 50
	maxY := 0.0
	for _, s := range ss {
		for _, y := range s.ys {
			maxY = max(maxY, y)
		}
	}
	maxY *= 1.1
	if maxY == 0 {
		maxY = 1
	}
	x := func(i int) float64 {
		if len(xs) == 1 {
			return float64(l + (w-l-r)/2)
		}
		return float64(l) + float64(i)*float64(w-l-r)/float64(len(xs)-1)
	}
	y := func(v float64) float64 { return float64(h-b) - v/maxY*float64(h-b-t) }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&sb, `<rect width="%d" height="%d" fill="white"/><text x="%d" y="22" font-size="15">%s</text>`, w, h, l, title)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, l, h-b, w-r, h-b, l, t, l, h-b)
	for k := 0; k <= 4; k++ {
		v := maxY * float64(k) / 4
		fmt.Fprintf(&sb, `<text x="%d" y="%.0f" text-anchor="end">%.0f</text>`, l-6, y(v)+4, v)
	}
	for i, xv := range xs {
		fmt.Fprintf(&sb, `<text x="%.0f" y="%d" text-anchor="middle">%.0f</text>`, x(i), h-b+18, xv)
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, (w+l)/2, h-10, xLabel)
	fmt.Fprintf(&sb, `<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">%s</text>`, (h)/2, h/2, yLabel)
	for si, s := range ss {
		var pts []string
		for i, v := range s.ys {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			fmt.Fprintf(&sb, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(i), y(v), palette[si%len(palette)])
		}
		fmt.Fprintf(&sb, `<polyline fill="none" stroke-width="2" stroke="%s" points="%s"/>`, palette[si%len(palette)], strings.Join(pts, " "))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="12" height="3" fill="%s"/><text x="%d" y="%d">%s</text>`, w-200, t+8+si*16, palette[si%len(palette)], w-184, t+12+si*16, s.name)
	}
	sb.WriteString(`</svg>`)
	return sb.String()
}

// cdfChart draws the cumulative distribution of latencies.
func cdfChart(title string, lat []time.Duration) string {
	lat = slices.Clone(lat)
	slices.Sort(lat)
	if len(lat) == 0 {
		return lineChart(title, "ms", "fraction", []float64{0}, nil)
	}
	const w, h, l, r, t, b = 640, 360, 70, 20, 40, 50
	maxX := float64(lat[min(len(lat)-1, len(lat)*999/1000)].Microseconds()) / 1000 * 1.05
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&sb, `<rect width="%d" height="%d" fill="white"/><text x="%d" y="22" font-size="15">%s</text>`, w, h, l, title)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, l, h-b, w-r, h-b, l, t, l, h-b)
	px := func(msv float64) float64 { return float64(l) + msv/maxX*float64(w-l-r) }
	py := func(f float64) float64 { return float64(h-b) - f*float64(h-b-t) }
	for k := 0; k <= 4; k++ {
		fmt.Fprintf(&sb, `<text x="%d" y="%.0f" text-anchor="end">%.2f</text>`, l-6, py(float64(k)/4)+4, float64(k)/4)
		fmt.Fprintf(&sb, `<text x="%.0f" y="%d" text-anchor="middle">%.1f</text>`, px(maxX*float64(k)/4), h-b+18, maxX*float64(k)/4)
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" text-anchor="middle">latency (ms), up to p99.9</text>`, (w+l)/2, h-10)
	var pts []string
	step := max(1, len(lat)/400)
	for i := 0; i < len(lat); i += step {
		v := float64(lat[i].Microseconds()) / 1000
		if v > maxX {
			break
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(v), py(float64(i+1)/float64(len(lat)))))
	}
	fmt.Fprintf(&sb, `<polyline fill="none" stroke-width="2" stroke="%s" points="%s"/></svg>`, palette[0], strings.Join(pts, " "))
	return sb.String()
}
