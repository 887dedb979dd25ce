package config

// The schema-aware guard's part of the file: a version's schema range
// (versions[].schema: {min, max}) and where the live schema version is read
// (services[].schema_source.<driver>, a provider block routed like targets).
// Comparing schema versions is internal/schema's business; config asks
// Providers.SchemaRange, so it stays a leaf.

// SchemaRange is the database schema versions a service version works
// with, as written (42, "1.10"; quote dotted versions so YAML keeps them
// as text). An empty bound is open.
type SchemaRange struct {
	Min string `yaml:"min"`
	Max string `yaml:"max"`
}

// IsZero reports whether the range declares nothing.
func (r SchemaRange) IsZero() bool { return r.Min == "" && r.Max == "" }

// SchemaSource holds the service's schema_source block: one driver key
// (postgres, sqlite) whose value is that driver's config.
type SchemaSource struct {
	Providers []Block `yaml:",remain"`
}

// Provider is the driver's block, or nil when the service has none.
func (s SchemaSource) Provider() *Block {
	if len(s.Providers) == 0 {
		return nil
	}
	return &s.Providers[0]
}

// routeTargetVersions applies the target kind's rule on versions: a target
// that lists them (file, exec, webhook) needs the list, with url optional;
// one that discovers them (kubernetes, mlflow) refuses it. No target kind
// takes a proxy listener.
func (s *Service) routeTargetVersions(r *report, path, baseDir string, p Providers) {
	t := s.Target.Provider()
	if t == nil {
		return
	}
	k := kindNamed(p.Targets, t.Kind)
	if k == nil {
		return // an unknown kind, reported by routeBlocks
	}
	switch {
	case k.ListsVersions && s.Proxy.Listen != "":
		r.add(child(path, "proxy"), "a %s target moves traffic itself: remove proxy (the built-in switch is used only without a target)", t.Kind)
	case !k.ListsVersions && (s.Proxy.Listen != "" || len(s.Versions) > 0):
		r.add(path, "a %s target takes its versions from what it reverts, not from this file: remove proxy and versions", t.Kind)
	}
	if k.ListsVersions {
		s.checkVersions(r, path, baseDir, true)
	}
}

// routeSchema routes the schema_source block and checks every version's
// schema range; ranges without a schema_source could never be applied.
func (s *Service) routeSchema(r *report, path string, p Providers) {
	src := s.SchemaSource.Providers
	routeBlocks(r, src, p.Schemas, nil)
	if len(src) > 1 {
		r.add(child(path, "schema_source"), "sets %s: a service reads its schema from one database; keep one", kindList(src))
	}
	declared := false
	for i, v := range s.Versions {
		if v.Schema.IsZero() {
			continue
		}
		declared = true
		if p.SchemaRange == nil {
			continue
		}
		if err := p.SchemaRange(v.Schema.Min, v.Schema.Max); err != nil {
			r.add(child(index(child(path, "versions"), i), "schema"), "%v", err)
		}
	}
	if declared && len(src) == 0 {
		r.add(child(path, "schema_source"), "is required when versions declare a schema range: say where the live schema version is read, e.g. schema_source: {postgres: {url_file: db.url, preset: golang-migrate}}")
	}
}
