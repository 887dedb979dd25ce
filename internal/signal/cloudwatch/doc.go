// Package cloudwatch is a signal.Source over Amazon CloudWatch
// GetMetricData (github.com/aws/aws-sdk-go-v2/service/cloudwatch), with
// credentials from the standard AWS chain (aws-sdk-go-v2/config):
// environment, shared files and profiles, SSO, web identity (EKS IRSA),
// container and instance roles. ripcord holds no AWS secret of its own.
//
// # Configuration
//
// One Config per service (key: services[].signals.cloudwatch):
//
//	cloudwatch:
//	  region: eu-west-1            # default: the chain's (AWS_REGION, profile)
//	  endpoint: ""                 # optional: a VPC endpoint
//	  interval: 1m                 # default 1m: CloudWatch's standard resolution
//	  metrics:
//	    requests:                  # counts per period (stat Sum): error_rate's evidence
//	      namespace: AWS/ApplicationELB
//	      name: RequestCount
//	      stat: Sum
//	      dimensions:
//	        TargetGroup: targetgroup/checkout-{{.Version}}/6d0ecf831eec9f09
//	        LoadBalancer: app/shop/50dc6c495c0c9188
//	    errors: {namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, stat: Sum, dimensions: {...}}
//	    latency_p99_ms: {namespace: AWS/ApplicationELB, name: TargetResponseTime, stat: p99, scale: 1000, dimensions: {...}}
//
// The version is a dimension value: at least one value of every metric
// holds {{.Version}} ({{.Service}} is optional). Dimension values are API
// parameters, not a query language, so they need no escaping: a version
// can only ever match a dimension with exactly that value. period (default
// 1m; 1/5/10/30s for high-resolution metrics) is each point's span, scale
// converts the unit (TargetResponseTime is seconds).
//
// # Reads and evidence
//
// Each watched version costs one GetMetricData call per interval, all its
// metrics in it, over the last 10 minutes (or the window, if longer).
// Values, staleness and counts follow the Datadog source (package
// remote): a metric's value is its newest point, stale after
// max(3 periods, 3m); requests and errors (Sum per period) become
// cumulative error_rate Counts, each period counted once as it grows with
// late data; without an error_rate metric its value is errors / requests
// over the window.
//
// # Invariants
//
//   - Every non-answer wraps signal.ErrNoData: CloudWatch unreachable,
//     throttled, refusing the credentials, no points. Throttling waits two
//     intervals before the next call; the SDK does not retry within a read
//     (the next read is the retry).
//   - Expected(service, metric) is true exactly when a metric is
//     configured for it (error_rate also from requests and errors).
//
// # Protocol
//
// This SDK version speaks Smithy RPC v2 CBOR to CloudWatch (POST
// /service/GraniteServiceVersion20100801/operation/GetMetricData, a CBOR
// body, signed with SigV4 for the "monitoring" service), not the older
// Query or JSON protocols; the tests check that request against a local
// endpoint and verify its signature.
//
// # Cost
//
// GetMetricData is billed per metric requested: $0.01 per 1,000 (us-east-1
// list price). At the default interval a service with 3 metrics requests 3
// a minute: 129,600 a month, $1.30; a 100-service fleet 12.96 million, about
// $130 a month (double while a baseline version is read too). Calls: 1 per
// service per minute, 1.7 a second for 100 services, far inside the
// GetMetricData request quota.
package cloudwatch
