// Package mlflow reverts a model served from an MLflow Model Registry by
// moving a registered-model alias (MLflow deprecated stages in 2.9 in
// favour of aliases): the model server loads models:/MODEL@ALIAS, and a
// rollback points ALIAS at an older version.
//
// It speaks REST API 2.0 (mlflow/protos/model_registry.proto):
//
//   - GET  /api/2.0/mlflow/registered-models/get?name=M — Check: the model
//     exists and the alias is set on it;
//   - GET  /api/2.0/mlflow/model-versions/search?filter=name='M'&max_results=N
//     [&page_token=T] — Versions, every page, sorted oldest first, with
//     their tags (ripcord.dev/schema-min and ripcord.dev/schema-max declare
//     the database schema range a version works with);
//   - GET  /api/2.0/mlflow/registered-models/alias?name=M&alias=A — Current,
//     Status and Poll;
//   - GET  /api/2.0/mlflow/model-versions/get?name=M&version=V — Revert's
//     check that the target exists and is READY;
//   - POST /api/2.0/mlflow/registered-models/alias {name, alias, version} —
//     Revert, which then reads the alias back to verify it.
//
// Every call sends Authorization: Bearer <token> when token_file is set
// (read afresh per call, so rotation needs no restart).
//
// # Invariants
//
//   - Revert is idempotent: an alias already at the target is a success
//     with nothing written.
//   - Revert is a guarded compare-and-set: when the request names a From
//     version and the alias points at a third version, someone deployed
//     since the decision and Revert refuses (ErrMoved) rather than undo it.
//   - A version that is not READY (pending or failed registration) or does
//     not exist is never a revert target; DryRun makes every check and
//     writes nothing.
//   - Errors carry MLflow's error_code: RESOURCE_DOES_NOT_EXIST is permanent
//     (errors.Is ErrNotFound) and names the model or alias; a missing alias
//     (MLflow answers 400 INVALID_PARAMETER_VALUE "Registered model alias …
//     not found.", other backends 404) is ErrAliasNotFound with the fix.
//     429, 5xx and network errors are retried with exponential backoff and
//     jitter, never sooner than Retry-After, within the operation's timeout.
//   - The token never appears in errors or logs (and is scrubbed from error
//     bodies that echo it).
//   - Poll and Watch notice the alias moving outside ripcord — a deploy to
//     watch; moves made by this Target's Revert are not reported.
package mlflow
