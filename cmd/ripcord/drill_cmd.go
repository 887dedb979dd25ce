package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/controller"
)

// drillLine is the --json summary, one object as the last line of output.
type drillLine struct {
	Service          string  `json:"service"`
	Fault            string  `json:"fault"`
	Passed           bool    `json:"passed"`
	DetectSeconds    float64 `json:"detect_seconds"`
	AffectedRequests uint64  `json:"affected_requests"`
	IncidentID       string  `json:"incident_id"`
}

func newDrill(g *globals) *cobra.Command {
	var (
		fault       string
		share       float64
		all, asJSON bool
		shadow      bool
	)
	cmd := &cobra.Command{
		Use:   "drill SERVICE | --all [--fault error|latency|quality|stream] [--share PCT] [--json]",
		Short: "Rehearse a rollback: fault a share of live traffic and check ripcord rolls it back (operator)",
		Long: "Rehearse the rollback path without a bad build. The switch sends a share of live traffic\n" +
			"(drills.share, default 5%, at most 50%) to a fault-injecting wrapper of the active version:\n" +
			"  error    answers 503\n" +
			"  latency  answers later than the policy's largest latency bound\n" +
			"  quality  answers with the quality header (signals.headers) past its threshold\n" +
			"  stream   answers cut off half-way through the body\n" +
			"The drill checks that the verdict turns bad within drills.timeout, that the share is rolled\n" +
			"back and the active version verifies, and writes a report as an incident of kind drill\n" +
			"(announced only on notify routes with drills: true). A drill starts no\n" +
			"cooldown, marks no version bad and counts as no rollback anywhere. It aborts at once if the\n" +
			"real version degrades meanwhile. With --shadow no user request is faulted: the wrapper gets\n" +
			"copies of live requests instead (strategy.shadow's methods and percent, default GET, HEAD,\n" +
			"OPTIONS, all of them), and its answers reach no one. Only services behind ripcord's own\n" +
			"proxy can be drilled.\n" +
			"Exit status 1 when a drill did not pass. drills.every in the config schedules drills.",
		Args: func(cmd *cobra.Command, args []string) error {
			if all != (len(args) == 0) || len(args) > 1 {
				return fmt.Errorf("give one SERVICE or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			names := args
			if all {
				svcs, err := c.Services(cmd.Context())
				if err != nil {
					return err
				}
				names = nil
				for _, s := range svcs {
					if s.Drillable {
						names = append(names, s.Name)
					} else if !asJSON {
						fmt.Fprintf(stdout(cmd), "%s: skipped, not behind ripcord's own proxy\n", s.Name)
					}
				}
				if len(names) == 0 {
					return fmt.Errorf("no service is behind ripcord's own proxy: nothing to drill")
				}
			}
			failed := 0
			var last drillLine
			for _, n := range names {
				rep, err := c.Drill(cmd.Context(), n, api.DrillRequest{Fault: fault, Share: share, Shadow: shadow})
				if err != nil {
					return fmt.Errorf("drill %s: %w", n, err)
				}
				if !rep.Passed {
					failed++
				}
				last = drillLine{Service: rep.Service, Fault: rep.Fault, Passed: rep.Passed, DetectSeconds: rep.DetectSeconds,
					AffectedRequests: rep.AffectedRequests, IncidentID: rep.IncidentID}
				if asJSON {
					if err := json.NewEncoder(stdout(cmd)).Encode(last); err != nil {
						return err
					}
					continue
				}
				printDrill(stdout(cmd), rep)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d drills did not pass", failed, len(names))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&fault, "fault", "", "what to inject: error, latency, quality or stream (default drills.fault, error)")
	cmd.Flags().Float64Var(&share, "share", 0, "percent of live traffic to fault (default drills.share, 5; at most 50)")
	cmd.Flags().BoolVar(&all, "all", false, "drill every service behind ripcord's own proxy, one after another")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per drill, the last one as the last line")
	cmd.Flags().BoolVar(&shadow, "shadow", false, "fault copies of live requests only, no user's (not with --share)")
	return cmd
}

func printDrill(w io.Writer, r controller.DrillReport) {
	outcome := "PASSED"
	switch {
	case r.Aborted:
		outcome = "ABORTED"
	case !r.Passed:
		outcome = "FAILED"
	}
	on := fmt.Sprintf("%.4g%% of traffic", r.SharePercent)
	if r.Shadow {
		on = "shadow copies"
	}
	fmt.Fprintf(w, "%s: drill %s (%s fault on %s to %s), incident %s\n", r.Service, outcome, r.Fault, on, r.Version, r.IncidentID)
	fmt.Fprintf(w, "  %s\n", r.Reason)
	if r.DetectSeconds > 0 {
		fmt.Fprintf(w, "  detected in %.3fs: %s\n  share rolled back %.3fs after the verdict\n", r.DetectSeconds, r.Verdict, r.RollbackSeconds)
	}
	if r.Shadow {
		fmt.Fprintf(w, "  no user request affected: %d copies faulted, %d live requests on %s meanwhile\n", r.Copies, r.LiveRequests, r.Version)
		return
	}
	fmt.Fprintf(w, "  %d requests affected, %d on %s meanwhile (%.2f%% actually faulted)\n", r.AffectedRequests, r.LiveRequests, r.Version, r.ActualShare)
}
