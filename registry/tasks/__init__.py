"""Background tasks: long work (a large import, a batch print) run by the worker process, with progress."""
