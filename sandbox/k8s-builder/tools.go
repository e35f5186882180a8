//go:build tools

// Package k8sbuilder pins the Kubernetes commands the sandbox builds: the control plane and
// kubectl, the real node's kubelet and kube-proxy, and agnhost (the e2e test image's binary).
package k8sbuilder

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/test/images/agnhost"
)
