"""Where tasks run: ``local`` and JupyterHub named servers (``hub``). See ``registry``
(targets and their capacity), ``hub_api`` (the Hub's REST API) and ``doctor``."""
