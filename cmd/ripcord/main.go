// Command ripcord guards deployments: it watches each version's live signals,
// reverts a bad deploy in under a second, and records the incident.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ripcord/ripcord/internal/apiclient"
)

func main() { os.Exit(run()) }

// exitError carries an exit code other than 1 (the demo's "outcome did not
// match the fault" is 2).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ripcord:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// globals are the flags every client command shares.
type globals struct {
	server string
	token  string
}

func (g *globals) client() *apiclient.Client { return apiclient.New(g.server, g.token) }

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "ripcord",
		Short: "Automatic rollback and incident recovery for deployments",
		Long: `ripcord sits in front of a service's versions as a blue-green traffic switch,
judges every request, reverts a bad deploy in under a second, falls back
further (v2 → v1 → v0) if the older version is bad too, and records an
incident with the numbers behind every decision.

Start here:   ripcord demo            (a bad deploy rolled back, nothing to set up)
Run it:       ripcord serve -c ripcord.yaml
Operate it:   ripcord status | deploy | rollback | pause | resume | incidents`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	server := os.Getenv("RIPCORD_SERVER")
	if server == "" {
		server = "http://127.0.0.1:7070"
	}
	root.PersistentFlags().StringVar(&g.server, "server", server, "ripcord API address (env RIPCORD_SERVER)")
	root.PersistentFlags().StringVar(&g.token, "token", os.Getenv("RIPCORD_TOKEN"), "API bearer token (env RIPCORD_TOKEN; prefer the env var: flags show up in ps)")
	root.AddCommand(newServe(), newCheckConfig(), newDemo(),
		newStatus(g), newDeploy(g), newRollback(g), newPause(g), newResume(g), newIncidents(g), newReport(g))
	return root
}
