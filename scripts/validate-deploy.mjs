#!/usr/bin/env node
/**
 * Schema check of the deployment files: every Kubernetes object in deploy/k8s/*.yaml is validated against the
 * Kubernetes API's OpenAPI schemas (kubernetes-models), then cross-checked the way a reviewer would: selectors match
 * pod labels, every Service/PDB/HPA names something that exists, every container has readiness and liveness probes
 * on /readyz and /healthz, resource requests, a non-root security context. The compose file is checked for the
 * load-balanced shape (HAProxy in front of ≥ 2 API replicas, ≥ 2 workers, migrations before the API).
 * Prints one line per object; exits 1 on the first class of problem found.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODELS = {
  'v1/ConfigMap': core.ConfigMap,
  'v1/Service': core.Service,
  'apps/v1/Deployment': apps.Deployment,
  'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': networking.NetworkPolicy,
};

const problems = [];
const objects = [];
for (const file of readdirSync(join(root, 'deploy/k8s')).filter((f) => /\.ya?ml$/.test(f))) {
  for (const doc of parseAllDocuments(readFileSync(join(root, 'deploy/k8s', file), 'utf8'))) {
    if (doc.errors.length) problems.push(`${file}: YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (!obj) continue;
    const key = `${obj.apiVersion}/${obj.kind}`;
    const Model = MODELS[key];
    if (!Model) {
      problems.push(`${file}: ${key} ${obj.metadata?.name}: no schema known to this check`);
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`ok ${key} ${obj.metadata.name}`);
      objects.push(obj);
    } catch (err) {
      problems.push(`${file}: ${key} ${obj.metadata?.name}: ${String(err.message).split('\n').slice(0, 3).join(' ')}`);
    }
  }
}

const byKind = (kind) => objects.filter((o) => o.kind === kind);
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const deployments = byKind('Deployment');
for (const d of deployments) {
  const name = d.metadata.name;
  if (!matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels))
    problems.push(`Deployment ${name}: selector does not match its pod labels`);
  if (!d.spec.template.spec.securityContext?.runAsNonRoot)
    problems.push(`Deployment ${name}: pods must run as non-root`);
  for (const c of d.spec.template.spec.containers) {
    if (c.readinessProbe?.httpGet?.path !== '/readyz')
      problems.push(`Deployment ${name}/${c.name}: readiness probe must be GET /readyz`);
    if (c.livenessProbe?.httpGet?.path !== '/healthz')
      problems.push(`Deployment ${name}/${c.name}: liveness probe must be GET /healthz`);
    if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory)
      problems.push(
        `Deployment ${name}/${c.name}: cpu and memory requests are needed (the HPA scales on CPU utilisation)`,
      );
    if (c.securityContext?.allowPrivilegeEscalation !== false)
      problems.push(`Deployment ${name}/${c.name}: allowPrivilegeEscalation must be false`);
  }
}
const podsOf = (selector) => deployments.filter((d) => matches(selector, d.spec.template.metadata.labels));
for (const s of byKind('Service'))
  if (podsOf(s.spec.selector).length === 0) problems.push(`Service ${s.metadata.name}: selects no pods`);
for (const p of byKind('PodDisruptionBudget')) {
  const targets = podsOf(p.spec.selector.matchLabels);
  if (targets.length === 0) problems.push(`PodDisruptionBudget ${p.metadata.name}: selects no pods`);
  for (const d of targets)
    if ((d.spec.replicas ?? 1) <= p.spec.minAvailable)
      problems.push(
        `PodDisruptionBudget ${p.metadata.name}: minAvailable ${p.spec.minAvailable} blocks every drain of ${d.metadata.name}`,
      );
}
for (const h of byKind('HorizontalPodAutoscaler')) {
  const t = h.spec.scaleTargetRef;
  if (!deployments.some((d) => d.metadata.name === t.name && t.kind === 'Deployment'))
    problems.push(`HorizontalPodAutoscaler ${h.metadata.name}: target ${t.kind}/${t.name} does not exist`);
  if ((h.spec.minReplicas ?? 1) < 2)
    problems.push(`HorizontalPodAutoscaler ${h.metadata.name}: fewer than 2 replicas is a single point of failure`);
}
// The internal listener (DEK API, service tokens, /metrics) has a ClusterIP Service of its own and is never on the public one.
const apiDeployment = deployments.find((d) => d.metadata.name === 'keyhold-api');
const apiPorts = apiDeployment?.spec.template.spec.containers.flatMap((c) => c.ports ?? []) ?? [];
if (!apiPorts.some((p) => p.name === 'internal'))
  problems.push('Deployment keyhold-api: needs a container port named internal (KEYHOLD_INTERNAL_PORT)');
const services = byKind('Service');
const publicSvc = services.find((s) => s.metadata.name === 'keyhold-api');
if (publicSvc?.spec.ports?.some((p) => p.targetPort === 'internal' || p.targetPort === 3001))
  problems.push('Service keyhold-api: must not expose the internal listener');
const internalSvc = services.find((s) => s.metadata.name === 'keyhold-api-internal');
if (!internalSvc) problems.push('missing Service keyhold-api-internal (the internal listener)');
else {
  if ((internalSvc.spec.type ?? 'ClusterIP') !== 'ClusterIP')
    problems.push('Service keyhold-api-internal: must be ClusterIP');
  if (!internalSvc.spec.ports?.every((p) => p.targetPort === 'internal'))
    problems.push('Service keyhold-api-internal: must target the internal port only');
}
for (const required of ['keyhold-api', 'keyhold-worker'])
  if (!deployments.some((d) => d.metadata.name === required)) problems.push(`missing Deployment ${required}`);

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
const svc = compose.services ?? {};
if ((svc.api?.deploy?.replicas ?? 1) < 2) problems.push('docker-compose: the api service needs ≥ 2 replicas');
if ((svc.worker?.deploy?.replicas ?? 1) < 2) problems.push('docker-compose: the worker service needs ≥ 2 replicas');
if (svc.api?.ports) problems.push('docker-compose: API replicas must not publish a host port (the load balancer does)');
if (!/^haproxy:|^nginx:/.test(svc.lb?.image ?? ''))
  problems.push('docker-compose: an lb service (official haproxy or nginx image) must front the API');
if (svc.api?.depends_on?.migrate?.condition !== 'service_completed_successfully')
  problems.push('docker-compose: the API must start after migrations complete');
const haproxy = readFileSync(join(root, 'deploy/haproxy/haproxy.cfg'), 'utf8');
if (!/option httpchk GET \/readyz/.test(haproxy) || !/server-template api \d+ api:3000/.test(haproxy))
  problems.push('haproxy.cfg: must health-check /readyz on every api replica');
const internalPort = String(svc.api?.environment?.KEYHOLD_INTERNAL_PORT ?? '3001');
if (new RegExp(`api:${internalPort}\\b`).test(haproxy) || new RegExp(`bind\\s+\\S*:${internalPort}\\b`).test(haproxy))
  problems.push('haproxy.cfg: the internal listener must not go through the public load balancer');
if (svc.api?.environment?.KEYHOLD_INTERNAL_HOST !== '0.0.0.0')
  problems.push(
    'docker-compose: the API replicas must listen on the internal port inside the compose network (KEYHOLD_INTERNAL_HOST 0.0.0.0)',
  );
console.log(
  `ok docker-compose.yml: lb → ${svc.api?.deploy?.replicas} API replicas, ${svc.worker?.deploy?.replicas} workers`,
);

if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`deploy: ${objects.length} Kubernetes objects valid, compose shape ok`);
