package proxy

import "time"

// Leaving a version (Activate of another, or SetVersion replacing its URL)
// drains its upstream:
//
//   - idle keep-alive connections are closed at once, busy ones when their
//     request ends, so nothing lingers;
//   - tunnels (WebSocket) are closed at once: they never end by themselves,
//     and a client that reconnects lands on the active version;
//   - requests still running on it DrainTimeout later (long streams) are
//     cut, so a rolled-back version stops answering within a known time.
//     A cut is the switch's doing, not the version's: it is not recorded.
//
// Every drain and undrain bumps gen, so the timer of a drain that a later
// Activate undid (or a later drain replaced) does nothing.

func (u *upstream) drain() {
	gen := u.gen.Add(1)
	u.draining.Store(true)
	u.h1.drain()
	u.tr.CloseIdleConnections()
	u.closeTunnels()
	// One timer per upstream, moved by every drain: only the latest drain
	// can still be in force, and a switch stays a few hundred nanoseconds.
	u.timerMu.Lock()
	u.drainStart, u.drainGen = time.Now().UnixNano(), gen
	if u.drainTimer == nil {
		u.drainTimer = time.AfterFunc(u.drainFor, u.drainExpired)
	} else {
		u.drainTimer.Reset(u.drainFor)
	}
	u.timerMu.Unlock()
}

// drainExpired cuts what still runs on the upstream if the drain that set
// the timer was not undone or replaced since.
func (u *upstream) drainExpired() {
	u.timerMu.Lock()
	t0, gen := u.drainStart, u.drainGen
	u.timerMu.Unlock()
	if u.draining.Load() && u.gen.Load() == gen {
		u.cutBusy(t0)
	}
}

// closeTunnels closes every upgraded connection to this upstream.
func (u *upstream) closeTunnels() {
	for _, c := range u.busyConns(func(c *watchConn) bool { return c.tunnel.Load() }) {
		c.Close()
	}
}

// cutBusy closes the connections, on both paths, carrying a request that
// started before t (UnixNano).
func (u *upstream) cutBusy(t int64) {
	u.h1.cutBusy(t)
	for _, c := range u.busyConns(func(c *watchConn) bool {
		s := c.busySince.Load()
		return s != 0 && s < t
	}) {
		c.Close()
	}
}

// busyConns marks cut and returns the Transport connections that match.
func (u *upstream) busyConns(match func(*watchConn) bool) []*watchConn {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*watchConn
	for c := range u.conns {
		if match(c) {
			c.cut.Store(true)
			out = append(out, c)
		}
	}
	return out
}

// closeTunnels closes the tunnels of every version (Serve's shutdown:
// tunnels never finish by themselves, so a drain does not wait for them).
func (s *Switch) closeTunnels() {
	for _, v := range *s.versions.Load() {
		v.up.closeTunnels()
	}
}

// cutInFlight cuts every request in flight on every version (the end of
// Serve's drain).
func (s *Switch) cutInFlight() {
	t := time.Now().UnixNano() + 1
	for _, v := range *s.versions.Load() {
		v.up.cutBusy(t)
	}
}
