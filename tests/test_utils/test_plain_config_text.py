"""The tools' configs keep their settings and load back from their text;
only yapf's reflow of that text is skipped."""
import copy

from mmengine.config import Config

from mmdet_famo.utils import plain_config_text

CONFIG = 'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py'


def test_same_settings_and_text_that_loads_back(tmp_path):
    formatted = Config.fromfile(CONFIG)
    plain = plain_config_text(Config.fromfile(CONFIG))
    assert plain.to_dict() == formatted.to_dict()
    assert plain.filename == formatted.filename
    assert plain.text == formatted.text
    # mmengine's own layout, one item a line, not yapf's joined lines
    assert plain.pretty_text != formatted.pretty_text
    assert plain.pretty_text.count('\n') > formatted.pretty_text.count('\n')
    # the runner works on a deep copy
    assert copy.deepcopy(plain).pretty_text == plain.pretty_text
    dumped = tmp_path / 'dumped.py'
    plain.dump(str(dumped))
    assert Config.fromfile(str(dumped)).to_dict() == formatted.to_dict()
