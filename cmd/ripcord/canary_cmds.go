package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord/ripcord/internal/controller"
)

func newPromote(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "promote SERVICE",
		Short: "Skip a canary's remaining steps (the new version takes all traffic), or the rest of a shadow (operator)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.client().Promote(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if c := s.Canary; c != nil {
				fmt.Fprintf(stdout(cmd), "%s: shadow skipped; canary %s at %d%%, %s on the rest\n", s.Name, s.Active, c.Percent, c.Stable)
				return nil
			}
			fmt.Fprintf(stdout(cmd), "%s: %s promoted, takes all traffic and is being watched\n", s.Name, s.Active)
			return nil
		},
	}
}

func newAbort(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "abort SERVICE [--reason TEXT]",
		Short: "Send a canary's traffic back to the stable version, or end a shadow; not marked bad, no incident (operator)",
		Long: "Send a canary's traffic back to the stable version (or end a shadow: no more copies). The new\n" +
			"version is not marked known-bad and no\n" +
			"incident opens: the decision trace (`ripcord status SERVICE`, GET .../decisions) records who and why.\n" +
			"Use `ripcord rollback` to mark the version bad instead.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.client().Abort(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout(cmd), "%s: canary aborted, all traffic on %s\n", s.Name, s.Active)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the decision trace")
	return cmd
}

// printCanary is status's canary line: step, share, and since when; the
// verdict and findings printed after it are the evidence about the canary
// at this step.
func printCanary(w io.Writer, s controller.Status) {
	c := s.Canary
	if c == nil {
		return
	}
	fmt.Fprintf(w, "  canary: %s at %d%% (step %d of %d: %v), %s on the rest; step since %s, canary since %s\n",
		s.Active, c.Percent, c.Step, len(c.Steps), c.Steps, c.Stable,
		c.StepSince.Local().Format(time.TimeOnly), c.Since.Local().Format(time.TimeOnly))
	fmt.Fprintf(w, "  advances when healthy after min_step %s; held with an incident after max_step %s\n", c.MinStep, c.MaxStep)
}

// printShadow is status's shadow lines: which version is judged on copies
// of whose traffic, for how long at least, and what the switch did with
// live requests; the verdict and findings after it are the evidence from
// the copies' answers.
func printShadow(w io.Writer, s controller.Status) {
	sh := s.Shadow
	if sh == nil {
		return
	}
	fmt.Fprintf(w, "  shadow: %s judged on copies of %d%% of %s's %v requests, no user on it; since %s, at least %s\n",
		s.Active, sh.Percent, sh.Stable, sh.Methods, sh.Since.Local().Format(time.TimeOnly), sh.Duration)
	if c := sh.Counts; c != nil {
		fmt.Fprintf(w, "  copies: %d mirrored, %d answered, %d dropped (backlog full), %d not copied (body too large), %d not copied (method)",
			c["mirrored"], c["sent"], c["dropped"], c["too_large"], c["skipped"])
		if c["compared"] > 0 {
			fmt.Fprintf(w, "; %d of %d compared differ from the live answer", c["mismatched"], c["compared"])
		}
		fmt.Fprintln(w)
	}
}
