{{/* Names and labels shared by every template. */}}

{{- define "ragtune.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ragtune.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "ragtune.labels" -}}
{{ include "ragtune.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ragtune
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "ragtune.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ragtune.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ragtune.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ragtune.servingImage" -}}
{{- printf "%s:%s" .Values.servingImage.repository (default .Chart.AppVersion .Values.servingImage.tag) -}}
{{- end -}}

{{/* Direct mode serves exactly one namespace on an existing Ray cluster. */}}
{{- define "ragtune.direct" -}}
{{- if .Values.operator.directDashboardUrl -}}
{{- if ne (len .Values.watchNamespaces) 1 -}}
{{- fail "operator.directDashboardUrl (direct mode) serves one namespace: set watchNamespaces to exactly one" -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* Whether adapters train in KubeRay RayJobs (else batch Jobs), as the operator decides. */}}
{{- define "ragtune.trainsWithRayJob" -}}
{{- $runner := .Values.operator.training.runner -}}
{{- if or (eq $runner "rayjob") (and (eq $runner "auto") (not (include "ragtune.direct" .))) -}}
true
{{- end -}}
{{- end -}}

{{/*
The operator's rules on namespaced resources: the same list as
operator/ragtune_operator/permissions.py (the chart's test compares the two).
*/}}
{{- define "ragtune.namespacedRules" -}}
- apiGroups: ["ragtune.io"]
  resources: ["knowledgebases", "adapters", "evaluations"]
  verbs: ["patch"]
- apiGroups: ["ragtune.io"]
  resources: ["knowledgebases/status", "adapters/status", "evaluations/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "create"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
{{- if not (include "ragtune.direct" .) }}
- apiGroups: ["ray.io"]
  resources: ["rayservices"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "patch", "delete"]
{{- end }}
{{- if include "ragtune.trainsWithRayJob" . }}
- apiGroups: ["ray.io"]
  resources: ["rayjobs"]
  verbs: ["get", "create"]
{{- end }}
{{- end -}}

{{- define "ragtune.watchRules" -}}
- apiGroups: ["ragtune.io"]
  resources: ["knowledgebases", "adapters", "evaluations"]
  verbs: ["list", "watch"]
{{- end -}}

{{- define "ragtune.crdRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- if .Values.watchNamespaces }}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}
{{- end -}}
