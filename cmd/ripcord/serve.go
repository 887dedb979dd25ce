package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ripcord/ripcord/internal/app"
	"github.com/ripcord/ripcord/internal/config"
)

func newServe() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve -c FILE",
		Short: "Run the daemon: traffic switches, control loops, the API and, when configured, the OTLP receiver",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadConfig(path)
			if err != nil {
				return err
			}
			log := newLogger(cfg.Log)
			for _, w := range cfg.Warnings {
				log.Warn("config: "+w.Msg, "key", w.Path, "line", w.Line)
			}
			o := app.Options{Logger: log, BaseDir: cfg.BaseDir}
			if err := crashHooks(&o, log); err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg, o)
			if err != nil {
				return err
			}
			if err := a.Start(cmd.Context()); err != nil {
				_ = a.Stop(context.Background())
				return err
			}
			log.Info("ripcord serving", "api", a.APIAddr(), "services", len(cfg.Services))
			<-cmd.Context().Done()
			log.Info("shutting down")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return a.Stop(ctx)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "ripcord.yaml", "config file")
	return cmd
}

func newCheckConfig() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check-config -c FILE",
		Short: "Validate a config file, providers included, and report every problem with its path and line (starts and contacts nothing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.LoadConfig(path)
			if err != nil {
				var probs config.Errors
				if errors.As(err, &probs) {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d problem(s):\n%v\n", path, len(probs), probs)
					return &exitError{code: 1, err: fmt.Errorf("%s is not valid", path)}
				}
				return err
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s\n", path, w)
			}
			if cfg.HA != nil {
				// What serve would resolve from the environment and host.
				h, err := cfg.HA.Resolved(cfg.API.Listen)
				var probs config.Errors
				if errors.As(err, &probs) {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d problem(s):\n%v\n", path, len(probs), probs)
					return &exitError{code: 1, err: fmt.Errorf("%s is not valid here", path)}
				}
				adv := h.Advertise
				if adv == "" {
					adv = "the API's bound address"
				}
				lease := "lease rows in the store"
				if h.Lease == config.LeaseKubernetes {
					lease = fmt.Sprintf("Kubernetes Leases %s/%s-shard-N", h.Kubernetes.Namespace, h.Kubernetes.Name)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ha: replica %s, reached at %s, lease_ttl %s, %d shard(s), elected by %s\n", path, h.Replica, adv, h.LeaseTTL, h.Shards, lease)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d service(s), %d token(s), store %s)\n", path, len(cfg.Services), len(cfg.API.Tokens), cfg.Store.Display())
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "ripcord.yaml", "config file")
	return cmd
}

func newLogger(c config.Log) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
