"""Exit a command-line tool without the interpreter's last collections.

A tool that imports PyTorch and MMDetection holds about 420,000 objects in
4,400 modules. At exit, CPython tears the modules down and runs its cyclic
garbage collector over all of them: 1.3 s of CPU on this project's 2-core
machine, against 5 s for the whole import (docs/getting-started.md).
:func:`gc.freeze` moves every live object to the collector's permanent
generation, which it never scans
(https://docs.python.org/3/library/gc.html#gc.freeze), so the collections
at shutdown have almost nothing to walk. ``atexit`` callbacks still run,
logging's handlers are flushed and closed and standard output is flushed;
what is lost is the finalisation of objects caught in reference cycles,
which CPython never promised at exit: the tools close their files
themselves (:mod:`mmdet_famo.atomic_files`).
"""
import atexit
import gc


def skip_collection_at_exit() -> None:
    """Freeze the heap once the tool's ``atexit`` callbacks have run.

    Call it once, from a tool's ``__main__`` block: the callbacks run last
    registered first, so the freeze, registered before the tool's work,
    comes after every callback the work registers."""
    atexit.register(gc.freeze)
