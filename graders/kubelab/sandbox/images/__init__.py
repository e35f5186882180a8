"""Container images built locally from Debian packages and given binaries, and a read-only registry.

No Docker engine and no Docker Hub here: the images the labs and the course name (``busybox``,
``postgres:17``, ``nginx:1.27``, ``redis:7``, ``registry.k8s.io/pause``…) are stand-ins built
from Debian packages, described in ``data/catalog.yaml``, and served to containerd by
``python -m kubelab.sandbox.images.registry``.
"""

from kubelab.sandbox.images.builder import BuiltImage, build_images, ensure_images, images_cache
from kubelab.sandbox.images.catalog import Catalog, ImageSpec, load_catalog
from kubelab.sandbox.images.store import ImageStore

__all__ = [
    "BuiltImage",
    "Catalog",
    "ImageSpec",
    "ImageStore",
    "build_images",
    "ensure_images",
    "images_cache",
    "load_catalog",
]
