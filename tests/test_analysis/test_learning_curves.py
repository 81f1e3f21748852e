"""Learning curves read from mmengine's scalars.json, drawn and tabulated."""
import json

import numpy as np
import pytest

from mmdet_famo.analysis.learning_curves import (LEARNING_CURVES_FILE,
                                                 add_learning_curves,
                                                 learning_curve_lines,
                                                 read_learning_curves)


def write_scalars(folder, lines):
    path = folder / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(line) + '\n' for line in lines))


def train_line(iteration, epoch, loss):
    return dict(lr=0.001, loss=loss, epoch=epoch, iter=iteration,
                step=iteration, time=1.0)


def val_line(epoch, ap50, auc):
    return {'fracture/box_AP50': ap50, 'fracture/case_auc': auc,
            'step': epoch, 'time': 0.1}


@pytest.fixture
def work_dir(tmp_path):
    """Two epochs of 4 iterations (logged every 2), resumed after the
    first: the second run repeats iteration 4 and epoch 1 with new values,
    which replace the first run's."""
    root = tmp_path / 'famo'
    write_scalars(root / '20260101_000000', [
        train_line(2, 1, 0.9), train_line(4, 1, 0.7), val_line(1, 0.1, 0.6)
    ])
    write_scalars(root / '20260101_010000', [
        train_line(4, 1, 0.6), val_line(1, 0.2, 0.65), train_line(6, 2, 0.5),
        train_line(8, 2, 0.4), val_line(2, 0.4, 0.8)
    ])
    return root


def test_curves_read_in_order_later_runs_replacing_earlier(work_dir):
    curves = read_learning_curves(str(work_dir))
    assert curves.name == 'famo'
    np.testing.assert_array_equal(curves.iterations, [2, 4, 6, 8])
    np.testing.assert_allclose(curves.losses, [0.9, 0.6, 0.5, 0.4])
    np.testing.assert_array_equal(curves.epoch_ends, [4, 8])
    np.testing.assert_array_equal(curves.val_epochs, [1, 2])
    np.testing.assert_allclose(curves.val_metrics['fracture/box_AP50'],
                               [0.2, 0.4])
    np.testing.assert_allclose(curves.val_metrics['fracture/case_auc'],
                               [0.65, 0.8])
    # not logged: nan, not an error
    assert np.isnan(
        curves.val_metrics['fracture/image_auc']).all()


def test_table_and_report_section(work_dir, tmp_path):
    other = tmp_path / 'baseline'
    write_scalars(other / '20260101_000000', [
        train_line(4, 1, 0.8), val_line(1, 0.05, 0.5), train_line(8, 2, 0.6),
        val_line(2, 0.3, 0.7)
    ])
    runs = [read_learning_curves(str(work_dir), 'FAMO'),
            read_learning_curves(str(other), 'Baseline')]
    lines = learning_curve_lines(runs)
    assert '| 2 | 0.400 | 0.300 |  |  | 0.800 | 0.700 |' in lines
    out_dir = tmp_path / 'report'
    out_dir.mkdir()
    (out_dir / 'report.md').write_text('# Report\n\ntables\n')
    figure = add_learning_curves(str(out_dir), [str(work_dir), str(other)],
                                 ['FAMO', 'Baseline'])
    assert figure == str(out_dir / LEARNING_CURVES_FILE)
    assert (out_dir / LEARNING_CURVES_FILE).read_bytes()[:4] == b'\x89PNG'
    report = (out_dir / 'report.md').read_text()
    assert report.startswith('# Report\n\ntables\n\n## Learning curves')
    assert f'![learning curves]({LEARNING_CURVES_FILE})' in report
    assert not list(out_dir.glob('*.partial'))


def test_bad_work_dirs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        read_learning_curves(str(tmp_path))
    write_scalars(tmp_path / 'run', [train_line(1, 1, 0.5)])
    with (tmp_path / 'run' / 'vis_data' / 'scalars.json').open('a') as f:
        f.write('{"loss": 1}\n')
    with pytest.raises(ValueError, match='line 2'):
        read_learning_curves(str(tmp_path))
