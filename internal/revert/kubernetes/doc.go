// Package kubernetes reverts a service running on Kubernetes, and watches
// Deployments so that ripcord notices new rollouts on its own.
//
// # Role
//
// Target implements revert.Target in one of two modes:
//
//   - rollout-undo: the Deployment's pod template is replaced with the pod
//     template of the ReplicaSet that ran the target version, exactly as
//     `kubectl rollout undo --to-revision=N` does (the pod-template-hash label
//     is dropped, kubernetes.io/change-cause says why), then Revert waits until
//     the rollout is complete or rollout_timeout passes.
//   - service-selector: blue-green. Each version runs in its own Deployment
//     and the Service's spec.selector[selector_key] picks the live one; Revert
//     switches it with one JSON merge patch.
//   - httproute: a Gateway API HTTPRoute (v1) splits one rule between a
//     stable and a canary Service backendRef; Revert sets the canary's
//     weight to 0 and the stable one's to 100, and SetWeight gives the
//     canary a share in percent (canary steps). Only those two weight
//     fields are ever written: one JSON patch (RFC 6902) addresses them by
//     position and carries the resourceVersion of the read that found the
//     positions, so a route edited since is refused (409) and re-read.
//
// Watcher runs one shared informer over the Deployments of a namespace and
// calls a per-Deployment handler each time a Deployment starts a new revision,
// so the controller begins judging a rollout without being told about it.
//
// # What a "version" is
//
// A version is a name the controller compares and reverts to. For a pod
// template it is, in order of preference:
//
//  1. the value of the label ripcord.dev/version on the pod template (in
//     service-selector mode: the label named by selector_key, then
//     ripcord.dev/version), so a team can name versions explicitly;
//  2. otherwise the tag of the container's image ("v1" for
//     "registry/llm-api:v1"), or its digest when it is pinned by digest.
//
// Revert also accepts the full image reference, and "revision:N" to name a
// ReplicaSet revision directly (the --to-revision of kubectl). An empty To
// means the newest older revision whose version differs from the current
// one, as `kubectl rollout undo` without --to-revision.
//
// # Invariants
//
//   - Revert is idempotent: when the Deployment's template already equals the
//     target's (ignoring pod-template-hash), the Service already selects the
//     target, or the route's weights already give the share, nothing is
//     written; a rollout-undo still waits for the rollout to
//     finish, so a revert re-run after a crash confirms the first one.
//   - Writes are optimistic: the Deployment is updated with the
//     resourceVersion it was read at, and re-read and recomputed on a
//     conflict (retry.RetryOnConflict), so a concurrent edit is never lost.
//   - DryRun reads and computes but never writes or waits.
//   - A rollout that is not complete by rollout_timeout, or that the
//     Deployment controller reports past its progress deadline, returns an
//     error wrapping ErrRolloutTimeout: the controller escalates on it.
//   - Each revert that writes records a RipcordRollback Event on the
//     Deployment (or the Service, or the HTTPRoute), visible in
//     `kubectl describe`.
//   - httproute: a route, rule or backendRef that does not exist (or a
//     backendRef named twice in the rule) is ErrRouteNotFound, naming it
//     and the config key, and nothing is written. In this mode a version
//     is a backendRef's Service name.
//
// # Why client-go
//
// ripcord talks to the API server through client-go rather than by running
// kubectl: typed objects instead of parsing text, optimistic concurrency
// with resourceVersion, watches instead of polling for rollout status and
// new rollouts, in-cluster ServiceAccount credentials without a kubeconfig,
// and no external binary whose version and output format can drift.
// The least privilege it needs is in deploy/kubernetes/rbac.yaml.
package kubernetes
