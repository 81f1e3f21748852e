#!/usr/bin/env bash
# Set up the Python environment of mmdet-famo in ./.venv, from nothing.
#
# Idempotent: a second run with nothing changed returns in about a second
# (a stamp file records the hash of setup.cfg and this script).
#
# CPU machine (the default): torch 2.13.0 (CPU build), mmengine 0.10.7,
# mmcv 2.1.0 built from source with its compiled ops (no wheel exists on the
# registry for it), mmdet 3.3.0, then this package in editable mode with its
# test and compressed-DICOM extras.
#
# CUDA workstation: install torch for your CUDA first and OpenMMLab's prebuilt
# mmcv wheel matching it, then run this script, which keeps both, e.g.
#   pip install torch==2.1.2 --index-url https://download.pytorch.org/whl/cu121
#   pip install mmcv==2.1.0 -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html
#   TORCH_SPEC=torch==2.1.2 tools/setup_env.sh
#
# Variables: FAMO_VENV (default .venv), PYTHON (default python3),
# TORCH_SPEC (default torch==2.13.0), MAX_JOBS (parallel compile jobs,
# default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${FAMO_VENV:-.venv}
torch_spec=${TORCH_SPEC:-torch==2.13.0}
stamp="$venv/.mmdet-famo-setup"
wanted=$(cat setup.cfg tools/setup_env.sh | sha256sum | cut -c1-16)
if [[ -f $stamp && $(cat "$stamp") == "$wanted" ]]; then
  echo "mmdet-famo environment up to date in $venv"
  exit 0
fi

step() { printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
[[ -x $venv/bin/python ]] || { step "virtual environment $venv"; "${PYTHON:-python3}" -m venv "$venv"; }
export PATH="$PWD/$venv/bin:$PATH"  # ninja, once installed, for the mmcv build
pip() { python -m pip --disable-pip-version-check "$@"; }

# mmcv 2.1.0's setup.py imports pkg_resources, which setuptools >= 81 lacks;
# torch 2.13 needs setuptools >= 77.
step "build tools (setuptools>=77,<81, wheel, ninja)"
pip install -q "setuptools>=77,<81" wheel ninja
step "$torch_spec"
pip install -q "$torch_spec"
step "mmengine 0.10.7"
pip install -q mmengine==0.10.7

if python -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  step "mmcv 2.1.0 with ops: already installed"
else
  # No wheel on the registry: pip builds one from the source distribution
  # (about 30 CPU-minutes here) and keeps it in its wheel cache, so later
  # environments install it in seconds. -O2 -g0 roughly halves the compile
  # time of -O3 -g (setuptools' defaults) and leaves no debug symbols; ninja
  # runs MAX_JOBS compilers at once.
  step "mmcv 2.1.0 with compiled ops (from source if not cached; log: $venv/mmcv-build.log)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} CFLAGS="${CFLAGS:-} -O2 -g0" \
    pip install -v --no-build-isolation mmcv==2.1.0 2>&1 | tee "$venv/mmcv-build.log" |
    sed -u -n -E 's#^ *\[([0-9]+/[0-9]+)\].* -c [^ ]*/(mmcv/ops/[^ ]+).*#  compiled [\1] \2#p; s#^ *(Successfully installed.*|error:.*|ERROR:.*)#  \1#p'
  python -c "import mmcv.ops" || { echo "mmcv build failed; see $venv/mmcv-build.log" >&2; exit 1; }
fi

step "mmdet 3.3.0 and mmdet-famo (editable, with extras tests, dicom and pretrained)"
pip install -q mmdet==3.3.0
pip install -q --no-build-isolation -e ".[tests,dicom,pretrained]"

# The runtime install's test (tests/test_deploy/test_runtime_install.py)
# runs in an environment of the runtime extra alone, without torch, MMCV or
# MMDetection, and installs the package into it from the checkout. The
# environment is built here, once, as a user would build it
# (docs/deployment.md): about 30 s that the test run no longer spends.
runtime_env="$venv/runtime-env"
step "runtime environment $runtime_env (the runtime extra, wheels only)"
runtime_requirements=$(python - <<'PY'
import configparser
parser = configparser.ConfigParser()
parser.read('setup.cfg')
print(' '.join(parser['options.extras_require']['runtime'].split()))
PY
)
rm -rf "$runtime_env"
started=$SECONDS
"${PYTHON:-python3}" -m venv "$runtime_env"
# shellcheck disable=SC2086  # one word per requirement
"$runtime_env/bin/python" -m pip install -q --disable-pip-version-check \
  --only-binary :all: $runtime_requirements
echo "$runtime_requirements" > "$runtime_env/requirements.txt"
echo "  built in $((SECONDS - started)) s"
echo "$wanted" > "$stamp"
step "done: activate with 'source $venv/bin/activate'"
