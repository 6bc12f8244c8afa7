"""gunicorn's settings for every way Atendo is served (``make run``, the benchmarks): read
from the working directory by gunicorn itself."""

import gc


def post_worker_init(worker):
    # The worker has imported the app: keep its long-lived objects (modules, settings, URL
    # patterns, templates) out of the garbage collector's full passes, which otherwise
    # rescan them all and stall a request now and then (the p99).
    gc.freeze()
