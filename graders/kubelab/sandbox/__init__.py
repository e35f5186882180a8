"""The sandbox: a simulated MicroK8s made of real control-plane binaries and kwok."""
