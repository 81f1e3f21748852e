"""The command-line converters, split and leakage tools, run in-process."""
import json
import runpy
import sys
from pathlib import Path

import pytest

from mmdet_famo.datasets.splits import find_leakage

TOOLS = Path(__file__).parents[2] / 'tools' / 'dataset_converters'


def run_tool(name, *args, monkeypatch):
    """Run ``tools/dataset_converters/<name>.py`` with ``args``; return its
    exit status (0 when it returns normally)."""
    monkeypatch.setattr(sys, 'argv', [name, *map(str, args)])
    try:
        runpy.run_path(str(TOOLS / f'{name}.py'), run_name='__main__')
    except SystemExit as e:
        return e.code
    return 0


def load_splits(out_dir, names=('train', 'val', 'test')):
    return {
        name: json.loads((out_dir / f'{name}.json').read_text())
        for name in names
    }


def summary_rows(text):
    return {
        tuple(cell.strip() for cell in line.strip('|').split('|'))
        for line in text.splitlines() if line.startswith('|')
    }


def test_fracatlas_tool_writes_files_and_summary(fracatlas_root, monkeypatch,
                                                 capsys):
    assert run_tool(
        'fracatlas_to_coco',
        fracatlas_root,
        '--split',
        'official',
        monkeypatch=monkeypatch) == 0
    out_dir = fracatlas_root / 'annotations'
    everything = json.loads((out_dir / 'all.json').read_text())
    assert len(everything['images']) == 4
    splits = load_splits(out_dir)
    assert find_leakage(splits) == []
    rows = summary_rows(capsys.readouterr().out)
    # split, body part, images, fracture-free, cases, patients, fractures
    assert ('val', 'mixed', '1', '0', '1', '1', '1') in rows


def test_fracatlas_tool_leaves_out_and_lists_truncated_files(
        fracatlas_root, monkeypatch, capsys):
    """A fracture-free JPEG cut short (as 59 of FracAtlas's) is decided
    on once, at conversion: in no split, listed with its reason."""
    path = fracatlas_root / 'images' / 'Non_fractured' / 'IMG4.jpg'
    path.write_bytes(path.read_bytes()[:-30])
    assert run_tool(
        'fracatlas_to_coco', fracatlas_root, monkeypatch=monkeypatch) == 0
    out_dir = fracatlas_root / 'annotations'
    excluded = json.loads((out_dir / 'excluded.json').read_text())
    assert [image['file_name'] for image in excluded] == [
        'Non_fractured/IMG4.jpg'
    ]
    assert 'truncated JPEG' in excluded[0]['reason']
    for name in ('all', 'train', 'val', 'test'):
        files = [image['file_name'] for image in json.loads(
            (out_dir / f'{name}.json').read_text())['images']]
        assert 'Non_fractured/IMG4.jpg' not in files
    assert len(json.loads((out_dir / 'all.json').read_text())['images']) == 3
    assert 'left out of every split' in capsys.readouterr().out


def test_grazpedwri_tool_with_custom_ratios(grazpedwri_root, monkeypatch,
                                            capsys, tmp_path):
    out_dir = tmp_path / 'out'
    assert run_tool(
        'grazpedwri_to_coco',
        grazpedwri_root,
        '--out-dir',
        out_dir,
        '--ratios',
        'train=1',
        'test=1',
        monkeypatch=monkeypatch) == 0
    splits = load_splits(out_dir, ('train', 'test'))
    patients = {
        name: {i['patient_id']
               for i in split['images']}
        for name, split in splits.items()
    }
    assert sorted(patients['train'] | patients['test']) == ['12', '30']
    assert not patients['train'] & patients['test']
    rows = summary_rows(capsys.readouterr().out)
    assert any(row[0] == 'train' and row[1] == 'wrist' for row in rows)


def test_dicom_tool_error_names_the_record_and_writes_nothing(
        dicom_dir, tmp_path, monkeypatch):
    coco_file = tmp_path / 'seg.json'
    coco_file.write_text(
        json.dumps(
            dict(
                images=[dict(id=1, file_name='p1/s1/missing.dcm')],
                annotations=[],
                categories=[dict(id=1, name='fracture')])))
    out_dir = tmp_path / 'out'
    status = run_tool(
        'dicom_to_coco',
        dicom_dir,
        '--coco',
        coco_file,
        '--out-dir',
        out_dir,
        monkeypatch=monkeypatch)
    assert 'p1/s1/missing.dcm' in status and 'missing image file' in status
    assert not out_dir.exists()


def test_split_and_leakage_tools(dicom_dir, tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / 'out'
    assert run_tool(
        'dicom_to_coco',
        dicom_dir,
        '--out-dir',
        out_dir,
        monkeypatch=monkeypatch) == 0
    assert run_tool(
        'split_by_patient',
        out_dir / 'all.json',
        '--ratios',
        'a=1',
        'b=1',
        '--seed',
        3,
        monkeypatch=monkeypatch) == 0
    a, b = out_dir / 'a.json', out_dir / 'b.json'
    capsys.readouterr()
    assert run_tool('check_leakage', a, b, monkeypatch=monkeypatch) == 0
    assert '0 patient_id value(s)' in capsys.readouterr().out
    assert run_tool(
        'check_leakage', a, out_dir / 'all.json', monkeypatch=monkeypatch) == 1
    report = capsys.readouterr().out
    assert 'LEAK: patient_id' in report and '1 patient_id value(s)' in report


def test_split_tool_rejects_a_file_without_case_metadata(
        tmp_path, monkeypatch):
    ann_file = tmp_path / 'plain.json'
    ann_file.write_text(
        json.dumps(
            dict(
                images=[dict(id=1, file_name='a.png', width=4, height=4)],
                annotations=[],
                categories=[dict(id=1, name='fracture')])))
    status = run_tool('split_by_patient', ann_file, monkeypatch=monkeypatch)
    assert "image 1 ('a.png') lacks case_id, patient_id" in status


@pytest.mark.parametrize('name', [
    'dicom_to_coco', 'fracatlas_to_coco', 'grazpedwri_to_coco',
    'split_by_patient', 'check_leakage'
])
def test_tools_have_help(name, monkeypatch, capsys):
    assert run_tool(name, '--help', monkeypatch=monkeypatch) == 0
    assert 'usage:' in capsys.readouterr().out


def test_ratios_name_exactly_the_splits_written(dicom_dir, grazpedwri_root,
                                                tmp_path, monkeypatch):
    graz_out = tmp_path / 'graz'
    assert run_tool(
        'grazpedwri_to_coco',
        grazpedwri_root,
        '--out-dir',
        graz_out,
        '--ratios',
        'train=0.8',
        'test=0.2',
        monkeypatch=monkeypatch) == 0
    assert sorted(p.name for p in graz_out.iterdir()) == [
        'all.json', 'test.json', 'train.json'
    ]
    out_dir = tmp_path / 'dicom_out'
    assert run_tool(
        'dicom_to_coco', dicom_dir, '--out-dir', out_dir,
        monkeypatch=monkeypatch) == 0  # the default: train, val, test
    assert sorted(p.name for p in out_dir.iterdir()) == [
        'all.json', 'test.json', 'train.json', 'val.json'
    ]
    resplit = tmp_path / 'resplit'
    assert run_tool(
        'split_by_patient',
        out_dir / 'all.json',
        '--out-dir',
        resplit,
        '--ratios',
        'train=0.8',
        'test=0.2',
        monkeypatch=monkeypatch) == 0
    assert sorted(p.name for p in resplit.iterdir()) == [
        'all.json', 'test.json', 'train.json'
    ]


@pytest.mark.parametrize('bad', [['train'], ['train=x'], ['=1'],
                                 ['train=1', 'train=2']])
def test_bad_ratios_are_usage_errors(bad, tmp_path, monkeypatch, capsys):
    assert run_tool(
        'split_by_patient',
        tmp_path / 'all.json',
        '--ratios',
        *bad,
        monkeypatch=monkeypatch) == 2
    assert '--ratios' in capsys.readouterr().err
