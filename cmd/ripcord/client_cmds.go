package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/ha"
	"github.com/ripcord/ripcord/internal/incident"
)

// fullStatusUpTo is how many services `ripcord status` shows in full;
// more are a table, a line each, and a summary.
const fullStatusUpTo = 20

func newStatus(g *globals) *cobra.Command {
	var asJSON bool
	var f apiclient.ServiceFilter
	var verdicts, states string
	cmd := &cobra.Command{
		Use:   "status [SERVICE]",
		Short: "Show versions, the active one, the state and the last verdict with its numbers",
		Long: "Show one service, or every service (paged from the API 1,000 at a time). Up to " + strconv.Itoa(fullStatusUpTo) + " services\n" +
			"are shown in full; more are a table, a line each, then a count by verdict and state.\n" +
			"Narrow a large fleet with --verdict, --state and --match, e.g. ripcord status --verdict degraded,suspect.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			var list []controller.Status
			if len(args) == 1 {
				if f.Q != "" || verdicts != "" || states != "" {
					return fmt.Errorf("give a SERVICE or --match/--verdict/--state, not both")
				}
				s, err := c.Service(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				list = []controller.Status{s}
			} else {
				f.Verdicts, f.States = splitList(verdicts), splitList(states)
				var err error
				if list, err = c.AllServices(cmd.Context(), f); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(stdout(cmd), list)
			}
			if len(list) > fullStatusUpTo {
				printStatusTable(stdout(cmd), list)
			} else {
				for _, s := range list {
					printStatus(stdout(cmd), s)
				}
			}
			if len(list) == 0 && len(args) == 0 {
				fmt.Fprintln(stdout(cmd), "no service matches")
			}
			if h, err := c.HA(cmd.Context()); err == nil {
				printHA(stdout(cmd), h)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.Q, "match", "", "only services whose name contains this (any case)")
	cmd.Flags().StringVar(&verdicts, "verdict", "", "only services with one of these verdicts (comma-separated: healthy, suspect, degraded, inconclusive, blind)")
	cmd.Flags().StringVar(&states, "state", "", "only services in one of these states (comma-separated: stable, watching, shadowing, canary, reverting, verifying, escalated)")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// printStatusTable is many services a line each, then how many have
// each verdict and state, so a fleet of 10,000 stays readable (and
// greppable).
func printStatusTable(w io.Writer, list []controller.Status) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tSTATE\tACTIVE\tVERDICT\tINCIDENT\t")
	verdicts, states := map[string]int{}, map[string]int{}
	for _, s := range list {
		state := string(s.State)
		if s.Paused {
			state += " (paused)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", s.Name, state, s.Active, s.Verdict, s.IncidentID)
		verdicts[s.Verdict]++
		states[string(s.State)]++
	}
	tw.Flush()
	fmt.Fprintf(w, "%d services: %s; %s (ripcord status SERVICE for one in full)\n", len(list), counts(verdicts), counts(states))
}

// counts is "9990 healthy, 10 degraded", largest first.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

// printHA shows, with config ha, which replica acts for each shard and
// each replica's share.
func printHA(w io.Writer, h ha.Status) {
	fmt.Fprintf(w, "replicas (answered by %s):\n", h.Replica)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SHARD\tSERVICES\tACTING\tEPOCH")
	for _, s := range h.Shards {
		leader := s.Leader
		if leader == "" {
			leader = "nobody (electing)"
		}
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%d\n", s.Shard, s.Services, leader, s.Epoch)
	}
	fmt.Fprintln(tw, "  REPLICA\tAPI\tACTS FOR SHARDS\t")
	for _, r := range h.Replicas {
		share := "none (following)"
		if len(r.Shards) > 0 {
			share = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(r.Shards)), ", "), "[]")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", r.Name, r.Advertise, share)
	}
	tw.Flush()
}

func printStatus(w io.Writer, s controller.Status) {
	paused := ""
	if s.Paused {
		paused = "  AUTOMATION PAUSED (ripcord resume " + s.Name + ")"
	}
	fmt.Fprintf(w, "%s: %s on %s since %s%s\n", s.Name, s.State, s.Active, s.WatchSince.Local().Format(time.TimeOnly), paused)
	printCanary(w, s)
	if s.Drilling {
		fmt.Fprintf(w, "  drill in progress: a share of traffic goes to a fault wrapper of %s (ripcord drill)\n", s.Active)
	}
	printShadow(w, s)
	verdict := s.Reason
	if !strings.HasPrefix(verdict, s.Verdict) {
		verdict = s.Verdict + ": " + verdict
	}
	fmt.Fprintf(w, "  verdict: %s\n", verdict)
	for _, f := range s.Findings {
		fmt.Fprintf(w, "    %s\n", f.Text)
	}
	if !s.CooldownUntil.IsZero() && time.Until(s.CooldownUntil) > 0 {
		fmt.Fprintf(w, "  cooldown until %s\n", s.CooldownUntil.Local().Format(time.TimeOnly))
	}
	if s.IncidentID != "" {
		fmt.Fprintf(w, "  incident: %s\n", s.IncidentID)
	}
	if s.Progress != "" {
		fmt.Fprintf(w, "  revert: %s\n", s.Progress)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tURL\tSTATUS")
	for _, v := range s.Versions {
		st := ""
		switch {
		case s.Shadow != nil && v.Name == s.Active:
			st = "in shadow: copies only, no user"
		case s.Shadow != nil && v.Name == s.Shadow.Stable:
			st = "live"
		case v.Name == s.Active:
			st = "active"
		case v.KnownBad:
			st = "known-bad: " + v.BadReason
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.URL, st)
	}
	tw.Flush()
}

func newDeploy(g *globals) *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "deploy SERVICE VERSION [--url URL]",
		Short: "Add (with --url) and activate a version, and start watching it (or shadow it / ramp it, per strategy)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.client().Deploy(cmd.Context(), args[0], args[1], url)
			if err != nil {
				return err
			}
			if sh := s.Shadow; sh != nil {
				fmt.Fprintf(stdout(cmd), "%s: %s in shadow for at least %s on copies of %s's traffic; no user meets it until it passes\n",
					s.Name, s.Active, sh.Duration, sh.Stable)
				return nil
			}
			if c := s.Canary; c != nil {
				fmt.Fprintf(stdout(cmd), "%s: canary %s at %d%% (step %d of %d), %s on the rest; it advances on evidence\n",
					s.Name, s.Active, c.Percent, c.Step, len(c.Steps), c.Stable)
				return nil
			}
			fmt.Fprintf(stdout(cmd), "%s: %s is live and being watched\n", s.Name, s.Active)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "upstream URL of the version (required the first time a version is deployed)")
	return cmd
}

func newRollback(g *globals) *cobra.Command {
	var to, reason string
	cmd := &cobra.Command{
		Use:   "rollback SERVICE [--to VERSION] [--reason TEXT]",
		Short: "Revert by hand to VERSION, or to the newest older healthy version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := g.client().Rollback(cmd.Context(), args[0], to, reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout(cmd), "%s: now on %s (incident %s)\n", res.Service.Name, res.Service.Active, res.IncidentID)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "version to revert to (default: newest older version not known to be bad)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the incident timeline")
	return cmd
}

func newPause(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "pause SERVICE",
		Short: "Stop automatic rollbacks for a service (verdicts are still computed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.client().Pause(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout(cmd), "%s: automation paused on %s\n", s.Name, s.Active)
			return nil
		},
	}
}

func newResume(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "resume SERVICE",
		Short: "Re-enable automatic rollbacks (also after an escalation)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.client().Resume(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout(cmd), "%s: automation resumed, %s on %s\n", s.Name, s.State, s.Active)
			return nil
		},
	}
}

func newIncidents(g *globals) *cobra.Command {
	var service string
	var open, asJSON bool
	cmd := &cobra.Command{
		Use:   "incidents [list | show ID | resolve ID [NOTE] | note ID TEXT | ack ID]",
		Short: "List, inspect, annotate and resolve incidents",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, out := g.client(), cmd.Context(), stdout(cmd)
			if len(args) == 0 || args[0] == "list" {
				list, err := c.Incidents(ctx, service, open)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(out, list)
				}
				printIncidents(out, list)
				return nil
			}
			if len(args) < 2 {
				return fmt.Errorf("incidents %s needs an incident ID (see `ripcord incidents list`)", args[0])
			}
			var inc incident.Incident
			var err error
			switch args[0] {
			case "show":
				inc, err = c.Incident(ctx, args[1])
			case "resolve":
				inc, err = c.Resolve(ctx, args[1], strings.Join(args[2:], " "))
			case "ack":
				inc, err = ack(ctx, c, args[1])
			case "note":
				if len(args) < 3 {
					return fmt.Errorf("incidents note %s needs the note text", args[1])
				}
				inc, err = c.Note(ctx, args[1], strings.Join(args[2:], " "))
			default:
				return fmt.Errorf("unknown incidents action %q: use list, show, resolve, note or ack", args[0])
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(out, inc)
			}
			printIncident(out, inc)
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "only this service")
	cmd.Flags().BoolVar(&open, "open", false, "only incidents not yet resolved")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// ack acknowledges an incident: an investigating one moves to identified;
// one already identified or monitoring — every rollback's incident is
// identified as soon as its revert completes — gets an "acknowledged" note
// instead, so a paged person's ack lands on the timeline (and every
// channel hears of it) rather than being refused. A resolved one is
// refused.
func ack(ctx context.Context, c *apiclient.Client, id string) (incident.Incident, error) {
	inc, err := c.SetStatus(ctx, id, string(incident.Identified), "acknowledged")
	var e *apiclient.Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict {
		return inc, err
	}
	if cur, gerr := c.Incident(ctx, id); gerr != nil || !cur.Open() {
		return inc, err
	}
	return c.Note(ctx, id, "acknowledged")
}

func printIncidents(w io.Writer, list []incident.Incident) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no incidents")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSERVICE\tSEVERITY\tSTATUS\tOPENED\tTITLE")
	for _, i := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, i.Service, i.Severity, i.Status, i.CreatedAt.Local().Format(time.DateTime), i.Title)
	}
	tw.Flush()
}

func printIncident(w io.Writer, i incident.Incident) {
	fmt.Fprintf(w, "%s  %s  [%s, %s]\n", i.ID, i.Title, i.Severity, i.Status)
	fmt.Fprintf(w, "reason: %s\n", i.Reason)
	if i.FromVersion != "" {
		fmt.Fprintf(w, "versions: %s → %s\n", i.FromVersion, i.ToVersion)
	}
	for _, ts := range []struct {
		name string
		t    time.Time
	}{{"impact started", i.ImpactStartedAt}, {"detected", i.DetectedAt}, {"rollback started", i.RollbackStartedAt},
		{"mitigated", i.MitigatedAt}, {"resolved", i.ResolvedAt}} {
		if !ts.t.IsZero() {
			fmt.Fprintf(w, "%-17s %s\n", ts.name+":", ts.t.Local().Format("15:04:05.000"))
		}
	}
	fmt.Fprintln(w, "timeline:")
	for _, e := range i.Events {
		fmt.Fprintf(w, "  %s  %-17s %-8s %s\n", e.At.Local().Format("15:04:05.000"), e.Type, e.Actor, e.Message)
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
