package localtoken

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the admin token file's name.
const FileName = "admin.token"

// tokenBytes is the token's entropy: 256 bits.
const tokenBytes = 32

// StateDir is $XDG_STATE_HOME/ripcord, or ~/.local/state/ripcord when
// XDG_STATE_HOME is unset or not absolute (as the XDG spec says to treat it).
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "ripcord"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("localtoken: no state directory: set XDG_STATE_HOME or HOME: %w", err)
	}
	return filepath.Join(home, ".local", "state", "ripcord"), nil
}

// Path is where the admin token lives: beside sqlitePath when the store is a
// file, else in stateDir.
func Path(sqlitePath, stateDir string) string {
	if sqlitePath != "" && sqlitePath != ":memory:" && !strings.HasPrefix(sqlitePath, "file:") {
		return filepath.Join(filepath.Dir(sqlitePath), FileName)
	}
	return filepath.Join(stateDir, FileName)
}

// LoadOrCreate returns the token kept in path, generating and storing a new
// one when the file does not exist. A file that group or others may read,
// or that does not hold a token, is an error naming the fix: the token would
// be compromised, or was replaced by something that is not ours.
func LoadOrCreate(path string) (string, error) {
	tok, err := read(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("localtoken: %w", err)
	}
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	tok = hex.EncodeToString(b)
	// Written in full under a temporary name, then linked into place: link
	// fails if the name exists, so daemons starting at once on one store
	// agree on one token, and none reads a half-written file.
	f, err := os.CreateTemp(filepath.Dir(path), ".admin.token-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("localtoken: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.WriteString(tok + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("localtoken: write %s: %w", path, werr)
	}
	if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
		return read(path)
	} else if err != nil {
		return "", fmt.Errorf("localtoken: create %s: %w", path, err)
	}
	return tok, nil
}

// read reads an existing token file, checking who may read it.
func read(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("localtoken: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("localtoken: %s is not a regular file: remove it and restart ripcord to generate a new token", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("localtoken: %s may be read by others (mode %04o): run chmod 600 %s, or remove it and restart ripcord to generate a new token",
			path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("localtoken: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 2*tokenBytes || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("localtoken: %s does not hold a token: remove it and restart ripcord to generate a new one", path)
	}
	return tok, nil
}

// Pointer is what a daemon leaves in StateDir()/servers/ for the CLI.
type Pointer struct {
	API       string `json:"api"`        // bound address, host:port
	TokenFile string `json:"token_file"` // absolute path of the admin token
	PID       int    `json:"pid"`
}

// pointerPath names the pointer for a bound API address.
func pointerPath(stateDir string, addr netip.AddrPort) string {
	name := strings.NewReplacer(":", "_", "[", "", "]", "").Replace(addr.String())
	return filepath.Join(stateDir, "servers", name+".json")
}

// WritePointer records that the API bound at addr takes the token in
// tokenFile, and returns a func that removes the pointer again (if it still
// names tokenFile: a newer daemon on the same address may have replaced it).
func WritePointer(stateDir string, addr netip.AddrPort, tokenFile string) (remove func(), err error) {
	abs, err := filepath.Abs(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("localtoken: %w", err)
	}
	p := pointerPath(stateDir, addr)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("localtoken: %w", err)
	}
	b, _ := json.Marshal(Pointer{API: addr.String(), TokenFile: abs, PID: os.Getpid()})
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("localtoken: write pointer: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return nil, fmt.Errorf("localtoken: write pointer: %w", err)
	}
	return func() {
		if cur, err := readPointer(p); err == nil && cur.TokenFile == abs {
			_ = os.Remove(p)
		}
	}, nil
}

func readPointer(path string) (Pointer, error) {
	var p Pointer
	b, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil || p.TokenFile == "" {
		return p, fmt.Errorf("localtoken: %s is not a pointer written by ripcord", path)
	}
	return p, nil
}

// ErrNoLocalToken means no daemon on this machine left a pointer for the
// server asked for.
var ErrNoLocalToken = errors.New("localtoken: no local daemon token for this server")

// Find returns the token of the local daemon whose API is hostport (the
// host may be a name such as localhost, or an IP), and the token file it
// read. A name is resolved to every address it has, since the pointer is
// named after the address the daemon bound.
func Find(stateDir, hostport string) (token, file string, err error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", "", fmt.Errorf("localtoken: %w", err)
	}
	var ips []string
	if ip, perr := netip.ParseAddr(host); perr == nil {
		ips = []string{ip.Unmap().String()}
	} else if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		ips = []string{"127.0.0.1", "::1"}
	} else if ips, err = net.LookupHost(host); err != nil {
		return "", "", fmt.Errorf("%w (%s does not resolve)", ErrNoLocalToken, host)
	}
	for _, h := range ips {
		ap, perr := netip.ParseAddrPort(net.JoinHostPort(h, port))
		if perr != nil {
			continue
		}
		p, perr := readPointer(pointerPath(stateDir, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())))
		if perr != nil {
			continue
		}
		tok, rerr := read(p.TokenFile)
		return tok, p.TokenFile, rerr
	}
	return "", "", ErrNoLocalToken
}
