package exec

import (
	"context"
	"log/slog"
	"testing"

	"github.com/ripcord/ripcord/internal/revert"
)

// BenchmarkRevertTrue is the exec target's own cost: expanding and
// checking argv, starting /bin/true in its own process group, capturing
// its (empty) output and reaping it.
func BenchmarkRevertTrue(b *testing.B) {
	tg, err := New(Config{Argv: []string{"/bin/true", "--to", "{{.To}}", "--service={{.Service}}"}}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	req := revert.Request{Service: "summarizer", From: "v2", To: "v1", Reason: "error_rate 9% > 5%"}
	ctx := context.Background()
	for b.Loop() {
		if _, err := tg.Revert(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
