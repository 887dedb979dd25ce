package proxy

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/http"
)

// Sticky keeps a user on one side of a canary: a request is assigned by a
// hash of its Header value or of its Cookie's value (at most one of the
// two is set), so the same user lands on the same version on every request
// with no state kept per user. Requests without the key are assigned one by
// one at random.
type Sticky struct {
	Header string
	Cookie string
}

func (k Sticky) set() bool { return k.Header != "" || k.Cookie != "" }

// split is a canary in progress: of new requests, a share of bp basis
// points (1/10,000) goes to canary and the rest to stable. It is published
// as one pointer, so a request always sees one consistent pair.
type split struct {
	stable, canary *version
	bp             uint32 // 0 < bp < 10,000
}

// bucketSpace is the resolution of a share: basis points.
const bucketSpace = 10000

// SetWeight sends percent (0–100) of new requests to canary and the rest to
// stable: 0 is Activate(stable) and 100 is Activate(canary). The canary's
// counters start a new generation whenever its share changes, so the
// evidence of a step holds only that step's requests; setting the share
// already live changes nothing (the controller re-runs a step after a
// crash). Requests in flight finish where they started.
func (s *Switch) SetWeight(stable, canary string, percent int) error {
	switch {
	case percent < 0 || percent > 100:
		return fmt.Errorf("proxy: canary share %d%%: want 0–100", percent)
	case stable == canary:
		return fmt.Errorf("proxy: canary %q is the stable version", canary)
	case percent == 0:
		_, err := s.Activate(stable)
		return err
	case percent == 100:
		_, err := s.Activate(canary)
		return err
	}
	vs := *s.versions.Load()
	sv, cv := vs[stable], vs[canary]
	if sv == nil || cv == nil {
		return fmt.Errorf("proxy: canary %s/%s: %w", stable, canary, ErrUnknownVersion)
	}
	bp := uint32(percent) * (bucketSpace / 100)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.split.Load()
	if old != nil && old.stable == sv && old.canary == cv && old.bp == bp {
		return nil
	}
	if a := s.active.Load(); a != sv {
		s.active.Store(sv) // before the split: meanwhile requests go to stable
		if a == nil || a.stats != sv.stats {
			s.restart(sv)
		}
		sv.up.undrain()
		if a != nil && a != cv {
			a.up.drain()
		}
	}
	s.stopShadowLocked(cv)
	s.restart(cv) // a new step: the canary's evidence from zero
	cv.up.undrain()
	s.split.Store(&split{stable: sv, canary: cv, bp: bp})
	if old != nil && old.canary != cv && old.canary != sv {
		old.canary.up.drain()
	}
	s.log.Info("proxy canary share set", "stable", stable, "canary", canary, "percent", percent)
	return nil
}

// Canary is the version receiving a share of new requests and that share
// in percent; "" and 0 when no canary is in progress.
func (s *Switch) Canary() (name string, percent int) {
	if sp := s.split.Load(); sp != nil {
		return sp.canary.name, int(sp.bp / (bucketSpace / 100))
	}
	return "", 0
}

// route picks the version for a new request: the active one, or during a
// canary one side of the split by the sticky key (nil: none) or at random.
// One atomic load; no lock.
func (s *Switch) route(key []byte, haveKey bool) *version {
	sp := s.split.Load()
	if sp == nil {
		return s.active.Load()
	}
	var b uint32
	if haveKey {
		b = bucket(key)
	} else {
		b = rand.Uint32N(bucketSpace)
	}
	if b < sp.bp {
		return sp.canary
	}
	return sp.stable
}

// bucket maps a sticky key to [0, 10,000) by FNV-1a and a multiply-shift
// (uniform, no modulo bias). A user in bucket b is on the canary for every
// share above b: as the share grows users only move stable → canary.
func bucket(key []byte) uint32 {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	// FNV's low bits mix poorly for short keys; finish with a 64-bit mixer.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	hi, _ := bits.Mul64(h, bucketSpace)
	return uint32(hi)
}

// routeHTTP picks the version for a request on the net/http path.
func (s *Switch) routeHTTP(r *http.Request) *version {
	if s.split.Load() == nil || !s.opts.Sticky.set() {
		return s.route(nil, false)
	}
	if h := s.opts.Sticky.Header; h != "" {
		if v := r.Header.Get(h); v != "" {
			return s.route([]byte(v), true)
		}
		return s.route(nil, false)
	}
	if c, err := r.Cookie(s.opts.Sticky.Cookie); err == nil && c.Value != "" {
		return s.route([]byte(c.Value), true)
	}
	return s.route(nil, false)
}

// routeH1 picks the version for a request on the fast path from its
// header lines (c.hdr: "Name: value\r\n" each), allocating nothing.
func (c *h1conn) routeH1() *version {
	s := c.s
	if s.split.Load() == nil || !s.sticky.set() {
		return s.route(nil, false)
	}
	key, ok := stickyKey(c.hdr, s.sticky)
	return s.route(key, ok)
}

// stickyKey finds the sticky header's value (k.Header in lower case), or
// the sticky cookie's value in any Cookie line, in header lines; ok is
// false when absent or empty.
func stickyKey(lines []byte, k Sticky) (key []byte, ok bool) {
	for l := lines; len(l) > 0; {
		var hl []byte
		if hl, l = nextLine(l); len(hl) == 0 {
			break
		}
		i := bytes.IndexByte(hl, ':')
		if i <= 0 {
			continue
		}
		name, val := hl[:i], trimOWS(hl[i+1:])
		switch {
		case k.Header != "" && eqFold(name, k.Header):
			return val, len(val) > 0
		case k.Cookie != "" && eqFold(name, "cookie"):
			if v, found := cookieValue(val, k.Cookie); found {
				return v, len(v) > 0
			}
		}
	}
	return nil, false
}

// cookieValue finds name=value among "a=1; b=2" pairs (RFC 6265 §4.2.1),
// with the value's optional double quotes removed, as net/http reads it.
func cookieValue(header []byte, name string) ([]byte, bool) {
	for len(header) > 0 {
		var part []byte
		if i := bytes.IndexByte(header, ';'); i >= 0 {
			part, header = header[:i], header[i+1:]
		} else {
			part, header = header, nil
		}
		part = trimOWS(part)
		eq := bytes.IndexByte(part, '=')
		if eq < 0 || string(part[:eq]) != name {
			continue
		}
		v := part[eq+1:]
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v, true
	}
	return nil, false
}
