package jobs

import (
	"io"
	"mime/quotedprintable"
	"strings"
)

func qpReader(s string) io.Reader { return quotedprintable.NewReader(strings.NewReader(s)) }
