// Package probe measures a version's answers, not just its status codes: a
// golden set of requests with known-good expectations is sent to every live
// version directly (not through the switch, so users never see probe traffic
// and a version is probed before it takes any), and the share of probes that
// pass becomes the version's quality_score.
//
// A version can return 200 with the wrong answer — a model that hallucinates,
// a serializer that drops a field. Error rates miss that; a probe that checks
// choices[0].message.content does not.
//
// # Configuration
//
// One Config per service, the block under services[].signals.probe;
// Config.Validate loads the probe file (check-config runs it), and file is
// relative to the config file:
//
//	probe:
//	  file: probes/chat.yaml   # required: the probe file, YAML or JSON
//	  interval: 30s            # between rounds; default 30s
//	  window: 5m               # quality_score looks this far back; default 5m
//	  timeout: 5s              # per probe request; default 5s
//
// The probe file:
//
//	probes:
//	  - name: arithmetic           # optional, used in failure lines
//	    method: POST               # default GET
//	    path: /v1/chat?stream=false
//	    headers: {Content-Type: application/json}
//	    body: '{"prompt": "2+2="}'
//	    expect:
//	      status: 200              # default: any 2xx
//	      max_latency: 800ms       # time to the whole response
//	      json:
//	        - path: choices[0].text
//	          contains: "4"
//	        - path: model
//	          regex: "^chat-"
//	        - path: usage.total_tokens
//	          range: [1, 400]
//	        - path: object
//	          equals: completion
//	        - path: id             # no condition: the path must exist
//
// A JSON file has the same shape ({"probes": [...]}). Parse reports every
// problem at once, each naming the probe's index and field:
// "probes[2].expect.json[0].range: want [min, max] with min <= max, got [5 1]",
// "probes[1]: line 9: unknown field "statsu"".
//
// # Scoring
//
// Each probe sent to a version is one result; it passes when every condition
// of its expect holds. quality_score for a version is passed / total over the
// results in the window, and Sample.Samples is that total: with 5 probes
// every 30s a 5m window holds 50 results, which is the detector's default
// min_samples — tune interval, window and min_samples together. A request
// that fails outright (refused, timed out) is a failed probe: a version that
// cannot answer has no quality. A round cut short by shutdown is not
// recorded. No results in the window is signal.ErrNoData.
//
// Expected(service, quality_score) is true once a probe file is configured
// for the service, so a prober that stops producing results makes the
// verdict Blind rather than Healthy. Result lists (Prober.Results) keep the
// failure lines, e.g. `json choices[0].text contains: "5" does not contain
// "4"`, for incident reports.
//
// # JSON paths
//
// Paths are dotted keys with [index]: choices[0].message.content, [0].id.
// They are parsed by a few dozen hand-written lines rather than a JSONPath
// library because probes need nothing more, and a single-valued path is what
// equals/contains/range can compare; keys containing '.', '[' or ']' are
// not supported.
package probe
