"""`make bench`: Propel measured against its own floor, each figure a ratio from one run.

`python -m bench` (bench/__main__.py) builds the databases, starts gunicorn and Celery with
production settings (bench/settings.py adds two bare endpoints to the real URLconf), runs the
items in bench/items/ and writes docs/benchmarks.md. Nothing here is imported by the app.
"""
