package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // exporters may compress with gzip
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const (
	ctProto = "application/x-protobuf"
	ctJSON  = "application/json"
)

// Handler serves POST /v1/metrics (OTLP/HTTP, protobuf or JSON, optionally
// gzip-compressed), behind the bearer token when one is configured.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", r.serveHTTP)
	return mux
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct != ctProto && ct != ctJSON {
		ct = ctProto // errors in the encoding the spec defaults to
		httpError(w, ct, http.StatusUnsupportedMediaType, codes.InvalidArgument, "content type must be application/x-protobuf or application/json")
		return
	}
	if !r.authorized(req.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ripcord otlp"`)
		httpError(w, ct, http.StatusUnauthorized, codes.Unauthenticated, "a valid bearer token is required (Authorization: Bearer ...)")
		return
	}
	body, code, err := r.readBody(w, req)
	if err != nil {
		httpError(w, ct, code, codes.InvalidArgument, err.Error())
		return
	}
	er := pmetricotlp.NewExportRequest()
	if ct == ctJSON {
		err = er.UnmarshalJSON(body)
	} else {
		err = er.UnmarshalProto(body)
	}
	if err != nil {
		httpError(w, ct, http.StatusBadRequest, codes.InvalidArgument, "cannot decode the OTLP metrics request: "+err.Error())
		return
	}
	resp := r.response(r.Consume(er.Metrics()))
	var out []byte
	if ct == ctJSON {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		httpError(w, ct, http.StatusInternalServerError, codes.Internal, "cannot encode the response")
		return
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(out)
}

// readBody reads at most MaxBodyBytes, after decompression when the body
// is gzipped, so a small compressed body cannot expand without bound.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, int, error) {
	limit := r.cfg.MaxBodyBytes
	var src io.Reader = http.MaxBytesReader(w, req.Body, limit)
	switch enc := strings.ToLower(req.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content encoding %q is not supported: use gzip or none", enc)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(src, limit+1))
	var tooBig *http.MaxBytesError
	switch {
	case n > limit || errors.As(err, &tooBig):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request is larger than max_body_bytes (%d)", limit)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request: %w", err)
	}
	return buf.Bytes(), 0, nil
}

func (r *Receiver) response(rejected int64) pmetricotlp.ExportResponse {
	resp := pmetricotlp.NewExportResponse()
	if rejected > 0 {
		ps := resp.PartialSuccess()
		ps.SetRejectedDataPoints(rejected)
		ps.SetErrorMessage(fmt.Sprintf("ripcord: %d data points refused: over max_series (%d) for a service version, or over %d versions of a service", rejected, r.cfg.MaxSeries, maxVersions))
	}
	return resp
}

// httpError answers with a google.rpc.Status in the request's encoding, as
// OTLP/HTTP requires.
func httpError(w http.ResponseWriter, ct string, httpCode int, code codes.Code, msg string) {
	st := status.New(code, msg).Proto()
	var body []byte
	if ct == ctJSON {
		body, _ = protojson.Marshal(st)
	} else {
		body, _ = proto.Marshal(st)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(httpCode)
	_, _ = w.Write(body)
}

func (r *Receiver) authorized(header string) bool {
	if r.token == "" {
		return true
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(r.token)) == 1
}

// grpcService is the OTLP MetricsService.
type grpcService struct {
	pmetricotlp.UnimplementedGRPCServer
	r *Receiver
}

func (g *grpcService) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	return g.r.response(g.r.Consume(req.Metrics())), nil
}

func (r *Receiver) grpcAuth(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var header string
	if v := md.Get("authorization"); len(v) > 0 {
		header = v[0]
	}
	if !r.authorized(header) {
		return nil, status.Error(codes.Unauthenticated, "a valid bearer token is required (authorization: Bearer ...)")
	}
	return next(ctx, req)
}

// Start binds the listeners (HTTP, and gRPC when grpc_listen is set) and
// serves in the background until Stop.
func (r *Receiver) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", r.cfg.Listen)
	if err != nil {
		return fmt.Errorf("otlp: listen: %w", err)
	}
	r.httpLn = ln
	r.httpSrv = &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	if r.cfg.GRPCListen != "" {
		gl, err := lc.Listen(ctx, "tcp", r.cfg.GRPCListen)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("otlp: grpc_listen: %w", err)
		}
		r.grpcLn = gl
		r.grpcSrv = grpc.NewServer(grpc.MaxRecvMsgSize(int(r.cfg.MaxBodyBytes)), grpc.ChainUnaryInterceptor(r.grpcAuth))
		pmetricotlp.RegisterGRPCServer(r.grpcSrv, &grpcService{r: r})
		r.done.Go(func() {
			if err := r.grpcSrv.Serve(gl); err != nil {
				r.log.Error("otlp grpc receiver stopped", "err", err)
			}
		})
	}
	r.done.Go(func() {
		if err := r.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("otlp http receiver stopped", "err", err)
		}
	})
	r.log.Info("otlp receiver listening", "http", ln.Addr().String(), "grpc", r.GRPCAddr(), "auth", r.token != "")
	return nil
}

// Addr is the HTTP listener's address once started.
func (r *Receiver) Addr() string {
	if r.httpLn == nil {
		return ""
	}
	return r.httpLn.Addr().String()
}

// GRPCAddr is the gRPC listener's address once started, "" without one.
func (r *Receiver) GRPCAddr() string {
	if r.grpcLn == nil {
		return ""
	}
	return r.grpcLn.Addr().String()
}

// Stop drains both listeners until ctx ends, then closes what is left.
func (r *Receiver) Stop(ctx context.Context) error {
	if r.httpSrv == nil {
		return nil
	}
	err := r.httpSrv.Shutdown(ctx)
	if r.grpcSrv != nil {
		stopped := make(chan struct{})
		go func() { r.grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			r.grpcSrv.Stop()
			<-stopped
		}
	}
	r.done.Wait()
	return err
}
