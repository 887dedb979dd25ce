package config

import "slices"

// Notify configures where incidents are announced: named channels, and
// routes that send each incident to a channel when its severity is at least
// the route's minimum (the seed: Slack for minor, PagerDuty for critical).
type Notify struct {
	Channels []Channel `yaml:"channels"`
	Routes   []Route   `yaml:"routes"`
}

// Route sends incidents of at least MinSeverity to Channel. A drill's
// incident (`ripcord drill`) goes only through routes with Drills set, so a
// rehearsal pages nobody who did not ask to hear about rehearsals.
type Route struct {
	Channel     string `yaml:"channel"`
	MinSeverity string `yaml:"min_severity"` // minor | major | critical; default minor
	Drills      bool   `yaml:"drills"`
}

// Channel is one destination: a name and exactly one provider block, whose
// key is the channel's kind (slack, pagerduty, …; app's notification
// channels) and whose keys are that provider's Config.
type Channel struct {
	Name      string  `yaml:"name"`
	Providers []Block `yaml:",remain"`
}

// Kind names the channel's kind ("" when none or several are set).
func (c Channel) Kind() string {
	if len(c.Providers) != 1 {
		return ""
	}
	return c.Providers[0].Kind
}

var severities = []string{"minor", "major", "critical"}

// validate checks names and routes; each channel's block is its provider's
// to check (see Config.route).
func (n *Notify) validate(r *report) {
	names := map[string]bool{}
	for i := range n.Channels {
		c := &n.Channels[i]
		path := index("notify.channels", i)
		switch {
		case c.Name == "":
			r.add(child(path, "name"), "is required: routes refer to channels by name, e.g. slack-ops")
		case names[c.Name]:
			r.add(child(path, "name"), "channel name %q is used twice: names must be unique", c.Name)
		}
		names[c.Name] = true
	}
	for i := range n.Routes {
		rt := &n.Routes[i]
		path := index("notify.routes", i)
		if rt.MinSeverity == "" {
			rt.MinSeverity = "minor"
		}
		if !names[rt.Channel] || rt.Channel == "" {
			r.add(child(path, "channel"), "%q is not a channel defined under notify.channels", rt.Channel)
		}
		if !slices.Contains(severities, rt.MinSeverity) {
			r.add(child(path, "min_severity"), "must be one of minor, major, critical, not %q%s", rt.MinSeverity, didYouMean(rt.MinSeverity, severities))
		}
	}
}
