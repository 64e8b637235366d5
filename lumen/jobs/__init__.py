"""Background jobs: the ``jobs`` table, the task functions, and the runners (in-process, Celery)."""
