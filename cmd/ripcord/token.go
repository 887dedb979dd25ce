package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/ripcord/ripcord/internal/localtoken"
)

// findToken picks the API token: --token, RIPCORD_TOKEN, --token-file, then
// the generated admin token of a local daemon listening on --server. None
// found is not an error here: the API answers 401 with what to do.
func (g *globals) findToken() string {
	switch {
	case g.tokenSet:
		return g.token
	case os.Getenv("RIPCORD_TOKEN") != "":
		return os.Getenv("RIPCORD_TOKEN")
	case g.tokenFile != "":
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ripcord: --token-file: %v\n", err)
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	u, err := url.Parse(g.server)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	host := net.JoinHostPort(u.Hostname(), port)
	dir, err := localtoken.StateDir()
	if err != nil {
		return ""
	}
	tok, _, err := localtoken.Find(dir, host)
	if err != nil && !errors.Is(err, localtoken.ErrNoLocalToken) {
		fmt.Fprintf(os.Stderr, "ripcord: %v\n", err) // e.g. a token file others may read
	}
	return tok
}
