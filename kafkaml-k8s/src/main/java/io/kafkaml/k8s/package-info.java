/**
 * kafkaml on Kubernetes: training deployments as Jobs ({@link io.kafkaml.k8s.KubernetesTrainingLauncher}),
 * inference as Deployments ({@link io.kafkaml.k8s.KubernetesInference}), Job failures reflected in the registry
 * ({@link io.kafkaml.k8s.JobStatusWatcher}) and the same objects as YAML with their RBAC
 * ({@link io.kafkaml.k8s.KubernetesManifests}).
 */
package io.kafkaml.k8s;
