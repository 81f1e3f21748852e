"""The classes of the package's data sets and their display colours."""

#: ``FractureDataset.METAINFO``: one class, drawn in crimson (RGB).
FRACTURE_METAINFO = {'classes': ('fracture', ), 'palette': [(220, 20, 60)]}
