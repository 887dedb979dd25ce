package apiclient_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/testutil/fleet"
)

// TestServicesPagesThroughARealAPI: Services and AllServices follow the
// API's next links to the end (every service once, in order), a page
// carries the total and the cursor, and the filters reach the server.
func TestServicesPagesThroughARealAPI(t *testing.T) {
	ctx := t.Context()
	st, svcs := fleet.Start(t, 7, "svc-%d", 3)
	srv := httptest.NewServer(api.New(api.Options{Services: svcs, Store: st,
		Tokens: []config.Token{{Name: "dash", Role: config.RoleViewer, Value: viewer}}}).Handler())
	t.Cleanup(srv.Close)
	c := apiclient.New(srv.URL, viewer)

	p, err := c.ServicePage(ctx, apiclient.ServiceFilter{Limit: 3})
	if err != nil || len(p.Services) != 3 || p.Total != 7 || p.Next != "svc-2" {
		t.Fatalf("first page: %d services, total %d, next %q, %v", len(p.Services), p.Total, p.Next, err)
	}
	all, err := c.AllServices(ctx, apiclient.ServiceFilter{Limit: 3})
	if err != nil || len(all) != 7 {
		t.Fatalf("AllServices 3 a page: %d, %v", len(all), err)
	}
	for i, s := range all {
		if s.Name != fmt.Sprintf("svc-%d", i) {
			t.Fatalf("service %d is %s", i, s.Name)
		}
	}
	if all, err := c.Services(ctx); err != nil || len(all) != 7 {
		t.Fatalf("Services: %d, %v", len(all), err)
	}
	watching, err := c.AllServices(ctx, apiclient.ServiceFilter{States: []string{"watching"}, Limit: 1})
	if err != nil || len(watching) != 3 || watching[0].Name != "svc-0" || watching[2].Name != "svc-6" {
		t.Fatalf("watching, a page each: %+v, %v", watching, err)
	}
	_, err = c.ServicePage(ctx, apiclient.ServiceFilter{Verdicts: []string{"great"}})
	if e := apiError(t, err); e.Status != 400 || e.Code != "bad_request" {
		t.Fatalf("a bad verdict: %+v", e)
	}
}
