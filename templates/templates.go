// Package templates embeds the website's html/template files and static assets.
package templates

import "embed"

// Files holds the page templates (*.html) and the static assets (static/*).
//
//go:embed *.html static
var Files embed.FS
