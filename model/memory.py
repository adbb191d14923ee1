"""Keeping a loaded model out of the garbage collector's way."""

import gc


def settle_memory(collect: bool = True) -> None:
    """Call after loading a model to predict with (the service after each swap, `triase predict`, the benchmarks),
    and after any other large import into a process that serves (MLflow's, once the service is ready).

    Collects what a previous model left, then takes everything alive (above all the model's hundreds of thousands
    of objects) out of the garbage collector's view. Otherwise every full collection walks the whole model: a pause
    of 150-250 ms that requests arriving meanwhile wait out, and about a fifth of a large batch's time.
    Refcounting still frees objects.

    `collect=False` skips the collection when there is no previous model to free: what it would find then is the
    start-up's own leftovers (about 4,000 objects, 1.2 MiB, measured), not worth a pause of 0.2-0.3 s before the
    service is ready; frozen, they stay."""
    gc.unfreeze()
    if collect:
        gc.collect()
    gc.freeze()
