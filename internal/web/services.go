package web

import (
	"cmp"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ripcord/ripcord/internal/chart"
	"github.com/ripcord/ripcord/internal/controller"
	"github.com/ripcord/ripcord/internal/store"
)

// pageSize is how many services one page of the list shows.
const pageSize = 50

// sparkSpan is what a row's sparklines cover, in sparkBuckets steps.
const (
	sparkSpan    = 15 * time.Minute
	sparkBuckets = 30
)

// row is one service on the Services page.
type row struct {
	controller.Status
	Incidents int
	ErrSpark  template.HTML
	P99Spark  template.HTML
	// Serving is the version users are on; Progress a deploy in progress
	// (canary step, shadow), or an empty string.
	Serving, Progress string
}

// serving is the version users are on: the stable one while the active
// version is judged in shadow (no user meets it), else the active one.
func serving(st controller.Status) string {
	if st.Shadow != nil {
		return st.Shadow.Stable
	}
	return st.Active
}

// progressText is where a deploy in progress stands, in one line for the
// Services table: a canary's step, or the version in shadow.
func progressText(st controller.Status) string {
	if sh := st.Shadow; sh != nil {
		return st.Active + " in shadow: judged on copies of " + strconv.Itoa(sh.Percent) + " % of live requests, no user on it"
	}
	if c := canaryText(st.Canary); c != "" {
		return "canary " + c
	}
	return ""
}

// canaryText is a canary's place in one line for the Services table:
// "step 2 of 5 · 5 % (stable v1)", or an empty string without one.
func canaryText(c *controller.CanaryStatus) string {
	if c == nil {
		return ""
	}
	return "step " + strconv.Itoa(c.Step) + " of " + strconv.Itoa(len(c.Steps)) + " · " + strconv.Itoa(c.Percent) + " % (stable " + c.Stable + ")"
}

// listQuery is the Services page's filter, sort and page, from the URL.
type listQuery struct {
	Q, State, Verdict, Sort string
	Desc                    bool
	Page                    int
}

func parseList(r *http.Request) listQuery {
	q := r.URL.Query()
	l := listQuery{Q: strings.TrimSpace(q.Get("q")), State: q.Get("state"), Verdict: q.Get("verdict"), Sort: q.Get("sort"), Desc: q.Get("dir") == "desc"}
	if !slices.Contains(sortKeys, l.Sort) {
		l.Sort = "name"
	}
	l.Page, _ = strconv.Atoi(q.Get("page"))
	l.Page = max(l.Page, 1)
	return l
}

var sortKeys = []string{"name", "active", "state", "verdict", "incidents"}

// URL is this query with one key changed, for sort and page links.
func (l listQuery) URL(key, val string) string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", l.Q)
	set("state", l.State)
	set("verdict", l.Verdict)
	set("sort", l.Sort)
	if l.Desc {
		v.Set("dir", "desc")
	}
	if l.Page > 1 {
		v.Set("page", strconv.Itoa(l.Page))
	}
	if key == "sort" {
		v.Del("page")
		v.Del("dir")
		if l.Sort == val && !l.Desc {
			v.Set("dir", "desc")
		}
	}
	if val == "" {
		v.Del(key)
	} else {
		v.Set(key, val)
	}
	return "/?" + v.Encode()
}

// AriaSort is the aria-sort value of a column header.
func (l listQuery) AriaSort(key string) string {
	switch {
	case l.Sort != key:
		return "none"
	case l.Desc:
		return "descending"
	}
	return "ascending"
}

type servicesData struct {
	Query      listQuery
	Rows       []row
	Total      int // matching the filter
	All        int
	Pages      int
	States     []string
	Verdicts   []string
	Prevented  Counts
	RenderedIn time.Duration
}

func (s *Server) servicesPage(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	l := parseList(r)
	open, err := s.openIncidents(r)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	rows := s.filtered(l, open)
	d := servicesData{Query: l, Total: len(rows), All: len(s.order), States: states, Verdicts: verdicts, Prevented: s.prevented.Counts()}
	d.Pages = max(1, (len(rows)+pageSize-1)/pageSize)
	l.Page = min(l.Page, d.Pages)
	d.Query.Page = l.Page
	rows = rows[(l.Page-1)*pageSize : min(len(rows), l.Page*pageSize)]
	now := s.now()
	for i := range rows {
		if err := s.sparks(r, &rows[i], now); err != nil {
			s.fail(w, r, http.StatusInternalServerError, err.Error())
			return
		}
	}
	d.Rows = rows
	d.RenderedIn = time.Since(start)
	s.render(w, r, http.StatusOK, "services", page{Title: "Services", Nav: "services", Data: d})
}

var (
	states   = []string{"stable", "watching", "reverting", "verifying", "escalated"}
	verdicts = []string{"healthy", "suspect", "degraded", "inconclusive", "blind"}
)

func (s *Server) openIncidents(r *http.Request) (map[string]int, error) {
	incs, err := s.store.ListIncidents(r.Context(), store.IncidentFilter{OpenOnly: true, Limit: 100000})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, inc := range incs {
		out[inc.Service]++
	}
	return out, nil
}

// filtered is every service matching l, sorted: statuses come from
// memory, so this stays cheap with 10,000 services.
func (s *Server) filtered(l listQuery, open map[string]int) []row {
	q := strings.ToLower(l.Q)
	var rows []row
	for _, n := range s.order {
		if q != "" && !strings.Contains(strings.ToLower(n), q) {
			continue
		}
		st := s.svcs[n].Status()
		if (l.State != "" && string(st.State) != l.State) || (l.Verdict != "" && st.Verdict != l.Verdict) {
			continue
		}
		st.Versions = store.RedactedVersions(st.Versions)
		rows = append(rows, row{Status: st, Incidents: open[n], Serving: serving(st), Progress: progressText(st)})
	}
	key := func(r row) string {
		switch l.Sort {
		case "active":
			return r.Active
		case "state":
			return string(r.State)
		case "verdict":
			return r.Verdict
		}
		return ""
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		c := 0
		if l.Sort == "incidents" {
			c = cmp.Compare(a.Incidents, b.Incidents)
		} else {
			c = cmp.Compare(key(a), key(b))
		}
		if l.Desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.Name, b.Name))
	})
	return rows
}

// sparks draws a row's error-rate and p99 sparklines, one line per
// version, from the store's per-second points.
func (s *Server) sparks(r *http.Request, rw *row, now time.Time) error {
	from := now.Add(-sparkSpan)
	pts, err := s.store.Metrics(r.Context(), rw.Name, from, now)
	if err != nil {
		return err
	}
	step := sparkSpan / sparkBuckets
	byVer := bucketize(pts, from, step, sparkBuckets)
	var errS, p99S []chart.Series
	peakErr, peakP99 := 0.0, 0.0
	for _, v := range versionOrder(byVer) {
		bs := byVer[v]
		e, p := chart.Series{Name: v}, chart.Series{Name: v}
		for i, b := range bs {
			at := from.Add(time.Duration(i+1) * step)
			if b.req > 0 {
				er := float64(b.errs) / float64(b.req)
				e.Points = append(e.Points, chart.Point{At: at, V: er, OK: true})
				p.Points = append(p.Points, chart.Point{At: at, V: b.p99, OK: true})
				peakErr, peakP99 = max(peakErr, er), max(peakP99, b.p99)
			}
		}
		errS, p99S = append(errS, e), append(p99S, p)
	}
	names := strings.Join(versionOrder(byVer), ", ")
	rw.ErrSpark = chart.Sparkline(errS, from, now, step, 120, 24, "error rate, last 15 min, "+names+": peak "+pct(peakErr)).SVG()
	rw.P99Spark = chart.Sparkline(p99S, from, now, step, 120, 24, "p99 latency, last 15 min, "+names+": peak "+num(peakP99)+" ms").SVG()
	return nil
}

type bucket struct {
	req, errs int64
	p99       float64
	vals      map[string]float64
	nvals     map[string]int
}

// bucketize sums a service's points into n steps per version; p99 is the
// highest of the step (an upper bound), pushed values their mean.
func bucketize(pts []store.MetricPoint, from time.Time, step time.Duration, n int) map[string][]bucket {
	out := map[string][]bucket{}
	for _, p := range pts {
		i := int(p.At.Sub(from) / step)
		if i < 0 || i >= n {
			continue
		}
		bs, ok := out[p.Version]
		if !ok {
			bs = make([]bucket, n)
			out[p.Version] = bs
		}
		b := &bs[i]
		b.req += p.Requests
		b.errs += p.Errors
		if finite(p.P99Ms) {
			b.p99 = max(b.p99, p.P99Ms)
		}
		for k, v := range p.Values {
			if b.vals == nil {
				b.vals, b.nvals = map[string]float64{}, map[string]int{}
			}
			b.vals[k] += v
			b.nvals[k]++
		}
	}
	return out
}

func versionOrder(m map[string][]bucket) []string {
	var out []string
	for v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
