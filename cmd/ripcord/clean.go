package main

import (
	"io"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// cleanWriter drops control characters — ESC and the rest of C0 except
// tab and newline, DEL, and C1 (U+0080–U+009F) — from what it passes on.
// Every client command prints through it: names, reasons and messages come
// from the server, and a terminal would obey an escape sequence in them
// (retitle the window, hide text, rewrite earlier lines).
func cleanWriter(w io.Writer) io.Writer { return &cleaner{w: w} }

type cleaner struct {
	w    io.Writer
	tail []byte // an incomplete UTF-8 sequence held over from the last Write
}

func (c *cleaner) Write(p []byte) (int, error) {
	in := append(c.tail, p...)
	c.tail = nil
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		r, size := utf8.DecodeRune(in[i:])
		if r == utf8.RuneError && size == 1 && !utf8.FullRune(in[i:]) {
			c.tail = append([]byte(nil), in[i:]...)
			break
		}
		if !isControl(r) {
			out = append(out, in[i:i+size]...)
		}
		i += size
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func isControl(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20, r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}

// stdout is a client command's standard output, cleaned.
func stdout(cmd *cobra.Command) io.Writer { return cleanWriter(cmd.OutOrStdout()) }
