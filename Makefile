# The two commands of README.md. Both set up ./.venv first (idempotent).
.PHONY: setup demo test

setup:
	tools/setup_env.sh

demo: setup
	.venv/bin/python tools/demo.py

test: setup
	.venv/bin/python -m pytest tests -q
