package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/ripcord/ripcord/internal/notify"
)

// Notifier posts incidents to Slack.
type Notifier struct {
	cfg     Config
	client  *http.Client
	api     *slack.Client          // bot mode only
	handles notify.Handles[handle] // bot mode only
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks cfg and builds a Notifier. Bot mode (Token set) needs
// WithState.
func New(cfg Config, opts ...Option) (*Notifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Notifier{
		cfg:     cfg,
		client:  &http.Client{Timeout: cfg.Timeout, Transport: recorder{http.DefaultTransport}},
		handles: notify.Handles[handle]{Channel: "slack:" + cfg.Channel, Name: "slack"},
	}
	for _, o := range opts {
		o(n)
	}
	if cfg.Mode() == "bot" {
		if n.handles.State == nil {
			return nil, errors.New("slack: bot mode needs a State (WithState) to keep each incident's message ts")
		}
		n.api = slack.New(cfg.Token.Reveal(), slack.OptionAPIURL(cfg.APIURL+"/api/"), slack.OptionHTTPClient(n.client))
	}
	return n, nil
}

// Notify posts m: in webhook mode as a new message, in bot mode by editing
// the incident's message and replying in its thread.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) error {
	if n.api == nil {
		return n.notifyWebhook(ctx, m)
	}
	return n.notifyBot(ctx, m)
}

// notifyWebhook posts one message per update: incoming webhooks can neither
// edit nor deduplicate, so there is nothing to remember.
//
// slack.PostWebhookContext would use http.DefaultClient, which has no
// timeout; PostWebhookCustomHTTPContext is the same call with our client.
func (n *Notifier) notifyWebhook(ctx context.Context, m notify.Message) error {
	ctx, ex := record(ctx)
	err := slack.PostWebhookCustomHTTPContext(ctx, n.cfg.WebhookURL.Reveal(), n.client, &slack.WebhookMessage{
		Text:   fallback(m),
		Blocks: &slack.Blocks{BlockSet: blocks(m)},
	})
	return n.classify("slack webhook", ex, err)
}

// handle is what bot mode keeps per incident in State: where the incident's
// message is, and the Seq of the last update fully applied. A stored value
// that is not this JSON is an error.
type handle struct {
	Channel string `json:"channel"` // the ID Slack answered with; chat.update needs it, not a #name
	TS      string `json:"ts"`
	Seq     int64  `json:"seq,omitempty"`
}

// notifyBot keeps one top-level message per incident, edited in place as
// status and severity change, with the timeline in its thread.
//
// A repeat of an update already applied (Seq not above the stored one) and
// an update older than one already applied are dropped, so redelivery
// neither duplicates thread replies nor rolls the message back.
func (n *Notifier) notifyBot(ctx context.Context, m notify.Message) error {
	h, err := n.handles.Load(ctx, m.IncidentID)
	if err != nil {
		return err
	}
	if h.TS != "" && notify.Stale(m.Seq, h.Seq) {
		return nil
	}
	if h.TS != "" {
		err = n.update(ctx, h, m)
		if isGone(err) {
			h.TS = "" // deleted in Slack: start a new message
		} else if err != nil {
			return err
		}
	}
	if h.TS == "" {
		if h, err = n.post(ctx, m); err != nil {
			return err
		}
	}
	if m.Update != notify.Opened && m.Event != nil {
		if err := n.reply(ctx, h, m); err != nil {
			return err
		}
	}
	if m.Seq > h.Seq {
		h.Seq = m.Seq
		return n.handles.Save(ctx, m.IncidentID, h)
	}
	return nil
}

// post creates the incident's top-level message and stores its ts at once,
// before anything else can fail, so a retry edits instead of posting again.
func (n *Notifier) post(ctx context.Context, m notify.Message) (handle, error) {
	rctx, ex := record(ctx)
	ch, ts, err := n.api.PostMessageContext(rctx, n.cfg.Channel,
		slack.MsgOptionText(fallback(m), false), slack.MsgOptionBlocks(blocks(m)...))
	if err != nil {
		return handle{}, n.classify("slack chat.postMessage", ex, err)
	}
	if ch == "" {
		ch = n.cfg.Channel
	}
	h := handle{Channel: ch, TS: ts}
	return h, n.handles.Save(ctx, m.IncidentID, h)
}

// update rewrites the top-level message with the current state. Errors are
// returned unclassified when the message is gone, so the caller can repost.
func (n *Notifier) update(ctx context.Context, h handle, m notify.Message) error {
	rctx, ex := record(ctx)
	_, _, _, err := n.api.UpdateMessageContext(rctx, h.Channel, h.TS,
		slack.MsgOptionText(fallback(m), false), slack.MsgOptionBlocks(blocks(m)...))
	if isGone(err) {
		return err
	}
	return n.classify("slack chat.update", ex, err)
}

// reply posts the update's timeline step in the incident's thread.
func (n *Notifier) reply(ctx context.Context, h handle, m notify.Message) error {
	rctx, ex := record(ctx)
	_, _, err := n.api.PostMessageContext(rctx, h.Channel,
		slack.MsgOptionText(reply(m), false), slack.MsgOptionTS(h.TS))
	return n.classify("slack chat.postMessage (thread reply)", ex, err)
}

// String describes the notifier by its config. fmt would print the
// unexported cfg field, secrets included, without it.
func (n *Notifier) String() string { return fmt.Sprintf("slack.Notifier%+v", n.cfg) }

// GoString is String for %#v.
func (n *Notifier) GoString() string { return n.String() }

// LogValue logs the config, whose secrets print as <redacted>.
func (n *Notifier) LogValue() slog.Value { return slog.AnyValue(n.cfg) }
