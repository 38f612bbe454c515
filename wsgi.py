"""WSGI entry point for gunicorn: `gunicorn wsgi:app`. The only module that builds an app at import."""
import gc

from registry import create_app

app = create_app()
# What the worker has built so far lives as long as the worker: leave it out of the collector's passes,
# which otherwise walk those ~200,000 objects again and again (about 1.5 ms of a 50-row API list).
gc.freeze()
