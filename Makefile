# The two commands of README.md. Both set up ./.venv first (idempotent).
.PHONY: setup demo test

setup:
	tools/setup_env.sh

demo: setup
	.venv/bin/python tools/demo.py

# The tests run in as many processes as there are cores (pytest-xdist): most
# of their time is subprocesses importing torch and MMDetection, and
# external tools (PixelMed, Orthanc) waiting. A module's tests stay in one
# process (--dist loadscope), so that its fixtures (trained tiny models,
# exports) are built once, not once per process.
test: setup
	.venv/bin/python -m pytest tests -q -n auto --dist loadscope --no-loadscope-reorder
