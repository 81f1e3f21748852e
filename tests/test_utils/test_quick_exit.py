"""The tools exit without the interpreter's final garbage collection, after
every ``atexit`` callback their work registers."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
MODULE = ROOT / 'mmdet_famo' / 'quick_exit.py'

# Loads the module by its path, sparing the package's import; the first
# callback, registered before the call, runs last.
EXIT = f"""
import atexit, gc, importlib.util
atexit.register(lambda: print('last', gc.get_freeze_count()))
spec = importlib.util.spec_from_file_location('quick_exit', {str(MODULE)!r})
quick_exit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quick_exit)
quick_exit.skip_collection_at_exit()
cycle = []
cycle.append(cycle)
atexit.register(lambda: print('work', gc.get_freeze_count()))
"""


def test_the_heap_is_frozen_after_the_work_callbacks():
    result = subprocess.run([sys.executable, '-c', EXIT],
                            capture_output=True,
                            text=True,
                            check=True)
    work, last = result.stdout.split('\n')[:2]
    assert work == 'work 0'
    assert last.startswith('last ') and int(last.split()[1]) > 0


def test_every_tool_skips_the_collection():
    """Each script under tools/ calls it first in its ``__main__`` block."""
    for script in sorted((ROOT / 'tools').rglob('*.py')):
        tree = ast.parse(script.read_text())
        main_blocks = [
            node for node in tree.body if isinstance(node, ast.If)
            and ast.unparse(node.test) == "__name__ == '__main__'"
        ]
        if not main_blocks:
            continue
        first = ast.unparse(main_blocks[0].body[0])
        assert first == 'skip_collection_at_exit()', script
