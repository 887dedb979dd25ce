package app

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/web"
)

// newWeb builds the dashboard, served by the API listener under /, and
// exports its prevented counter on /metrics.
func (a *App) newWeb(tokens []config.Token, reg prometheus.Registerer) http.Handler {
	a.web = web.New(web.Options{Services: a.services, Store: a.store, Tokens: tokens,
		Logger: a.log.With("component", "web"), Notify: a.wake, Listeners: a.listeners})
	reg.MustRegister(a.web.Prevented())
	return a.web.Handler()
}

// runWeb keeps the dashboard's live feed going until ctx ends.
func (a *App) runWeb(ctx context.Context) {
	if a.web != nil {
		a.wg.Go(func() { a.web.Run(ctx) })
	}
}
