package app

import (
	"context"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/alertmanager"
	"github.com/ripcord/ripcord/internal/notify/email"
	"github.com/ripcord/ripcord/internal/notify/github"
	"github.com/ripcord/ripcord/internal/notify/jira"
	"github.com/ripcord/ripcord/internal/notify/pagerduty"
	"github.com/ripcord/ripcord/internal/notify/slack"
	"github.com/ripcord/ripcord/internal/notify/statuspage"
	"github.com/ripcord/ripcord/internal/notify/teams"
	"github.com/ripcord/ripcord/internal/notify/webhook"
	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/signal/otlp"
)

// The provider tables: every signal source, revert target and notification
// channel ripcord has, one line each, in the order messages list them. A
// line names the key, and builds the provider from its own Config, which
// config.Decode fills from the block under that key (strictly, secrets and
// paths resolved) and checks with the Config's Validate.
var (
	signalKinds = []signalKind{
		signalSource("prometheus", (*App).prometheusSource),
		signalSource("probe", (*App).probeSource),
		signalSource("otlp", (*App).otlpSource),
		signalSource("datadog", (*App).datadogSource),
		signalSource("cloudwatch", (*App).cloudwatchSource),
		signalSource("web", (*App).webSource),
	}
	// receiverKinds are the daemon-wide signals.<kind> blocks: one OTLP
	// receiver that every service's otlp mapping reads from (otlp.go).
	receiverKinds = []config.Kind{{Name: "otlp", Check: check[otlp.Config]}}
	targetKinds   = []targetKind{
		revertTarget("kubernetes", (*App).kubeTarget),
		revertTarget("mlflow", (*App).mlflowTarget),
		listedTarget("file", (*App).fileTarget),
		listedTarget("exec", (*App).execTarget),
		listedTarget("webhook", (*App).webhookTarget),
	}
	channelKinds = []channelKind{
		channel("slack", func(c slack.Config, st notify.State) (notify.Notifier, error) {
			return slack.New(c, slack.WithState(st))
		}),
		channel("pagerduty", func(c pagerduty.Config, _ notify.State) (notify.Notifier, error) { return pagerduty.New(c) }),
		channel("statuspage", func(c statuspage.Config, st notify.State) (notify.Notifier, error) { return statuspage.New(c, st) }),
		channel("jira", func(c jira.Config, st notify.State) (notify.Notifier, error) { return jira.New(c, st) }),
		channel("github", func(c github.Config, st notify.State) (notify.Notifier, error) { return github.New(c, st) }),
		channel("webhook", func(c webhook.Config, _ notify.State) (notify.Notifier, error) { return webhook.New(c) }),
		channel("alertmanager", func(c alertmanager.Config, st notify.State) (notify.Notifier, error) {
			return alertmanager.New(c, alertmanager.WithState(st))
		}),
		channel("teams", func(c teams.Config, _ notify.State) (notify.Notifier, error) { return teams.New(c) }),
		channel("email", func(c email.Config, _ notify.State) (notify.Notifier, error) { return email.New(c) }),
	}
)

// Providers is every provider kind, for config.Load: check-config and serve
// read a file with it, so a provider's problems are reported with the
// file's, each with its path and line. Checking decodes and validates only;
// it starts and contacts nothing.
func Providers() config.Providers {
	var p config.Providers
	for _, k := range signalKinds {
		p.Signals = append(p.Signals, config.Kind{Name: k.name, Check: k.check})
	}
	for _, k := range targetKinds {
		p.Targets = append(p.Targets, config.Kind{Name: k.name, Check: k.check, ListsVersions: k.listsVersions})
	}
	for _, k := range channelKinds {
		p.Channels = append(p.Channels, config.Kind{Name: k.name, Check: k.check})
	}
	p.Receivers = receiverKinds
	p.Schemas, p.SchemaRange = schemaKinds, checkSchemaRange
	return p
}

// LoadConfig is config.Load with every provider kind.
func LoadConfig(path string) (*config.Config, error) { return config.Load(path, Providers()) }

type signalKind struct {
	name  string
	check func(config.Block) error
	build func(ctx context.Context, a *App, service string, b config.Block) (controller.OptionalSource, error)
}

type targetKind struct {
	name  string
	check func(config.Block) error
	// listsVersions: reverts by name among the file's versions (file,
	// exec, webhook) rather than discovering them.
	listsVersions bool
	build         func(ctx context.Context, a *App, sc *config.Service, b config.Block, progress func(string)) (revert.Target, error)
}

type channelKind struct {
	name  string
	check func(config.Block) error
	build func(b config.Block, st notify.State) (notify.Notifier, error)
}

// check is the step every kind shares: decode into the provider's Config
// and validate it.
func check[C any, P config.Validator[C]](b config.Block) error {
	_, err := config.Decode[C, P](b)
	return err
}

// signalSource wires a signal source whose Config is C.
func signalSource[C any, P config.Validator[C]](name string, build func(a *App, ctx context.Context, service string, c C) (controller.OptionalSource, error)) signalKind {
	return signalKind{name: name, check: check[C, P],
		build: func(ctx context.Context, a *App, service string, b config.Block) (controller.OptionalSource, error) {
			c, err := config.Decode[C, P](b)
			if err != nil {
				return nil, err
			}
			return build(a, ctx, service, c)
		}}
}

// revertTarget wires a revert target whose Config is C.
func revertTarget[C any, P config.Validator[C]](name string, build func(a *App, ctx context.Context, sc *config.Service, c C, progress func(string)) (revert.Target, error)) targetKind {
	return targetKind{name: name, check: check[C, P],
		build: func(ctx context.Context, a *App, sc *config.Service, b config.Block, progress func(string)) (revert.Target, error) {
			c, err := config.Decode[C, P](b)
			if err != nil {
				return nil, err
			}
			return build(a, ctx, sc, c, progress)
		}}
}

// channel wires a notification channel whose Config is C.
func channel[C any, P config.Validator[C]](name string, build func(C, notify.State) (notify.Notifier, error)) channelKind {
	return channelKind{name: name, check: check[C, P],
		build: func(b config.Block, st notify.State) (notify.Notifier, error) {
			c, err := config.Decode[C, P](b)
			if err != nil {
				return nil, err
			}
			return build(c, st)
		}}
}

func kindNamed[K interface{ kindName() string }](kinds []K, name string) (K, bool) {
	for _, k := range kinds {
		if k.kindName() == name {
			return k, true
		}
	}
	var zero K
	return zero, false
}

func (k signalKind) kindName() string  { return k.name }
func (k targetKind) kindName() string  { return k.name }
func (k channelKind) kindName() string { return k.name }
