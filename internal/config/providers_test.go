package config

import (
	"errors"
	"time"

	"github.com/ripcord/ripcord/internal/config/field"
)

// The provider kinds in these tests are stand-ins shaped like the real ones
// (app's tests run the real table): config must route, decode and position
// without knowing any provider.

// fakeSource is a provider Config with every kind of field the decoder
// treats specially.
type fakeSource struct {
	URL     string            `yaml:"url"`
	Mode    string            `yaml:"mode"`
	File    field.File        `yaml:"file"`
	Timeout time.Duration     `yaml:"timeout"`
	Queries map[string]string `yaml:"queries"`
	Token   field.Secret      `yaml:"token"` // optional
}

func (c fakeSource) Validate() error {
	var errs field.Errors
	if c.URL == "" {
		errs.Add("url", "is required, e.g. http://127.0.0.1:9090")
	}
	if c.Mode != "" && c.Mode != "fast" && c.Mode != "slow" {
		errs.Add("mode", "must be fast or slow, not %q", c.Mode)
	}
	for m, q := range c.Queries {
		if q == "" {
			errs.Add(field.Join("queries", m), "is an empty query")
		}
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	return errs.Err()
}

// fakeChannel needs a secret, as most channels do.
type fakeChannel struct {
	Key     field.Secret `yaml:"key"`
	Channel string       `yaml:"channel"`
}

func (c fakeChannel) Validate() error {
	var errs field.Errors
	if c.Key == "" {
		errs.MissingSecret("key")
	}
	return errs.Err()
}

// plainTarget's Validate returns a plain error, as a provider may.
type plainTarget struct {
	Name string `yaml:"name"`
}

func (c plainTarget) Validate() error {
	if c.Name == "" {
		return errors.New("needs a name")
	}
	return nil
}

func checkSource(b Block) error  { _, err := Decode[fakeSource](b); return err }
func checkChannel(b Block) error { _, err := Decode[fakeChannel](b); return err }
func checkTarget(b Block) error  { _, err := Decode[plainTarget](b); return err }

var testProviders = Providers{
	Signals:   []Kind{{Name: "prometheus", Check: checkSource}, {Name: "probe", Check: checkSource}},
	Targets:   []Kind{{Name: "kubernetes", Check: checkTarget}, {Name: "registry", Check: checkSource}},
	Channels:  []Kind{{Name: "slack", Check: checkChannel}, {Name: "pagerduty", Check: checkChannel}, {Name: "teams", Check: checkChannel}},
	Receivers: []Kind{{Name: "otlp", Check: checkChannel}},
}
