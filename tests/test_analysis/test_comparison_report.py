import importlib.util
import os.path as osp
import re
from types import SimpleNamespace

import cv2
import pytest
from sklearn.metrics import roc_auc_score

from mmdet_famo.analysis import compare_runs, write_comparison
from mmdet_famo.analysis.panels import (FALSE_COLOUR, GAP, GROUND_TRUTH_COLOUR,
                                        HEADER_HEIGHT, HIT_COLOUR)
from mmdet_famo.evaluation.functional import (auc_confidence_interval,
                                              mcnemar_test, paired_delong_test,
                                              shown_scores)
from tests.test_analysis.conftest import evaluate

NOTE = 'The data are synthetic phantoms, not radiographs.'
PANEL_HEIGHT = 128  # the test images are 64 x 80: scaled by 2


@pytest.fixture(scope='module')
def written(two_runs, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('comparison')
    comparison = compare_runs((two_runs.a.directory, two_runs.b.directory),
                              ('FAMO', 'Baseline'))
    path = write_comparison(
        comparison,
        str(out_dir),
        images_dir=str(two_runs.root),
        num_panels=3,
        note=NOTE,
        panel_height=PANEL_HEIGHT)
    with open(path) as file:
        return SimpleNamespace(out_dir=out_dir, path=path, text=file.read())


def table_row(text, section, label):
    """The cells of the row ``label`` in the table under ``section``."""
    body = text.split(section, 1)[1].split('\n## ', 1)[0]
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip('|').split('|')]
        if cells[0] == label:
            return cells
    raise AssertionError(f'no row {label} under {section}')


def auc_text(labels, scores):
    auc, low, high = auc_confidence_interval(labels, scores)
    return f'{auc:.3f} [{low:.3f}, {high:.3f}]'


def test_header_states_what_was_compared(two_runs, written):
    lines = written.text.splitlines()
    assert lines[0] == '# FAMO vs Baseline: fracture detection on the same ' \
        'test set'
    assert lines[2] == f'> **{NOTE}**'
    labels = two_runs.labels
    num_cases = len(set(two_runs.case_ids))
    assert (f'Test set: {len(labels)} images ({labels.sum()} with fractures,'
            f' {(~labels).sum()} without) in {num_cases} cases') in \
        written.text
    assert f'{labels.sum()} fractures; images per body part: ankle 4, ' \
        'hand 10, wrist 12.' in written.text
    for level in ('Definite', 'Suspected'):
        thresholds = table_row(written.text, '## What was compared',
                               f'{level} operating point')
        assert thresholds[1:] == [
            '0.5 (given by the user; score_thr in the config)'
        ] * 2
    assert table_row(written.text, '## What was compared', 'Test run')[1:] == [
        f'`{two_runs.a.directory}`', f'`{two_runs.b.directory}`'
    ]


def test_tables_hold_the_right_numbers(two_runs, written):
    labels, a, b = two_runs.labels, two_runs.a, two_runs.b
    table_1 = '## Table 1.'
    difference = roc_auc_score(labels, shown_scores(a.localised)) - \
        roc_auc_score(labels, shown_scores(b.localised))
    assert table_row(written.text, table_1, 'Per-image AUC') == [
        'Per-image AUC',
        auc_text(labels, a.localised),
        auc_text(labels, b.localised), f'{difference:+.3f}'
    ]
    found = (a.localised[labels] >= two_runs.threshold).sum()
    sensitivity = table_row(written.text, table_1, 'Per-image sensitivity')
    assert sensitivity[1].startswith(f'{found / labels.sum():.3f} [')
    assert sensitivity[1].endswith(f'] ({found}/{labels.sum()})')
    # AP50 with its bootstrap interval (tests/test_evaluation/test_functional's
    # test_ap_bootstrap checks the interval's values)
    ap50 = table_row(written.text, table_1, 'Per-fracture AP50')[1]
    assert ap50.startswith(f"{a.metrics['box_AP50']:.3f} [")
    low, high = map(float, ap50.split('[')[1].rstrip(']').split(', '))
    assert low <= a.metrics['box_AP50'] <= high
    assert table_row(written.text, '## Table 2.', 'Per-case AUC')[2] == \
        (f"{b.metrics['case_auc']:.3f} [{b.metrics['case_auc_ci_low']:.3f},"
         f" {b.metrics['case_auc_ci_high']:.3f}]")

    tests = [
        line for line in written.text.split('## Table 3.')[1].split(
            '## Table 4.')[0].splitlines() if line.startswith('| Per-image')
    ]
    delong = paired_delong_test(labels, a.localised, b.localised)
    assert f'| Per-image AUC | DeLong, two-sided | {delong.pvalue:.3f} | ' \
        f'z = {delong.z:.3f} |' in tests
    one_sided = paired_delong_test(labels, a.localised, b.localised,
                                   'greater')
    assert '| Per-image AUC | DeLong, one-sided (H0: FAMO not better) | ' \
        f'{one_sided.pvalue:.3f} |' in ''.join(tests)
    mcnemar = mcnemar_test(a.localised[labels] >= two_runs.threshold,
                           b.localised[labels] >= two_runs.threshold)
    assert (f'| Per-image sensitivity | McNemar ({labels.sum()} pairs) | '
            f'{mcnemar.pvalue:.3f} | exact binomial; '
            f'{mcnemar.only_a_correct} right only by FAMO, '
            f'{mcnemar.only_b_correct} only by Baseline |') in tests


def test_fractured_images_alone(two_runs, written, tmp_path):
    """Table 1's per-fracture rows without the fracture-free images: the
    metric itself on the fractured images' records gives the AP; the
    fractures found are Table 1's."""
    section = '### On the {} fractured images alone'.format(
        two_runs.labels.sum())
    assert section in written.text.split('## Table 2.')[0]
    for run, column in ((two_runs.a, 1), (two_runs.b, 2)):
        fractured = [r for r in run.records if len(r['gt_bboxes'])]
        metrics = evaluate(fractured, str(tmp_path / f'fractured{column}'))
        for key, label in (('box_AP50', 'Per-fracture AP50'),
                           ('box_mAP', 'Per-fracture AP@[.50:.95]')):
            # AP50 is followed by its bootstrap interval
            assert table_row(written.text, section, label)[column].split(
                ' [')[0] == f'{metrics[key]:.3f}'
        assert table_row(written.text, section,
                         'Per-fracture sensitivity')[column] == table_row(
                             written.text, '## Table 1.',
                             'Per-fracture sensitivity')[column]


def test_body_parts_show_na_with_the_reason(written):
    ankle = '### ankle (4 images, 2 cases)'
    assert table_row(written.text, ankle, 'Per-image specificity') == [
        'Per-image specificity', 'n/a (no fracture-free images)',
        'n/a (no fracture-free images)', 'n/a',
        'n/a (no fracture-free images)', '—'
    ]
    assert table_row(written.text, ankle, 'Per-case AUC')[-2:] == [
        'n/a (needs 2 fractured and 2 fracture-free cases, got 2 and 0)', '—'
    ]
    assert '### hand (10 images, 5 cases)' in written.text
    assert '### wrist (12 images, 6 cases)' in written.text


def test_body_parts_give_holm_adjusted_p_values(written):
    # Per-image AUC is tested on hand and wrist (ankle has no fracture-free
    # image): Holm over two tests multiplies the smaller p by 2 and keeps
    # the larger, never below the smaller's adjusted value
    rows = {
        part: table_row(written.text, f'### {part} (', 'Per-image AUC')
        for part in ('hand', 'wrist')
    }
    pvalues = {part: float(row[4].split()[0]) for part, row in rows.items()}
    low, high = sorted(pvalues, key=pvalues.get)
    first = min(1., 2 * pvalues[low])
    expected = {low: first, high: max(first, pvalues[high])}
    for part, row in rows.items():
        holm = float(row[5])
        assert holm == pytest.approx(expected[part], abs=2e-3)  # 3 digits
    assert "adjusted by Holm's method over the body parts with a p-value " \
        'for the same measure (at most 3)' in written.text


def test_roc_curves_are_written_and_linked(written):
    for name in ('roc_image.png', 'roc_case.png'):
        assert f']({name})' in written.text
        image = cv2.imread(str(written.out_dir / name))
        assert image.shape == (600, 600, 3)
        # both models' curves are drawn: matplotlib's tab:red and tab:blue
        for colour in ((40, 39, 214), (180, 119, 31)):  # BGR
            assert (image == colour).all(axis=-1).sum() > 100


def test_panels_show_the_disagreements(two_runs, written):
    files = re.findall(r'\]\((panels/\d+_image_(\d+)\.png)\)', written.text)
    assert len(files) == 3
    for file, img_id in files:
        index = int(img_id) - 1
        panel = cv2.imread(str(written.out_dir / file))
        assert panel.shape == (HEADER_HEIGHT + PANEL_HEIGHT, 3 * 160 + 2 * GAP,
                               3)

        def pixel(tile, x, y):
            return tuple(panel[HEADER_HEIGHT + round(2 * y),
                               tile * (160 + GAP) + round(2 * x)])

        tiles = [two_runs.a.records[index]['gt_bboxes']]
        for tile, run in enumerate((two_runs.a, two_runs.b), start=1):
            record = run.records[index]
            kept = record['pred_scores'] >= two_runs.threshold
            for box in record['pred_bboxes'][kept]:
                is_hit = two_runs.labels[index] and box[0] > 15
                colour = HIT_COLOUR if is_hit else FALSE_COLOUR
                assert pixel(tile, (box[0] + box[2]) / 2, box[3]) == colour
        for box in tiles[0]:
            assert pixel(0, (box[0] + box[2]) / 2,
                         box[3]) == GROUND_TRUTH_COLOUR
    # the first panel: one model finds the fracture the other misses
    first = int(files[0][1]) - 1
    outcomes = [
        run.localised[first] >= two_runs.threshold
        for run in (two_runs.a, two_runs.b)
    ]
    assert two_runs.labels[first] and outcomes[0] != outcomes[1]
    assert 'found 1 of 1' in written.text.split(files[0][0])[0].rsplit(
        '###', 1)[1]


def load_tool():
    path = osp.join(
        osp.dirname(__file__), '..', '..', 'tools', 'analysis', 'compare.py')
    spec = importlib.util.spec_from_file_location('compare_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_line(two_runs, tmp_path, capsys):
    tool = load_tool()
    out_dir = tmp_path / 'out'
    tool.main([
        two_runs.a.directory, two_runs.b.directory, '--out-dir',
        str(out_dir), '--names', 'F', 'B', '--panels', '0', '--note', NOTE
    ])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == NOTE
    assert printed[-1] == f"report: {out_dir / 'report.md'}"
    auc = [
        roc_auc_score(two_runs.labels, shown_scores(run.localised))
        for run in (two_runs.a, two_runs.b)
    ]
    delong = paired_delong_test(two_runs.labels, two_runs.a.localised,
                                two_runs.b.localised)
    assert (f'  Per-image AUC: {auc[0]:.3f} vs {auc[1]:.3f} '
            f'(DeLong, two-sided p {delong.pvalue:.3f})') in printed
    report = (out_dir / 'report.md').read_text()
    assert report.startswith('# F vs B:')
    assert 'No panels were drawn.' in report
    assert not (out_dir / 'panels').exists()


def test_missing_images_fail_before_writing(two_runs, tmp_path):
    tool = load_tool()
    out_dir = tmp_path / 'out'
    with pytest.raises(
            SystemExit,
            match=r"error: 3 images for the panels do not exist, e\.g\. "
            r"\['images/img_\d+\.png'.*--images-dir"):
        tool.main([
            two_runs.a.directory, two_runs.b.directory, '--out-dir',
            str(out_dir), '--panels', '3'
        ])
    assert not out_dir.exists()


def test_same_names_are_refused(two_runs):
    with pytest.raises(ValueError, match="different names, got 'X' twice"):
        compare_runs((two_runs.a.directory, two_runs.b.directory), ('X', 'X'))


def test_too_few_fractured_images_get_no_ap_bootstrap(written):
    # hand's fractured images are below the bootstrap's minimum: its AP50
    # has a value but no interval and no test, saying why
    hand = '### hand (10 images, 5 cases)'
    fractured = int(
        re.search(r'Per-fracture AP50 \| [^|]+\| [^|]+\| [^|]+\| n/a \((\d+) '
                  r'fractured images; the bootstrap needs 10\)',
                  written.text.split(hand)[1]).group(1))
    assert 0 < fractured < 10
    value = table_row(written.text, hand, 'Per-fracture AP50')[1]
    assert re.fullmatch(r'\d\.\d{3}', value)
    assert table_row(written.text, hand, 'Per-fracture AP50')[-1] == '—'
