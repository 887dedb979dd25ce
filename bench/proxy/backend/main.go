// Command backend is the upstream of the proxy benchmark: a plain net/http
// server answering /small with a small JSON document and /16k with a 16 KiB
// one, both with Content-Length, as a typical JSON API would.
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	flag.Parse()

	small := []byte(`{"id":42,"name":"ripcord","ok":true,"items":[1,2,3]}`)
	big := []byte(`{"data":"` + strings.Repeat("x", 16*1024-12) + `"}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/small", answer(small))
	mux.HandleFunc("/16k", answer(big))
	mux.HandleFunc("/", answer(small))
	srv := &http.Server{Addr: *addr, Handler: mux}
	if err := srv.ListenAndServe(); err != nil {
		slog.Error("backend", "err", err)
		os.Exit(1)
	}
}

func answer(body []byte) http.HandlerFunc {
	n := []string{strconv.Itoa(len(body))}
	ct := []string{"application/json"}
	return func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = ct
		h["Content-Length"] = n
		w.Write(body)
	}
}
