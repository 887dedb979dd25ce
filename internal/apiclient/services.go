package apiclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/controller"
)

// ServiceFilter narrows GET /api/v1/services. Zero fields match every
// service; Limit 0 is the server's default page size.
type ServiceFilter struct {
	Q        string   // part of the name, any case
	Verdicts []string // any of these (healthy, suspect, degraded, inconclusive, blind)
	States   []string // any of these (stable, watching, ...)
	Limit    int      // page size, 1 to api.MaxServicesPage
	After    string   // the last service of the previous page
}

func (f ServiceFilter) query() string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", f.Q)
	set("verdict", strings.Join(f.Verdicts, ","))
	set("state", strings.Join(f.States, ","))
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	set("after", f.After)
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// ServicePage is one page of services.
type ServicePage struct {
	Services []controller.Status
	// Total is how many services match the filter, on all pages.
	Total int
	// Next is the After of the next page; an empty string on the last.
	Next string
}

// ServicePage asks for one page of the services matching f.
func (c *Client) ServicePage(ctx context.Context, f ServiceFilter) (ServicePage, error) {
	var p ServicePage
	h, err := c.doHeaders(ctx, c.http, http.MethodGet, "/api/v1/services"+f.query(), nil, &p.Services)
	if err != nil {
		return ServicePage{}, err
	}
	p.Total, _ = strconv.Atoi(h.Get(api.HeaderTotal))
	if next := nextLink(h); next != "" {
		u, err := url.Parse(next)
		if err != nil || u.Query().Get("after") == "" {
			return ServicePage{}, fmt.Errorf("apiclient: list services: a next link without after=: %.200q", next)
		}
		p.Next = u.Query().Get("after")
	}
	return p, nil
}

// AllServices pages through every service matching f, from f.After
// when set, in pages of f.Limit (the largest the server allows when 0).
func (c *Client) AllServices(ctx context.Context, f ServiceFilter) ([]controller.Status, error) {
	if f.Limit == 0 {
		f.Limit = api.MaxServicesPage
	}
	var out []controller.Status
	for {
		p, err := c.ServicePage(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Services...)
		if p.Next == "" {
			return out, nil
		}
		if p.Next == f.After {
			return nil, fmt.Errorf("apiclient: list services: the server gave the same page twice (after %q)", p.Next)
		}
		f.After = p.Next
	}
}

// nextLink is the target of the Link header's rel="next" (RFC 8288), or
// an empty string.
func nextLink(h http.Header) string {
	for _, l := range h.Values("Link") {
		for _, part := range strings.Split(l, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slicesContainsFold(strings.Fields(strings.Trim(v, `"`)), "next") {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

func slicesContainsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
