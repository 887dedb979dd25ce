package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/proxy"
)

// drillRouter adapts the switch to the controller's DrillRouter: proxy
// imports no ripcord package, so the fault type is mapped here.
type drillRouter struct{ sw *proxy.Switch }

var _ controller.DrillRouter = drillRouter{}

func (d drillRouter) StartDrill(version string, bp int, f controller.DrillFault, shadow bool) (string, error) {
	return d.sw.StartDrill(version, bp, proxy.DrillFault{Kind: f.Kind, Delay: f.Delay, Header: f.Header, Value: f.Value}, shadow)
}

func (d drillRouter) EndDrill() (controller.DrillCounts, error) {
	c, err := d.sw.EndDrill()
	return controller.DrillCounts{Affected: c.Affected, Live: c.Live, EndedAt: c.EndedAt}, err
}

func (d drillRouter) DrillShare() bool { return d.sw.DrillShare() }
func (d drillRouter) Active() string   { return d.sw.Active() }

// drillRetry is how soon a scheduled drill that was refused (the service
// was busy or degraded) is tried again.
const drillRetry = time.Minute

// runDrillSchedules drills every service with drills.every on its
// schedule. The last drill's time is the newest drill incident in the
// store, so a restart neither repeats a drill nor skips one; a service
// never drilled is first drilled one policy.window after start, once its
// verdict has formed.
func (a *App) runDrillSchedules(ctx context.Context) {
	for _, svc := range a.services {
		a.scheduleDrills(ctx, svc, &a.wg)
	}
}

// scheduleDrills runs svc's drill schedule on wg until ctx ends, if it
// has one (drills.every, and a switch to drill).
func (a *App) scheduleDrills(ctx context.Context, svc *controller.Service, wg *sync.WaitGroup) {
	if every := svc.DrillConfig().Every; every > 0 && svc.Drillable() {
		wg.Go(func() { a.drillSchedule(ctx, svc, every) })
	}
}

func (a *App) drillSchedule(ctx context.Context, svc *controller.Service, every time.Duration) {
	log := a.log.With("component", "drill", "service", svc.Name())
	started := time.Now()
	for {
		last, err := svc.LastDrill(ctx)
		wait := drillRetry
		switch {
		case err != nil:
			log.Warn("reading the last drill failed", "err", err)
		case last.IsZero():
			wait = time.Until(started.Add(svc.Window()))
		default:
			wait = time.Until(last.Add(every))
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		rep, err := svc.Drill(ctx, controller.DrillRequest{Actor: "drills.every"})
		switch {
		case errors.Is(err, controller.ErrConflict) || errors.Is(err, controller.ErrInvalid):
			log.Warn("scheduled drill refused; trying again later", "err", err, "retry_in", drillRetry)
			if !sleepCtx(ctx, drillRetry) {
				return
			}
		case err != nil:
			log.Error("scheduled drill failed", "err", err)
			if !sleepCtx(ctx, drillRetry) {
				return
			}
		default:
			log.Info("scheduled drill done", "passed", rep.Passed, "incident", rep.IncidentID, "why", rep.Reason)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
