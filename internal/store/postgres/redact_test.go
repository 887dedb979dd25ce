package postgres

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestErrorsNeverCarryThePassword: whatever goes wrong opening the store,
// the error names the database but not the URL or the password.
func TestErrorsNeverCarryThePassword(t *testing.T) {
	const pw = "Sup3r-s3cret_pw"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	for name, url := range map[string]string{
		"refused":      "postgres://ripcord:" + pw + "@127.0.0.1:" + strconv.Itoa(port) + "/ripcord?connect_timeout=2",
		"bad port":     "postgres://ripcord:" + pw + "@127.0.0.1:notaport/ripcord",
		"bad option":   "postgres://ripcord:" + pw + "@127.0.0.1/ripcord?sslmode=sometimes",
		"keyword form": "host=127.0.0.1 port=" + strconv.Itoa(port) + " user=ripcord password=" + pw + " connect_timeout=2",
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := Open(ctx, url)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, pw) || strings.Contains(msg, "s3cret") {
				t.Fatalf("error carries the password: %s", msg)
			}
			if !strings.HasPrefix(msg, "postgres: ") {
				t.Errorf("error %q does not start with postgres:", msg)
			}
			t.Log(msg)
		})
	}
}
