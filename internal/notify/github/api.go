package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/ripcord/ripcord/internal/notify"
)

func (n *Notifier) findOrCreate(ctx context.Context, m notify.Message) (int, error) {
	num, err := n.find(ctx, m.ScopedID())
	if err != nil || num != 0 {
		return num, err
	}
	return n.create(ctx, m)
}

// find returns the oldest issue (open or closed) with the incident's label.
func (n *Notifier) find(ctx context.Context, incidentID string) (int, error) {
	opts := &gh.IssueListByRepoOptions{
		State: "all", Labels: []string{label(incidentID)}, Sort: "created", Direction: "asc",
		ListOptions: gh.ListOptions{PerPage: 10},
	}
	list, _, err := n.issues.ListByRepo(ctx, n.cfg.Owner, n.cfg.Repo, opts)
	if err != nil {
		return 0, n.classify("github list issues", err)
	}
	for _, is := range list {
		if is.PullRequestLinks == nil && is.GetNumber() != 0 {
			return is.GetNumber(), nil
		}
	}
	return 0, nil
}

func (n *Notifier) create(ctx context.Context, m notify.Message) (int, error) {
	title := m.Title
	if title == "" {
		title = m.Service + " incident " + m.IncidentID
	}
	req := &gh.IssueRequest{
		Title:  gh.Ptr("[ripcord] " + title),
		Body:   gh.Ptr(issueBody(m)),
		Labels: &[]string{"ripcord", "incident", label(m.ScopedID())},
	}
	is, _, err := n.issues.Create(ctx, n.cfg.Owner, n.cfg.Repo, req)
	if err != nil {
		return 0, n.classify("github create issue", err)
	}
	if is.GetNumber() == 0 {
		return 0, notify.Retryable(errors.New("github create issue: response has no issue number"), 0)
	}
	return is.GetNumber(), nil
}

// Comment look-back: from this long before the message time (clock skew),
// at most this many pages of 100.
const (
	commentSkew     = time.Hour
	maxCommentPages = 5
)

// comment posts m unless a comment already carries its marker.
func (n *Notifier) comment(ctx context.Context, number int, m notify.Message) error {
	mk := marker(m)
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	if !m.At.IsZero() {
		opts.Since = gh.Ptr(m.At.Add(-commentSkew))
	}
	for page := 0; page < maxCommentPages; page++ {
		list, resp, err := n.issues.ListComments(ctx, n.cfg.Owner, n.cfg.Repo, number, opts)
		if err != nil {
			return n.classify("github list comments", err)
		}
		for _, c := range list {
			if strings.Contains(c.GetBody(), mk) {
				return nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	_, _, err := n.issues.CreateComment(ctx, n.cfg.Owner, n.cfg.Repo, number, &gh.IssueComment{Body: gh.Ptr(commentBody(m))})
	return n.classify("github create comment", err)
}

func (n *Notifier) close(ctx context.Context, number int) error {
	req := &gh.IssueRequest{State: gh.Ptr("closed"), StateReason: gh.Ptr("completed")}
	_, _, err := n.issues.Edit(ctx, n.cfg.Owner, n.cfg.Repo, number, req)
	return n.classify("github close issue", err)
}

// classify turns a go-github error into a notify error: rate limits are
// retryable after their reset, HTTP errors go through notify.CheckResponse,
// and anything else (network, context, undecodable answer) is retryable.
// Messages are built from what and GitHub's message, with the token
// scrubbed; go-github's own Error() strings are not used.
func (n *Notifier) classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	var ae *gh.AcceptedError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		reset := rl.Rate.Reset.Time
		return notify.Retryable(fmt.Errorf("%s: rate limit exhausted until %s", what, reset.UTC().Format(time.RFC3339)), max(0, time.Until(reset)))
	case errors.As(err, &ab):
		return notify.Retryable(fmt.Errorf("%s: secondary rate limit: %s", what, n.scrub(ab.Message)), ab.GetRetryAfter())
	case errors.As(err, &ae):
		return notify.Retryable(fmt.Errorf("%s: accepted, not done yet", what), 0)
	case errors.As(err, &er) && er.Response != nil:
		return n.httpError(what, er)
	}
	return notify.NetworkError(what, err)
}

func (n *Notifier) httpError(what string, er *gh.ErrorResponse) error {
	msg := er.Message
	for _, e := range er.Errors {
		msg += "; " + e.Error()
	}
	resp := er.Response
	err := notify.CheckResponse(resp, what, []byte(n.scrub(msg)))
	if resp.StatusCode == http.StatusForbidden && resp.Header.Get("Retry-After") != "" {
		return notify.Retryable(err, notify.RetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	return err
}

func (n *Notifier) scrub(s string) string {
	return strings.ReplaceAll(s, n.cfg.Token.Reveal(), "<redacted>")
}
