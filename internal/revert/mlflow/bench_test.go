package mlflow

import (
	"context"
	"testing"

	"github.com/ripcord/ripcord/internal/revert"
)

// BenchmarkAliasSwitch is one whole revert against the local registry:
// read the alias, check the target version is READY, set the alias, read
// it back — four HTTP round trips over loopback, with the registry's
// wire-format checks in the loop.
func BenchmarkAliasSwitch(b *testing.B) {
	_, tg := setup(b)
	ctx := context.Background()
	from, to := "3", "2"
	for b.Loop() {
		if _, err := tg.Revert(ctx, revert.Request{From: from, To: to}); err != nil {
			b.Fatal(err)
		}
		from, to = to, from
	}
}
