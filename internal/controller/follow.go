package controller

import (
	"context"
	"fmt"
)

// Follow makes the service's machine, and its built-in switch, what the
// store says — and nothing else: no write, no revert, no recovery of a
// pending decision, no notification. It is how a replica that does not act
// for the service (config ha: another replica holds its lease) keeps its
// own switch on the shared active version and its API's answers current;
// the acting replica's every committed change arrives as a call of Follow
// (postgres.Listen). Routes are touched only when what they depend on
// changed, so following a change of incident or cooldown leaves the
// switch's counters and connections alone. Not while Run runs: the
// replica that acts owns the machine.
func (s *Service) Follow(ctx context.Context) error {
	st, err := s.loaded(s.deps.Store.LoadService(ctx, s.cfg.Name))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.m
	m := machineFrom(st)
	m.Name, m.Gen, m.Rollbacks = s.cfg.Name, prev.Gen+1, prev.Rollbacks
	if s.cfg.External() {
		s.setMachine(m) // traffic moves through the target, which the leader drives
		return nil
	}
	var fx []effect
	for _, v := range m.Versions {
		if i := findVersion(prev.Versions, v.Name); i < 0 || prev.Versions[i].URL != v.URL {
			fx = append(fx, route{op: routeRegister, version: v.Name, url: v.URL, must: true})
		}
	}
	if len(fx) > 0 || prev.Active != m.Active || prev.State != m.State || prev.Canary != m.Canary {
		if prev.State == StateShadowing && m.State != StateShadowing {
			fx = append(fx, route{op: routeStopShadow})
		}
		fx = append(fx, s.bootRoutes(m)...)
	}
	x := &executor{s: s, ctx: ctx, w: m}
	for _, e := range fx {
		if err := x.route(e.(route)); err != nil {
			return fmt.Errorf("controller: follow %s: %w", s.cfg.Name, err)
		}
	}
	s.setMachine(m)
	return nil
}
