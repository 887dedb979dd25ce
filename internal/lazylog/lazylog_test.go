package lazylog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A lazy logger writes what Logger.With's would, attributes in the same
// order, through further With calls and groups; below the level it never
// formats them.
func TestSameOutputAsWith(t *testing.T) {
	var lazyOut, eagerOut bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	base := slog.New(slog.NewTextHandler(&lazyOut, opts))
	eager := slog.New(slog.NewTextHandler(&eagerOut, opts))

	l := With(With(base, "component", "controller"), "service", "checkout", slog.Int("n", 3)).With("target", "file")
	e := eager.With("component", "controller").With("service", "checkout", slog.Int("n", 3)).With("target", "file")
	for _, lg := range []*slog.Logger{l, e} {
		lg.Debug("hidden", "k", 1)
		lg.Info("shown", "k", 2)
		lg.WithGroup("g").Warn("grouped", "k", 3)
	}
	if lazyOut.String() != eagerOut.String() {
		t.Fatalf("lazy:\n%s\nWith:\n%s", lazyOut.String(), eagerOut.String())
	}
	if !strings.Contains(lazyOut.String(), `component=controller service=checkout n=3 target=file k=2`) {
		t.Fatalf("attributes missing or out of order:\n%s", lazyOut.String())
	}
	if strings.Contains(lazyOut.String(), "hidden") {
		t.Fatalf("a debug line at info:\n%s", lazyOut.String())
	}
}

// The attributes are formatted only when a line is written.
func TestNothingFormattedUntilALine(t *testing.T) {
	var out bytes.Buffer
	base := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l := With(base, "service", "checkout")
	l.Info("below the level")
	h := l.Handler().(*handler)
	if h.built.Load() != nil {
		t.Fatal("the attributes were handed to the handler before any line was written")
	}
	l.Warn("a line")
	if h.built.Load() == nil || !strings.Contains(out.String(), "service=checkout") {
		t.Fatalf("built %v, out %q", h.built.Load() != nil, out.String())
	}
}
