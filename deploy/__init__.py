"""Running the app for many visitors: several replicas behind nginx (replicas.py, nginx.conf)."""
