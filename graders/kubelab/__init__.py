"""kubelab: a French Kubernetes course that grades itself.

The public API is small; everything else lives in private-by-convention modules.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
