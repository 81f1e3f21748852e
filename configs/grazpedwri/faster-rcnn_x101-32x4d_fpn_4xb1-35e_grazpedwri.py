# The paper's control model trained on GRAZPEDWRI-DX as converted by
# tools/dataset_converters/grazpedwri_to_coco.py: the paper's config with
# only the data set's location changed.
#
# Split: by patient, 70/20/10 (train/val/test), the usual split of this set,
# stratified by fracture presence, each group of duplicate images in one
# split; the converter's default ratios differ, so give them:
#
#   python tools/dataset_converters/grazpedwri_to_coco.py data/GRAZPEDWRI-DX \
#       --ratios train=0.7 val=0.2 test=0.1
#
# GRAZPEDWRI-DX gives boxes, not outlines: its fractures are box-only
# instances, which RandomRotate turns by multiples of 90 degrees only so
# that their boxes stay exact (see its docstring).
_base_ = '../famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'

data_root = 'data/GRAZPEDWRI-DX/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
