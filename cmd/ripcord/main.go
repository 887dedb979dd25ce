// Command ripcord guards deployments: it watches each version's live signals,
// reverts a bad deploy in under a second, and records the incident.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ripcord/ripcord/internal/apiclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries an exit code other than 1 (the demo's "outcome did not
// match the fault" is 2).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// run is the CLI without the process: it executes args and returns the
// exit status, so tests see the codes and the output users do.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(cleanWriter(stderr), "ripcord:", err) // errors quote the server
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
	server    string
	token     string
	tokenSet  bool // --token given on the command line
	tokenFile string
}

func (g *globals) client() *apiclient.Client { return apiclient.New(g.server, g.findToken()) }

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
Operate it:   ripcord status | deploy | rollback | pause | resume | incidents
Canaries:     ripcord promote | abort  (with strategy.canary, deploy ramps in steps;
              with strategy.shadow, it is first judged on copies of live requests)
Rehearse:     ripcord drill SERVICE | --all  (fault a share of traffic, check it is rolled back)

The API token is taken from --token, else RIPCORD_TOKEN, else --token-file,
else — for a daemon on this machine running without api.tokens — the admin
token it generated: the daemon leaves a pointer to its admin.token under
$XDG_STATE_HOME/ripcord/servers/ (default ~/.local/state), named after the
address its API is bound to, and the CLI resolves --server to it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	server := os.Getenv("RIPCORD_SERVER")
	if server == "" {
		server = "http://127.0.0.1:7070"
	}
	root.PersistentFlags().StringVar(&g.server, "server", server, "ripcord API address (env RIPCORD_SERVER)")
	pf := root.PersistentFlags()
	pf.StringVar(&g.token, "token", "", "API bearer token (prefer RIPCORD_TOKEN or --token-file: flags show up in ps)")
	pf.StringVar(&g.tokenFile, "token-file", "", "file holding the API bearer token")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { g.tokenSet = cmd.Flags().Changed("token") }
	root.AddCommand(newServe(), newCheckConfig(), newDemo(),
		newStatus(g), newDeploy(g), newRollback(g), newPause(g), newResume(g), newIncidents(g), newReport(g),
		newPromote(g), newAbort(g), newDrill(g))
	return root
}
