{{/* Names. Namespaced objects use the component names as they are (the controller's code
defaults match them); cluster-scoped ones add the release namespace so two releases in two
namespaces do not collide. */}}
{{- define "hangar.agentName" -}}{{ .Values.agent.name }}{{- end -}}
{{- define "hangar.controllerName" -}}{{ .Values.controller.name }}{{- end -}}
{{- define "hangar.clusterName" -}}{{ printf "%s-%s" .name .ns | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "hangar.agentClusterRole" -}}{{ include "hangar.clusterName" (dict "name" .Values.agent.name "ns" .Release.Namespace) }}{{- end -}}
{{- define "hangar.controllerClusterRole" -}}{{ include "hangar.clusterName" (dict "name" .Values.controller.name "ns" .Release.Namespace) }}{{- end -}}
{{- define "hangar.tokensSecret" -}}
{{- if .Values.controller.api.tokens.existingSecret -}}{{ .Values.controller.api.tokens.existingSecret }}{{- else -}}{{ .Values.controller.name }}-tokens{{- end -}}
{{- end -}}
{{- define "hangar.tokensEnabled" -}}
{{- if or .Values.controller.api.tokens.existingSecret .Values.controller.api.tokens.create -}}true{{- end -}}
{{- end -}}

{{/* Labels on every object: the release labels the uninstall test lists objects by. */}}
{{- define "hangar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mcp-hangar
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "hangar.agentSelector" -}}
app.kubernetes.io/name: {{ include "hangar.agentName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "hangar.controllerSelector" -}}
app.kubernetes.io/name: {{ include "hangar.controllerName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hangar.agentLabels" -}}
{{ include "hangar.labels" . }}
app.kubernetes.io/name: {{ include "hangar.agentName" . }}
app.kubernetes.io/component: agent
{{- end -}}
{{- define "hangar.controllerLabels" -}}
{{ include "hangar.labels" . }}
app.kubernetes.io/name: {{ include "hangar.controllerName" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "hangar.image" -}}
{{ .image.repository }}:{{ .image.tag | default .chart.AppVersion }}
{{- end -}}

{{/* host:port of the hub as agents dial it. */}}
{{- define "hangar.hubAddress" -}}
{{ include "hangar.controllerName" . }}.{{ .Release.Namespace }}.svc:{{ .Values.hub.port }}
{{- end -}}

{{/* Checks that fail the render with a message naming the value. */}}
{{- define "hangar.validate" -}}
{{- if and .Values.proxy.enabled (not .Values.proxy.providers) -}}
{{- fail "proxy.enabled: the MCP proxy needs at least one entry in proxy.providers" -}}
{{- end -}}
{{- if and .Values.hub.tls.enabled .Values.hub.tls.certManager.enabled -}}
{{- if not (.Capabilities.APIVersions.Has "cert-manager.io/v1/Certificate") -}}
{{- fail "hub.tls.certManager.enabled: the cluster does not serve cert-manager.io/v1 Certificate; install cert-manager or set it to false (the chart then generates the certificate)" -}}
{{- end -}}
{{- if not .Values.hub.tls.certManager.issuerRef.name -}}
{{- fail "hub.tls.certManager.issuerRef.name: required when hub.tls.certManager.enabled" -}}
{{- end -}}
{{- end -}}
{{- if not (or .Values.tetragon.enabled .Values.hubble.enabled .Values.agent.probe.enabled) -}}
{{- fail "tetragon.enabled, hubble.enabled, agent.probe.enabled: all false; the agent needs at least one sensor" -}}
{{- end -}}
{{- end -}}
{{/* The license (docs/licensing.md): how it is used, and the file from the Secret, read-only. */}}
{{- define "hangar.licenseEnv" -}}
- name: HANGAR_LICENSE_USE
  value: {{ .Values.license.use | quote }}
{{- if .Values.license.secretName }}
- name: HANGAR_LICENSE_FILE
  value: {{ printf "/etc/hangar/license/%s" .Values.license.secretKey | quote }}
{{- end }}
{{- end -}}
{{- define "hangar.licenseMount" -}}
{{- if .Values.license.secretName }}
- name: license
  mountPath: /etc/hangar/license
  readOnly: true
{{- end }}
{{- end -}}
{{- define "hangar.licenseVolume" -}}
{{- if .Values.license.secretName }}
- name: license
  secret:
    secretName: {{ .Values.license.secretName }}
    defaultMode: 0444
    items:
      - key: {{ .Values.license.secretKey }}
        path: {{ .Values.license.secretKey }}
{{- end }}
{{- end -}}
