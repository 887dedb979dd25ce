package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord/ripcord/internal/demo"
)

func newDemo() *cobra.Command {
	o := demo.Options{}
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy a bad version behind the built-in switch and watch ripcord roll it back",
		Long: `demo runs the whole loop on the embedded default, with nothing to set up:
two real HTTP backends (v1 healthy, v2 with --fault), the traffic switch, a
SQLite store in a temporary directory, ~200 req/s of load and a stand-in
evaluation pipeline pushing quality scores. It deploys v2, shows one line per
second while ripcord watches, and prints what happened. It exits 0 when the
outcome matches the fault (rolled back for error|latency|quality, left alone
for none).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = cmd.OutOrStdout()
			if asJSON && !verbose {
				o.Out = cmd.ErrOrStderr()
			}
			lvl := slog.LevelError
			if verbose {
				lvl = slog.LevelInfo
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
			res, err := demo.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			res.Summary(o.Out)
			if asJSON {
				fmt.Fprintln(cmd.OutOrStdout(), res.JSON())
			}
			if !res.Matches() {
				return &exitError{code: 2, err: fmt.Errorf("outcome does not match the fault %q (rolled_back=%v)", res.Fault, res.RolledBack)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Fault, "fault", demo.FaultError, "fault injected into v2: "+strings.Join(demo.Faults, "|"))
	f.IntVar(&o.Rate, "rate", 200, "requests per second")
	f.DurationVar(&o.Warmup, "warmup", 2*time.Second, "time on v1 before deploying v2")
	f.DurationVar(&o.Watch, "watch", 10*time.Second, "time to watch after the deploy (the same with or without a fault)")
	f.BoolVar(&o.Keep, "keep", false, "leave the daemon running afterwards (API on 127.0.0.1:7070) to explore with the CLI")
	f.StringVar(&o.DBPath, "db", "", "SQLite file to use (default: a temporary one, removed afterwards)")
	f.BoolVar(&o.RetryOnPrevious, "retry-on-previous", false, "retry requests v2 fails on v1 before answering, so users see no errors at all")
	f.BoolVar(&asJSON, "json", false, "print the outcome as one JSON object on the last line of stdout (live view goes to stderr)")
	f.BoolVar(&verbose, "verbose", false, "show ripcord's own log")
	return cmd
}
