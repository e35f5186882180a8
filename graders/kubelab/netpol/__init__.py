"""NetworkPolicy reachability: which pod can reach which pod on which port, and why.

Pure Python over raw Kubernetes JSON objects (no HTTP): ``reachability.compute_matrix``
builds the matrix, ``lint.lint`` finds likely mistakes, ``render`` prints both and
``loading`` reads them from a folder of YAML files.
"""
