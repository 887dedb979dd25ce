// Package lazylog gives a logger its attributes without paying for them
// until it logs. slog's Logger.With makes the handler format the
// attributes at once: a copy of the handler and a buffer, a few hundred
// bytes. A daemon guarding 10,000 services makes several loggers per
// service ("service", name; "component", …), and most of them never log
// a line; With here keeps the attributes aside and hands them to the
// handler the first time a record at an enabled level is handled.
package lazylog

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
)

// With is l.With(args...), the attributes applied to l's handler on the
// first record it handles (or the first WithGroup), never before. The
// output is the same as l.With's. A handler whose Enabled depends on its
// attributes (none of slog's do) is asked without them.
func With(l *slog.Logger, args ...any) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	attrs := slog.Group("", args...).Value.Group() // Logger.With's reading of args
	if len(attrs) == 0 {
		return l
	}
	return slog.New(lazy(l.Handler(), attrs))
}

// lazy is parent with attrs kept aside; a lazy parent's own are joined.
func lazy(parent slog.Handler, attrs []slog.Attr) *handler {
	if p, ok := parent.(*handler); ok {
		return &handler{parent: p.parent, attrs: slices.Concat(p.attrs, attrs)}
	}
	return &handler{parent: parent, attrs: slices.Clip(attrs)}
}

// handler is parent with attrs, applied on first use.
type handler struct {
	parent slog.Handler
	attrs  []slog.Attr
	built  atomic.Pointer[slog.Handler] // parent.WithAttrs(attrs), once made
}

// handler is parent.WithAttrs(attrs), made once (two goroutines racing
// to make it make the same handler, and one is kept).
func (h *handler) handler() slog.Handler {
	if b := h.built.Load(); b != nil {
		return *b
	}
	b := h.parent.WithAttrs(h.attrs)
	if !h.built.CompareAndSwap(nil, &b) {
		return *h.built.Load()
	}
	return b
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.parent.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error { return h.handler().Handle(ctx, r) }

// WithAttrs stays lazy: the attributes join the ones kept aside.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return lazy(h, attrs)
}

func (h *handler) WithGroup(name string) slog.Handler { return h.handler().WithGroup(name) }
