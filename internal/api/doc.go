// Package api is ripcord's HTTP JSON API: the only way the CLI, dashboards
// and pipelines talk to the daemon.
//
// Every /api/v1 route names the role it needs (viewer reads, operator acts,
// admin does everything). Tokens are compared in constant time and never
// logged; errors are JSON {"error": "...", "code": "..."} with the status a
// client can act on: 400 bad input (naming the field), 401 no or unknown
// token, 403 role too weak, 404 unknown service or incident, 409 a command
// that conflicts with the service's state.
package api
