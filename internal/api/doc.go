// Package api is ripcord's HTTP JSON API: the only way the CLI, dashboards
// and pipelines talk to the daemon.
//
// Every /api/v1 route names the role it needs (viewer reads, operator acts,
// admin does everything). Tokens are compared in constant time and never
// logged; errors are JSON {"error": "...", "code": "..."} with the status a
// client can act on: 400 bad input (naming the field), 401 no or unknown
// token, 403 role too weak or a cross-site request, 404 unknown service or
// incident, 409 a command that conflicts with the service's state, 415 a
// POST that is not application/json.
//
// There is no unauthenticated mode: a daemon without configured tokens
// passes its generated admin token (internal/localtoken). What a web page
// can make a browser send is refused before authentication (guard.go), and
// what the API shows of a version URL is masked for every role
// (store.RedactURL). A deploy may not point a version at ripcord's own
// listeners (CheckUpstream).
package api
