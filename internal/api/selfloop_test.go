package api_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/ripcord/ripcord/internal/api"
)

// localAddr is an address of one of this machine's non-loopback
// interfaces, if it has one.
func localAddr(t *testing.T) (netip.Addr, bool) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsLoopback() && p.Addr().Is4() {
			return p.Addr(), true
		}
	}
	return netip.Addr{}, false
}

// TestCheckUpstream: a version URL that reaches one of ripcord's listeners
// — directly, through a name, through the unspecified address, or through
// any local address when the listener is a wildcard — is ErrSelfLoop;
// anything else on another port or host passes; malformed URLs are refused
// without quoting them.
func TestCheckUpstream(t *testing.T) {
	ap := netip.MustParseAddrPort
	api7070 := []netip.AddrPort{ap("127.0.0.1:7070")}
	wild := []netip.AddrPort{ap("0.0.0.0:8080"), ap("127.0.0.1:7070")}
	wild6 := []netip.AddrPort{ap("[::]:8443")}
	for _, tc := range []struct {
		url       string
		listeners []netip.AddrPort
		loop      bool
		err       string // a refusal that is not a loop starts with this
	}{
		{"http://127.0.0.1:7070", api7070, true, ""},
		{"http://127.0.0.1:7070/v1/chat?x=1", api7070, true, ""},
		{"http://localhost:7070", api7070, true, ""},
		{"http://0.0.0.0:7070", api7070, true, ""},
		{"http://[::ffff:127.0.0.1]:7070", api7070, true, ""},
		{"http://127.0.0.1:7071", api7070, false, ""},
		{"http://127.0.0.2:7070", api7070, false, ""}, // another loopback address, not the one bound
		{"http://10.255.255.1:7070", api7070, false, ""},
		{"http://127.0.0.1:8080", wild, true, ""},
		{"http://127.0.0.2:8080", wild, true, ""},
		{"http://[::1]:8080", wild, true, ""},
		{"http://10.255.255.1:8080", wild, false, ""}, // not an address of this machine
		{"http://127.0.0.1", []netip.AddrPort{ap("0.0.0.0:80")}, true, ""},
		{"https://127.0.0.1", []netip.AddrPort{ap("0.0.0.0:443")}, true, ""},
		{"https://127.0.0.1", []netip.AddrPort{ap("0.0.0.0:80")}, false, ""},
		{"http://[::1]:8443", wild6, true, ""},
		{"http://127.0.0.1:9000", nil, false, ""},
		{"/relative", api7070, false, "url: must be an absolute"},
		{"ftp://127.0.0.1:7070", api7070, false, "url: must be an absolute"},
		{"http://:7070", api7070, false, "url: must be an absolute"},
		{"http://127.0.0.1:0x50", api7070, false, "url: must be an absolute"},
		{"http://127.0.0.1:65536", api7070, false, "url: the port must be a number"},
		{"http://user:pw@no-such-host.invalid:7070", api7070, false, `url: host "no-such-host.invalid" does not resolve`},
		{"::not a url", api7070, false, "url: must be an absolute"},
	} {
		err := api.CheckUpstream(t.Context(), tc.url, tc.listeners)
		switch {
		case tc.loop:
			if !errors.Is(err, api.ErrSelfLoop) {
				t.Errorf("%s vs %v: %v, want a self-loop", tc.url, tc.listeners, err)
			}
		case tc.err != "":
			if err == nil || errors.Is(err, api.ErrSelfLoop) || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q…", tc.url, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s vs %v: %v, want accepted", tc.url, tc.listeners, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: the error quotes the URL's credentials: %v", tc.url, err)
		}
	}
}

// TestCheckUpstreamLocalInterface: with a wildcard listener, this
// machine's own LAN address reaches it too.
func TestCheckUpstreamLocalInterface(t *testing.T) {
	ip, ok := localAddr(t)
	if !ok {
		t.Skip("no non-loopback IPv4 interface")
	}
	u := "http://" + netip.AddrPortFrom(ip, 8080).String()
	if err := api.CheckUpstream(t.Context(), u, []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:8080")}); !errors.Is(err, api.ErrSelfLoop) {
		t.Fatalf("%s with 0.0.0.0:8080 bound: %v", u, err)
	}
	if err := api.CheckUpstream(t.Context(), u, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8080")}); err != nil {
		t.Fatalf("%s with only loopback bound: %v", u, err)
	}
}
