export {
  controlPlaneAvailable,
  skipUnlessControlPlane,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneAvailability,
  type ControlPlaneOptions,
  type TokenUser,
} from "./control-plane.js";
export { TestkitError, TestkitErrorCodes, type TestkitErrorCode } from "./errors.js";
export {
  findTool,
  hangarCacheDir,
  SETUP_COMMAND,
  toolEnvVar,
  toolPath,
  toolVersion,
  type K8sTool,
  type ToolLookup,
} from "./tools.js";
export { ETCD_VERSION, HELM_VERSION, KUBERNETES_VERSION, KWOK_VERSION } from "./versions.js";
export {
  apiRequest,
  ciliumNetworkPolicyCrd,
  ensureNamespace,
  providerPod,
  installCrd,
  uninstallCrd,
  type ApiRequestOptions,
  type ApiResponse,
  type CustomResourceDefinition,
} from "./kube.js";
export {
  lognormalizeCef,
  rsyslogAvailable,
  rsyslogdPath,
  skipUnlessRsyslog,
  startRsyslog,
  RSYSLOG_INSTALL,
  type Rsyslog,
  type RsyslogAvailability,
  type RsyslogMessage,
  type RsyslogOptions,
} from "./rsyslog.js";
export {
  clusterAvailable,
  fakeNode,
  KWOK_NODE_ANNOTATION,
  skipUnlessCluster,
  startCluster,
  type Cluster,
  type ClusterAvailability,
  type ClusterOptions,
  type PortForwardTarget,
} from "./cluster.js";
export { helmTemplate, runHelm, skipUnlessHelm, type HelmResult, type HelmTemplateOptions } from "./helm.js";
export { writeClientCert, writeTestCerts, type TestCertOptions, type TestCerts } from "./pki.js";
export { memoryLogger, splitAt, tempDir, waitFor, type WaitContext } from "./helpers.js";
export { T0, alert, callTrace, events, runtimeEvent, type CallInit, type EventInit } from "./events.js";
export {
  ATTACK_RULES,
  RecordingBuilder,
  attackRecording,
  normalRecording,
  type Recording,
} from "./recordings.js";
export { CORPUS_FILES, corpusPath } from "./corpus.js";
export { codeDrift, documentedCodes, sectionText } from "./docs.js";
export {
  COREDNS_IMAGE,
  IMAGES_COMMAND,
  listedImages,
  NODE_CLUSTER_CIDR,
  NODE_DNS_IP,
  NODE_POD_CIDR,
  NODE_SERVICE_CIDR,
  nodeAvailable,
  PAUSE_IMAGE,
  skipUnlessNode,
  startExternalHosts,
  startNodeCluster,
  type ExternalConnection,
  type ExternalHosts,
  type NodeAvailability,
  type NodeCluster,
  type NodeClusterOptions,
  type NodeImage,
} from "./node.js";
export {
  hostState,
  hostStateDiff,
  processesMentioning,
  run as runCommand,
  type CommandResult,
  type HostState,
} from "./host.js";
export { findNodeTool, NODE_SETUP_COMMAND, nodeToolVersion, type NodeTool } from "./tools.js";
export { COREDNS_VERSION, CRICTL_VERSION, KUBE_ROUTER_VERSION } from "./versions.js";
export { freePorts } from "./ports.js";
export { otlpAttributes, startOtlpReceiver, type OtlpReceiver } from "./otlp.js";
