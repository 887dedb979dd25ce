package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newReport(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "report INCIDENT_ID [--format md|html] [-o FILE]",
		Short: "Render the post-incident report: impact, detection, timeline, metrics before/during/after",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "md" && format != "html" {
				return fmt.Errorf("--format %q: use md or html", format)
			}
			body, err := g.client().Report(cmd.Context(), args[0], format)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = stdout(cmd).Write(body)
				return err
			}
			if err := os.WriteFile(out, body, 0o640); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "md", "md or html")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}
