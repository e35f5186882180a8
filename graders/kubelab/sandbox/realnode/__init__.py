"""A real node beside the simulated ones: kubelet, containerd, kube-proxy, kube-router."""
