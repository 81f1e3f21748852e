"""tools/infer.py with the exported model (ONNX Runtime) against the same
tool with the PyTorch model: the same report, structured reports,
presentation states, Secondary Captures and overlays."""
import json
from pathlib import Path

import cv2
import highdicom as hd
import numpy as np
import pydicom
import pytest

from mmdet_famo.apis.cli import model_backend

pytestmark = pytest.mark.heavy

#: Operating points low enough that the briefly trained model has both
#: suspected and definite findings on the phantoms.
SUSPECTED, DEFINITE = '0.06', '0.08'
#: Values that change from run to run whatever the model: new UIDs, the
#: time of writing, and the run's own duration.
VARYING_VRS = ('UI', 'DA', 'TM', 'DT')


def run_infer(args, out_dir: Path) -> dict:
    """tools/infer.py's main on the phantoms with every output; the
    report."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('infer_tool',
                                                  'tools/infer.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(args + [
        '--out-dir',
        str(out_dir), '--threshold', DEFINITE, '--suspected-threshold',
        SUSPECTED, '--sr', '--presentation-state', '--secondary-capture'
    ])
    return json.loads((out_dir / 'report.json').read_text())


def header_values(dataset, ignored=()) -> dict:
    """The top-level elements but sequences, pixels, the values that vary
    from run to run and ``ignored`` keywords."""
    return {
        element.keyword or str(element.tag): element.value
        for element in dataset
        if element.VR not in VARYING_VRS + ('SQ', 'OB', 'OW')
        and element.keyword not in ignored
    }


def sr_findings(dataset) -> list:
    """(source SOP Instance UID, x1, y1, x2, y2, score, level) of every
    finding of a structured report, sorted."""
    found = []
    sr = hd.sr.ComprehensiveSR.from_dataset(dataset)
    for group in sr.content.get_planar_roi_measurement_groups():
        region = group.roi
        uid = region.ContentSequence[0].ReferencedSOPSequence[0]. \
            ReferencedSOPInstanceUID
        level = group.get_qualitative_evaluations()[0].value.meaning
        found.append((uid, *region.value[[0, 2]].ravel().tolist(),
                      group.get_measurements()[0].value, level))
    return sorted(found)


def pr_graphics(dataset) -> list:
    """(referenced image, layer, graphic data or text) of every annotation
    of a presentation state, sorted."""
    found = []
    for annotation in dataset.GraphicAnnotationSequence:
        uid = annotation.ReferencedImageSequence[0].ReferencedSOPInstanceUID
        for graphic in annotation.get('GraphicObjectSequence', []):
            found.append((uid, annotation.GraphicLayer, 'graphic',
                          *[float(v) for v in graphic.GraphicData]))
        for text in annotation.get('TextObjectSequence', []):
            found.append((uid, annotation.GraphicLayer, 'text',
                          text.UnformattedTextValue))
    return sorted(found)


def assert_rows_close(actual: list, expected: list, what: str) -> None:
    """Rows equal but for floats, which agree to 0.01 (pixels; scores
    agree to 1e-3 and are shown rounded)."""
    assert len(actual) == len(expected), what
    for actual_row, expected_row in zip(actual, expected):
        assert len(actual_row) == len(expected_row), what
        for a, e in zip(actual_row, expected_row):
            if isinstance(e, float):
                assert abs(a - e) <= 0.01, (what, actual_row, expected_row)
            else:
                assert a == e, (what, actual_row, expected_row)


def assert_same_dicom(torch_file: Path, onnx_file: Path,
                      ignored=()) -> None:
    """The same header (but for UIDs, dates, times and ``ignored``
    keywords), findings, annotations or pixels."""
    expected, actual = pydicom.dcmread(torch_file), pydicom.dcmread(onnx_file)
    assert header_values(actual, ignored) == \
        header_values(expected, ignored), torch_file.name
    if expected.Modality == 'SR':
        assert_rows_close(sr_findings(actual), sr_findings(expected),
                          torch_file.name)
    elif expected.Modality == 'PR':
        assert_rows_close(pr_graphics(actual), pr_graphics(expected),
                          torch_file.name)
    else:
        np.testing.assert_array_equal(actual.pixel_array,
                                      expected.pixel_array)


def drop_varying(report: dict) -> dict:
    """The report without the model's files and the run's duration."""
    report = dict(report)
    report.pop('model')
    report['summary'] = {
        key: value
        for key, value in report['summary'].items()
        if not key.startswith('seconds')
    }
    return report


def test_backend_chosen_by_argument():
    assert model_backend(['c.py', 'c.pth', 'in']) == 'pytorch'
    assert model_backend(['model.onnx', 'in', '--out-dir', 'o']) == \
        'onnxruntime'
    assert model_backend(['--backend', 'onnxruntime', 'model.bin']) == \
        'onnxruntime'


def test_infer_tool_onnx_gives_pytorch_outputs(famo_model, phantom_root,
                                               tmp_path):
    """Findings, verdicts, cases and every DICOM result and overlay of the
    ONNX backend are the PyTorch backend's."""
    images = str(phantom_root / 'images')
    torch_out, onnx_out = tmp_path / 'pytorch', tmp_path / 'onnx'
    expected = run_infer(
        [famo_model.config, famo_model.checkpoint, images], torch_out)
    actual = run_infer([famo_model.onnx, '--threads', '1', images], onnx_out)
    assert actual['model'] == dict(onnx=famo_model.onnx)
    expected, actual = drop_varying(expected), drop_varying(actual)
    levels = [
        image['level'] for case in expected['cases']
        for image in case['images']
    ]
    assert {'suspected', 'definite', None} <= set(levels)
    assert _close(actual, expected)
    files = sorted(p.relative_to(torch_out)
                   for p in torch_out.rglob('*') if p.is_file())
    assert files == sorted(p.relative_to(onnx_out)
                           for p in onnx_out.rglob('*') if p.is_file())
    kinds = {path.parts[0] for path in files}
    assert {'structured_report', 'presentation_state', 'secondary_capture',
            'overlays'} <= kinds
    for path in files:
        if path.suffix == '.dcm':
            assert_same_dicom(torch_out / path, onnx_out / path)
        elif path.suffix == '.png':
            np.testing.assert_array_equal(
                cv2.imread(str(onnx_out / path)),
                cv2.imread(str(torch_out / path)))


def _close(actual, expected, path='report') -> bool:
    """Equal but for numbers, which agree to 1e-3 (scores) or to one unit
    of the report's rounding of box corners to 0.01 px (two backends 1e-5
    px apart can round 303.235 either way)."""
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), path
        return all(
            _close(actual[key], expected[key], f'{path}.{key}')
            for key in expected)
    if isinstance(expected, list):
        assert len(actual) == len(expected), path
        return all(
            _close(a, e, f'{path}[{i}]')
            for i, (a, e) in enumerate(zip(actual, expected)))
    if isinstance(expected, float):
        tolerance = 0.01 + 1e-9 if '.bbox[' in path else 1e-3
        assert abs(actual - expected) <= tolerance, (path, actual, expected)
        return True
    assert actual == expected, (path, actual, expected)
    return True


@pytest.mark.parametrize('argv, message', [
    (['missing.onnx', 'in', '--out-dir', 'o', '--threshold', '0.5'],
     'model missing.onnx is not a file'),
])
def test_bad_onnx_arguments_are_usage_errors(argv, message, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location('infer_tool',
                                                  'tools/infer.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as exit_info:
        tool.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_onnx_file_not_exported_here_is_refused(tmp_path, capsys):
    """An ONNX model without mmdet-famo's metadata is a usage error that
    says what to do."""
    import importlib.util

    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node('Identity', ['x'], ['y'])], 'other',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])])
    other = tmp_path / 'other.onnx'
    onnx.save(helper.make_model(graph), str(other))
    spec = importlib.util.spec_from_file_location('infer_tool',
                                                  'tools/infer.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(other), str(tmp_path), '--out-dir',
                      str(tmp_path / 'out'), '--threshold', '0.5']) == 2
    error = capsys.readouterr().err
    assert 'not an ONNX model exported by mmdet-famo' in error
    assert 'export_onnx.py' in error
