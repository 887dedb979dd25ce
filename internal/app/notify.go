package app

import (
	"context"
	"fmt"

	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/incident"
	"github.com/ripcord/ripcord/internal/notify"
	"github.com/ripcord/ripcord/internal/notify/alertmanager"
	"github.com/ripcord/ripcord/internal/notify/delivery"
	"github.com/ripcord/ripcord/internal/notify/email"
	"github.com/ripcord/ripcord/internal/notify/github"
	"github.com/ripcord/ripcord/internal/notify/jira"
	"github.com/ripcord/ripcord/internal/notify/pagerduty"
	"github.com/ripcord/ripcord/internal/notify/slack"
	"github.com/ripcord/ripcord/internal/notify/statuspage"
	"github.com/ripcord/ripcord/internal/notify/teams"
	"github.com/ripcord/ripcord/internal/notify/webhook"
	"github.com/ripcord/ripcord/internal/store"
)

// storeState keeps channel handles in the store, so an update after a
// restart edits the Slack message or Statuspage incident it should.
type storeState struct{ st store.Store }

func (s storeState) Get(ctx context.Context, channel, id string) (string, error) {
	return s.st.ChannelState(ctx, channel, id)
}

func (s storeState) Put(ctx context.Context, channel, id, value string) error {
	return s.st.SetChannelState(ctx, channel, id, value)
}

// channels builds one delivery channel per configured channel that a route
// uses, with the lowest severity any of its routes lets through.
func channels(cfg config.Notify, st store.Store) ([]delivery.Channel, error) {
	minSev := map[string]incident.Severity{}
	for _, r := range cfg.Routes {
		sev := incident.Severity(r.MinSeverity)
		if cur, ok := minSev[r.Channel]; !ok || sev.Rank() < cur.Rank() {
			minSev[r.Channel] = sev
		}
	}
	state := storeState{st}
	var out []delivery.Channel
	for _, c := range cfg.Channels {
		sev, routed := minSev[c.Name]
		if !routed {
			continue
		}
		n, err := notifier(c, state)
		if err != nil {
			return nil, fmt.Errorf("app: notify channel %s: %w", c.Name, err)
		}
		out = append(out, delivery.Channel{Name: c.Name, Notifier: n, MinSeverity: sev})
	}
	return out, nil
}

// notifier constructs the implementation of one channel kind.
func notifier(c config.Channel, state notify.State) (notify.Notifier, error) {
	switch {
	case c.Slack != nil:
		s := c.Slack
		return slack.New(slack.Config{WebhookURL: notify.Secret(s.WebhookURL), Token: notify.Secret(s.Token), Channel: s.Channel, APIURL: s.APIURL, Timeout: s.Timeout}, slack.WithState(state))
	case c.PagerDuty != nil:
		p := c.PagerDuty
		return pagerduty.New(pagerduty.Config{RoutingKey: notify.Secret(p.RoutingKey), URL: p.URL, Timeout: p.Timeout})
	case c.Statuspage != nil:
		s := c.Statuspage
		return statuspage.New(statuspage.Config{BaseURL: s.BaseURL, APIKey: notify.Secret(s.APIKey), PageID: s.PageID, ComponentID: s.ComponentID, Timeout: s.Timeout}, state)
	case c.Jira != nil:
		j := c.Jira
		return jira.New(jira.Config{BaseURL: j.BaseURL, Email: j.Email, APIToken: notify.Secret(j.APIToken), Project: j.Project,
			IssueType: j.IssueType, ResolveTransition: j.ResolveTransition, Timeout: j.Timeout}, state)
	case c.GitHub != nil:
		g := c.GitHub
		return github.New(github.Config{BaseURL: g.BaseURL, Token: notify.Secret(g.Token), Owner: g.Owner, Repo: g.Repo, Timeout: g.Timeout}, state)
	case c.Webhook != nil:
		return webhook.New(webhook.Config{URL: c.Webhook.URL, Secret: notify.Secret(c.Webhook.Secret), Timeout: c.Webhook.Timeout})
	case c.Alertmanager != nil:
		a := c.Alertmanager
		return alertmanager.New(alertmanager.Config{URL: a.URL, BearerToken: notify.Secret(a.BearerToken), AlertTTL: a.AlertTTL, Timeout: a.Timeout}, alertmanager.WithState(state))
	case c.Teams != nil:
		return teams.New(teams.Config{WebhookURL: notify.Secret(c.Teams.WebhookURL), Timeout: c.Teams.Timeout})
	case c.Email != nil:
		e := c.Email
		return email.New(email.Config{Addr: e.Addr, From: e.From, To: e.To, Username: e.Username, Password: notify.Secret(e.Password), TLS: e.TLS, Timeout: e.Timeout})
	}
	return nil, fmt.Errorf("no channel kind set")
}
