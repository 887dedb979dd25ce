{{/* The release's objects are named after it, cut to 63 characters. */}}
{{- define "ripcord.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ripcord.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ripcord.labels" -}}
{{ include "ripcord.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ripcord.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ripcord.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image, pinned: a tag (default appVersion) other than latest, or a digest. */}}
{{- define "ripcord.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must be a pinned release, not \"latest\": leave it empty for the chart's appVersion" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The rules deploy/kubernetes/rbac.yaml grants (a test keeps the two equal):
  deployments  get/list/watch  the Watcher and rollout status
               update/patch    rollout-undo
  replicasets  get/list/watch  the revisions to revert to
  services     get/patch       service-selector
  httproutes   get/patch       httproute: the two backendRefs' weights
  events       create/patch    a RipcordRollback Event per revert
*/}}
{{- define "ripcord.rbacRules" -}}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "patch"]
{{- if .Values.rbac.gatewayAPI }}
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "patch"]
{{- end }}
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{- define "ripcord.claimName" -}}
{{- default (printf "%s-data" (include "ripcord.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{/* "true" in high-availability mode: ha.enabled, or 2 replicas or more. */}}
{{- define "ripcord.ha" -}}
{{- if or .Values.ha.enabled (gt (int .Values.replicas) 1) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the store is PostgreSQL (the URL from postgres.existingSecret). */}}
{{- define "ripcord.postgres" -}}
{{- if .Values.postgres.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* Where the PostgreSQL URL's Secret is mounted; store.url_file names the file. */}}
{{- define "ripcord.postgresDir" -}}/var/run/ripcord/db{{- end -}}

{{/* The API port: the port of config.api.listen (ripcord's default 7070). */}}
{{- define "ripcord.apiPort" -}}
{{- $listen := toString (dig "api" "listen" "" .Values.config) -}}
{{- default "7070" (regexFind "[0-9]+$" $listen) -}}
{{- end -}}

{{/*
Refuses value sets that would run ripcord wrongly, each with the value to
set. Included by the Deployment, so every render checks them.
*/}}
{{- define "ripcord.validate" -}}
{{- if hasKey .Values "replicaCount" -}}
{{- fail "replicaCount was renamed: set replicas instead" -}}
{{- end -}}
{{- if include "ripcord.ha" . -}}
{{- $why := ternary (printf "replicas=%d runs" (int .Values.replicas)) "ha.enabled=true runs" (gt (int .Values.replicas) 1) -}}
{{- if not .Values.postgres.existingSecret -}}
{{- fail (printf "%s ripcord in high-availability mode, which needs a PostgreSQL store shared by every replica (SQLite cannot be shared): set postgres.existingSecret to the name of a Secret holding the postgres:// URL under the key postgres.secretKey (default \"url\"), e.g. kubectl create secret generic ripcord-postgres --from-file=url=./postgres.url" $why) -}}
{{- end -}}
{{- $listen := toString (dig "api" "listen" "" .Values.config) -}}
{{- if or (not $listen) (hasPrefix "127." $listen) (hasPrefix "localhost" $listen) (hasPrefix "[::1]" $listen) -}}
{{- fail (printf "%s ripcord in high-availability mode: config.api.listen is %q (loopback, the default when empty), which the other replicas and the kubelet's probes cannot reach; set it to a wildcard such as 0.0.0.0:7070" $why $listen) -}}
{{- end -}}
{{- end -}}
{{- if not (has (toString .Values.ha.lease) (list "kubernetes" "postgres")) -}}
{{- fail (printf "ha.lease is %q: set kubernetes (a coordination.k8s.io Lease per shard) or postgres (a lease row in the database)" (toString .Values.ha.lease)) -}}
{{- end -}}
{{- if and .Values.postgres.existingSecret (not .Values.postgres.secretKey) -}}
{{- fail "postgres.secretKey must name the key of postgres.existingSecret that holds the postgres:// URL (default \"url\")" -}}
{{- end -}}
{{- if hasKey (default dict .Values.config) "ha" -}}
{{- fail "config.ha is written by the chart: set ha.enabled (or replicas >= 2), ha.lease, ha.leaseTTL and ha.shards instead" -}}
{{- end -}}
{{- end -}}

{{/*
ripcord.yaml: values.config, with store replaced by the Secret-mounted URL
file when postgres.existingSecret is set, and the ha block in HA mode
(replica and advertise left to RIPCORD_REPLICA / RIPCORD_ADVERTISE, which
the Deployment sets per pod).
*/}}
{{- define "ripcord.config" -}}
{{- $cfg := deepCopy (required "config is required: ripcord's configuration (see docs/config.md)" .Values.config) -}}
{{- if include "ripcord.postgres" . -}}
{{- $_ := set $cfg "store" (dict "url_file" (printf "%s/url" (include "ripcord.postgresDir" .))) -}}
{{- end -}}
{{- if include "ripcord.ha" . -}}
{{- $ha := dict "lease_ttl" .Values.ha.leaseTTL "shards" (int .Values.ha.shards) "lease" .Values.ha.lease -}}
{{- if eq (toString .Values.ha.lease) "kubernetes" -}}
{{- $_ := set $ha "kubernetes" (dict "name" (include "ripcord.fullname" .)) -}}
{{- end -}}
{{- $_ := set $cfg "ha" $ha -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
